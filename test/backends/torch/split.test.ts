import { beforeAll, describe, expect, it } from "vitest";
import { initBackend } from "../../../compiler/backends/tfjs/runtime.js";
import { buildText, mustBuild } from "../../helpers.js";
import { itAgreesAcrossBackends } from "./harness.js";

/**
 * The channel split (`split N take = i`) in branches of a concat, then a shuffle: ShuffleNet v2's
 * unit. The same numbers in the tfjs runtime, the ONNX export (onnxruntime, Slice) and the
 * generated PyTorch module (x.chunk(N, dim=1)[i]); shapes and diagnostics in the language.
 */
const splitSpec = `block unit(c) {
  concat {
    branch { split 2 take = 0 }
    branch { split 2 take = 1 -> conv 1x1 (c / 2) -> bn -> relu }
  }
  shuffle 2
}

network splitting {
  input 8x8x12
  conv 3x3 12 pad = 1 -> bn -> relu
  unit(12)
  concat {
    branch { split 3 take = 2 }
    branch { split 3 take = 0 -> conv 3x3 4 pad = 1 }
  }
  gap -> dense 5
}
`;

describe("split: one part of the channels, in every backend", () => {
  beforeAll(async () => {
    await initBackend("wasm");
  });

  it("takes channels [take * c / parts, (take + 1) * c / parts), without parameters or MACs", () => {
    const g = mustBuild(splitSpec);
    const splits = g.nodes.filter((n) => n.op === "split");
    expect(splits.map((n) => [n.attrs, n.shape, n.params.trainable, n.macs])).toEqual([
      [{ start: 0, size: 6 }, [8, 8, 6], 0, 0],
      [{ start: 6, size: 6 }, [8, 8, 6], 0, 0],
      [{ start: 8, size: 4 }, [8, 8, 4], 0, 0],
      [{ start: 0, size: 4 }, [8, 8, 4], 0, 0],
    ]);
  });

  it("an indivisible split is E0400 at parts with the nearest values; a part out of range E0305 at take", () => {
    const text = (s: string) => `network n {\n  input 8x8x10\n  ${s}\n}\n`;
    const bad = buildText(text("split 4 take = 0")).diagnostics[0]!;
    expect(bad).toMatchObject({ code: "E0400", span: { start: { line: 3, column: 9 } } });
    expect(bad.message).toMatch(/^split.*: 10 input channels are not divisible by parts = 4$/);
    expect(bad.hint).toMatch(/nearest valid values are 2 and 5/);
    const take = buildText(text("split 2 take = 2")).diagnostics[0]!;
    expect(take).toMatchObject({ code: "E0305", span: { start: { column: 18 } } });
    expect(take.message).toMatch(/^split.*: take must be one of the 2 parts, 0 to 1, not 2$/);
    expect(buildText(text("split 2")).diagnostics[0]?.code).toBe("E0302");
  });

  itAgreesAcrossBackends(
    "the same numbers in tfjs, onnxruntime and PyTorch, below 1e-4",
    "archc-torch-split-",
    [{ name: "split", text: splitSpec }],
    120_000,
  );
});
