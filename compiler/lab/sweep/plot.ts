import type { SweepRecord } from "./results.js";

interface Metric {
  readonly field: string;
  readonly title: string;
  readonly get: (r: SweepRecord) => number | undefined;
}

const metrics: Metric[] = [
  { field: "params", title: "parameters", get: (r) => r.params },
  { field: "macs", title: "MACs per example", get: (r) => r.macs },
  { field: "latency", title: "forward latency (ms, median)", get: (r) => r.latency?.medianMs },
  { field: "valAccuracy", title: "validation accuracy", get: (r) => r.train?.valAccuracy },
];

/**
 * Plots each measured metric against the first axis with vega-lite, rendered to SVG by vega in
 * Node. For `parts` the x axis is logarithmic: the continuum is a sequence of doublings.
 */
export async function plotSweep(
  records: readonly SweepRecord[],
  axes: readonly string[],
): Promise<string> {
  const [vega, vl] = await Promise.all([import("vega"), import("vega-lite")]);
  const x = axes[0]!;
  const colour = axes[1];
  const ok = records.filter((r) => !r.error);
  const logX = x === "parts" && ok.every((r) => r.partsX !== undefined);
  const rows = ok.flatMap((r) =>
    metrics.flatMap((m) => {
      const value = m.get(r);
      return value === undefined
        ? []
        : [
            {
              metric: m.title,
              value,
              x: logX ? r.partsX : String(r.point[x]),
              label: String(r.point[x]),
              ...(colour ? { series: String(r.point[colour]) } : {}),
            },
          ];
    }),
  );
  // A metric that is the same for every variant (params across activations, say) says nothing.
  const measured = metrics.filter((m) => rows.some((r) => r.metric === m.title));
  const varying = measured.filter(
    (m) => new Set(rows.filter((r) => r.metric === m.title).map((r) => r.value)).size > 1,
  );
  const present = varying.length ? varying : measured;
  const spec = {
    $schema: "https://vega.github.io/schema/vega-lite/v6.json",
    data: { values: rows },
    vconcat: present.map((m) => ({
      width: 420,
      height: 160,
      title: m.title,
      transform: [{ filter: { field: "metric", equal: m.title } }],
      layer: [
        {
          mark: { type: "line", point: true },
          encoding: {
            x: logX
              ? {
                  field: "x",
                  type: "quantitative",
                  title: `${x} (log scale)`,
                  scale: { type: "log", base: 2 },
                }
              : { field: "x", type: "ordinal", title: x, sort: null },
            y: {
              field: "value",
              type: "quantitative",
              title: m.title,
              scale: { zero: false },
              axis: { format: m.field === "params" || m.field === "macs" ? "~s" : "~r" },
            },
            ...(colour ? { color: { field: "series", type: "nominal", title: colour } } : {}),
            tooltip: [{ field: "label" }, { field: "value" }],
          },
        },
      ],
    })),
  };
  const compiled = vl.compile(spec as never).spec;
  const view = new vega.View(vega.parse(compiled), { renderer: "none" });
  const svg = await view.toSVG();
  view.finalize();
  return svg;
}
