import * as tf from "@tensorflow/tfjs";
import { spawnSync } from "node:child_process";
import { existsSync, mkdirSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { toDot } from "../../compiler/backends/graph/dot.js";
import { renderSvg } from "../../compiler/backends/graph/svg.js";
import { exportOnnx } from "../../compiler/backends/onnx/export.js";
import { randomWeights } from "../../compiler/backends/onnx/random.js";
import { runOnnx } from "../../compiler/backends/onnx/runtime.js";
import { emitTorch, torchClassName } from "../../compiler/backends/torch/emit.js";
import { probeFor } from "../../compiler/backends/torch/probe.js";
import { safetensors, torchStateDict } from "../../compiler/backends/torch/weights.js";
import { emitTypeScript, StructureError } from "../../compiler/backends/ts/emit.js";
import { emitFlatTypeScript } from "../../compiler/backends/ts/flat.js";
import type { IRGraph } from "../../compiler/language/ir/types.js";
import type { Program } from "../../compiler/language/program.js";
import type { NetworkDecl } from "../../grammar/ast.js";
import { compileAndImport } from "./ts/harness.js";

/**
 * Generates every target of built networks and runs each artefact: the structured and the flat
 * TypeScript under tsc --strict, imported and built; the PyTorch module imported, given the
 * weights through its load_weights and run forward in one Python process (targets.py); the ONNX
 * export in onnxruntime-node; the DOT in Graphviz. PyTorch's and onnxruntime's outputs on the
 * same weights must agree, so the name mapping of the generated module is the weights'. Nothing
 * may set globalThis.INJECTED or create a file named PWNED.
 */

export interface TargetCase {
  readonly name: string;
  readonly program: Program;
  readonly net: NetworkDecl;
  readonly graph: IRGraph;
}

export interface TargetOptions {
  /** Python with torch, or undefined to leave the PyTorch modules unrun (written only). */
  readonly python: string | undefined;
  /** Elaborate again at other argument values so that the PyTorch module keeps parameters. */
  readonly probe?: boolean;
  /** Also render the DOT to SVG. */
  readonly svg?: boolean;
}

export interface TargetReport {
  readonly problems: string[];
  readonly ran: { ts: number; flat: number; torch: number; onnx: number; graph: number };
}

interface PythonEntry {
  readonly name: string;
  readonly module: string;
  readonly class: string;
  readonly weights: string;
  readonly input: string;
  readonly input_shape: readonly number[];
  readonly onnxruntime: string;
}

const script = join(import.meta.dirname, "targets.py");
/** Relative to a module written in a folder two below test/. */
const layersModule = "../../../compiler/layers.js";

export async function runTargets(
  dir: string,
  cases: readonly TargetCase[],
  opts: TargetOptions,
): Promise<TargetReport> {
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true });
  const problems: string[] = [];
  const ran = { ts: 0, flat: 0, torch: 0, onnx: 0, graph: 0 };
  const tsFiles: { file: string; c: TargetCase }[] = [];
  const entries: PythonEntry[] = [];
  const fail = (c: TargetCase, what: string, e: unknown) =>
    problems.push(`${c.name}: ${what}: ${(e as Error).stack?.split("\n").slice(0, 4).join(" | ")}`);
  delete (globalThis as Record<string, unknown>)["INJECTED"];

  for (const c of cases) {
    const base = join(dir, c.name);
    try {
      const text = await emitTypeScript(c.program, c.net, { layersModule, graph: c.graph });
      writeFileSync(`${base}.ts`, text);
      tsFiles.push({ file: `${base}.ts`, c });
    } catch (e) {
      // A construct the structured form cannot carry: the CLI writes the flat form instead.
      if (!(e instanceof StructureError)) fail(c, "emitting TypeScript", e);
    }
    try {
      writeFileSync(`${base}.flat.ts`, await emitFlatTypeScript(c.graph, { layersModule }));
      tsFiles.push({ file: `${base}.flat.ts`, c });
    } catch (e) {
      fail(c, "emitting flat TypeScript", e);
    }
    try {
      for (const mode of ["collapsed", "expanded"] as const) {
        const dot = toDot(c.graph, { mode });
        if (opts.svg && !(await renderSvg(dot)).includes("<svg"))
          problems.push(`${c.name}: Graphviz rendered no SVG (${mode})`);
      }
      ran.graph++;
    } catch (e) {
      fail(c, "drawing the graph", e);
    }
    try {
      const weights = randomWeights(c.graph, 1);
      const [h, w, ch] = c.graph.input as [number, number, number];
      // A ramp, so a channel or pixel out of place shows; NHWC as ONNX takes it.
      const input = Float32Array.from({ length: h * w * ch }, (_, i) => ((i % 17) - 8) / 8);
      const onnx = await runOnnx(exportOnnx(c.graph, weights), input, [1, h, w, ch], "cpu");
      const expected = c.graph.nodes[c.graph.output]!.shape.reduce((a, b) => a * b, 1);
      if (onnx.data.length !== expected)
        problems.push(`${c.name}: onnxruntime gave ${onnx.data.length} values, not ${expected}`);
      ran.onnx++;
      const module = emitTorch(c.graph, {
        source: c.name,
        ...(opts.probe ? { probe: probeFor(c.program, c.net, []) } : {}),
      });
      writeFileSync(`${base}.py`, module);
      writeFileSync(`${base}.safetensors`, safetensors(torchStateDict(c.graph, weights)));
      writeFileSync(`${base}.x.f32`, input);
      writeFileSync(`${base}.ort.f32`, onnx.data as Float32Array);
      entries.push({
        name: c.name,
        module: `${base}.py`,
        class: torchClassName(c.graph.network),
        weights: `${base}.safetensors`,
        input: `${base}.x.f32`,
        input_shape: [1, h, w, ch],
        onnxruntime: `${base}.ort.f32`,
      });
    } catch (e) {
      fail(c, "exporting ONNX or PyTorch", e);
    }
  }

  if (tsFiles.length) {
    try {
      const modules = await compileAndImport<{ build: (o?: object) => tf.LayersModel }>(
        tsFiles.map((f) => f.file),
      );
      modules.forEach((m, i) => {
        const { file, c } = tsFiles[i]!;
        try {
          const model = m.build();
          if (model.countParams() !== c.graph.totals.params.total)
            problems.push(`${file}: ${model.countParams()} parameters, not the IR's`);
          model.layers.forEach((l) => l.dispose());
          if (file.endsWith(".flat.ts")) ran.flat++;
          else ran.ts++;
        } catch (e) {
          fail(c, `building ${file}`, e);
        }
      });
    } catch (e) {
      problems.push(`tsc or import: ${(e as Error).message.slice(0, 4000)}`);
    }
  }
  if ((globalThis as Record<string, unknown>)["INJECTED"] !== undefined)
    problems.push(`generated TypeScript set globalThis.INJECTED`);

  if (opts.python && entries.length) {
    writeFileSync(join(dir, "cases.json"), JSON.stringify(entries));
    const r = spawnSync(opts.python, [script, join(dir, "cases.json")], {
      encoding: "utf8",
      cwd: dir,
      maxBuffer: 64 * 2 ** 20,
    });
    if (r.status !== 0) problems.push(`targets.py failed: ${r.stderr.slice(-4000)}`);
    for (const line of r.stdout.trim().split("\n").filter(Boolean)) {
      const rec = JSON.parse(line) as { name: string; error?: string; diff?: number };
      if (rec.error) problems.push(`${rec.name}: PyTorch: ${rec.error}`);
      else ran.torch++;
    }
  }
  if (readdirSync(dir).includes("PWNED") || existsSync(join(process.cwd(), "PWNED")))
    problems.push("a generated artefact created a file named PWNED");
  return { problems, ran };
}
