import { readdirSync, readFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { describe, expect, it } from "vitest";
import { formatSummary } from "../../compiler/backends/summary/summary.js";
import { formatSource } from "../../compiler/cli/commands/fmt.js";
import { formatDiagnostics } from "../../compiler/language/diagnostics/print.js";
import { readSource } from "../../compiler/language/defaultHost.js";
import {
  buildNetwork,
  checkProgram,
  loadProgram,
  pickNetwork,
} from "../../compiler/language/program.js";
import type { Diagnostic } from "../../grammar/diagnostic.js";
import { parse } from "../../grammar/parse.js";
import type { IRGraph } from "../../compiler/language/ir/types.js";
import { runTargets, type TargetCase } from "../backends/targets.js";
import { inCI, needPython, python, pythonProblem } from "../backends/torch/python.js";
import { mulberry32 as rng } from "../../compiler/util/random.js";

/**
 * A corpus of broken specs: mutants of the spec library, each run through what `archc check`,
 * `archc summary` and `archc fmt` do, in process. No mutant may crash, take 5 s or grow the heap
 * past 1 GB, and every diagnostic must point into a file that was read. Seeded: a failure names
 * the mutant's number, and the same number rebuilds the same text. A bounded sample of the
 * mutants that build (small ones, so CI stays quick) then has every target generated and run
 * (../backends/targets.ts): TypeScript imported and built, PyTorch imported and run against
 * onnxruntime, ONNX run, the graph drawn; none may fail.
 */
const seed = 20261130;
const count = 2000;
const maxMs = 5000;
const maxHeap = 1024 * 1024 * 1024;
/** How many built mutants have their generated code run, and how small they must be. */
const codegenSample = 12;
const smallEnough = (g: IRGraph) => g.totals.params.total <= 2e6 && g.totals.macs <= 2e8;

const root = resolve(import.meta.dirname, "..", "..");
const library = ["specs", "stdlib", "examples"].flatMap((d) =>
  readdirSync(join(root, d))
    .filter((f) => f.endsWith(".arch"))
    .sort()
    .map((f) => ({ path: join(root, d, f), text: readFileSync(join(root, d, f), "utf8") })),
);

const numbers = [
  "0",
  "-1",
  "1e9",
  "1e308",
  "NaN",
  "Infinity",
  "-Infinity",
  "1000000000",
  "2147483648",
  "99999999999999999999",
  "0.5",
  "-0",
  "3x0",
  "0x0x0",
  "100000x100000x3",
];
const controls = ["\u0000", "\u001b[31m", "\u007f", "\r", "\u202e", "\t", "\u0007", "\ufeff"];

type Mutation = (text: string, r: () => number, other: string) => string;

const tokenRe =
  /[A-Za-z_][A-Za-z0-9_]*|\d+(?:x\d+)*(?:\/\d+)?(?:\.\d*)?(?:e[+-]?\d+)?|"[^"\n]*"|->|\S/g;
function tokens(text: string): { start: number; end: number }[] {
  return [...text.matchAll(tokenRe)].map((m) => ({ start: m.index, end: m.index + m[0].length }));
}
const pick = <T>(xs: readonly T[], r: () => number): T => xs[Math.floor(r() * xs.length)]!;

const mutations: Record<string, Mutation> = {
  byteFlip: (t, r) => {
    const i = Math.floor(r() * t.length);
    return t.slice(0, i) + String.fromCharCode(Math.floor(r() * 128)) + t.slice(i + 1);
  },
  deleteToken: (t, r) => {
    const ts = tokens(t);
    if (!ts.length) return t;
    const k = pick(ts, r);
    return t.slice(0, k.start) + t.slice(k.end);
  },
  duplicateToken: (t, r) => {
    const ts = tokens(t);
    if (!ts.length) return t;
    const k = pick(ts, r);
    return t.slice(0, k.end) + " " + t.slice(k.start, k.end) + t.slice(k.end);
  },
  swapTokens: (t, r) => {
    const ts = tokens(t);
    if (ts.length < 2) return t;
    let [a, b] = [pick(ts, r), pick(ts, r)];
    if (a.start > b.start) [a, b] = [b, a];
    if (a.end > b.start) return t;
    const ta = t.slice(a.start, a.end);
    const tb = t.slice(b.start, b.end);
    return t.slice(0, a.start) + tb + t.slice(a.end, b.start) + ta + t.slice(b.end);
  },
  number: (t, r) => {
    const ts = [...t.matchAll(/\b\d+(?:x\d+)*(?:\.\d+)?\b/g)];
    if (!ts.length) return t;
    const m = pick(ts, r);
    return t.slice(0, m.index) + pick(numbers, r) + t.slice(m.index + m[0].length);
  },
  hugeRepeat: (t, r) => {
    const lines = t.split("\n");
    const i = Math.floor(r() * lines.length);
    const n = pick(["1000000000", "100000", "99999999999999999999", "1e9", "-5"], r);
    if (/\brepeat\s+\S+/.test(lines[i]!))
      lines[i] = lines[i]!.replace(/repeat\s+\S+/, `repeat ${n}`);
    else lines[i] = `repeat ${n} { ${lines[i]} }`;
    return lines.join("\n");
  },
  spliceLine: (t, r, other) => {
    const lines = t.split("\n");
    const from = other.split("\n");
    lines.splice(Math.floor(r() * (lines.length + 1)), 0, pick(from, r));
    return lines.join("\n");
  },
  dropLine: (t, r) => {
    const lines = t.split("\n");
    lines.splice(Math.floor(r() * lines.length), 1);
    return lines.join("\n");
  },
  control: (t, r) => {
    const i = Math.floor(r() * (t.length + 1));
    return t.slice(0, i) + pick(controls, r) + t.slice(i);
  },
};
const names = Object.keys(mutations);

