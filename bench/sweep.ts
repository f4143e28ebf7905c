/**
 * A compile-only sweep (params and MACs) of 100 Xception variants, as `archc sweep` runs it:
 * elaborate each variant once. Goal (issue 6): under 1 s after warm-up.
 */
import { join } from "node:path";
import { packageRoot } from "../compiler/language/paths.js";
import { buildVariant, loadProgram } from "../compiler/language/program.js";
import { crossProduct, parseAxis, type Axis } from "../compiler/lab/sweep/axes.js";

export function runSweepBench(): void {
  const program = loadProgram(join(packageRoot, "specs", "xception.arch"));
  const net = program.table.networks.get("xception")!;
  const axes = [
    "parts=1,2,4,8,depthwise",
    "mid=none,relu,elu,selu,gelu",
    "classes=10,100,1000,17000",
  ].map((t) => parseAxis(t, net) as Axis);
  const variants = crossProduct(net, axes, []);
  const run = () => {
    const t0 = performance.now();
    let macs = 0;
    for (const v of variants) {
      const r = buildVariant(program, v);
      if (!r.ok) throw new Error(`${v.label}: ${r.diagnostics[0]!.message}`);
      macs += r.graph.totals.macs;
    }
    return { ms: performance.now() - t0, macs };
  };
  run();
  const times = Array.from({ length: 5 }, () => run().ms).sort((a, b) => a - b);
  console.log(
    `${variants.length} Xception variants (parts x mid x classes), params and MACs: median ${times[2]!.toFixed(0)} ms, min ${times[0]!.toFixed(0)} ms over 5 warm runs (goal < 1000 ms)`,
  );
}
