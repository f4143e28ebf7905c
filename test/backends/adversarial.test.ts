import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { buildNetwork, loadProgram, pickNetwork } from "../../compiler/language/program.js";
import { inCI, needPython, python, pythonProblem, repo } from "./torch/python.js";
import { runTargets, type TargetCase } from "./targets.js";

/**
 * Spec text that tries to become code: comments, strings and names chosen to break out of a
 * comment, a docstring or a string, or to take a name the generated module needs. Every target
 * is generated and run (targets.ts): every module must import and build, and nothing injected
 * may run (globalThis.INJECTED, builtins.INJECTED, a file named PWNED).
 */

/** What a `#` comment (and a string) may say. */
const payloads = [
  "*/ function pwn() {} export const z = ((globalThis as any).INJECTED = 1); /**",
  "*/ (globalThis as any).INJECTED = 2; /*",
  "\u2028(globalThis as any).INJECTED = 3; //",
  "x\u2029(globalThis as any).INJECTED = 4;",
  '"""; import builtins; builtins.INJECTED = 5; """',
  "'''; open('PWNED', 'w'); '''",
  "\\N{NO SUCH NAME} \\x \\u12 \\",
  "${((globalThis as any).INJECTED = 6)} `backtick` \\`",
  "--> </script><script>INJECTED = 7</script> <!-- ]]>",
  "\u202e evil \u2066 \u0000 \u001b[31m red \u007f \u0085 \ufeff \u200b",
  "@ts-nocheck */ // @ts-ignore \\",
];

/** Names `check` accepts that a target language, its runtime or the generated module needs. */
const names = [
  // Python keywords, soft keywords, builtins, names of the generated module, nn.Module members
  ..."None True False _ _1 _2d __init__ __foo _modules self super type match case print".split(" "),
  ..."eval forward to float cpu state_dict training apply half".split(" "),
  ..."nn F torch Dense Conv2d Pair Optional json struct groups_of load_weights pad_same".split(" "),
  // TypeScript / JavaScript reserved words, globals, and names of the generated modules
  ..."tf build Builder figures channels numeric Tensor Parts options unknown".split(" "),
  ..."constructor toString delete default class function arguments await yield".split(" "),
  ..."static interface undefined NaN globalThis x s".split(" "),
];

/** An arch string literal of `text`. */
const archString = (text: string) => `"${text.replace(/[\\"]/g, (c) => `\\${c}`)}"`;

function commentSpec(i: number, payload: string): string {
  return [
    `# ${payload}`,
    "",
    `# ${payload}`,
    "block unit(f) {",
    `  # ${payload}`,
    `  conv 3x3 f -> relu  # ${payload}`,
    "}",
    "",
    `# ${payload}`,
    `network net_${i}(tag = ${archString(payload)}, rate = 0.25) {`,
    `  # ${payload}`,
    "  input 6x6x2",
    "  unit(4) -> unit(3)",
    `  gap -> dropout rate -> dense 2  # ${payload}`,
    "}",
    "",
  ].join("\n");
}

/**
 * Names that can name layers: a block's name and `name=` start with a letter, as tfjs' weight
 * names must (a leading `_` is a diagnostic: test/golden/diagnostics/cases/block_underscore.arch).
 */
const layerNames = names.filter((n) => /^[A-Za-z]/.test(n));

/** Every name as a block (two instances of different sizes) and a `let`. */
function blocksSpec(): string {
  const blocks = layerNames.map((n) => `block ${n}(f = 4) {\n  let ${n}_ = f\n  conv 3x3 ${n}_\n}`);
  const chain = layerNames.map((n, i) => `  ${n}(${2 + (i % 3)}) -> ${n}(3)`);
  return [...blocks, "network net {", "  input 5x5x2", ...chain, "  gap -> dense 2", "}", ""].join(
    "\n",
  );
}

/** Every name as a layer's chosen name. */
function layersSpec(): string {
  const layers = layerNames.map((n) => `  bn name = "${n}"`);
  return ["network net {", "  input 5x5x2", ...layers, "  gap -> dense 2", "}", ""].join("\n");
}

