import { colourFor } from "../language/diagnostics/print.js";

/** Where a command writes; tests capture it, the binary passes the process streams. */
export interface IO {
  out(text: string): void;
  err(text: string): void;
  /** Whether diagnostics written with err() may be coloured; captured output never is. */
  readonly colour?: boolean;
}

export const processIO: IO = {
  out: (t) => process.stdout.write(t.endsWith("\n") ? t : t + "\n"),
  err: (t) => process.stderr.write(t.endsWith("\n") ? t : t + "\n"),
  get colour() {
    return colourFor(process.stderr);
  },
};

/** Exit codes scripts can rely on; 130 (128 + SIGINT) when stopped by Ctrl-C with a resumable state. */
export const Exit = { ok: 0, diagnostics: 1, usage: 2, internal: 3, interrupted: 130 } as const;
