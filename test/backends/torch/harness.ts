import * as tf from "@tensorflow/tfjs";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { expect, it } from "vitest";
import { exportOnnx } from "../../../compiler/backends/onnx/export.js";
import { runOnnx } from "../../../compiler/backends/onnx/runtime.js";
import { weightsFromTfjs } from "../../../compiler/backends/onnx/weights.js";
import { buildModelFromIR } from "../../../compiler/backends/tfjs/model.js";
import { emitTorch } from "../../../compiler/backends/torch/emit.js";
import { safetensors, torchStateDict } from "../../../compiler/backends/torch/weights.js";
import type { Json } from "../../../compiler/language/elaborate/values.js";
import type { IRGraph } from "../../../compiler/language/ir/types.js";
import {
  buildNetwork,
  loadProgram,
  parseSets,
  pickNetwork,
  type Program,
} from "../../../compiler/language/program.js";
import type { NetworkDecl } from "../../../grammar/ast.js";
import { mustBuild } from "../../helpers.js";
import {
  calibrateBatchNorm,
  maxAbsDiff,
  plan,
  randomizeNonKernels,
  tempDir,
} from "../onnx/networks.js";
import { inCI, needPython, pythonProblem, runCases } from "./python.js";

/**
 * What the PyTorch tests share: the Python that is the oracle (./python.ts), a spec compiled at
 * several argument sets, the tfjs model and its ONNX export run on one input with the files
 * identity.py reads written beside them, and identity.py's verdict.
 */
export { inCI, needPython, python, pythonProblem, repo, runCases } from "./python.js";

/** A spec file's network, elaborated at any `--set` values. */
export interface SpecNetwork {
  readonly program: Program;
  readonly net: NetworkDecl;
  build(sets: readonly string[]): IRGraph;
}

export function specNetwork(file: string, network?: string): SpecNetwork {
  const program = loadProgram(file);
  const net = pickNetwork(program, network);
  if ("code" in net) throw new Error(net.message);
  return {
    program,
    net,
    build(sets) {
      const r = buildNetwork(program, net, parseSets([...sets]).args);
      if (!r.ok) throw new Error(r.diagnostics[0]!.message);
      return r.graph;
    },
  };
}

/** The tfjs model of `g` with non-trivial weights and batch norms calibrated on `x`. */
export function calibratedModel(g: IRGraph, x: tf.Tensor): tf.LayersModel {
  const model = buildModelFromIR(g, plan);
  randomizeNonKernels(model);
  calibrateBatchNorm(g, model, x);
  return model;
}

/** The class a generated module defines for its network. */
export function moduleClass(module: string): string {
  return /^class (\w+)\(nn\.Module\):\n    """\w+: /m.exec(module)![1]!;
}

/** One case of identity.py: the files it reads, and what to build the module with. */
export interface IdentityEntry {
  readonly name: string;
  readonly module: string;
  readonly class: string;
  readonly kwargs: Record<string, Json>;
  readonly weights: string;
  readonly input: string;
  readonly input_shape: number[];
  readonly tfjs: string;
  readonly onnxruntime: string;
  readonly [more: string]: unknown;
}

export interface TorchCase {
  readonly entry: IdentityEntry;
  /** tfjs' output on the input. */
  readonly ref: Float32Array;
  /** onnxruntime's output on the input, from the ONNX export of the same weights. */
  readonly ort: Float32Array;
}

/**
 * Runs `model` (of `g`) and its ONNX export on `x` and writes, as `dir/name.*`, the generated
 * `module`, the model's weights as a PyTorch state dict, the input and both outputs.
 */
export async function torchCase(
  dir: string,
  name: string,
  g: IRGraph,
  model: tf.LayersModel,
  x: tf.Tensor,
  module: string,
  more: { class?: string; kwargs?: Record<string, Json>; [key: string]: unknown } = {},
): Promise<TorchCase> {
  const input = x.dataSync() as Float32Array;
  const ref = (model.predict(x) as tf.Tensor).dataSync() as Float32Array;
  const result = await runOnnx(exportOnnx(g, model), input, x.shape, "cpu").catch((e: Error) => {
    throw new Error(`${name}: ${e.message}`);
  });
  const ort = result.data as Float32Array;
  const base = join(dir, name);
  writeFileSync(`${base}.py`, module);
  writeFileSync(`${base}.safetensors`, safetensors(torchStateDict(g, weightsFromTfjs(model, g))));
  writeFileSync(`${base}.x.f32`, input);
  writeFileSync(`${base}.tfjs.f32`, ref);
  writeFileSync(`${base}.ort.f32`, ort);
  const entry: IdentityEntry = {
    ...more,
    name,
    module: `${base}.py`,
    class: more.class ?? moduleClass(module),
    kwargs: more.kwargs ?? {},
    weights: `${base}.safetensors`,
    input: `${base}.x.f32`,
    input_shape: x.shape,
    tfjs: `${base}.tfjs.f32`,
    onnxruntime: `${base}.ort.f32`,
  };
  return { entry, ref, ort };
}

/** identity.py's max abs differences (and output scale), one record per entry, in order. */
export function runIdentity(
  dir: string,
  entries: readonly IdentityEntry[],
): Record<string, number | string>[] {
  return runCases(join(import.meta.dirname, "identity.py"), dir, entries);
}

/** PyTorch gave tfjs' and onnxruntime's numbers (below `bound`), on O(1) outputs. */
export function expectIdentical(r: Record<string, number | string>, bound = 1e-4): void {
  const label = `${r["name"]}: tfjs ${r["tfjs"]}, onnxruntime ${r["onnxruntime"]}, |y| up to ${r["scale"]}, bound ${bound}`;
  // Activations O(1): the outputs are not vanishingly small, so the bound means something.
  expect(r["scale"] as number, label).toBeGreaterThan(0.1);
  expect(r["tfjs"] as number, label).toBeLessThan(bound);
  expect(r["onnxruntime"] as number, label).toBeLessThan(bound);
}

/** A spec for itAgreesAcrossBackends, and the batch of 2 it runs on (default: normal, seed 9). */
export interface AgreementCase {
  readonly name: string;
  readonly text: string;
  readonly input?: (shape: number[]) => tf.Tensor;
}

/**
 * The test that each case computes the same numbers, below 1e-4, in the tfjs runtime, its ONNX
 * export (onnxruntime) and its generated PyTorch module, on the same weights and input. Runs
 * without the Python oracle only to fail in CI, where a missing one is a broken install.
 */
export function itAgreesAcrossBackends(
  title: string,
  tempPrefix: string,
  cases: readonly AgreementCase[],
  timeout: number,
): void {
  const problem = pythonProblem();
  it.skipIf(problem !== undefined && !inCI)(
    title,
    async () => {
      needPython(problem);
      const dir = tempDir(tempPrefix);
      const entries: IdentityEntry[] = [];
      for (const c of cases) {
        const g = mustBuild(c.text);
        const shape = [2, ...g.input];
        const x = c.input ? c.input(shape) : tf.randomNormal(shape, 0, 1, "float32", 9);
        const model = calibratedModel(g, x);
        const { entry, ref, ort } = await torchCase(dir, c.name, g, model, x, emitTorch(g));
        expect(maxAbsDiff(ref, ort), `${c.name}: onnxruntime`).toBeLessThan(1e-4);
        entries.push(entry);
        x.dispose();
        model.dispose();
      }
      for (const r of runIdentity(dir, entries)) expectIdentical(r);
    },
    timeout,
  );
}
