/** Kept apart from runtime.ts so the CLI can list them without loading tfjs. */
export const backendChoices = ["auto", "node-gpu", "node", "wasm", "cpu"] as const;
export type BackendChoice = (typeof backendChoices)[number];
