import { spawn } from "node:child_process";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import {
  createProtocolConnection,
  PublishDiagnosticsNotification,
  StreamMessageReader,
  StreamMessageWriter,
  type ProtocolConnection,
  type PublishDiagnosticsParams,
} from "vscode-languageserver/node";
import { packageRoot } from "../../language/paths.js";

/**
 * A real `archc lsp` process (the installed command, bin/archc.js) and a client speaking
 * JSON-RPC to it over its standard input and output: what the hardening tests and
 * `npm run bench -- lsp` use to see what an editor sees, memory of the process included.
 */
export interface LspProcess {
  readonly pid: number;
  readonly client: ProtocolConnection;
  /** Every diagnostics notification received, in order. */
  readonly published: PublishDiagnosticsParams[];
  /** Resolves with the next diagnostics published for `uri` that satisfy `accept`. */
  nextDiagnostics(
    uri: string,
    accept?: (p: PublishDiagnosticsParams) => boolean,
  ): Promise<PublishDiagnosticsParams>;
  /** Resident memory of the server's process, in bytes (Linux: /proc/PID/status). */
  rss(): number;
  /** Shutdown and exit; resolves with the exit code. */
  close(): Promise<number | null>;
}

/** `bin`: another installation's bin/archc.js, to compare with (the bench's before and after). */
export function spawnLsp(
  cwd = packageRoot,
  bin = join(packageRoot, "bin", "archc.js"),
): LspProcess {
  const child = spawn(process.execPath, [bin, "lsp", "--stdio"], {
    cwd,
    stdio: ["pipe", "pipe", "inherit"],
  });
  const exited = new Promise<number | null>((r) => child.on("exit", (code) => r(code)));
  const client = createProtocolConnection(
    new StreamMessageReader(child.stdout),
    new StreamMessageWriter(child.stdin),
  );
  const published: PublishDiagnosticsParams[] = [];
  const waiting: {
    uri: string;
    accept: (p: PublishDiagnosticsParams) => boolean;
    resolve: (p: PublishDiagnosticsParams) => void;
  }[] = [];
  client.onNotification(PublishDiagnosticsNotification.type, (p) => {
    published.push(p);
    const i = waiting.findIndex((w) => w.uri === p.uri && w.accept(p));
    if (i >= 0) waiting.splice(i, 1)[0]!.resolve(p);
  });
  client.listen();
  return {
    pid: child.pid!,
    client,
    published,
    nextDiagnostics: (uri, accept = () => true) =>
      new Promise((resolve) => waiting.push({ uri, accept, resolve })),
    rss: () => {
      const status = readFileSync(`/proc/${child.pid}/status`, "utf8");
      return Number(/VmRSS:\s+(\d+) kB/.exec(status)![1]) * 1024;
    },
    close: async () => {
      if (child.exitCode === null) {
        await client.sendRequest("shutdown", null);
        await client.sendNotification("exit", null);
      }
      const code = await exited;
      client.dispose();
      return code;
    },
  };
}
