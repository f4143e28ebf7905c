import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { limits } from "../../grammar/limits.js";
import { expectGolden } from "../golden.js";
import { runCli } from "../helpers.js";

/**
 * Inputs that used to hang archc, exhaust its memory or overflow its stack: each is now one
 * located diagnostic. They are generated here, not kept as files, because some are large.
 */
const golden = join(import.meta.dirname, "..", "golden", "diagnostics", "bounds");
let dir = "";
const cwd = process.cwd();

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), "archc-bounds-"));
  process.chdir(dir);
});
afterAll(() => {
  process.chdir(cwd);
  rmSync(dir, { recursive: true, force: true });
});

const net = (body: string) => `network n {\n  input 8x8x3\n${body}\n}\n`;

/** Block b0 is one layer; each b(i) calls b(i-1) twice, so b40 would be 2^40 layers. */
function doubling(levels: number): string {
  const blocks = ["block b0(c) {\n  conv 1x1 c\n}\n"];
  for (let i = 1; i <= levels; i++)
    blocks.push(`block b${i}(c) {\n  b${i - 1}(c) -> b${i - 1}(c)\n}\n`);
  return blocks.join("") + net(`  b${levels}(4)`);
}

const cases: Record<string, { text: string; code: string; args?: string[] }> = {
  huge_repeat: { text: net("  repeat 1000000000 { conv 1x1 4 }"), code: "E0503" },
  doubling_blocks: { text: doubling(40), code: "E0503" },
  empty_repeats: { text: net("  repeat 100000 { repeat 100000 { } }"), code: "E0503" },
  max_layers_flag: {
    text: net("  repeat 3 { conv 1x1 4 -> relu }"),
    code: "E0503",
    args: ["--max-layers", "5"],
  },
  nested_repeats: {
    text: net(`${"  repeat 1 {\n".repeat(300)}  relu\n${"  }\n".repeat(300)}`),
    code: "E0104",
  },
  nested_parens: { text: net(`  conv 1x1 ${"(".repeat(1000)}4${")".repeat(1000)}`), code: "E0104" },
  else_if_chain: {
    text: net(`  if false { relu }${" else if false { relu }".repeat(300)}`),
    code: "E0104",
  },
  prefix_run: { text: net(`  conv 1x1 ${"- ".repeat(100)}4`), code: "E0104" },
  long_sum: { text: net(`  conv 1x1 ${"1 + ".repeat(2000)}1`), code: "E0106" },
  huge_sum: { text: net(`  conv 1x1 ${"1+".repeat(500_000)}1`), code: "E0105" },
  huge_spec: { text: net(`# ${"x".repeat(limits.specBytes)}`), code: "E0105" },
  block_chain: {
    // 3,000 blocks each calling the next: no recursion over the chain may overflow the stack.
    text:
      Array.from({ length: 3000 }, (_, i) => `block c${i}() {\n  c${i + 1}()\n}\n`).join("") +
      "block c3000() {\n  relu\n}\n" +
      net("  c0()"),
    code: "E0205",
  },
};

describe("bounds: what would hang or overflow is one located diagnostic (golden)", () => {
  for (const [name, c] of Object.entries(cases)) {
    it(name, async () => {
      writeFileSync(join(dir, `${name}.arch`), c.text);
      const r = await runCli("check", `${name}.arch`, ...(c.args ?? []));
      expect(r.code).toBe(1);
      expect(r.stderr).toContain(`error[${c.code}]`);
      expect(r.stderr).toMatch(new RegExp(`^${name}\\.arch:\\d+:\\d+: error`));
      expectGolden(join(golden, `${name}.txt`), r.stderr);
    });
  }

  it("input just inside every limit passes all recursive passes: check, summary and fmt", async () => {
    // 1,000 operators; parentheses 98 deep inside the network's braces (99 levels); 32 prefix
    // minuses; 8 else-ifs: the parser, the evaluator, the name check and the printer recurse
    // once per level, and must all cope with what the limits let through.
    const sum = `${"1 + ".repeat(limits.operators)}0`;
    const deep = `${"(".repeat(limits.nesting - 2)}${"- ".repeat(limits.prefixes - 1)}-4${")".repeat(limits.nesting - 2)}`;
    const ifs = `if false { relu }${" else if false { relu }".repeat(8)} else { relu }`;
    const text = net(`  let a = ${sum}\n  let b = ${deep}\n  conv 1x1 a + b\n  ${ifs}`);
    writeFileSync(join(dir, "at_limits.arch"), text);
    const check = await runCli("check", "at_limits.arch");
    expect(check.stderr).toBe("");
    expect(check.code).toBe(0);
    expect((await runCli("summary", "at_limits.arch")).stdout).toContain("8x8x1004"); // 1,000 + 4 channels
    const fmt = await runCli("fmt", "--stdout", "at_limits.arch");
    expect(fmt.code).toBe(0);
  });

  it("--max-layers takes a positive integer: anything else is a usage error", async () => {
    writeFileSync(join(dir, "small.arch"), net("  relu"));
    for (const bad of ["0", "-1", "x", "1e3"]) {
      const r = await runCli("summary", "small.arch", "--max-layers", bad);
      expect(r.code).toBe(2);
      expect(r.stderr).toContain(`--max-layers takes a positive integer, not '${bad}'`);
    }
    expect((await runCli("summary", "small.arch", "--max-layers", "2")).code).toBe(0);
  });
});
