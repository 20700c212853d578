/**
 * Small charts as plain SVG (no chart library: two shapes do not justify one in the bundle).
 * The geometry is pure and unit-tested; the builders only turn it into elements, and every
 * bar carries its numbers as data attributes and a <title>, for tests and for hover.
 */

const SVG_NS = "http://www.w3.org/2000/svg";

type SvgAttrs = Record<string, string | number>;

export function svg<K extends keyof SVGElementTagNameMap>(tag: K, attrs: SvgAttrs = {}, ...children: (SVGElement | null)[]): SVGElementTagNameMap[K] {
  const el = document.createElementNS(SVG_NS, tag);
  for (const [name, value] of Object.entries(attrs)) el.setAttribute(name, String(value));
  for (const child of children) if (child) el.appendChild(child);
  return el;
}

function titled(el: SVGElement, text: string): SVGElement {
  const title = document.createElementNS(SVG_NS, "title");
  title.textContent = text;
  el.appendChild(title);
  return el;
}

function round(n: number): number {
  return Math.round(n * 10) / 10;
}

/**
 * The path of a sparkline through `values` (one per bucket, evenly spaced), scaled to fit
 * `width` x `height` inside `pad`; a null is a gap (a bucket with no answered attempt), a
 * lone value between gaps a dot-sized segment. "" when there is nothing to draw.
 */
export function sparklinePath(values: readonly (number | null)[], width: number, height: number, pad = 2): string {
  const known = values.filter((v): v is number => v !== null && Number.isFinite(v));
  if (known.length === 0) return "";
  const max = Math.max(...known);
  const min = Math.min(...known);
  const span = max - min || 1;
  const step = values.length > 1 ? (width - 2 * pad) / (values.length - 1) : 0;
  const y = (v: number): number => (max === min ? height / 2 : pad + (height - 2 * pad) * (1 - (v - min) / span));
  const parts: string[] = [];
  let drawing = false;
  values.forEach((v, i) => {
    if (v === null || !Number.isFinite(v)) {
      drawing = false;
      return;
    }
    const x = values.length > 1 ? pad + i * step : width / 2;
    const next = values[i + 1];
    const alone = !drawing && (next === undefined || next === null);
    parts.push(`${drawing ? "L" : "M"}${round(x)} ${round(y(v))}`);
    if (alone) parts.push(`h0.1`);
    drawing = true;
  });
  return parts.join(" ");
}

export interface Bar {
  x: number;
  width: number;
  /** Top of the successes part and its height; failures sit on top of it. */
  okY: number;
  okHeight: number;
  failY: number;
  failHeight: number;
}

/** Stacked bars (successes below, failures on top) on a shared scale from 0 to the busiest bucket. */
export function stackedBars(
  series: readonly { successes: number; failures: number }[],
  width: number,
  height: number,
  gap = 2,
): { bars: Bar[]; max: number } {
  const max = Math.max(0, ...series.map((b) => b.successes + b.failures));
  const slot = series.length > 0 ? width / series.length : 0;
  const barWidth = Math.max(1, slot - gap);
  const scale = max > 0 ? height / max : 0;
  const bars = series.map((b, i) => {
    const okHeight = b.successes * scale;
    const failHeight = b.failures * scale;
    const okY = height - okHeight;
    return { x: round(i * slot + gap / 2), width: round(barWidth), okY: round(okY), okHeight: round(okHeight), failY: round(okY - failHeight), failHeight: round(failHeight) };
  });
  return { bars, max };
}

export function sparkline(values: readonly (number | null)[], label: string, width = 120, height = 28): SVGSVGElement {
  const d = sparklinePath(values, width, height);
  const el = svg(
    "svg",
    { class: "sparkline", width, height, viewBox: `0 0 ${width} ${height}`, role: "img", "aria-label": label, "data-testid": "latency-sparkline", "data-points": values.filter((v) => v !== null).length },
    d ? svg("path", { d, fill: "none", stroke: "currentColor", "stroke-width": 1.5, "stroke-linejoin": "round", "stroke-linecap": "round" }) : null,
  );
  titled(el, label);
  return el;
}

export interface ChartBucket {
  start: string;
  successes: number;
  failures: number;
}

/** Attempts per bucket over the window, failures in red on top of successes in green. */
export function attemptsChart(series: readonly ChartBucket[], label: (b: ChartBucket) => string, width = 720, height = 140): SVGSVGElement {
  const plotTop = 8;
  const plotHeight = height - plotTop - 4;
  const { bars, max } = stackedBars(series, width, plotHeight);
  const root = svg("svg", {
    class: "attempts-chart",
    viewBox: `0 0 ${width} ${height}`,
    preserveAspectRatio: "none",
    role: "img",
    "aria-label": `Attempts and failures per bucket, busiest ${max}`,
    "data-testid": "health-chart",
    "data-max": max,
  });
  root.appendChild(svg("line", { class: "chart-axis", x1: 0, x2: width, y1: plotTop + plotHeight, y2: plotTop + plotHeight }));
  bars.forEach((bar, i) => {
    const b = series[i];
    if (!b) return;
    const group = svg("g", {
      class: "chart-bar",
      "data-testid": "chart-bar",
      "data-start": b.start,
      "data-attempts": b.successes + b.failures,
      "data-failures": b.failures,
      transform: `translate(0 ${plotTop})`,
    });
    // A full-height hit area, so hovering an empty bucket still tells its numbers.
    group.appendChild(svg("rect", { class: "chart-hit", x: bar.x, y: 0, width: bar.width, height: plotHeight }));
    if (bar.okHeight > 0) group.appendChild(svg("rect", { class: "chart-ok", x: bar.x, y: bar.okY, width: bar.width, height: bar.okHeight }));
    if (bar.failHeight > 0) group.appendChild(svg("rect", { class: "chart-fail", x: bar.x, y: bar.failY, width: bar.width, height: bar.failHeight }));
    titled(group, label(b));
    root.appendChild(group);
  });
  return root;
}
