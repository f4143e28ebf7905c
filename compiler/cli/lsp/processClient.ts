import { spawn } from "node:child_process";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import {
  createProtocolConnection,
  StreamMessageReader,
  StreamMessageWriter,
  type ProtocolConnection,
} from "vscode-languageserver/node";
import { watchDiagnostics, type DiagnosticsWatch } from "./diagnosticsWatch.js";
import { packageRoot } from "../../language/paths.js";

/**
 * A real `archc lsp` process (the installed command, bin/archc.cjs) and a client speaking
 * JSON-RPC to it over its standard input and output: what the hardening tests and
 * `npm run bench -- lsp` use to see what an editor sees, memory of the process included.
 */
export interface LspProcess extends DiagnosticsWatch {
  readonly pid: number;
  readonly client: ProtocolConnection;
  /** Resident memory of the server's process, in bytes (Linux: /proc/PID/status). */
  rss(): number;
  /** Shutdown and exit; resolves with the exit code. */
  close(): Promise<number | null>;
}

/** `bin`: another installation's bin/archc.cjs, to compare with (the bench's before and after). */
export function spawnLsp(
  cwd = packageRoot,
  bin = join(packageRoot, "bin", "archc.cjs"),
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
  const watch = watchDiagnostics(client);
  client.listen();
  return {
    pid: child.pid!,
    client,
    ...watch,
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
