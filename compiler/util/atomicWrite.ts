/** Kept for the modules that import it from here; the rule lives in files.ts. */
export { atomicWrite } from "./files.js";
