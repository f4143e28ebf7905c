import type { Answers, Checked, Figures, Questions, Reply, Request } from "./protocol.js";
import type { PlaygroundState } from "./session.js";

/** The side of a Worker the page uses (a fake in the tests). */
export interface Port {
  postMessage(message: Request): void;
  onmessage: ((e: MessageEvent<Reply>) => void) | null;
}

export interface CheckerEvents {
  /** The diagnostics of the newest text. */
  checked(c: Checked): void;
  /** The figures of the newest text, after its diagnostics. */
  figures(f: Figures): void;
  /** The worker failed outside a question: the page says so instead of going quiet. */
  crashed(error: string): void;
}

/** A question the worker answered about a text that has changed since: nothing to show. */
export class StaleAnswer extends Error {}

/**
 * The page's end of the checking worker. Each text gets a version; one check is in the worker
 * at a time, and texts typed meanwhile wait as one (the newest), so the worker never falls
 * behind the keyboard by more than a check. Answers for any version but the newest are
 * dropped: diagnostics never land on a text they were not computed for.
 */
export class Checker {
  private version = 0;
  private inFlight = false;
  private waiting: PlaygroundState | undefined;
  private nextId = 0;
  private readonly asked = new Map<number, { resolve(v: unknown): void; reject(e: Error): void }>();

  constructor(
    private readonly port: Port,
    private readonly events: CheckerEvents,
  ) {
    port.onmessage = (e) => this.receive(e.data);
  }

  /** The version of the newest text sent for checking. */
  get newest(): number {
    return this.version;
  }

  /** Checks a text; its answers come through the events unless a newer text overtakes it. */
  check(state: PlaygroundState): number {
    this.version++;
    if (this.inFlight) this.waiting = state;
    else this.send(state);
    return this.version;
  }

  /** Asks the worker a question; rejects with StaleAnswer when the text moved on meanwhile. */
  ask<K extends keyof Questions>(question: K, args: Questions[K]): Promise<Answers[K]> {
    const id = ++this.nextId;
    return new Promise<Answers[K]>((resolve, reject) => {
      this.asked.set(id, { resolve: resolve as (v: unknown) => void, reject });
      this.port.postMessage({ kind: "ask", id, question, args } as Request);
    });
  }

  private send(state: PlaygroundState): void {
    this.inFlight = true;
    this.port.postMessage({ kind: "check", version: this.version, state });
  }

  private receive(r: Reply): void {
    switch (r.kind) {
      case "checked": {
        this.inFlight = false;
        const next = this.waiting;
        this.waiting = undefined;
        if (next) this.send(next);
        if (r.version === this.version) this.events.checked(r);
        return;
      }
      case "figures":
        if (r.version === this.version) this.events.figures(r);
        return;
      case "answer":
      case "failed": {
        const p = this.asked.get(r.id);
        if (!p) return;
        this.asked.delete(r.id);
        if (r.kind === "answer") p.resolve(r.value);
        else p.reject(r.stale ? new StaleAnswer(r.error) : new Error(r.error));
        return;
      }
      case "crashed":
        // A check that threw leaves nothing in flight: the next text must still go.
        this.inFlight = false;
        if (this.waiting) {
          const next = this.waiting;
          this.waiting = undefined;
          this.send(next);
        }
        this.events.crashed(r.error);
        return;
      default: {
        const never: never = r;
        throw new Error(`unknown reply ${JSON.stringify(never)}`);
      }
    }
  }
}
