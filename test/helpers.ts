import { main } from "../compiler/cli/main.js";
import type { IRGraph } from "../compiler/language/ir/types.js";
import {
  buildNetwork,
  loadProgram,
  parseSets,
  pickNetwork,
  type Program,
} from "../compiler/language/program.js";
import type { Diagnostic } from "../grammar/diagnostic.js";
import type { Span } from "../grammar/span.js";

export interface CliResult {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs the CLI in-process, capturing what it prints. */
export async function runCli(...argv: string[]): Promise<CliResult> {
  let stdout = "";
  let stderr = "";
  const code = await main(argv, {
    out: (t) => (stdout += t.endsWith("\n") ? t : t + "\n"),
    err: (t) => (stderr += t.endsWith("\n") ? t : t + "\n"),
  });
  return { code, stdout, stderr };
}

/** Elaborates a network from source text held in memory. */
export function buildText(
  text: string,
  sets: string[] = [],
  network?: string,
): { graph?: IRGraph; diagnostics: readonly Diagnostic[] } {
  const program = loadProgram("/virtual/spec.arch", (p) => {
    if (p === "/virtual/spec.arch") return text;
    throw new Error("no such file");
  });
  return buildProgram(program, network, sets);
}

/** Elaborates `network` (or the file's own) of a spec file at `--set` values. */
export function buildFile(
  file: string,
  network?: string,
  sets: readonly string[] = [],
): { graph?: IRGraph; diagnostics: readonly Diagnostic[] } {
  return buildProgram(loadProgram(file), network, sets);
}

function buildProgram(
  program: Program,
  network: string | undefined,
  sets: readonly string[],
): { graph?: IRGraph; diagnostics: readonly Diagnostic[] } {
  if (program.diagnostics.length) return { diagnostics: program.diagnostics };
  const net = pickNetwork(program, network);
  if ("code" in net) return { diagnostics: [net] };
  const parsed = parseSets([...sets]);
  const r = buildNetwork(program, net, parsed.args);
  return r.ok ? { graph: r.graph, diagnostics: [] } : { diagnostics: r.diagnostics };
}

function must(r: { graph?: IRGraph; diagnostics: readonly Diagnostic[] }): IRGraph {
  if (!r.graph) throw new Error(r.diagnostics.map((d) => `${d.code} ${d.message}`).join("\n"));
  return r.graph;
}

export function mustBuild(text: string, sets: string[] = []): IRGraph {
  return must(buildText(text, sets));
}

/** buildFile's graph; any diagnostic throws. */
export function mustBuildFile(
  file: string,
  network?: string,
  sets: readonly string[] = [],
): IRGraph {
  return must(buildFile(file, network, sets));
}

/** The AST as JSON, each span shortened to `line:col-line:col` so goldens stay readable. */
export function astText(node: unknown): string {
  return JSON.stringify(
    node,
    (key, value: unknown) => {
      if (key === "span") {
        const s = value as Span;
        return `${s.start.line}:${s.start.column}-${s.end.line}:${s.end.column}`;
      }
      return value;
    },
    2,
  );
}
