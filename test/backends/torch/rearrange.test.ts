import * as tf from "@tensorflow/tfjs";
import { execFileSync, spawnSync } from "node:child_process";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import { exportOnnx } from "../../../compiler/backends/onnx/export.js";
import { runOnnx } from "../../../compiler/backends/onnx/runtime.js";
import { buildModelFromIR } from "../../../compiler/backends/tfjs/model.js";
import { initBackend } from "../../../compiler/backends/tfjs/runtime.js";
import { emitTorch } from "../../../compiler/backends/torch/emit.js";
import { probeFor } from "../../../compiler/backends/torch/probe.js";
import { compileSpec } from "../../../compiler/index.js";
import { mustBuild } from "../../helpers.js";
import { maxAbsDiff, tempDir } from "../onnx/networks.js";
import {
  calibratedModel,
  expectIdentical,
  inCI,
  needPython,
  python,
  pythonProblem,
  repo,
  runIdentity,
  specNetwork,
  torchCase,
  type IdentityEntry,
} from "./harness.js";

/**
 * `shuffle` and `upsample` compute the same in tfjs, onnxruntime and PyTorch: alone, against
 * torchvision's channel_shuffle and nn.Upsample (exactly: they only move values), and inside a
 * small ShuffleNet with weights, through the generated PyTorch module (identity.py), at groups 2
 * and 4. Debian's python3-torch is the oracle, as for the other torch tests.
 */
const spec = join(repo, "test", "backends", "ts", "cases", "shufflenet.arch");
const problem = pythonProblem();

describe.skipIf(problem !== undefined && !inCI)("shuffle and upsample: tfjs, ONNX, PyTorch", () => {
  beforeAll(async () => {
    await initBackend("wasm");
  });

  it("alone, they are torchvision's channel_shuffle and nn.Upsample('nearest'), exactly", async () => {
    needPython(problem);
    const dir = tempDir("archc-rearrange-");
    // Not 3 then 4: with 12 channels, shuffle 4 undoes shuffle 3 (the inverse of g is c / g).
    const [groups, factor] = [
      [3, 2],
      [2, 3],
    ];
    const g = mustBuild(`network r {
  input 4x5x12
  shuffle ${groups[0]} -> upsample ${factor[0]}x${factor[1]} -> shuffle groups = ${groups[1]}
  flatten
}`);
    const model = buildModelFromIR(g);
    const x = tf.randomNormal([2, ...g.input], 0, 1, "float32", 3);
    const input = x.dataSync() as Float32Array;
    const ref = (model.predict(x) as tf.Tensor).dataSync() as Float32Array;
    const bytes = exportOnnx(g, model);
    const ort = await runOnnx(bytes, input, x.shape, "cpu");
    // No arithmetic: every output is one of the inputs, so the two runtimes agree bit for bit.
    expect(maxAbsDiff(ref, ort.data)).toBe(0);
    const c = (name: string, data: Float32Array | Uint8Array) => {
      writeFileSync(join(dir, name), data);
      return join(dir, name);
    };
    const cse = {
      batch: 2,
      input_shape: g.input,
      groups,
      factor,
      input: c("x.f32", input),
      tfjs: c("tfjs.f32", ref),
      onnxruntime: c("ort.f32", ort.data as Float32Array),
      // For onnx.checker: this model, and the ShuffleNet (random weights) at groups 4.
      onnx: [
        c("r.onnx", bytes),
        c("shufflenet.onnx", exportOnnx(compileSpec(spec, { args: { groups: 4 } }), undefined)),
      ],
    };
    writeFileSync(join(dir, "case.json"), JSON.stringify(cse));
    const out = execFileSync(
      python,
      [join(import.meta.dirname, "rearrange.py"), join(dir, "case.json")],
      { encoding: "utf8" },
    );
    const r = JSON.parse(out) as Record<string, number | string>;
    expect(r["tfjs"], JSON.stringify(r)).toBe(0);
    expect(r["onnxruntime"], JSON.stringify(r)).toBe(0);
    // The negative control: the inverse permutation (channels read as [c/g, g]) differs.
    expect(r["tfjs_inverse"] as number, JSON.stringify(r)).toBeGreaterThan(0.1);
    expect(r["onnxruntime_inverse"] as number, JSON.stringify(r)).toBeGreaterThan(0.1);
    expect(r["checked"]).toBe(2);
    x.dispose();
    model.dispose();
  });

  it("an indivisible group count names what the spec wrote: a shuffle's groups, or parts", () => {
    needPython(problem);
    const dir = tempDir("archc-rearrange-groups-");
    const shufflenet = specNetwork(spec);
    const module = emitTorch(shufflenet.build([]), {
      probe: probeFor(shufflenet.program, shufflenet.net, []),
    });
    expect(module).toContain('ChannelShuffle(groups_of(mix, 24, "shuffle groups"))');
    writeFileSync(join(dir, "net.py"), module);
    const construct = (args: string) => {
      const out = spawnSync(
        python,
        [
          "-c",
          `import sys; sys.path.insert(0, sys.argv[1]); import net; net.Shufflenet(${args})`,
          dir,
        ],
        { encoding: "utf8" },
      );
      expect(out.status, out.stderr).toBe(1);
      return out.stderr.trim().split("\n").pop();
    };
    // `shuffle mix` after the second unit sees 24 channels; the units' convolutions see them too.
    expect(construct("mix=5")).toBe(
      "ValueError: 24 input channels are not divisible by shuffle groups = 5; the nearest valid values are 4 and 6",
    );
    expect(construct("mix='wide'")).toBe(
      "ValueError: shuffle groups must be a positive whole number, 'regular' or 'depthwise', not 'wide'",
    );
    expect(construct("groups=5")).toBe(
      "ValueError: 24 input channels are not divisible by parts = 5; the nearest valid values are 4 and 6",
    );
  });

  it("in a ShuffleNet with weights: the generated module matches tfjs and onnxruntime at groups 2 and 4", async () => {
    needPython(problem);
    const dir = tempDir("archc-rearrange-net-");
    const shufflenet = specNetwork(spec);
    // One module, compiled at the defaults; groups stays a constructor argument.
    const module = emitTorch(shufflenet.build([]), {
      probe: probeFor(shufflenet.program, shufflenet.net, []),
    });
    expect(module).toContain(
      'self.shuffle = ChannelShuffle(groups_of(groups, 12, "shuffle groups"))',
    );
    expect(module).toContain('nn.Upsample(scale_factor=(1, 2), mode="nearest")');
    const entries: IdentityEntry[] = [];
    for (const groups of [2, 4]) {
      const g = shufflenet.build([`groups=${groups}`]);
      const x = tf.randomNormal([4, ...g.input], 0, 1, "float32", 5);
      const model = calibratedModel(g, x);
      const { entry, ref, ort } = await torchCase(dir, `groups${groups}`, g, model, x, module, {
        class: "Shufflenet",
        kwargs: { groups },
      });
      expect(maxAbsDiff(ref, ort), `groups ${groups}: tfjs vs onnxruntime`).toBeLessThan(1e-5);
      entries.push(entry);
      x.dispose();
      model.dispose();
    }
    for (const r of runIdentity(dir, entries)) expectIdentical(r);
  }, 300_000);
});
