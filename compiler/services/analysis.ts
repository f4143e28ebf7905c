import { resolve } from "node:path";
import type { LayerStmt, NetworkDecl, Node } from "../../grammar/ast.js";
import type { Diagnostic } from "../../grammar/diagnostic.js";
import type { IRGraph, IRNode } from "../language/ir/types.js";
import { defaultHost } from "../language/defaultHost.js";
import type { SpecHost } from "../language/host.js";
import type { ReadFile } from "../language/load.js";
import {
  buildNetwork,
  checkProgram,
  loadProgram,
  parseSets,
  type Program,
} from "../language/program.js";

/** Which network figures are taken from, and at which point: `--network` and `--set` of the CLI. */
export interface FigureOptions {
  readonly network?: string;
  /** `name=value` network arguments, as `archc summary --set` takes them. */
  readonly set?: readonly string[];
}

/** The network whose figures hovers and inlay hints show, or why there is none. */
export type Figures =
  | {
      readonly ok: true;
      readonly network: NetworkDecl;
      readonly graph: IRGraph;
      /** IR nodes by the position of the layer statement that produced them (`file:line:col`). */
      readonly bySource: ReadonlyMap<string, readonly IRNode[]>;
      /** The node ranges each block call produced, one per time it ran (repeats, block bodies). */
      readonly byCall: ReadonlyMap<LayerStmt, readonly (readonly [number, number])[]>;
    }
  | { readonly ok: false; readonly reason: string };

/** Everything the server knows about one open document at one version. */
export interface Analysis {
  readonly absPath: string;
  readonly version: number;
  readonly text: string;
  readonly program: Program;
  /** What `archc check` reports for the file. */
  readonly diagnostics: readonly Diagnostic[];
  /** Absolute paths of every module the document reached, itself first. */
  readonly modules: readonly string[];
  /** Where the spec and its imports are read from: the file system, or the playground's texts. */
  readonly host: SpecHost;
  figures(): Figures;
}

export function sourceKey(file: string, line: number, column: number): string {
  return `${file}:${line}:${column}`;
}

/**
 * Analyses a document as `archc check` would. The figures of the chosen network are built on
 * first use only, so that typing costs a check and a hover costs one elaboration more. Without
 * `text` (a document over the size limit), the document itself is read through `read` too.
 */
export function analyse(
  absPath: string,
  version: number,
  text: string | undefined,
  read: ReadFile,
  choice: FigureOptions = {},
  host: SpecHost = defaultHost,
): Analysis {
  const program = loadProgram(
    absPath,
    (p) => (p === absPath && text !== undefined ? text : read(p)),
    host,
  );
  const diagnostics = checkProgram(program);
  let figures: Figures | undefined;
  return {
    absPath,
    version,
    text: text ?? "",
    program,
    diagnostics,
    modules: program.loaded.modules.map((m) => m.absPath),
    host,
    figures: () => (figures ??= buildFigures(program, diagnostics, choice)),
  };
}

function buildFigures(
  program: Program,
  diagnostics: readonly Diagnostic[],
  choice: FigureOptions,
): Figures {
  const networkName = choice.network;
  if (program.diagnostics.length)
    return { ok: false, reason: "the spec has errors; figures return once they are fixed" };
  const root = program.loaded.root;
  const own = (root?.program.decls ?? []).filter((d): d is NetworkDecl => d.kind === "NetworkDecl");
  const network =
    (networkName !== undefined
      ? (own.find((n) => n.name.name === networkName) ?? program.table.networks.get(networkName))
      : undefined) ?? own[own.length - 1];
  if (!network) return { ok: false, reason: "this file defines no network to take figures from" };
  const sets = parseSets(choice.set ?? []);
  if (sets.diagnostics.length)
    return { ok: false, reason: `archc.set: ${sets.diagnostics[0]!.message}` };
  const given = new Set(sets.args.map((a) => a.name));
  const missing = network.params
    .filter((p) => !p.default && !given.has(p.name.name))
    .map((p) => p.name.name);
  if (missing.length) {
    return {
      ok: false,
      reason: `network ${network.name.name} has parameters without defaults (${missing.join(", ")}); give them with the archc.set setting`,
    };
  }
  const byCall = new Map<LayerStmt, [number, number][]>();
  const r = buildNetwork(program, network, sets.args, {
    onBlockCall: (call, first, end) => {
      const runs = byCall.get(call) ?? [];
      runs.push([first, end]);
      byCall.set(call, runs);
    },
  });
  if (!r.ok) {
    const first = r.diagnostics[0] ?? diagnostics[0];
    return {
      ok: false,
      reason: `network ${network.name.name} does not build${first ? `: ${first.message}` : ""}`,
    };
  }
  const bySource = new Map<string, IRNode[]>();
  for (const n of r.graph.nodes) {
    const key = sourceKey(n.source.file, n.source.line, n.source.column);
    const list = bySource.get(key) ?? [];
    list.push(n);
    bySource.set(key, list);
  }
  return { ok: true, network, graph: r.graph, bySource, byCall };
}

/** The absolute path a span's displayed file name stands for. */
export function absOf(analysis: Analysis, file: string): string {
  const m = analysis.program.loaded.modules.find((mod) => mod.file === file);
  return m ? m.absPath : resolve(file);
}

/** Every syntax node under `root`, parents before children, in source order. */
export function* nodesOf(root: Node): Generator<Node> {
  const stack: unknown[] = [root];
  while (stack.length) {
    const v = stack.pop();
    if (Array.isArray(v)) {
      for (let i = v.length - 1; i >= 0; i--) stack.push(v[i]);
      continue;
    }
    if (!v || typeof v !== "object" || !("kind" in v)) continue;
    yield v as Node;
    const children = Object.entries(v)
      .filter(([k, c]) => k !== "span" && c && typeof c === "object")
      .map(([, c]) => c);
    for (let i = children.length - 1; i >= 0; i--) stack.push(children[i]);
  }
}
