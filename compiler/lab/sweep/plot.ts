import type { SummaryRecord } from "./aggregate.js";
import { paretoFront } from "../report/pareto.js";
import type { SweepRecord } from "./results.js";
import { importModule } from "../../util/importModule.js";

interface Metric {
  readonly field: string;
  readonly title: string;
  readonly get: (r: SweepRecord) => number | undefined;
  /** The spread over seeds, drawn as an error bar (one standard deviation each way). */
  readonly sd?: (r: SweepRecord) => number | undefined;
}

const spread = (r: SweepRecord) => (r as Partial<SummaryRecord>).spread;

const metrics: Metric[] = [
  { field: "params", title: "parameters", get: (r) => r.params },
  { field: "macs", title: "MACs per example", get: (r) => r.macs },
  { field: "latency", title: "forward latency (ms, median)", get: (r) => r.latency?.medianMs },
  {
    field: "loss",
    title: "train loss (last epoch)",
    get: (r) => r.train?.loss,
    sd: (r) => spread(r)?.loss,
  },
  {
    field: "valAccuracy",
    title: "val accuracy",
    get: (r) => r.train?.valAccuracy,
    sd: (r) => spread(r)?.valAccuracy,
  },
];

/**
 * Plots each measured metric against the first axis with vega-lite, rendered to SVG by vega in
 * Node; the second axis is the colour, and further axes are small multiples (a panel for each
 * combination of their values), so that no axis is hidden behind the lines. For `parts` the x
 * axis is logarithmic (the continuum is a sequence of doublings) and `depthwise` sits at its
 * group count, on a tick labelled `depthwise (N)`. Over several seeds,
 * error bars show one standard deviation. With accuracy measured, two more plots give the Pareto
 * view: val accuracy against MACs and against parameters, the front's points labelled.
 */
