import * as tf from "@tensorflow/tfjs";
import { join } from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import { initBackend } from "../../../compiler/backends/tfjs/runtime.js";
import { emitTorch, torchModulePaths } from "../../../compiler/backends/torch/emit.js";
import { probeFor } from "../../../compiler/backends/torch/probe.js";
import type { Json } from "../../../compiler/language/elaborate/values.js";
import type { IRGraph } from "../../../compiler/language/ir/types.js";
import { mustBuild } from "../../helpers.js";
import { edgeSpec, maxAbsDiff, tempDir, withoutSoftmax } from "../onnx/networks.js";
import {
  calibratedModel,
  expectIdentical,
  inCI,
  needPython,
  pythonProblem,
  repo,
  runIdentity,
  specNetwork,
  torchCase,
  type IdentityEntry,
} from "./harness.js";

/**
 * The generated PyTorch module computes what archc's tfjs model and its ONNX export compute, on
 * the same weights and input: max abs difference of the logits below 1e-4, with batch norms
 * calibrated so activations are O(1). Networks at reduced input sizes (every layer still runs)
 * keep this to a minute on two cores. Debian's python3-torch is the oracle, as for ONNX.
 */
const problem = pythonProblem();

interface Spec {
  readonly name: string;
  readonly file?: string;
  readonly network?: string;
  /** Compiled in: the module is generated from the spec with these. */
  readonly sets: readonly string[];
  /** Passed to the Python constructor: the tfjs reference is built with these on top. */
  readonly kwargs?: Record<string, Json>;
  readonly text?: string;
  /**
   * Inputs batch norms are calibrated on (default 2, the compared batch itself). Inception V3's
   * last blocks are 1x1 at size 75: two values per channel leave a batch norm dividing by their
   * difference, which amplifies float32 rounding until tfjs and onnxruntime differ by 4-8 on
   * O(1) logits, and a bound of twice that gap checks nothing. On 16 inputs the gap is 3-7e-4.
   */
  readonly calibrate?: number;
  /**
   * float32 rounding a correct module may still show, relative to the largest logit. Inception
   * V3 runs 94 convolutions in sequence at size 75: over random draws tfjs and onnxruntime
   * differ by 2.5-7e-4 on logits up to ~1.6, and PyTorch lands anywhere in that cloud (a CI
   * dry run: tfjs-onnxruntime 2.5e-4, PyTorch 5.5e-4 from tfjs and 4.7e-4 from onnxruntime), so
   * twice one draw's tfjs-onnxruntime gap is no bound for it.
   */
  readonly rounding?: number;
}

function graphOf(s: Spec, extra: Record<string, Json> = {}): { graph: IRGraph; module: string } {
  if (s.text) {
    const graph = mustBuild(s.text);
    return { graph, module: emitTorch(graph) };
  }
  const spec = specNetwork(join(repo, "specs", s.file!), s.network);
  const sets = [...s.sets, ...Object.entries(extra).map(([k, v]) => `${k}=${String(v)}`)];
  // The module from the spec as compiled; the reference at the constructor's arguments.
  const compiled = spec.build(s.sets);
  return {
    graph: spec.build(sets),
    module: emitTorch(compiled, { probe: probeFor(spec.program, spec.net, s.sets) }),
  };
}

const cases: Spec[] = [
  { name: "xception_depthwise", file: "xception.arch", sets: ["size=75", "classes=10"] },
  {
    name: "xception_parts4",
    file: "xception.arch",
    sets: ["size=75", "classes=10"],
    kwargs: { parts: 4, mid: "elu" },
  },
  {
    name: "xception_parts1",
    file: "xception.arch",
    sets: ["size=75", "classes=10"],
    kwargs: { parts: 1 },
  },
  {
    name: "inception_v3",
    file: "inception_v3.arch",
    sets: ["size=75", "classes=10"],
    calibrate: 16,
    rounding: 1e-3,
  },
  {
    name: "fig1_canonical",
    file: "continuum.arch",
    network: "fig1_canonical",
    sets: ["size=9", "channels=32"],
  },
  {
    name: "fig2_simplified",
    file: "continuum.arch",
    network: "fig2_simplified",
    sets: ["size=9", "channels=32"],
  },
  {
    name: "fig3_reformulated",
    file: "continuum.arch",
    network: "fig3_reformulated",
    sets: ["size=9", "channels=32"],
  },
  {
    name: "fig4_extreme",
    file: "continuum.arch",
    network: "fig4_extreme",
    sets: ["size=9", "channels=32"],
  },
  {
    name: "continuum_parts8",
    file: "continuum.arch",
    network: "continuum",
    sets: ["size=9", "channels=32"],
    kwargs: { parts: 8 },
  },
  { name: "edges", sets: [], text: edgeSpec },
];

describe.skipIf(problem !== undefined && !inCI)("generated PyTorch vs tfjs and ONNX", () => {
  beforeAll(async () => {
    await initBackend("wasm");
  });

  it("matches on Xception (parts 1, 4, depthwise), Inception V3, the continuum modules and every op", async () => {
    needPython(problem);
    const dir = tempDir("archc-torch-identity-");
    const entries: IdentityEntry[] = [];
    // How far tfjs and onnxruntime are from each other: float32 summed in other orders.
    const noise = new Map<string, number>();
    for (const s of cases) {
      const { graph: full, module } = graphOf(s, s.kwargs);
      const last = full.nodes[full.output]!;
      const softmax = last.op === "dense" && last.attrs.activation === "softmax";
      const g = softmax ? withoutSoftmax(full) : full;
      // Calibrated on the test batch itself (or a larger one starting with it), as the ONNX
      // tests do.
      const calibration = tf.randomNormal([s.calibrate ?? 2, ...g.input], 0, 1, "float32", 9);
      const x = calibration.slice([0], [2]);
      const model = calibratedModel(g, calibration);
      calibration.dispose();
      const { entry, ref, ort } = await torchCase(dir, s.name, g, model, x, module, {
        kwargs: s.kwargs ?? {},
        ...(softmax ? { logits: torchModulePaths(full).get(full.output) } : {}),
      });
      noise.set(s.name, maxAbsDiff(ref, ort));
      // The bound below is twice this gap, so a gap beyond float32 noise would let anything pass.
      expect(noise.get(s.name), `${s.name}: tfjs vs onnxruntime`).toBeLessThan(2e-3);
      entries.push(entry);
      x.dispose();
      model.dispose();
    }
    // The negative control: Xception (at 75: maps of 18 and 74 pad one pixel more at the bottom
    // and right) with that pixel moved to the top and left.
    entries.push({ ...entries[0]!, name: "negative_control", naive_padding: true });
    const results = runIdentity(dir, entries);
    expect(results.map((r) => r["name"])).toEqual([
      ...cases.map((c) => c.name),
      "negative_control",
    ]);
    for (const r of results) {
      if (r["name"] === "negative_control") {
        const label = `${r["name"]}: tfjs ${r["tfjs"]}, |y| up to ${r["scale"]}`;
        expect(r["scale"] as number, label).toBeGreaterThan(0.1);
        expect(r["tfjs"] as number, label).toBeGreaterThan(1e-2);
        continue;
      }
      // Below 1e-4, or as close to tfjs as onnxruntime is (Inception V3's 94 convolutions in
      // sequence accumulate float32 rounding to ~1e-4 of the logits in any two runtimes).
      const rounding = cases.find((c) => c.name === r["name"])?.rounding ?? 0;
      expectIdentical(
        r,
        Math.max(1e-4, 2 * noise.get(r["name"] as string)!, rounding * (r["scale"] as number)),
      );
    }
  }, 900_000);
});
