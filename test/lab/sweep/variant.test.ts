import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { compileSpec } from "../../../compiler/index.js";
import { experimentVariants } from "../../../compiler/language/config/experiment.js";
import { buildVariant, loadProgram } from "../../../compiler/language/program.js";
import { runCli } from "../../helpers.js";

// Booleans, floats and strings, including a string that looks like a list of assignments: every
// one must reach the network as the value it was, never as text read back.
const spec = `network net(flag = true, rate = 0.5, tag = "plain", parts = 1) {
  input 8x8x4
  conv 1x1 8 bias=flag parts=parts
  dropout rate
  gap -> dense 2 softmax
}

experiment e {
  compare net(flag = false, tag = "x, y = z"), net(true, 0.125)
  sweep rate = [0.25, 1.5e-1]
}
`;

function specFile(): string {
  const dir = mkdtempSync(join(tmpdir(), "archc-variant-"));
  const f = join(dir, "v.arch");
  writeFileSync(f, spec);
  return f;
}

describe("one typed Variant", () => {
  it("an experiment carries booleans, floats and strings as values", () => {
    const program = loadProgram(specFile());
    expect(program.diagnostics).toEqual([]);
    const vs = experimentVariants(program.experiments.get("e")!);
    expect(vs.map((v) => v.label)).toEqual([
      'net(flag = false, tag = "x, y = z", rate = 0.25)',
      'net(flag = false, tag = "x, y = z", rate = 0.15)',
      "net(flag = true, rate = 0.25)",
      "net(flag = true, rate = 0.15)",
    ]);
    expect(vs[0]!.point.get("flag")).toEqual({ t: "bool", v: false });
    expect(vs[0]!.point.get("tag")).toEqual({ t: "string", v: "x, y = z" });
    expect(vs[1]!.point.get("rate")).toEqual({ t: "float", v: 0.15 });
    // Positional arguments are named by the parameter they stand for.
    expect(vs[2]!.point.get("flag")).toEqual({ t: "bool", v: true });
    const graphs = vs.map((v) => {
      const r = buildVariant(program, v);
      if (!r.ok) throw new Error(r.diagnostics[0]!.message);
      return r.graph;
    });
    expect(graphs[0]!.args).toEqual({ flag: false, rate: 0.25, tag: "x, y = z", parts: 1 });
    expect(graphs[3]!.args).toEqual({ flag: true, rate: 0.15, tag: "plain", parts: 1 });
    // The bias is there only when flag is true: 4 * 8 weights plus 8 biases.
    expect(graphs[0]!.totals.params.total).toBe(graphs[2]!.totals.params.total - 8);
  });

  it("a sweep carries booleans, floats and strings as values", async () => {
    const f = specFile();
    const r = await runCli(
      "sweep",
      f,
      "--sweep",
      "flag=false,true",
      "--sweep",
      "rate=0.25,1e-1",
      "--sweep",
      'tag="a, b = c","d"',
      "--json",
      "--out",
      join(f, "..", "out"),
    );
    expect(r.code).toBe(0);
    const out = JSON.parse(r.stdout) as {
      results: { variant: string; point: Record<string, unknown>; params: number }[];
    };
    expect(out.results.map((x) => x.point)).toEqual([
      { flag: false, rate: 0.25, tag: "a, b = c" },
      { flag: false, rate: 0.25, tag: "d" },
      { flag: false, rate: 0.1, tag: "a, b = c" },
      { flag: false, rate: 0.1, tag: "d" },
      { flag: true, rate: 0.25, tag: "a, b = c" },
      { flag: true, rate: 0.25, tag: "d" },
      { flag: true, rate: 0.1, tag: "a, b = c" },
      { flag: true, rate: 0.1, tag: "d" },
    ]);
    expect(out.results[0]!.params + 8).toBe(out.results[4]!.params);
  });

  it("the API takes JavaScript values, and words of the language as words", () => {
    const g = compileSpec(specFile(), {
      args: { flag: false, rate: 0.75, tag: "depth, wise", parts: "depthwise" },
    });
    expect(g.args).toEqual({ flag: false, rate: 0.75, tag: "depth, wise", parts: "depthwise" });
    // Depthwise 1x1 from 4 to 8 channels: 8 weights, no bias; then dense 8 -> 2.
    expect(g.totals.params.total).toBe(1 * 1 * (4 / 4) * 8 + (8 * 2 + 2));
  });
});
