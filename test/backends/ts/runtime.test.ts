import { beforeAll, describe, expect, it } from "vitest";
import { initBackend } from "../../../compiler/backends/tfjs/runtime.js";
import { Builder, type Tensor } from "../../../compiler/backends/ts/runtime/builder.js";
import { buildText } from "../../helpers.js";
import { expectSpecError } from "./harness.js";

/**
 * The runtime of generated TypeScript (`Builder`) reports a bad argument with the compiler's
 * code, message and hint, to the letter: each case is a layer written in a spec and the same
 * layer called on the Builder, after the same input. Builder calls take what TypeScript's types
 * would refuse too (as from JavaScript), hence the casts.
 */

beforeAll(async () => {
  await initBackend("cpu");
});

interface Case {
  /** The layers after `input 8x8x4`, as the spec writes them. */
  readonly spec: string;
  /** The same, on the Builder's network scope. */
  readonly call: (b: Builder, x: Tensor) => unknown;
}

// eslint-disable-next-line @typescript-eslint/no-explicit-any
type Loose = any;

const cases: readonly Case[] = [
  {
    spec: "conv 3x3 10 parts = 3",
    call: (b, x) => b.layer("conv", x, { kernel: 3, filters: 10, parts: 3 }),
  },
  { spec: "conv 3x3 0", call: (b, x) => b.layer("conv", x, { kernel: 3, filters: 0 }) },
  { spec: "conv 0 8", call: (b, x) => b.layer("conv", x, { kernel: 0, filters: 8 }) },
  {
    spec: "conv 3x3 8 width = 3",
    call: (b, x) => b.layer("conv", x, { kernel: 3, filters: 8, width: 3 }),
  },
  {
    spec: "conv 3x3 8 pad = -1",
    call: (b, x) => b.layer("conv", x, { kernel: 3, filters: 8, pad: -1 }),
  },
  {
    spec: "conv 3x3 8 pad = [1, 2, 3]",
    call: (b, x) => b.layer("conv", x, { kernel: 3, filters: 8, pad: [1, 2, 3] as Loose }),
  },
  {
    spec: "conv 3x3 8 pad = 1 padding = valid",
    call: (b, x) => b.layer("conv", x, { kernel: 3, filters: 8, pad: 1, padding: "valid" }),
  },
  {
    spec: "conv 9x9 8 valid",
    call: (b, x) => b.layer("conv", x, { kernel: 9, filters: 8, padding: "valid" }),
  },
  {
    spec: "conv 3x3 8 valid dilation = 4",
    call: (b, x) => b.layer("conv", x, { kernel: 3, filters: 8, padding: "valid", dilation: 4 }),
  },
  {
    spec: "conv 9x9 8 pad = 0",
    call: (b, x) => b.layer("conv", x, { kernel: 9, filters: 8, pad: 0 }),
  },
  {
    spec: "conv 3x3 8 activation = same",
    call: (b, x) => b.layer("conv", x, { kernel: 3, filters: 8, activation: "same" as Loose }),
  },
  {
    spec: "conv 3x3 8 parts = 2.5",
    call: (b, x) => b.layer("conv", x, { kernel: 3, filters: 8, parts: 2.5 }),
  },
  {
    spec: "sepconv 3x3 8 order = pointwise_first multiplier = 2",
    call: (b, x) =>
      b.layer("sepconv", x, { kernel: 3, filters: 8, order: "pointwise_first", multiplier: 2 }),
  },
  {
    spec: "sepconv 3x3 8 parts = 3",
    call: (b, x) => b.layer("sepconv", x, { kernel: 3, filters: 8, parts: 3 }),
  },
  { spec: "bn epsilon = -1", call: (b, x) => b.layer("bn", x, { epsilon: -1 }) },
  { spec: "bn momentum = 2", call: (b, x) => b.layer("bn", x, { momentum: 2 }) },
  { spec: "layernorm epsilon = 0", call: (b, x) => b.layer("layernorm", x, { epsilon: 0 }) },
  { spec: "layerscale init = 1e400", call: (b, x) => b.layer("layerscale", x, { init: Infinity }) },
  { spec: "droppath rate = 1", call: (b, x) => b.layer("droppath", x, { rate: 1 }) },
  { spec: "dropout 1.5", call: (b, x) => b.layer("dropout", x, { rate: 1.5 }) },
  { spec: "dense 10", call: (b, x) => b.layer("dense", x, { units: 10 }) },
  { spec: "gap -> dense 0", call: (b, x) => b.layer("dense", b.layer("gap", x), { units: 0 }) },
  { spec: "gap -> gap", call: (b, x) => b.layer("gap", b.layer("gap", x)) },
  { spec: "maxpool 3x3 pad = 3", call: (b, x) => b.layer("maxpool", x, { pool: 3, pad: 3 }) },
  {
    spec: "avgpool 3x3 same ceil = true",
    call: (b, x) => b.layer("avgpool", x, { pool: 3, padding: "same", ceil: true }),
  },
  { spec: "maxpool 9x9", call: (b, x) => b.layer("maxpool", x, { pool: 9 }) },
  { spec: "zeropad -2", call: (b, x) => b.layer("zeropad", x, { pad: -2 }) },
  { spec: "shuffle 3", call: (b, x) => b.layer("shuffle", x, { groups: 3 }) },
  { spec: "split 3 0", call: (b, x) => b.layer("split", x, { parts: 3, take: 0 }) },
  { spec: "split 2 2", call: (b, x) => b.layer("split", x, { parts: 2, take: 2 }) },
  { spec: "upsample 0", call: (b, x) => b.layer("upsample", x, { factor: 0 }) },
  {
    spec: 'conv 3x3 8 name = "a b"',
    call: (b, x) => b.layer("conv", x, { kernel: 3, filters: 8, name: "a b" }),
  },
  {
    spec: 'conv 3x3 8 name = "c" -> conv 3x3 8 name = "c"',
    call: (b, x) =>
      b.layer("conv", b.layer("conv", x, { kernel: 3, filters: 8, name: "c" }), {
        kernel: 3,
        filters: 8,
        name: "c",
      }),
  },
  { spec: "input 8x8x4", call: (b) => b.input([8, 8, 4]) },
  { spec: "act(fn = same)", call: (b, x) => b.layer("act", x, { fn: "same" as Loose }) },
];

