import * as tf from "@tensorflow/tfjs";
import { beforeAll, describe, expect, it } from "vitest";
import { buildModelFromIR } from "../../../compiler/backends/tfjs/model.js";
import { initBackend } from "../../../compiler/backends/tfjs/runtime.js";
import { buildText, mustBuild } from "../../helpers.js";
import { plan } from "../onnx/networks.js";
import { itAgreesAcrossBackends } from "./harness.js";

/**
 * Pools with `ceil = true` (PyTorch's ceil_mode) compute the same in the tfjs runtime, the ONNX
 * export (onnxruntime) and the generated PyTorch module, whose pools with symmetric pads of at
 * most half the window are PyTorch's own nn.functional pools with ceil_mode=True: the oracle for
 * the output sizes and for average pooling's divisor of the last, overhanging windows.
 */
/**
 * Odd and even sizes, with and without padding: windows that overhang the input (the divisor of
 * an average counts what they cover), a window PyTorch's rule drops because it would start in
 * the padding (2x2/2 with pad 1 on 7 rows: 4 by rounding up, 3 by the rule), and asymmetric pads
 * where the last window would start in the bottom/right padding.
 */
const ceilSpec = `network ceil {
  input 15x12x3
  conv 3x3 8 pad = 1 -> bn -> relu
  maxpool 3x3/2 ceil = true
  avgpool 3x3/2 pad = 1 ceil = true
  conv 1x1 8 -> bn
  maxpool 2x2 pad = 1 ceil = true
  avgpool 2x2 ceil = true
  conv 1x1 8 -> bn
  maxpool 3x3 stride = 2 pad = [0, 2, 1, 0] ceil = true
  gap -> dense 5
}
`;

const avgSpec = `network avg {
  input 13x10x4
  avgpool 3x3 stride = 2 pad = [1, 0, 0, 1] ceil = true
  avgpool 2x2 stride = 2 ceil = true
}
`;

const aroundOne = (shape: number[]) => tf.randomNormal(shape, 1, 1, "float32", 9);

describe("ceil mode on pools: PyTorch's output sizes and divisors, in every backend", () => {
  beforeAll(async () => {
    await initBackend("wasm");
  });

  it("output sizes follow PyTorch's rule: round up, unless the last window starts past the input", () => {
    const g = mustBuild(ceilSpec);
    const shapes = g.nodes.filter((n) => n.op.endsWith("pool")).map((n) => n.shape.slice(0, 2));
    // 15x12 -> ceil((15-3)/2)+1 = 7, ceil((12-3)/2)+1 = 6; then pad 1: ceil(6/2)+1 = 4 rows and
    // ceil((6+2-3)/2)+1 = 4 columns, the last of each starting at 6 - 1 = 5 < 6 + 1;
    // 2x2/2 pad 1 on 4x4: ceil(4/2)+1 = 3, (3-1)*2 = 4 >= 4 + 1? no: 3; 2x2/2 on 3x3: 2;
    // 3x3/2 with 2 rows below: ceil(1/2)+1 = 2 rows, but the second would start at 2 >= 2 + 0,
    // in the bottom padding: 1 (PyTorch over pads applied by hand would keep it); 1 column.
    expect(shapes).toEqual([
      [7, 6],
      [4, 4],
      [3, 3],
      [2, 2],
      [1, 1],
    ]);
    const drop = mustBuild("network n {\n  input 7x7x1\n  maxpool 2x2 pad = 1 ceil = true\n}\n");
    // ceil((7 + 2 - 2) / 2) + 1 = 5, but the fifth window would start at 8 >= 7 + 1.
    expect(drop.nodes[1]!.shape).toEqual([4, 4, 1]);
    expect(mustBuild("network n {\n  input 7x7x1\n  maxpool 2x2\n}\n").nodes[1]!.shape).toEqual([
      3, 3, 1,
    ]);
  });

  it("an average's last windows divide by what they cover (a constant input stays constant)", () => {
    const g = mustBuild(avgSpec);
    const model = buildModelFromIR(g, plan);
    const x = tf.ones([1, ...g.input]);
    const y = model.predict(x) as tf.Tensor;
    // 13x10 -> pads [1, 0, 0, 1]: ceil((14-3)/2)+1 = 7 rows, ceil((11-3)/2)+1 = 5 columns; the
    // padding's zeros count (PyTorch's count_include_pad), the overhang does not.
    expect(y.shape).toEqual([1, 4, 3, 4]);
    const first = model.getLayer("avgpool/divisor").output as tf.SymbolicTensor;
    const z = tf.model({ inputs: model.inputs, outputs: first }).predict(x) as tf.Tensor;
    expect(z.shape).toEqual([1, 7, 5, 4]);
    const v = z.slice([0, 0, 0, 0], [1, 7, 5, 1]).reshape([7, 5]).arraySync() as number[][];
    // Row 0 covers the top padding row (a counted zero): 6 of 9. Interior: 1. The last column
    // starts at 8 and covers 8, 9 and the right padding (10): 2 of 3 counted columns are input.
    expect(v[0]![0]).toBeCloseTo(6 / 9, 6);
    expect(v[3]![2]).toBeCloseTo(1, 6);
    expect(v[3]![4]).toBeCloseTo(2 / 3, 6);
    // The last row starts at 11 and covers rows 11 and 12 (the bottom has no padding): all input.
    expect(v[6]![2]).toBeCloseTo(1, 6);
    tf.dispose([x, y, z]);
    model.dispose();
  });

  it("ceil with padding = same is E0305 at ceil, and ceil_mode suggests ceil", () => {
    const same = buildText("network n {\n  input 8x8x3\n  maxpool 3x3/2 same ceil = true\n}\n");
    expect(same.diagnostics[0]).toMatchObject({ code: "E0305", span: { start: { column: 29 } } });
    expect(same.diagnostics[0]!.message).toMatch(/ceil = true .* padding = same/);
    const torch = buildText("network n {\n  input 8x8x3\n  maxpool 3x3/2 ceil_mode = true\n}\n");
    expect(torch.diagnostics[0]?.code).toBe("E0300");
    expect(torch.diagnostics[0]?.hint).toMatch(/did you mean 'ceil'\?/);
  });

  itAgreesAcrossBackends(
    "the same numbers in tfjs, onnxruntime and PyTorch, below 1e-4",
    "archc-torch-ceil-",
    [
      { name: "ceil", text: ceilSpec, input: aroundOne },
      { name: "avg", text: avgSpec, input: aroundOne },
    ],
    120_000,
  );
});
