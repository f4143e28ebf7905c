import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { CountMemo } from "../../compiler/language/elaborate/elaborate.js";
import { packageRoot } from "../../compiler/language/paths.js";
import {
  buildNetwork,
  countNetworkTotals,
  loadProgram,
  parseSets,
  pickNetwork,
  type Program,
} from "../../compiler/language/program.js";

/** Each configuration counted through one shared memo and elaborated into its graph: equal, or both invalid. */
function compare(program: Program, network: string, points: string[][], maxLayers?: number) {
  const net = pickNetwork(program, network);
  if ("code" in net) throw new Error(net.message);
  const memo = new CountMemo();
  const opts = maxLayers === undefined ? {} : { maxLayers };
  const outcomes = points.map((sets) => {
    const args = parseSets(sets).args;
    const built = buildNetwork(program, net, args, opts);
    const counted = countNetworkTotals(program, net, args, memo, opts);
    expect(counted.ok, sets.join(" ")).toBe(built.ok);
    if (built.ok && counted.ok) expect(counted.totals, sets.join(" ")).toEqual(built.graph.totals);
    if (!built.ok && !counted.ok)
      expect(counted.diagnostics[0]!.code).toBe(built.diagnostics[0]!.code);
    return built.ok;
  });
  return { valid: outcomes.filter(Boolean).length, invalid: outcomes.filter((ok) => !ok).length };
}

const cross = (axes: Record<string, readonly (string | number)[]>): string[][] =>
  Object.entries(axes).reduce<string[][]>(
    (points, [name, values]) => points.flatMap((p) => values.map((v) => [...p, `${name}=${v}`])),
    [[]],
  );

const spec = (name: string) => loadProgram(join(packageRoot, "specs", `${name}.arch`));

function fromText(text: string): Program {
  return loadProgram("/virtual/spec.arch", (p) => {
    if (p === "/virtual/spec.arch") return text;
    throw new Error("no such file");
  });
}

describe("counting with a memo of block calls gives what elaboration gives", () => {
  it("Xception over parts, mid and residual, invalid partition counts included", () => {
    const r = compare(
      spec("xception"),
      "xception",
      cross({ parts: [1, 4, 5, "depthwise"], mid: ["none", "relu"], residual: ["true", "false"] }),
    );
    expect(r.invalid).toBeGreaterThan(0);
    expect(r.valid).toBeGreaterThan(0);
  });

  it("per-stage partition counts of mini Xception, and several specs of the continuum family", () => {
    compare(
      spec("mini_xception_stages"),
      "mini_xception_stages",
      cross({ entry_parts: [1, 2, 3, "depthwise"], middle_parts: [1, 4], exit_parts: [1, 8] }),
    );
    compare(spec("resnext50_32x4d"), "resnext50_32x4d", cross({ parts: [1, 8, 32, 7] }));
    compare(spec("regnet_y_400mf"), "regnet_y_400mf", cross({ group_width: [8, 16, 5] }));
    compare(spec("inception_v3"), "inception_v3", cross({ fc: ["true", "false"] }));
  });

  it("a remembered call over the layer limit fails as elaboration fails, however it got there", () => {
    // The first pass of the repeat makes 3 layers, the others none: elaborate() refuses it as
    // 3 x 4 layers once 12 are over the limit, though only 3 would be made.
    const program = fromText(`
block early(n) {
  repeat n as i { if i == 0 { conv 1x1 3 -> bn -> relu } }
}
network net(n = 4, k = 1) {
  input 8x8x3
  early(n)
  repeat k { early(n) }
  gap -> dense 2
}
`);
    for (const maxLayers of [4, 8, 12, 14, 16, 40]) {
      compare(program, "net", cross({ n: [1, 4], k: [0, 1, 3] }), maxLayers);
    }
  });

  it("layer names chosen inside a block clash only within its instance; a clash fails the same", () => {
    const program = fromText(`
block named(w, twice = false) {
  conv 1x1 w name="a"
  if twice { conv 1x1 w name="a" }
}
network net(w = 4, twice = false) {
  input 8x8x3
  named(w, twice = twice) -> named(w) -> named(w, twice = twice)
  gap -> dense 2
}
`);
    const r = compare(program, "net", cross({ w: [4, 8], twice: ["false", "true"] }));
    expect(r).toEqual({ valid: 2, invalid: 2 });
  });
});
