import type { Report } from "./analyse.js";
import { importModule } from "../../util/importModule.js";

/**
 * The report's figures in one vega-lite spec, rendered to SVG by vega in Node (as the sweep's
 * plots are): every axis is shown.
 * - Pareto: accuracy against each cost, every configuration a point, the front drawn as a line
 *   and each of its points labelled with its whole configuration (all axis values).
 * - EDFs: one panel per axis (small multiples), one step curve per value of that axis.
 * - Main effects: one panel per axis, each value's effect with its bootstrap 95% interval.
 */
export async function plotReport(r: Report): Promise<string> {
  const [vega, vl] = await Promise.all([
    importModule("vega", () => import("vega")),
    importModule("vega-lite", () => import("vega-lite")),
  ]);
  if (!r.metric) throw new Error("plotReport needs a measured accuracy");
  const m = r.metric.title;
  const charts: unknown[] = [];
  for (const p of r.pareto) {
    // Front points are numbered by rising cost; the key beside the chart gives each number's
    // whole configuration (labels written at the points overlap where points crowd).
    const rank = new Map(p.points.map((x, i) => [x.configuration, i + 1]));
    const all = r.rows.flatMap((row) => {
      const cost = row[p.cost];
      const acc = row[r.metric!.id];
      const configuration = String(row["configuration"]);
      return typeof cost === "number" && typeof acc === "number"
        ? [
            {
              cost,
              acc,
              configuration,
              front: rank.has(configuration),
              n: rank.get(configuration) ?? null,
            },
          ]
        : [];
    });
    const x = {
      field: "cost",
      type: "quantitative",
      title: `${p.title} (log scale)`,
      scale: { type: "log", nice: false, padding: 12 },
      axis: { format: p.cost === "latency_ms" ? "~r" : "~s" },
    };
    const y = { field: "acc", type: "quantitative", title: m, scale: { zero: false, padding: 12 } };
    charts.push({
      title: `${m} against ${p.title}: the Pareto front`,
      hconcat: [
        {
          width: 420,
          height: 220,
          data: { values: all },
          layer: [
            {
              mark: { type: "point", filled: true, size: 50 },
              encoding: {
                x,
                y,
                color: {
                  field: "front",
                  type: "nominal",
                  title: "on the front",
                  scale: { domain: [true, false], range: ["#d62728", "#9e9e9e"] },
                },
                tooltip: [{ field: "configuration" }, { field: "acc" }, { field: "cost" }],
              },
            },
            {
              transform: [{ filter: "datum.front" }],
              mark: { type: "line", color: "#d62728", strokeDash: [4, 3] },
              encoding: { x, y, order: { field: "cost" } },
            },
            {
              transform: [{ filter: "datum.front" }],
              mark: { type: "text", dx: 7, dy: -7, fontSize: 10, fontWeight: "bold" },
              encoding: { x, y, text: { field: "n" } },
            },
          ],
        },
        {
          width: 260,
          height: { step: 14 },
          title: { text: "the front, by rising cost", fontSize: 11 },
          data: { values: p.points.map((x, i) => ({ line: `${i + 1}  ${x.configuration}`, i })) },
          mark: { type: "text", align: "left", fontSize: 10 },
          encoding: {
            x: { value: 0 },
            y: { field: "i", type: "ordinal", axis: null },
            text: { field: "line" },
          },
          view: { stroke: null },
        },
      ],
    });
  }
  // A step curve per value: each sorted error reaches i/n.
  const edfPoints = r.edf.flatMap((e) =>
    e.errors.map((err, i) => ({ axis: e.axis, value: e.value, error: err, f: (i + 1) / e.n })),
  );
  const axesWithEdf = [...new Set(r.edf.map((e) => e.axis))];
  if (axesWithEdf.length)
    charts.push({
      title: `EDF of error (1 − ${m}) by axis value`,
      data: { values: edfPoints },
      facet: { field: "axis", type: "nominal", title: null, sort: axesWithEdf },
      columns: Math.min(3, axesWithEdf.length),
      spec: {
        width: 200,
        height: 150,
        mark: { type: "line", interpolate: "step-after", point: true },
        encoding: {
          x: { field: "error", type: "quantitative", title: "error", scale: { zero: false } },
          y: {
            field: "f",
            type: "quantitative",
            title: "fraction at or below",
            scale: { domain: [0, 1] },
          },
          color: { field: "value", type: "nominal", title: "value" },
          tooltip: [{ field: "value" }, { field: "error" }, { field: "f" }],
        },
      },
      resolve: { scale: { color: "independent" } },
    });
  if (r.effects.length)
    charts.push({
      title: `Main effect on ${m}, bootstrap 95% interval`,
      data: { values: r.effects.map((e) => ({ ...e, needed: undefined })) },
      facet: { field: "axis", type: "nominal", title: null, sort: axesWithEdf },
      columns: Math.min(3, axesWithEdf.length),
      spec: {
        width: 200,
        height: 150,
        layer: [
          {
            mark: { type: "rule" },
            encoding: {
              x: {
                field: "value",
                type: "nominal",
                title: null,
                sort: null,
                axis: { labelAngle: 0 },
              },
              y: { field: "lo", type: "quantitative", title: "effect" },
              y2: { field: "hi" },
            },
          },
          {
            mark: { type: "point", filled: true, size: 70 },
            encoding: {
              x: { field: "value", type: "nominal", sort: null },
              y: { field: "effect", type: "quantitative" },
              color: {
                field: "clear",
                type: "nominal",
                title: "clear of the noise",
                scale: { domain: [true, false], range: ["#1f77b4", "#9e9e9e"] },
              },
              tooltip: [{ field: "value" }, { field: "effect" }, { field: "lo" }, { field: "hi" }],
            },
          },
          { mark: { type: "rule", strokeDash: [2, 2] }, encoding: { y: { datum: 0 } } },
        ],
      },
      resolve: { scale: { x: "independent" } },
    });
  const spec = {
    $schema: "https://vega.github.io/schema/vega-lite/v6.json",
    vconcat: charts,
    // "On the front" and "clear of the noise" are different legends.
    resolve: { scale: { color: "independent" } },
  };
  const compiled = vl.compile(spec as never).spec;
  const view = new vega.View(vega.parse(compiled), { renderer: "none" });
  const svg = await view.toSVG();
  view.finalize();
  return svg;
}
