/**
 * `npm run bench -- step-kernels`: which kernels of a mini_xception training step get faster
 * from a second thread and which do not. Each thread count runs in a child process of its own
 * (the wasm backend's count is fixed once it starts); the parent alternates the children round
 * by round (1, 2, 1, 2, ...), so load on a shared machine falls on both alike. Each child times
 * whole steps (wall-clock and process CPU, every thread) and, in profiled steps of their own,
 * each kernel's wall-clock (tf.profile: a composed kernel's inner calls are listed beside it).
 *
 *   ARCHC_BENCH_CASES=mini,mini8,mini1   (default; keys as in bench/train.ts)
 *   ARCHC_BENCH_ROUNDS=N                 (children per thread count, default 3)
 *   ARCHC_BENCH_THREADS=1,2              (default)
 *   ARCHC_BENCH_VARIANTS=archc,wasm      (default archc; wasm: tfjs-backend-wasm's own Relu and
 *                                         PadV2 and tfjs' Relu gradient, as before
 *                                         kernels/elementwise.ts and pad.ts)
 */
import * as tf from "@tensorflow/tfjs";
import { spawnSync } from "node:child_process";
import os from "node:os";
import { join } from "node:path";
import { initBackend } from "../compiler/backends/tfjs/runtime.js";
import { replacedWasmKernel } from "../compiler/backends/tfjs/kernels/register.js";
import { originalReluGradient } from "../compiler/backends/tfjs/kernels/elementwise.js";
import { compileSpec } from "../compiler/index.js";
import { packageRoot } from "../compiler/language/paths.js";
import { median } from "./timing.js";
import { ArchcSide, miniCase } from "./train.js";

const MARK = "STEP_KERNELS ";
const STEPS = 4;

interface ChildResult {
  key: string;
  threads: number;
  variant: string;
  steps: { ms: number; cpuMs: number }[];
  /** Per profiled step: kernel name -> wall ms summed over its calls. */
  kernels: Record<string, number>[];
  calls: Record<string, number>;
}

async function child(keys: readonly string[], variant: string): Promise<void> {
  const backend = await initBackend("wasm");
  const threads = backend.threads ?? 1;
  if (variant === "wasm") {
    // Back to what tfjs-backend-wasm and tfjs ship for Relu, its gradient and PadV2.
    for (const name of [tf.Relu, tf.PadV2]) {
      tf.unregisterKernel(name, "wasm");
      tf.registerKernel(replacedWasmKernel(name)!);
    }
    tf.registerGradient(originalReluGradient()!);
  }
  for (const key of keys) {
    const parts = key === "mini" ? "depthwise" : Number(key.slice(4));
    const c = miniCase(parts);
    const graph = compileSpec(join(packageRoot, "specs", c.file), { args: c.args });
    const side = new ArchcSide(graph, c.batch);
    await side.step(); // warm-up: kernel set-up, weight init
    const steps = await side.timeSteps(STEPS);
    const kernels: Record<string, number>[] = [];
    const calls: Record<string, number> = {};
    for (let i = 0; i < 2; i++) {
      const { byKernel } = await side.kernels();
      const row: Record<string, number> = {};
      for (const [name, e] of byKernel) {
        row[name] = e.ms;
        calls[name] = e.n;
      }
      kernels.push(row);
    }
    side.dispose();
    const r: ChildResult = { key, threads, variant, steps, kernels, calls };
    console.log(MARK + JSON.stringify(r));
  }
}

export async function runStepKernelsBench(): Promise<void> {
  const keys = (process.env["ARCHC_BENCH_CASES"] ?? "mini,mini8,mini1").split(",");
  const variants = (process.env["ARCHC_BENCH_VARIANTS"] ?? "archc").split(",");
  if (process.env["ARCHC_BENCH_CHILD"]) return child(keys, process.env["ARCHC_BENCH_VARIANT"]!);
  const counts = (process.env["ARCHC_BENCH_THREADS"] ?? "1,2").split(",").map(Number);
  const rounds = Number(process.env["ARCHC_BENCH_ROUNDS"]) || 3;
  const combos = counts.flatMap((threads) => variants.map((variant) => ({ threads, variant })));
  const label = (c: { threads: number; variant: string }) =>
    `${c.threads}t${variants.length > 1 ? ` ${c.variant}` : ""}`;
  const results: ChildResult[] = [];
  const load0 = os.loadavg()[0]!;
  for (let r = 0; r < rounds; r++) {
    for (const c of combos) {
      const out = spawnSync(process.execPath, [...process.execArgv, ...process.argv.slice(1)], {
        env: {
          ...process.env,
          ARCHC_THREADS: String(c.threads),
          ARCHC_BENCH_CHILD: "1",
          ARCHC_BENCH_VARIANT: c.variant,
        },
        encoding: "utf8",
        maxBuffer: 1 << 26,
        stdio: ["ignore", "pipe", "inherit"],
      });
      for (const line of out.stdout.split("\n"))
        if (line.startsWith(MARK)) results.push(JSON.parse(line.slice(MARK.length)) as ChildResult);
      if (out.status !== 0) console.log(`(the ${label(c)} child exited with ${out.status})`);
    }
  }
  const load1 = os.loadavg()[0]!;
  console.log(`load average ${load0.toFixed(1)} at the start, ${load1.toFixed(1)} at the end`);
  for (const key of keys) {
    const at = combos.map((c) =>
      results.filter((r) => r.key === key && r.threads === c.threads && r.variant === c.variant),
    );
    if (at.some((rs) => rs.length === 0)) continue;
    const stepMed = (rs: ChildResult[], f: "ms" | "cpuMs") =>
      median(rs.flatMap((r) => r.steps.map((s) => s[f])));
    const kernelMed = (rs: ChildResult[], name: string) =>
      median(rs.flatMap((r) => r.kernels.map((k) => k[name] ?? 0)));
    console.log(`\n### ${miniCase(key === "mini" ? "depthwise" : Number(key.slice(4))).name}\n`);
    console.log(`| step, median ms | ${combos.map(label).join(" | ")} |`);
    console.log(`| --- |${combos.map(() => " ---: |").join("")}`);
    console.log(`| wall | ${at.map((rs) => stepMed(rs, "ms").toFixed(1)).join(" | ")} |`);
    console.log(`| CPU | ${at.map((rs) => stepMed(rs, "cpuMs").toFixed(1)).join(" | ")} |`);
    const names = [...new Set(at.flat().flatMap((r) => r.kernels.flatMap(Object.keys)))];
    const wall0 = stepMed(at[0]!, "ms");
    const rows = names
      .map((n) => ({ n, ms: at.map((rs) => kernelMed(rs, n)), calls: at[0]![0]!.calls[n] ?? 0 }))
      .sort((p, q) => q.ms[0]! - p.ms[0]!)
      .slice(0, 25);
    console.log(
      `\n| kernel (wall ms, median of profiled steps) | calls (${label(combos[0]!)}) | share (${label(combos[0]!)}) | ${combos.map(label).join(" | ")} |`,
    );
    console.log(`| --- | ---: | ---: |${combos.map(() => " ---: |").join("")}`);
    for (const r of rows)
      console.log(
        `| ${r.n} | ${r.calls} | ${((100 * r.ms[0]!) / wall0).toFixed(1)}% | ${r.ms.map((m) => m.toFixed(1)).join(" | ")} |`,
      );
  }
}