export async function plotSweep(
  records: readonly SweepRecord[],
  axes: readonly string[],
): Promise<string> {
  const [vega, vl] = await Promise.all([
    importModule("vega", () => import("vega")),
    importModule("vega-lite", () => import("vega-lite")),
  ]);
  const x = axes[0]!;
  const colour = axes[1];
  const panels = axes.slice(2);
  const panel = (r: SweepRecord) => panels.map((a) => `${a}=${String(r.point[a])}`).join(", ");
  const ok = records.filter((r) => !r.error);
  const logX = x === "parts" && ok.every((r) => r.partsX !== undefined);
  const label = (r: SweepRecord) =>
    logX && r.point[x] === "depthwise" ? `depthwise (${r.partsX})` : String(r.point[x]);
  const rows = ok.flatMap((r) =>
    metrics.flatMap((m) => {
      const value = m.get(r);
      const sd = m.sd?.(r);
      return value === undefined
        ? []
        : [
            {
              metric: m.title,
              value,
              ...(sd !== undefined ? { lo: value - sd, hi: value + sd } : {}),
              x: logX ? r.partsX : String(r.point[x]),
              label: label(r),
              variant: r.variant,
              ...(colour ? { series: String(r.point[colour]) } : {}),
              ...(panels.length ? { panel: panel(r) } : {}),
            },
          ];
    }),
  );
  // Ticks exactly at the values swept, each with its own label (depthwise says so).
  const ticks = logX ? [...new Map(ok.map((r) => [r.partsX!, label(r)])).entries()] : [];
  const labelExpr = ticks.length
    ? ticks
        .map(([v, l]) => `datum.value == ${v} ? ${JSON.stringify(l)} : `)
        .join("")
        .concat("datum.label")
    : undefined;
  // A metric that is the same for every variant (params across activations, say) says nothing.
  const measured = metrics.filter((m) => rows.some((r) => r.metric === m.title));
  const varying = measured.filter(
    (m) => new Set(rows.filter((r) => r.metric === m.title).map((r) => r.value)).size > 1,
  );
  const present = varying.length ? varying : measured;
  const xEncoding = logX
    ? {
        field: "x",
        type: "quantitative",
        title: `${x} (log scale)`,
        scale: { type: "log", base: 2 },
        axis: { values: ticks.map(([v]) => v), labelExpr, labelAngle: -30 },
      }
    : { field: "x", type: "ordinal", title: x, sort: null };
  const series = colour ? { color: { field: "series", type: "nominal", title: colour } } : {};
  const charts: unknown[] = present.map((m) => {
    const layer = [
      {
        mark: { type: "line", point: true },
        encoding: {
          x: xEncoding,
          y: {
            field: "value",
            type: "quantitative",
            title: m.title,
            scale: { zero: false },
            axis: { format: m.field === "params" || m.field === "macs" ? "~s" : "~r" },
          },
          ...series,
          tooltip: [{ field: "variant" }, { field: "value" }],
        },
      },
      ...(rows.some((r) => r.metric === m.title && "lo" in r)
        ? [
            {
              mark: { type: "rule" },
              encoding: {
                x: xEncoding,
                y: { field: "lo", type: "quantitative" },
                y2: { field: "hi" },
                ...series,
              },
            },
          ]
        : []),
    ];
    const transform = [{ filter: { field: "metric", equal: m.title } }];
    return panels.length
      ? {
          title: m.title,
          transform,
          facet: { field: "panel", type: "nominal", title: panels.join(", ") },
          columns: 4,
          spec: { width: 220, height: 140, layer },
        }
      : { width: 420, height: 160, title: m.title, transform, layer };
  });
  // The Pareto view: what each point of the continuum buys in accuracy for its cost.
  const pareto = ok.filter((r) => r.train?.valAccuracy !== undefined);
  if (pareto.length) {
    for (const [field, title] of [
      ["macs", "MACs per example"],
      ["params", "parameters"],
    ] as const) {
      // Text only at the Pareto front (every point has its tooltip): labels of all the points
      // of a cross product overlap into a smudge.
      const front = new Set(
        paretoFront(
          pareto.map((r) => ({ r, cost: r[field] ?? 0, score: r.train!.valAccuracy! })),
        ).map((p) => p.r),
      );
      const values = pareto.map((r) => ({
        front: front.has(r),
        cost: r[field],
        acc: r.train!.valAccuracy!,
        ...(spread(r)?.valAccuracy !== undefined
          ? {
              lo: r.train!.valAccuracy! - spread(r)!.valAccuracy!,
              hi: r.train!.valAccuracy! + spread(r)!.valAccuracy!,
            }
          : {}),
        // Every axis value: one alone cannot tell (1, dw, dw) from (dw, 1, dw) at equal cost.
        label:
          axes.length > 1 ? axes.map((a) => `${a}=${String(r.point[a])}`).join(", ") : label(r),
        ...(colour ? { series: String(r.point[colour]) } : {}),
      }));
      const costX = {
        field: "cost",
        type: "quantitative",
        title: `${title} (log scale)`,
        scale: { type: "log" },
        axis: { format: "~s" },
      };
      charts.push({
        width: 420,
        height: 200,
        title: `val accuracy against ${title}`,
        data: { values },
        layer: [
          {
            mark: { type: "point", filled: true },
            encoding: {
              x: costX,
              y: {
                field: "acc",
                type: "quantitative",
                title: "val accuracy",
                scale: { zero: false },
              },
              ...series,
              tooltip: [{ field: "label" }, { field: "acc" }, { field: "cost" }],
            },
          },
          {
            transform: [{ filter: "datum.front" }],
            mark: { type: "text", dy: -9, fontSize: 9 },
            encoding: {
              x: costX,
              y: { field: "acc", type: "quantitative" },
              text: { field: "label" },
            },
          },
          ...(values.some((v) => "lo" in v)
            ? [
                {
                  mark: { type: "rule" },
                  encoding: {
                    x: costX,
                    y: { field: "lo", type: "quantitative" },
                    y2: { field: "hi" },
                    ...series,
                  },
                },
              ]
            : []),
        ],
      });
    }
  }
  const spec = {
    $schema: "https://vega.github.io/schema/vega-lite/v6.json",
    data: { values: rows },
    vconcat: charts,
  };
  const compiled = vl.compile(spec as never).spec;
  const view = new vega.View(vega.parse(compiled), { renderer: "none" });
  const svg = await view.toSVG();
  view.finalize();
  return svg;
}

/** The plot as PNG (at twice the SVG's size, for print), rendered by sharp. */
export async function svgToPng(svg: string): Promise<Uint8Array> {
  const { default: sharp } = await importModule("sharp", () => import("sharp"));
  return new Uint8Array(await sharp(Buffer.from(svg), { density: 144 }).png().toBuffer());
}
