/**
 * Runs: identity, manifest, lock and checkpoint framing of a run folder, shared by every engine
 * (the embedded tfjs trainer, the torch engine) and by sweeps.
 */
export * from "./identity.js";
export * from "./paths.js";
export * from "./lock.js";
export * from "./manifest.js";
export * from "./frame.js";
export * from "./open.js";
