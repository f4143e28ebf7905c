import * as tf from "@tensorflow/tfjs";
import { execFileSync } from "node:child_process";
import { existsSync, mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import { exportOnnx, tfPads } from "../../../compiler/backends/onnx/export.js";
import { openOnnx } from "../../../compiler/backends/onnx/runtime.js";
import { buildModelFromIR } from "../../../compiler/backends/tfjs/model.js";
import { initBackend } from "../../../compiler/backends/tfjs/runtime.js";
import { compileSpec, type IRGraph } from "../../../compiler/index.js";
import { mustBuild, runCli } from "../../helpers.js";

const repo = join(import.meta.dirname, "..", "..", "..");
const python = "/usr/bin/python3";

beforeAll(async () => {
  process.env["ARCHC_CACHE_DIR"] = join(repo, "test", ".generated", "cache");
  await initBackend("wasm");
});

/** tfjs and onnxruntime on the same weights and input; batch norm given non-trivial statistics. */
async function maxDiff(
  g: IRGraph,
): Promise<{ diff: number; bytes: Uint8Array; model: tf.LayersModel }> {
  const m = buildModelFromIR(g);
  for (const l of m.layers) {
    if (l.getClassName() === "BatchNormalization")
      l.setWeights(l.getWeights().map((w) => tf.add(w, tf.randomUniform(w.shape, 0.05, 0.2))));
  }
  const bytes = exportOnnx(g, m);
  const session = await openOnnx(bytes, "cpu");
  const x = tf.randomNormal([2, ...g.input]);
  const expected = (m.predict(x) as tf.Tensor).dataSync();
  const got = await session.run(x.dataSync() as Float32Array, x.shape);
  await session.release();
  expect([...got.dims]).toEqual([2, ...g.nodes[g.output]!.shape]);
  let diff = 0;
  for (let i = 0; i < expected.length; i++)
    diff = Math.max(diff, Math.abs(expected[i]! - got.data[i]!));
  return { diff, bytes, model: m };
}

const edgeCases =
  "network edges {\n  input 15x13x3\n  conv 3x3/2 8 -> bn -> relu\n  conv 3x3 8 parts=2 dilation=2 -> elu\n  sepconv 3x3 16 parts=4 mid=relu -> bn scale=false\n  avgpool 3x3/2 same -> maxpool 2x2 -> conv 1x1 12 valid\n  concat {\n    branch { conv 1x1 4 -> relu6 }\n    branch { sepconv 5x5 8 order=pointwise_first parts=2 -> sigmoid }\n  }\n  add {\n    branch { conv 1x1 12 -> tanh }\n    branch {}\n  }\n  flatten -> dense 10\n}\n";

describe("ONNX export", () => {
  it("TensorFlow 'same' padding becomes explicit asymmetric pads", () => {
    expect(tfPads([15, 13], [3, 3], [2, 2], [1, 1], "same")).toEqual([1, 1, 1, 1]);
    expect(tfPads([14, 14], [3, 3], [2, 2], [1, 1], "same")).toEqual([0, 0, 1, 1]);
    expect(tfPads([9, 9], [3, 3], [1, 1], [2, 2], "same")).toEqual([2, 2, 2, 2]);
    expect(tfPads([9, 9], [3, 3], [1, 1], [1, 1], "valid")).toEqual([0, 0, 0, 0]);
  });

  it("odd sizes, strides, dilation, valid padding, pooling, grouped and separable convs: logits equal tfjs", async () => {
    const { diff } = await maxDiff(mustBuild(edgeCases));
    expect(diff).toBeLessThan(1e-4);
  });

  for (const parts of ["1", "4", "depthwise"]) {
    it(`Xception at parts=${parts} in onnxruntime gives the tfjs model's outputs`, async () => {
      const { diff } = await maxDiff(
        compileSpec(join(repo, "specs", "xception.arch"), {
          args: { parts, size: 75, classes: 10, dropout: 0 },
        }),
      );
      expect(diff).toBeLessThan(1e-4);
    });
  }

  it("Inception V3 in onnxruntime gives the tfjs model's outputs", async () => {
    const { diff } = await maxDiff(
      compileSpec(join(repo, "specs", "inception_v3.arch"), { args: { size: 75, classes: 10 } }),
    );
    expect(diff).toBeLessThan(1e-4);
  });

  it("compile --target onnx writes a model file; run --runtime onnx times it", async () => {
    const dir = mkdtempSync(join(tmpdir(), "archc-onnx-"));
    const out = join(dir, "tiny.onnx");
    expect(
      (await runCli("compile", join(repo, "examples", "tiny.arch"), "--target", "onnx", "-o", out))
        .code,
    ).toBe(0);
    expect(existsSync(out)).toBe(true);
    expect(
      (await runCli("compile", join(repo, "examples", "tiny.arch"), "--target", "onnx")).code,
    ).toBe(2);
    const r = await runCli(
      "run",
      join(repo, "examples", "tiny.arch"),
      "--runtime",
      "onnx",
      "--runs",
      "2",
      "--json",
    );
    expect(JSON.parse(r.stdout)).toMatchObject({
      backend: "onnxruntime-cpu",
      batch: 1,
      params: 5770,
    });
  });
});

// The official ONNX checker and PyTorch are independent oracles. CI installs them (.ci/run);
// elsewhere, without them, these tests say so instead of passing silently.
const hasPython =
  existsSync(python) &&
  (() => {
    try {
      execFileSync(python, ["-c", "import onnx, torch"], { stdio: "pipe" });
      return true;
    } catch {
      return false;
    }
  })();

describe("ONNX interop with the onnx checker and PyTorch", () => {
  it("has Debian's python3-onnx and python3-torch where CI runs", () => {
    if (process.env["CI"])
      expect(hasPython, "apt-get install python3-onnx python3-torch").toBe(true);
  });

  it.runIf(hasPython)("every exported spec passes onnx.checker with full_check", async () => {
    const dir = mkdtempSync(join(tmpdir(), "archc-onnx-"));
    const graphs: [string, IRGraph][] = [
      [
        "xception",
        compileSpec(join(repo, "specs", "xception.arch"), { args: { size: 75, classes: 10 } }),
      ],
      [
        "xception_p4",
        compileSpec(join(repo, "specs", "xception.arch"), {
          args: { size: 75, classes: 10, parts: 4, mid: "elu" },
        }),
      ],
      [
        "inception_v3",
        compileSpec(join(repo, "specs", "inception_v3.arch"), { args: { size: 75, classes: 10 } }),
      ],
      ["mini_xception", compileSpec(join(repo, "specs", "mini_xception.arch"))],
      ["tiny", compileSpec(join(repo, "examples", "tiny.arch"))],
      ["edges", mustBuild(edgeCases)],
      ...[
        "fig1_canonical",
        "fig2_simplified",
        "fig3_reformulated",
        "fig4_extreme",
        "continuum",
      ].map(
        (n) =>
          [n, compileSpec(join(repo, "specs", "continuum.arch"), { network: n })] as [
            string,
            IRGraph,
          ],
      ),
    ];
    const files = graphs.map(([name, g]) => {
      const m = buildModelFromIR(g);
      const f = join(dir, `${name}.onnx`);
      writeFileSync(f, exportOnnx(g, m));
      m.dispose();
      return f;
    });
    const out = execFileSync(python, [join(import.meta.dirname, "interop.py"), "check", ...files], {
      encoding: "utf8",
    });
    expect(out.trim().split("\n")).toHaveLength(files.length);
  });

  it.runIf(hasPython)(
    "a grouped convolution matches PyTorch's own nn.Conv2d(groups=...) with the same weights",
    async () => {
      const dir = mkdtempSync(join(tmpdir(), "archc-onnx-"));
      for (const [parts, stride] of [
        [4, 1],
        [2, 2],
        [8, 2],
      ] as const) {
        const g = mustBuild(
          `network g {\n  input 9x10x8\n  conv 3x3/${stride} 16 parts=${parts}\n}\n`,
        );
        const m = buildModelFromIR(g);
        const bytes = exportOnnx(g, m);
        const x = tf.randomNormal([2, 9, 10, 8]);
        const session = await openOnnx(bytes, "cpu");
        const y = await session.run(x.dataSync() as Float32Array, x.shape);
        await session.release();
        writeFileSync(join(dir, "m.onnx"), bytes);
        writeFileSync(join(dir, "x.f32"), Buffer.from((x.dataSync() as Float32Array).buffer));
        writeFileSync(
          join(dir, "y.f32"),
          Buffer.from(y.data.buffer, y.data.byteOffset, y.data.byteLength),
        );
        const out = execFileSync(
          python,
          [
            join(import.meta.dirname, "interop.py"),
            "torch",
            join(dir, "m.onnx"),
            join(dir, "x.f32"),
            join(dir, "y.f32"),
            "2",
            "9",
            "10",
            "8",
          ],
          { encoding: "utf8" },
        );
        expect(out).toMatch(new RegExp(`groups=${parts} max abs diff`));
      }
    },
  );
});