function mutant(n: number): { path: string; text: string; ops: string[] } {
  const r = rng(seed + n * 7919);
  const src = pick(library, r);
  let text = src.text;
  const ops: string[] = [];
  for (let k = 1 + Math.floor(r() * 3); k > 0; k--) {
    const op = pick(names, r);
    ops.push(op);
    text = mutations[op]!(text, r, pick(library, r).text);
  }
  return { path: src.path, text, ops };
}

/** Where a diagnostic must point: a file that was read, inside its text. */
function locatedProblem(
  d: Diagnostic,
  source: (f: string) => string | undefined,
): string | undefined {
  const { file, start } = d.span;
  const text = source(file);
  if (text === undefined) return `${d.code} points into ${file}, which was not read`;
  const lines = text.split(/\r\n|\r|\n/).length;
  if (start.line < 1 || start.column < 1 || start.line > lines)
    return `${d.code} points at ${start.line}:${start.column}, outside ${file} (${lines} lines)`;
  return undefined;
}

// eslint-disable-next-line no-control-regex
const rawControl = /[\u0000-\u0008\u000b-\u001f\u007f\u202e]/;

describe("corpus: mutants of the spec library", () => {
  it(`${count} mutants through check, summary and fmt: no crash, no hang, every diagnostic located; generated code of the small ones that build runs`, async () => {
    const problem = pythonProblem("torch");
    if (problem && inCI) needPython(problem);
    const failures: string[] = [];
    const sample: TargetCase[] = [];
    const tally = { diagnosed: 0, built: 0, formatted: 0 };
    let slowest = 0;
    let peakHeap = 0;
    for (let n = 0; n < count; n++) {
      const m = mutant(n);
      const t0 = performance.now();
      try {
        const read = (p: string) => (p === m.path ? m.text : readSource(p));
        const program = loadProgram(m.path, read);
        const source = (f: string) => program.loaded.source(f);
        const ds = checkProgram(program);
        if (ds.length) tally.diagnosed++;
        for (const d of ds) {
          const problem = locatedProblem(d, source);
          if (problem) failures.push(`#${n} ${m.ops.join("+")}: ${problem}`);
        }
        if (rawControl.test(formatDiagnostics(ds, source)))
          failures.push(`#${n} ${m.ops.join("+")}: a raw control character reached the output`);
        if (program.diagnostics.length === 0) {
          const net = pickNetwork(program);
          if (!("code" in net) && !net.params.some((p) => !p.default)) {
            const built = buildNetwork(program, net, []);
            if (built.ok) {
              formatSummary(built.graph);
              tally.built++;
              if (sample.length < codegenSample && smallEnough(built.graph))
                sample.push({ name: `mutant_${n}`, program, net, graph: built.graph });
            }
          }
        }
        const f = formatSource(m.path, m.text);
        if (f.text !== undefined) {
          tally.formatted++;
          const again = parse(m.path, f.text);
          if (again.diagnostics.length)
            failures.push(`#${n} ${m.ops.join("+")}: fmt's output does not parse`);
        }
      } catch (e) {
        failures.push(
          `#${n} ${m.ops.join("+")}: crashed: ${(e as Error).stack?.split("\n").slice(0, 3).join(" | ")}`,
        );
      }
      const ms = performance.now() - t0;
      slowest = Math.max(slowest, ms);
      if (ms > maxMs) failures.push(`#${n} ${m.ops.join("+")}: took ${Math.round(ms)} ms`);
      const heap = process.memoryUsage().heapUsed;
      peakHeap = Math.max(peakHeap, heap);
      if (heap > maxHeap) failures.push(`#${n} ${m.ops.join("+")}: heap at ${heap} bytes`);
      if (failures.length > 20) break;
    }
    console.log(
      `corpus: ${count} mutants, ${tally.diagnosed} with diagnostics, ${tally.built} built, ${tally.formatted} formatted; slowest ${Math.round(slowest)} ms, peak heap ${Math.round(peakHeap / 2 ** 20)} MiB`,
    );
    const t0 = performance.now();
    const generated = await runTargets(join(root, "test", ".generated", "corpus"), sample, {
      python: problem ? undefined : python,
    });
    console.log(
      `corpus: generated code of ${sample.length} built mutants: ran ${JSON.stringify(generated.ran)}, ${generated.problems.length} problems, in ${Math.round((performance.now() - t0) / 1000)} s`,
    );
    failures.push(...generated.problems);
    expect(failures).toEqual([]);
    expect(sample.length).toBe(codegenSample);
    expect(generated.ran.flat).toBe(sample.length);
    expect(generated.ran.onnx).toBe(sample.length);
    if (!problem) expect(generated.ran.torch).toBe(sample.length);
    // The corpus must exercise both sides: broken specs, and mutants that still build.
    expect(tally.diagnosed).toBeGreaterThan(count / 4);
    expect(tally.built).toBeGreaterThan(count / 20);
  }, 900_000);
});
