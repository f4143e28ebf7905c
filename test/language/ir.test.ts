import { readFileSync } from "node:fs";
import { join } from "node:path";
import { Ajv } from "ajv";
import { describe, expect, it } from "vitest";
import { irSchema, validateIR } from "../../compiler/language/ir/validate.js";
import { buildNetwork, loadProgram } from "../../compiler/language/program.js";
import type { IRGraph } from "../../compiler/language/ir/types.js";
import { mustBuild } from "../helpers.js";

const repo = join(import.meta.dirname, "..", "..");

function build(file: string, network: string): IRGraph {
  const p = loadProgram(join(repo, file));
  const r = buildNetwork(p, p.table.networks.get(network)!, []);
  if (!r.ok) throw new Error(r.diagnostics[0]!.message);
  return r.graph;
}

describe("IR and its JSON Schema", () => {
  it("the schema itself is a valid draft-07 schema", () => {
    const ajv = new Ajv({ strict: true });
    expect(ajv.validateSchema(irSchema)).toBe(true);
  });

  it("Xception's IR validates, survives a JSON round trip, and has unique names", () => {
    const g = build("specs/xception.arch", "xception");
    expect(validateIR(JSON.parse(JSON.stringify(g)))).toEqual([]);
    expect(new Set(g.nodes.map((n) => n.name)).size).toBe(g.nodes.length);
  });

  it("every layer kind's IR validates", () => {
    const g = mustBuild(readFileSync(join(repo, "examples", "tiny.arch"), "utf8"));
    expect(validateIR(g)).toEqual([]);
    const ops = new Set(g.nodes.map((n) => n.op));
    for (const op of [
      "input",
      "conv",
      "sepconv",
      "bn",
      "act",
      "maxpool",
      "concat",
      "add",
      "gap",
      "dropout",
      "dense",
    ]) {
      expect(ops.has(op as never), op).toBe(true);
    }
  });

  it("rejects graphs that break the schema or the graph's own invariants", () => {
    const g = build("specs/xception.arch", "xception");
    const broken = JSON.parse(JSON.stringify(g)) as {
      nodes: { attrs: Record<string, unknown>; inputs: number[]; op: string }[];
      totals: { macs: number };
    };
    broken.nodes[1]!.attrs["padding"] = "full";
    expect(validateIR(broken).join("\n")).toMatch(/padding|allowed/);
    const cyclic = JSON.parse(JSON.stringify(g)) as typeof broken;
    cyclic.nodes[1]!.inputs = [5];
    expect(validateIR(cyclic).join("\n")).toMatch(/does not come before/);
    const sep = g.nodes.findIndex((n) => n.op === "sepconv");
    const wrongSpatial = JSON.parse(JSON.stringify(g)) as typeof broken;
    wrongSpatial.nodes[sep]!.attrs["spatialChannels"] = 7;
    expect(validateIR(wrongSpatial).join("\n")).toMatch(/spatialChannels is 7.*reads \d+/);
    const noActivation = JSON.parse(JSON.stringify(g)) as typeof broken & {
      activations: Record<string, unknown>;
    };
    delete noActivation.activations["relu"];
    expect(validateIR(noActivation).join("\n")).toMatch(/uses relu, not in \/activations/);
    const wrongTotal = JSON.parse(JSON.stringify(g)) as typeof broken;
    wrongTotal.totals.macs += 1;
    expect(validateIR(wrongTotal).join("\n")).toMatch(/macs/);
  });
});

describe("what the IR carries for lowering", () => {
  it("a sepconv's spatial-step channels: the input's spatial_first, filters pointwise_first", () => {
    const g = mustBuild(
      "network n {\n  input 8x8x6\n  sepconv 3x3 12 parts=3 order=pointwise_first\n  sepconv 3x3 24 parts=depthwise\n}\n",
    );
    const [pf, sf] = g.nodes.filter((n) => n.op === "sepconv");
    expect(pf!.op === "sepconv" && pf!.attrs).toMatchObject({ spatialChannels: 12, groups: 3 });
    expect(sf!.op === "sepconv" && sf!.attrs).toMatchObject({ spatialChannels: 12, groups: 12 });
  });

  it("every activation used, with its constants", () => {
    const g = mustBuild(
      "network n {\n  input 8x8x3\n  conv 3x3 4 leaky_relu -> elu\n  gap -> dense 2\n}\n",
    );
    expect(g.activations).toEqual({
      none: {},
      leaky_relu: { alpha: 0.3 },
      elu: { alpha: 1 },
    });
    expect(validateIR(g)).toEqual([]);
  });
});

describe("Xception figures", () => {
  it("matches Keras applications and the paper's Table 3", () => {
    const g = build("specs/xception.arch", "xception");
    expect(g.totals.params).toEqual({
      total: 22_910_480,
      trainable: 22_855_952,
      nonTrainable: 54_528,
    });
    expect(Math.abs(g.totals.macs / 8.36e9 - 1)).toBeLessThan(0.005);
    expect(g.nodes[g.output]!.shape).toEqual([1000]);
  });
});
