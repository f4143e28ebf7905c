/** 130 = 128 + SIGINT: what a second Ctrl-C exits with (the state written so far is resumable). */
const interruptedExit = 130;

export interface Interruptible {
  /** Whether Ctrl-C (or SIGTERM) asked to stop. */
  readonly stopped: () => boolean;
  /** Removes the handlers. */
  readonly dispose: () => void;
}

/**
 * Ctrl-C and SIGTERM ask the work to stop at its next safe point (after a step, with a
 * checkpoint; after a configuration); a second one quits at once. `onFirst` says so to the user.
 */
export function interruptible(onFirst: () => void): Interruptible {
  let stop = false;
  const onSignal = () => {
    if (stop) process.exit(interruptedExit);
    stop = true;
    onFirst();
  };
  process.on("SIGINT", onSignal);
  process.on("SIGTERM", onSignal);
  return {
    stopped: () => stop,
    dispose: () => {
      process.off("SIGINT", onSignal);
      process.off("SIGTERM", onSignal);
    },
  };
}

/**
 * One turn of the event loop. Work that never waits for I/O (a timing on tfjs) would otherwise
 * keep a Ctrl-C that came during it from being handled until all the work is done: call it
 * before asking `stopped()`.
 */
export const handlePendingSignals = (): Promise<void> => new Promise((done) => setImmediate(done));