describe("the runtime's errors are the compiler's", () => {
  it.each(cases.map((c) => [c.spec, c] as const))("%s", (_, c) => {
    const r = buildText(`network n {\n  input 8x8x4\n  ${c.spec}\n}\n`);
    expect(r.diagnostics.length, `the spec must be refused: ${c.spec}`).toBeGreaterThan(0);
    const d = r.diagnostics[0]!;
    const b = Builder.network("n");
    const x = b.input([8, 8, 4]);
    expectSpecError(() => c.call(b, x), d, c.spec);
  });
});

describe("the runtime's network-level errors are the compiler's", () => {
  it("an option the network does not have: E0601 with the nearest parameter", () => {
    const r = buildText("network n(parts = 1, width = 2) {\n  input 8x8x4\n}\n", ["party=4"]);
    const d = r.diagnostics[0]!;
    expect(d.hint).toMatch(/parts/);
    expectSpecError(() => Builder.network("n", { party: 4 }, ["parts", "width"]), d);
  });

  it("a network without layers, and a repeat count that is no count", () => {
    const empty = buildText("network n {\n}\n").diagnostics[0]!;
    expectSpecError(() => Builder.network("n").model(undefined as never, "n"), empty);
    const repeat = buildText("network n {\n  input 8x8x4\n  repeat -1 { relu }\n}\n")
      .diagnostics[0]!;
    expectSpecError(() => Builder.network("n").repeat(-1), repeat);
  });
});
