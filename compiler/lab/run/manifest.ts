import type { Json } from "../../language/elaborate/values.js";
import { atomicWrite, FileProblem, readRegularIfAny } from "../../util/files.js";
import { identityHash, type RunIdentity } from "./identity.js";
import { runPaths } from "./paths.js";

/** A run folder whose files cannot be used as they are; the message names the file and why. */
export class RunError extends Error {}

export interface Manifest {
  readonly format: "archc-run";
  readonly version: 1;
  /** identityHash(identity): checkpoints and results lines carry it. */
  readonly key: string;
  readonly identity: RunIdentity;
  /**
   * Where the run came from, to rebuild its model (export): not part of the identity, since
   * moving a spec file changes nothing the run computed. For archc train: { file, network,
   * point } with the point's Values as written.
   */
  readonly source?: Json;
  readonly created: string;
}

export function writeManifest(dir: string, identity: RunIdentity, source?: Json): Manifest {
  const m: Manifest = {
    format: "archc-run",
    version: 1,
    key: identityHash(identity),
    identity,
    ...(source !== undefined ? { source } : {}),
    created: new Date().toISOString(),
  };
  atomicWrite(runPaths(dir).manifest, JSON.stringify(m, null, 2) + "\n");
  return m;
}

/** The folder's manifest; undefined when it has none; RunError when it is damaged. */
export function readManifest(dir: string): Manifest | undefined {
  const path = runPaths(dir).manifest;
  let text: Buffer | undefined;
  try {
    // A manifest holds an identity, never megabytes.
    text = readRegularIfAny(path, { within: dir, maxBytes: 16 << 20 });
  } catch (e) {
    if (e instanceof FileProblem) throw new RunError(e.message);
    throw e;
  }
  if (text === undefined) return undefined;
  let m: Partial<Manifest>;
  try {
    m = JSON.parse(text.toString("utf8")) as Partial<Manifest>;
  } catch (e) {
    throw new RunError(`${path} is damaged: ${(e as Error).message}; start again with --fresh`);
  }
  if (
    m === null ||
    typeof m !== "object" ||
    m.format !== "archc-run" ||
    typeof m.identity !== "object" ||
    m.identity === null ||
    Array.isArray(m.identity)
  )
    throw new RunError(`${path} is not an archc run manifest; start again with --fresh`);
  const key = identityHash(m.identity as { [k: string]: Json });
  if (m.key !== key)
    throw new RunError(
      `${path} was edited: its identity no longer matches its key ${String(m.key)}; start again with --fresh`,
    );
  return m as Manifest;
}
