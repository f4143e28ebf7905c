import type { Param } from "../../../grammar/ast.js";
import type { Augment } from "../../language/config/train.js";
import { show } from "../../language/elaborate/values.js";
import { loadProgram } from "../../language/program.js";
import { printExpr } from "../../../grammar/printer.js";
import { Exit, type IO } from "../io.js";
import { report } from "../report.js";

function params(ps: readonly Param[]): { name: string; default?: string }[] {
  return ps.map((p) =>
    p.default ? { name: p.name.name, default: printExpr(p.default) } : { name: p.name.name },
  );
}

export function listCommand(io: IO, file: string, opts: { json?: boolean }): number {
  const program = loadProgram(file);
  if (program.diagnostics.length) return report(io, program, program.diagnostics, opts.json);
  const t = program.table;
  const data = {
    networks: [...t.networks.values()].map((n) => ({
      name: n.name.name,
      file: n.span.file,
      params: params(n.params),
    })),
    blocks: [...t.blocks.values()].map((b) => ({
      name: b.name.name,
      file: b.span.file,
      params: params(b.params),
    })),
    trains: [...program.trains.values()],
    experiments: [...program.experiments.values()].map((x) => ({
      name: x.name,
      compare: x.compare.map((v) => v.label),
      train: x.train,
      sweep: x.sweep.map((s) => ({ axis: s.axis, values: s.values.map(show) })),
      ...(x.description ? { description: x.description } : {}),
    })),
  };
  if (opts.json) {
    io.out(JSON.stringify(data, null, 2));
    return Exit.ok;
  }
  const sig = (name: string, ps: { name: string; default?: string }[]) =>
    `${name}(${ps.map((p) => (p.default ? `${p.name} = ${p.default}` : p.name)).join(", ")})`;
  const lines: string[] = [];
  const section = (title: string, items: string[]) => {
    if (items.length) lines.push(`${title}:`, ...items.map((i) => `  ${i}`), "");
  };
  section(
    "networks",
    data.networks.map((n) => sig(n.name, n.params)),
  );
  section(
    "blocks",
    data.blocks.map((b) => `${sig(b.name, b.params)}  [${b.file}]`),
  );
  section(
    "train configs",
    data.trains.map((c) => {
      const o = c.optimizer;
      const opt = Object.entries(o)
        .filter(([k]) => k !== "kind")
        .map(([k, v]) => `${k}=${String(v)}`)
        .join(", ");
      const sched =
        c.schedule.kind === "exponential"
          ? `exponential(rate=${c.schedule.rate}, every=${c.schedule.every.amount} ${c.schedule.every.unit})`
          : "constant";
      return `${c.name}: ${o.kind}(${opt}), ${sched}, weight_decay=${c.weightDecay}, batch=${c.batch}, epochs=${c.epochs}${c.dropout !== undefined ? `, dropout=${c.dropout}` : ""}${c.labelSmoothing > 0 ? `, label_smoothing=${c.labelSmoothing}` : ""}${c.bnMomentum !== undefined ? `, bn_momentum=${c.bnMomentum}` : ""}${c.dataset ? `, dataset=${c.dataset}` : ""}${augmentText(c)}`;
    }),
  );
  section(
    "experiments",
    data.experiments.map(
      (x) =>
        `${x.name}: ${x.compare.join(" vs ")}${x.train.length ? ` with ${x.train.join(", ")}` : ""}${x.sweep.map((s) => `; sweep ${s.axis} over ${s.values.join(", ")}`).join("")}`,
    ),
  );
  io.out(lines.join("\n").trimEnd() || `${file} declares nothing`);
  return Exit.ok;
}

/** The config's augmentation and evaluation crop, where set: `, augment=inception(...)`. */
function augmentText(c: { augment?: Augment; evalCrop?: number }): string {
  const a = c.augment;
  const aug = a
    ? `, augment=inception(scale=${a.scale[0]}..${a.scale[1]}, ratio=${+a.ratio[0].toFixed(4)}..${+a.ratio[1].toFixed(4)}, flip=${a.flip})`
    : "";
  return aug + (c.evalCrop !== undefined ? `, eval_crop=${c.evalCrop}` : "");
}
