import { formatCount, formatMacs } from "../../compiler/backends/summary/summary.js";
import { escapeHtml } from "./markdown.js";
import type { Point } from "./continuum.js";

interface Series {
  readonly name: string;
  readonly cls: string;
  readonly values: readonly (number | undefined)[];
  readonly format: (n: number) => string;
}

/**
 * The continuum as small multiples, one panel per measure (params, MACs, latency when run),
 * sharing the axis's values along x: each panel has its own scale, from zero, as sweep --plot.
 */
export function continuumSvg(axis: string, points: readonly Point[]): string {
  const series: Series[] = [
    { name: "params", cls: "s-params", values: points.map((p) => p.params), format: formatCount },
    { name: "MACs", cls: "s-macs", values: points.map((p) => p.macs), format: formatMacs },
  ];
  if (points.some((p) => p.latencyMs !== undefined))
    series.push({
      name: "latency (ms)",
      cls: "s-latency",
      values: points.map((p) => p.latencyMs),
      format: (n) => n.toFixed(1),
    });
  const w = 640;
  const ph = 150;
  const left = 78;
  const right = 40;
  const top = 22;
  const gap = 48;
  const h = top + series.length * (ph + gap) + 20;
  const x = (i: number) =>
    left +
    (points.length === 1 ? (w - left - right) / 2 : (i * (w - left - right)) / (points.length - 1));
  const parts: string[] = [];
  series.forEach((s, k) => {
    const y0 = top + k * (ph + gap);
    const max = Math.max(...s.values.filter((v): v is number => v !== undefined), 1e-9);
    const y = (v: number) => y0 + ph - (v / max) * ph;
    parts.push(`<text class="chart-title" x="${left}" y="${y0 - 10}">${escapeHtml(s.name)}</text>`);
    parts.push(
      `<line class="axis" x1="${left}" y1="${y0 + ph}" x2="${w - right}" y2="${y0 + ph}"/>`,
    );
    parts.push(`<line class="axis" x1="${left}" y1="${y0}" x2="${left}" y2="${y0 + ph}"/>`);
    for (const f of [0, 0.5, 1]) {
      parts.push(
        `<text class="tick" x="${left - 6}" y="${y(max * f) + 4}" text-anchor="end">${escapeHtml(s.format(max * f))}</text>`,
      );
    }
    const pts = s.values.flatMap((v, i) => (v === undefined ? [] : [[x(i), y(v)] as const]));
    if (pts.length > 1)
      parts.push(
        `<polyline class="${s.cls}" points="${pts.map(([a, b]) => `${a},${b}`).join(" ")}"/>`,
      );
    s.values.forEach((v, i) => {
      if (v === undefined) return;
      parts.push(
        `<circle class="${s.cls}" cx="${x(i)}" cy="${y(v)}" r="3.5"><title>${escapeHtml(`${axis}=${points[i]!.label}: ${s.format(v)}`)}</title></circle>`,
      );
    });
    points.forEach((p, i) => {
      parts.push(
        `<text class="tick" x="${x(i)}" y="${y0 + ph + 14}" text-anchor="middle">${escapeHtml(p.label)}</text>`,
      );
    });
  });
  parts.push(
    `<text class="chart-title" x="${(left + w - right) / 2}" y="${h - 4}" text-anchor="middle">${escapeHtml(axis)}</text>`,
  );
  return `<svg class="chart" viewBox="0 0 ${w} ${h}" width="${w}" height="${h}" xmlns="http://www.w3.org/2000/svg">${parts.join("")}</svg>`;
}