/** Every name as a network parameter (kept as a PyTorch constructor parameter) and a block's. */
function paramsSpec(): string {
  const params = names.map((n, i) => `${n} = ${i % 2 ? "0.25" : "relu"}`);
  const body = names.map((n, i) => (i % 2 ? `  dropout ${n}` : `  inner(f = 3, ${n} = ${n})`));
  const acts = names.filter((_, i) => i % 2 === 0);
  return [
    `block inner(f, ${acts.map((n) => `${n} = none`).join(", ")}) {`,
    "  conv 3x3 f",
    ...acts.map((n) => `  act(${n})`),
    "}",
    `network net(${params.join(", ")}) {`,
    "  input 5x5x2",
    ...body,
    "  gap -> dense 2",
    "}",
    "",
  ].join("\n");
}

/** Names a network's class, function or module could clash with (a spec each: kept lean). */
const networkNames = [
  ..."None True _1 _2d __init__ type F nn Dense Pair json load_weights".split(" "),
  ..."tf build Builder apply figures options constructor delete x".split(" "),
];

/** The network itself takes the name. */
function networkSpec(name: string): string {
  return `network ${name}(width = 3) {\n  input 4x4x1\n  conv 3x3 width -> bn -> relu\n  gap -> dense 2\n}\n`;
}

/** Names that the mapping itself could make collide. */
const collisions = [
  "block to(f) { conv 1x1 f }",
  "block to_(f) { conv 1x1 f }",
  "block to__(f) { conv 1x1 f }",
  "block a_b(f) { conv 1x1 f }",
  "block aB(f) { conv 1x1 f }",
  "block m_1(f) { conv 1x1 f }",
  "block None_(f) { conv 1x1 f }",
  "block None(f) { conv 1x1 f }",
  "network collide(to = 2, to_ = 3) {",
  "  input 4x4x2",
  "  to(to) -> to_(to_) -> to__(2) -> a_b(2) -> aB(2) -> m_1(2) -> None_(2) -> None(2)",
  '  conv 1x1 2 name = "m_1_" -> conv 1x1 2 name = "None__" -> conv 1x1 2 name = "to___"',
  "  gap -> dense 2",
  "}",
  "",
].join("\n");

function cases(): { specs: number; cases: TargetCase[] } {
  const texts: [string, string][] = [
    ...payloads.map((p, i): [string, string] => [`comment_${i}`, commentSpec(i, p)]),
    ["blocks", blocksSpec()],
    ["layers", layersSpec()],
    ["params", paramsSpec()],
    ["collisions", collisions],
    ...networkNames.map((n): [string, string] => [`network_${n}`, networkSpec(n)]),
  ];
  const out: TargetCase[] = [];
  for (const [name, text] of texts) {
    const file = `/virtual/${name}.arch`;
    const program = loadProgram(file, (p) => {
      if (p === file) return text;
      throw new Error(`no such file: ${p}`);
    });
    const problem = (what: string) =>
      new Error(`${name}: ${what}\n--- spec ---\n${text}\n------------`);
    if (program.diagnostics.length)
      throw problem(program.diagnostics.map((d) => `${d.code} ${d.message}`).join("; "));
    const net = pickNetwork(program);
    if ("code" in net) throw problem(net.message);
    const r = buildNetwork(program, net, []);
    if (!r.ok) throw problem(r.diagnostics.map((d) => `${d.code} ${d.message}`).join("; "));
    out.push({ name, program, net, graph: r.graph });
  }
  return { specs: texts.length, cases: out };
}

const problem = pythonProblem("torch");

describe("generated code from adversarial comments, strings and names", () => {
  it("every spec checks, every target of it imports and runs, and nothing injected runs", async () => {
    if (problem && inCI) needPython(problem);
    const { specs, cases: all } = cases();
    expect(all.length).toBe(specs);
    const dir = join(repo, "test", ".generated", "adversarial");
    const report = await runTargets(dir, all, {
      python: problem ? undefined : python,
      probe: true,
      svg: true,
    });
    console.log(
      `adversarial: ${specs} specs (${payloads.length} comment payloads, ${names.length} names, ${networkNames.length} network names); ran ${JSON.stringify(report.ran)}`,
    );
    expect(report.problems).toEqual([]);
    expect(report.ran.flat).toBe(specs);
    expect(report.ran.ts).toBe(specs);
    expect(report.ran.onnx).toBe(specs);
    expect(report.ran.graph).toBe(specs);
    if (!problem) expect(report.ran.torch).toBe(specs);
  }, 600_000);
});
