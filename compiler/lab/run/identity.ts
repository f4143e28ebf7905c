import { createHash } from "node:crypto";
import { existsSync, readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import type { Json } from "../../language/elaborate/values.js";
import type { IRGraph } from "../../language/ir/types.js";
import type { TrainConfig } from "../../language/config/train.js";

/**
 * What a run is: everything that decides its numbers. A run folder's manifest records it, a
 * sweep's results line carries it, and a saved result or checkpoint is used again only when its
 * identity is equal to the one asked for.
 *
 * Fields by convention (each command fills the ones that apply): archc (version), network, args
 * (every argument value, defaults included), graph (networkHash: the elaborated network itself),
 * train (the config after command-line overrides), data (source and limits), seed, measures,
 * engine. Values are plain JSON, so other engines (e.g. the torch engine) can add fields. The
 * spec file's bytes are not part of it: a comment or an unrelated declaration decides nothing.
 */
export type RunIdentity = { readonly [field: string]: Json };

let version: string | undefined;

/** archc's version, from the package.json above this module (sources and the bundle alike). */
export function archcVersion(): string {
  if (version !== undefined) return version;
  let dir = dirname(fileURLToPath(import.meta.url));
  for (;;) {
    const p = join(dir, "package.json");
    if (existsSync(p)) {
      try {
        const pkg = JSON.parse(readFileSync(p, "utf8")) as { name?: string; version?: string };
        if (pkg.name === "archc" && pkg.version) return (version = pkg.version);
      } catch {
        // not ours; keep looking
      }
    }
    const up = dirname(dir);
    if (up === dir) return (version = "unknown");
    dir = up;
  }
}

export function sha256(data: string | Uint8Array): string {
  return createHash("sha256").update(data).digest("hex");
}

/** The content hash of a spec: its text and the text of every module it imports, in order. */
export function specHash(texts: readonly string[]): string {
  return sha256(texts.map((t) => sha256(t)).join("\n"));
}

/**
 * The elaborated network as it decides a run's numbers: every node (op, attributes, wiring,
 * shapes, names, which weights map by), the input, output and activation constants, but not where
 * in the spec each node was written, so that a comment or a moved declaration keeps the hash.
 */
export function networkHash(graph: IRGraph): string {
  // Where a layer and its block calls were written decides nothing (a comment moves them), and
  // which block a layer came from does not change its numbers either.
  const nodes = graph.nodes.map(({ source: _source, blocks: _blocks, ...node }) => node);
  const network = {
    input: graph.input,
    output: graph.output,
    nodes,
    activations: graph.activations,
  } as unknown as Json;
  return sha256(canonicalJson(network)).slice(0, 16);
}

/** The train config as it decides the numbers: every setting, not the declaration's name. */
export function configIdentity(config: TrainConfig): { [k: string]: Json } {
  const { name: _name, ...settings } = config;
  return settings as unknown as { [k: string]: Json };
}

/** JSON with object keys sorted, so equal identities have equal text and equal hashes. */
export function canonicalJson(v: Json): string {
  if (v === null || typeof v !== "object") return JSON.stringify(v);
  if (Array.isArray(v)) return `[${v.map(canonicalJson).join(",")}]`;
  return `{${Object.keys(v)
    .sort()
    .filter((k) => v[k] !== undefined)
    .map((k) => `${JSON.stringify(k)}:${canonicalJson(v[k]!)}`)
    .join(",")}}`;
}

export function identityHash(id: RunIdentity): string {
  return sha256(canonicalJson(id)).slice(0, 16);
}

/**
 * The fields in which two identities differ, as dotted paths (`train.optimizer.lr`,
 * `args.parts`), with both values; paths in `ignore` (or below them) are left out.
 */
export function compareIdentity(
  want: RunIdentity,
  have: RunIdentity,
  ignore: readonly string[] = [],
): { path: string; want: Json | undefined; have: Json | undefined }[] {
  const out: { path: string; want: Json | undefined; have: Json | undefined }[] = [];
  const walk = (path: string, a: Json | undefined, b: Json | undefined) => {
    if (ignore.some((i) => path === i || path.startsWith(i + "."))) return;
    const isObj = (x: Json | undefined): x is { [k: string]: Json } =>
      x !== null && typeof x === "object" && !Array.isArray(x);
    if (isObj(a) && isObj(b)) {
      for (const k of [...new Set([...Object.keys(a), ...Object.keys(b)])].sort())
        walk(path ? `${path}.${k}` : k, a[k], b[k]);
      return;
    }
    const text = (x: Json | undefined) => (x === undefined ? "" : canonicalJson(x));
    if (text(a) !== text(b)) out.push({ path, want: a, have: b });
  };
  walk("", want as Json, have as Json);
  return out;
}

/** `train.optimizer.lr: 0.1 here, 0.01 in the run` for each differing field, for messages. */
export function describeDifferences(diffs: ReturnType<typeof compareIdentity>): string {
  const show = (x: Json | undefined) => (x === undefined ? "absent" : canonicalJson(x));
  return diffs
    .map((d) => `${d.path || "(all)"}: ${show(d.want)} now, ${show(d.have)} in the run`)
    .join("; ");
}

/** The identity without the fields at the given dotted paths. */
export function withoutFields(id: RunIdentity, paths: readonly string[]): RunIdentity {
  const strip = (v: Json, path: string): Json | undefined => {
    if (paths.includes(path)) return undefined;
    if (v === null || typeof v !== "object" || Array.isArray(v)) return v;
    const out: { [k: string]: Json } = {};
    for (const [k, x] of Object.entries(v)) {
      const kept = strip(x, path ? `${path}.${k}` : k);
      if (kept !== undefined) out[k] = kept;
    }
    return out;
  };
  return strip(id as Json, "") as RunIdentity;
}
