/**
 * `npm run bench -- checkpoint`: one Xception training step on wasm with gradient checkpointing
 * as it was (every segment but the last recomputed, about one more forward pass) and as the
 * memory budget requires (checkpoint.ts' chooseRecomputed), interleaved round by round so a
 * shared machine slows both alike. Prints the plan at 299x299 batch 8 (what share of a forward
 * pass is recomputed at the real budget; from the plan, nothing run), then the timed size's
 * plan and each step's CPU time (process.cpuUsage: every thread of the process) and wall-clock.
 *
 * ARCHC_BENCH_SIZE=150 (default 150; 299 takes minutes a step), ARCHC_BENCH_BATCH=8,
 * ARCHC_BENCH_ROUNDS=3. ARCHC_BENCH_BUDGET=BYTES replaces the real budget, and
 * ARCHC_BENCH_BUDGET=scaled gives the timed size the same shortfall (budget over plain
 * estimate) as 299x299 has, where a smaller image would fit as a plain step.
 */
import * as tf from "@tensorflow/tfjs";
import { join } from "node:path";
import {
  checkpointedVariableGrads,
  chooseRecomputed,
  planFor,
} from "../compiler/backends/tfjs/checkpoint.js";
import { fusedMomentum } from "../compiler/backends/tfjs/fusedMomentum.js";
import { memoryBudget } from "../compiler/backends/tfjs/grouped/index.js";
import { activationBytes, buildModelFromIR } from "../compiler/backends/tfjs/model.js";
import { initBackend } from "../compiler/backends/tfjs/runtime.js";
import { compileSpec } from "../compiler/index.js";
import { packageRoot } from "../compiler/language/paths.js";

const MiB = 2 ** 20;
const spec = join(packageRoot, "specs", "xception.arch");

function describePlan(
  size: number,
  batch: number,
  budget: number,
): { share: number; plain: number } {
  const graph = compileSpec(spec, { args: { size } });
  const model = buildModelFromIR(graph, { batch, mode: "train", memoryBudget: budget });
  const plan = planFor(model);
  const choice = chooseRecomputed(plan, batch, budget);
  const all = chooseRecomputed(plan, batch, 0);
  const n = plan.starts.length;
  console.log(
    `Xception ${size}x${size}, batch ${batch}: ${n} segments; budget ${(budget / MiB).toFixed(0)} MiB, ` +
      `plain step ${(choice.plainBytes / MiB).toFixed(0)} MiB estimated ` +
      `(IR: ${(activationBytes(graph, batch, "train") / MiB).toFixed(0)} MiB)`,
  );
  console.log(
    `  every segment but the last (before): ${n - 1} recomputed, ${(100 * all.recomputedShare).toFixed(1)}% of a forward pass, peak ${(all.peakBytes / MiB).toFixed(0)} MiB estimated`,
  );
  console.log(
    `  as the budget requires (now):       ${choice.recompute.filter(Boolean).length} recomputed [${choice.recompute.flatMap((on, s) => (on ? [s] : [])).join(", ")}], ${(100 * choice.recomputedShare).toFixed(1)}% of a forward pass, peak ${(choice.peakBytes / MiB).toFixed(0)} MiB estimated`,
  );
  model.dispose();
  return { share: choice.recomputedShare, plain: choice.plainBytes };
}

export async function runCheckpointBench(): Promise<void> {
  await initBackend("wasm");
  const size = Number(process.env["ARCHC_BENCH_SIZE"] ?? 150);
  const batch = Number(process.env["ARCHC_BENCH_BATCH"] ?? 8);
  const rounds = Number(process.env["ARCHC_BENCH_ROUNDS"] ?? 3);
  const real = memoryBudget();
  const full = describePlan(299, 8, real);
  const asked = process.env["ARCHC_BENCH_BUDGET"];
  let budget = real;
  if (asked === "scaled") {
    const graph = compileSpec(spec, { args: { size } });
    budget = (real / full.plain) * activationBytes(graph, batch, "train");
  } else if (asked) budget = Number(asked);
  if (size !== 299 || batch !== 8 || budget !== real) describePlan(size, batch, budget);

  const graph = compileSpec(spec, { args: { size } });
  const model = buildModelFromIR(graph, { batch, mode: "train" });
  const vars = model.trainableWeights.map((w) => w.read() as tf.Variable);
  const opt: tf.Optimizer = fusedMomentum(0.01, 0.9);
  const classes = graph.nodes[graph.output]!.shape[0]!;
  const xData = Float32Array.from(
    { length: batch * size * size * 3 },
    (_, i) => ((i * 7919) % 1000) / 1000,
  );
  const labels = Int32Array.from({ length: batch }, (_, i) => (i * 31) % classes);
  const step = async (b: number): Promise<{ cpu: number; wall: number; recomputed: number }> => {
    const x = tf.tensor(xData, [batch, size, size, 3]);
    const y = tf.tidy(() => tf.oneHot(tf.tensor1d(labels, "int32"), classes));
    const loss = (out: tf.Tensor): tf.Scalar =>
      tf.neg(
        tf.mean(tf.sum(tf.mul(y, tf.log(tf.clipByValue(out, 1e-7, 1 - 1e-7))), -1)),
      ) as tf.Scalar;
    const c0 = process.cpuUsage();
    const t0 = performance.now();
    const r = checkpointedVariableGrads(model, x, loss, vars, { budget: b });
    opt.applyGradients(r.grads);
    await r.value.data();
    const wall = performance.now() - t0;
    const c = process.cpuUsage(c0);
    tf.dispose([x, y, r.value, ...Object.values(r.grads)]);
    return { cpu: (c.user + c.system) / 1000, wall, recomputed: r.recomputed.length };
  };
  await step(budget); // kernel set-up, weight init
  const sides = [
    {
      name: "before: all but the last recomputed",
      budget: 0,
      cpu: [] as number[],
      wall: [] as number[],
    },
    { name: "now: as the budget requires", budget, cpu: [] as number[], wall: [] as number[] },
  ];
  for (let r = 0; r < rounds; r++) {
    for (const side of r % 2 ? [...sides].reverse() : sides) {
      const t = await step(side.budget);
      side.cpu.push(t.cpu);
      side.wall.push(t.wall);
      console.log(
        `  round ${r + 1} ${side.name} (${t.recomputed} recomputed): CPU ${t.cpu.toFixed(0)} ms, wall ${t.wall.toFixed(0)} ms`,
      );
    }
  }
  const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[xs.length >> 1]!;
  const [before, now] = sides;
  console.log(
    `median CPU per step: before ${median(before!.cpu).toFixed(0)} ms, now ${median(now!.cpu).toFixed(0)} ms (now/before ${(median(now!.cpu) / median(before!.cpu)).toFixed(3)}); ` +
      `wall ${median(before!.wall).toFixed(0)} / ${median(now!.wall).toFixed(0)} ms; ARCHC_THREADS ${process.env["ARCHC_THREADS"] ?? "unset (every core)"}`,
  );
  model.dispose();
}
