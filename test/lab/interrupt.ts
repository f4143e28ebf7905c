import { afterAll, beforeAll } from "vitest";

/**
 * For test files that press Ctrl-C on a command run in-process. archc removes its SIGINT handler
 * when a command ends, and a stray signal after that must not end the test worker, so the file
 * holds a handler of its own throughout. `env` is set before the file's first test.
 */
export function guardSigint(env: Readonly<Record<string, string>> = {}): void {
  const guard = () => {};
  beforeAll(() => {
    Object.assign(process.env, env);
    process.on("SIGINT", guard);
  });
  afterAll(() => {
    process.off("SIGINT", guard);
  });
}

/** Runs `command`, sending this process SIGINT as soon as `ready()` holds (polled every 5 ms). */
export async function interruptWhen<T>(
  ready: () => boolean,
  command: () => Promise<T>,
): Promise<T> {
  const timer = setInterval(() => {
    if (ready()) {
      clearInterval(timer);
      process.kill(process.pid, "SIGINT");
    }
  }, 5);
  try {
    return await command();
  } finally {
    clearInterval(timer);
  }
}

/** The flags of a training measurement small enough for a test: one epoch of synthetic data on wasm. */
export function quickTraining(out: string, data = "synthetic:32", ...more: string[]): string[] {
  return [
    "--data",
    data,
    "--epochs",
    "1",
    ...more,
    "--backend",
    "wasm",
    "--out",
    out,
    "--json",
    "--quiet",
  ];
}
