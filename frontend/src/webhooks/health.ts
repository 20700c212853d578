/**
 * The card's health line: success rate over the last 24 h and a latency sparkline, from
 * GET /v1/webhooks/{id}/stats. Loaded after the card is drawn, so a slow stats query never
 * holds the list back; a failure leaves a quiet "Health unavailable".
 */
import type { WebhookStats } from "../operations";
import { sparkline } from "../ui/chart";
import { errorMessage, h, replace } from "../ui/dom";

/** "99.5%" (one decimal below 100), "100%", "—" without attempts. */
export function percent(rate: number | null): string {
  if (rate === null || !Number.isFinite(rate)) return "—";
  const value = Math.max(0, Math.min(1, rate)) * 100;
  if (value === 100 || value === 0) return `${value}%`;
  return `${Math.min(99.9, Math.max(0.1, Math.round(value * 10) / 10))}%`;
}

/** "120 ms", "1.2 s", "—". */
export function millis(ms: number | null | undefined): string {
  if (ms === null || ms === undefined || !Number.isFinite(ms)) return "—";
  if (ms >= 1000) return `${(ms / 1000).toFixed(ms >= 10_000 ? 0 : 1)} s`;
  return `${Math.round(ms)} ms`;
}

/** Success-rate tone: green from 99%, amber from 90%, red below; grey with no attempts. */
export function rateTone(rate: number | null): "ok" | "warn" | "bad" | "none" {
  if (rate === null) return "none";
  if (rate >= 0.99) return "ok";
  return rate >= 0.9 ? "warn" : "bad";
}

/** The per-bucket latencies the sparkline draws (median if given, else mean); null: no answered attempt. */
export function latencySeries(stats: WebhookStats): (number | null)[] {
  return stats.series.map((b) => (typeof b.p50 === "number" ? b.p50 : typeof b.latencyMs === "number" ? b.latencyMs : null));
}

export function healthLine(stats: WebhookStats): Node[] {
  const tone = rateTone(stats.successRate);
  const latencies = latencySeries(stats);
  const hasLatency = latencies.some((v) => v !== null);
  return [
    h("span", {
      class: `health-rate tone-${tone}`,
      testid: "webhook-success-rate",
      attrs: { "data-rate": stats.successRate === null ? "" : String(stats.successRate), title: "Successful attempts, last 24 h" },
      text: stats.attempts === 0 ? "No attempts in 24 h" : `${percent(stats.successRate)} success`,
    }),
    stats.attempts === 0
      ? null
      : h("span", {
          class: "muted small",
          testid: "webhook-attempts-24h",
          text: `${stats.attempts} attempt${stats.attempts === 1 ? "" : "s"} · p50 ${millis(stats.latencyMs.p50)}`,
        }),
    hasLatency ? sparkline(latencies, `Latency per hour, last 24 h (median ${millis(stats.latencyMs.p50)})`, 96, 24) : null,
  ].filter((el): el is HTMLElement | SVGSVGElement => el !== null);
}

/** A slot on the card, filled when `load` answers. */
export function healthSlot(load: () => Promise<WebhookStats>): HTMLElement {
  const slot = h("div", { class: "health-line", testid: "webhook-health", attrs: { "aria-busy": "true" } });
  slot.append(h("span", { class: "muted small", text: "Loading health…" }));
  load()
    .then((stats) => {
      replace(slot, ...healthLine(stats));
      slot.dataset.attempts = String(stats.attempts);
    })
    .catch((err: unknown) => {
      replace(slot, h("span", { class: "muted small", attrs: { title: errorMessage(err) }, text: "Health unavailable" }));
    })
    .finally(() => slot.setAttribute("aria-busy", "false"));
  return slot;
}
