import files from "archc:files";
import { memoryHost, type SpecHost } from "../../compiler/language/host.js";

/**
 * The playground's stand-in for compiler/language/defaultHost.ts (the build swaps one for the
 * other): specs/ and stdlib/ as bundled texts, at /specs/... and /stdlib/....
 */
export const defaultHost: SpecHost = memoryHost(new Map(Object.entries(files)));

export function readSource(path: string): string {
  return defaultHost.read(path);
}
