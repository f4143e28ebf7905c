import { Worker } from "node:worker_threads";
import { DocumentService, type FromService, type ToService } from "./service.js";

type Request = Omit<Extract<ToService, { kind: "request" }>, "kind" | "id">;

/** Where a DocumentService runs: a worker thread of its own, or the server's thread. */
export interface Host {
  /** The open documents it answers for. */
  readonly documents: Set<string>;
  /** False once its worker has stopped: its documents go to another host. */
  readonly alive: boolean;
  post(m: ToService): void;
  /** Resolves with the answer, or rejects with the message of a fault inside archc. */
  request(r: Request): Promise<unknown>;
  stop(): void;
}

export type OnDiagnostics = (m: Extract<FromService, { kind: "diagnostics" }>) => void;

/** Matches answers to requests, for either kind of host. */
class Pending {
  private next = 0;
  private readonly waiting = new Map<
    number,
    { ok: (v: unknown) => void; fail: (e: Error) => void }
  >();

  open(send: (id: number) => void): Promise<unknown> {
    const id = this.next++;
    return new Promise((ok, fail) => {
      this.waiting.set(id, { ok, fail });
      send(id);
    });
  }

  settle(m: FromService, onDiagnostics: OnDiagnostics): void {
    if (m.kind === "diagnostics") return onDiagnostics(m);
    const w = this.waiting.get(m.id);
    this.waiting.delete(m.id);
    if (m.kind === "response") w?.ok(m.result);
    else w?.fail(new Error(m.message));
  }

  failAll(message: string): void {
    for (const w of this.waiting.values()) w.fail(new Error(message));
    this.waiting.clear();
  }
}

/**
 * The worker's script beside this module: the bundled CLI's chunk lies next to
 * dist/cli/hostWorker.js, tsc's output next to its own. Run from the TypeScript sources (the
 * tests), the worker loads them through tsx, which the worker thread must register itself.
 */
function startWorker(): Worker {
  const here = import.meta.url;
  const options = { stdout: true } as const;
  if (!here.endsWith(".ts")) return new Worker(new URL("./hostWorker.js", here), options);
  const script = new URL("./hostWorker.ts", here).href;
  const code = `import("tsx/esm/api").then((tsx) => tsx.tsImport(${JSON.stringify(script)}, ${JSON.stringify(here)}))`;
  return new Worker(code, { ...options, eval: true });
}

export function workerHost(onDiagnostics: OnDiagnostics): Host {
  const worker = startWorker();
  // Standard output is the protocol's: whatever the worker prints goes to standard error.
  worker.stdout.pipe(process.stderr);
  const pending = new Pending();
  let alive = true;
  let stopping = false;
  const host: Host = {
    documents: new Set(),
    get alive() {
      return alive;
    },
    post: (m) => worker.postMessage(m),
    request: (r) => pending.open((id) => worker.postMessage({ kind: "request", id, ...r })),
    stop: () => {
      stopping = true;
      alive = false;
      void worker.terminate();
    },
  };
  worker.on("message", (m: FromService) => pending.settle(m, onDiagnostics));
  worker.on("error", (e) => console.error(`archc lsp: a checker thread failed: ${e.message}`));
  worker.on("exit", (code) => {
    alive = false;
    pending.failAll(
      stopping ? "the document was closed" : `the checker thread stopped (exit code ${code})`,
    );
  });
  return host;
}

/** The services in the server's own thread: for in-memory sessions (tests). */
export function inlineHost(onDiagnostics: OnDiagnostics): Host {
  const pending = new Pending();
  const service = new DocumentService((m) => pending.settle(m, onDiagnostics));
  return {
    documents: new Set(),
    alive: true,
    post: (m) => service.receive(m),
    request: (r) => pending.open((id) => service.receive({ kind: "request", id, ...r })),
    stop: () => pending.failAll("the document was closed"),
  };
}
