/**
 * The delivery log's health panel: attempts and failures over the chosen window (1 h, 24 h,
 * 7 d) as a chart, the headline numbers, and the endpoint's state right now (circuit
 * breaker open, failing since, disabled and why), from GET /v1/webhooks/{id}/stats.
 */
import type { Api } from "../api";
import { STATS_WINDOWS, webhookStats, type EndpointState, type StatsWindow, type WebhookStats } from "../operations";
import { attemptsChart, type ChartBucket } from "../ui/chart";
import { errorMessage, h, replace, statusLine } from "../ui/dom";
import { formatDateTime } from "../ui/time";
import { millis, percent, rateTone } from "../webhooks/health";

const WINDOW_LABEL: Record<StatsWindow, string> = { "1h": "1 hour", "24h": "24 hours", "7d": "7 days" };

/** "2 timeouts · 1 HTTP error", "" when nothing failed. */
export function failureKindsText(f: WebhookStats["failures"]): string {
  const parts: [number, string, string][] = [
    [f.httpError, "HTTP error", "HTTP errors"],
    [f.timeout, "timeout", "timeouts"],
    [f.networkError, "network error", "network errors"],
    [f.refused, "refused", "refused"],
  ];
  return parts
    .filter(([n]) => n > 0)
    .map(([n, one, many]) => `${n} ${n === 1 ? one : many}`)
    .join(" · ");
}

export function totalFailures(f: WebhookStats["failures"]): number {
  return f.httpError + f.timeout + f.networkError + f.refused;
}

export type EndpointTone = EndpointState["state"];

/** One line about the endpoint now: what a reseller must know before recovering. */
export function endpointSummary(e: EndpointState): { tone: EndpointTone; title: string; detail: string } {
  const streak =
    e.consecutiveFailures > 0
      ? `${e.consecutiveFailures} consecutive failure${e.consecutiveFailures === 1 ? "" : "s"}${e.failingSince ? ` since ${formatDateTime(e.failingSince)}` : ""}`
      : "";
  switch (e.state) {
    case "disabled":
      return { tone: "disabled", title: "Disabled", detail: e.disabledReason ?? "This endpoint is disabled." };
    case "paused":
      return { tone: "paused", title: "Circuit open", detail: `Deliveries are paused for a moment${streak ? `: ${streak}` : ""}.` };
    case "failing":
      return { tone: "failing", title: "Failing", detail: streak ? `${streak}.` : "The last attempt failed." };
    default:
      return { tone: "healthy", title: "Healthy", detail: "Circuit closed, no failures in a row." };
  }
}

function bucketLabel(bucketSeconds: number): (b: ChartBucket) => string {
  return (b) => {
    const start = Date.parse(b.start);
    const end = new Date(start + bucketSeconds * 1000).toISOString();
    const attempts = b.successes + b.failures;
    return `${formatDateTime(b.start)} – ${formatDateTime(end)}: ${attempts} attempt${attempts === 1 ? "" : "s"}, ${b.failures} failed`;
  };
}

function stat(label: string, value: string, testid: string, tone = ""): HTMLElement {
  return h("div", { class: "stat" }, h("span", { class: "stat-label", text: label }), h("span", { class: `stat-value ${tone}`, testid, text: value }));
}

export interface HealthPanel {
  el: HTMLElement;
  /** Reloads the shown window (after a refresh or a recovery). */
  reload(): Promise<void>;
}

export function healthPanel(api: Api, webhookId: string, onEndpoint: (e: EndpointState) => void): HealthPanel {
  let window_: StatsWindow = "24h";
  let seq = 0;
  const buttons = STATS_WINDOWS.map((w) =>
    h("button", {
      class: "seg-btn",
      testid: `health-window-${w}`,
      attrs: { type: "button", "aria-pressed": String(w === window_) },
      text: w,
      on: {
        click: () => {
          window_ = w;
          for (const b of buttons) b.setAttribute("aria-pressed", String(b.textContent === w));
          void reload();
        },
      },
    }),
  );
  const body = h("div", { class: "health-body", testid: "health-body", attrs: { "aria-busy": "true" } });
  const el = h(
    "section",
    { class: "health-panel card-surface", testid: "health-panel", attrs: { "aria-labelledby": "health-title" } },
    h(
      "div",
      { class: "health-head" },
      h("h2", { class: "panel-title", attrs: { id: "health-title" }, text: "Endpoint health" }),
      h("div", { class: "seg", attrs: { role: "group", "aria-label": "Window" } }, ...buttons),
    ),
    body,
  );

  function render(s: WebhookStats): void {
    const failures = totalFailures(s.failures);
    const kinds = failureKindsText(s.failures);
    body.dataset.window = s.window;
    body.dataset.attempts = String(s.attempts);
    replace(
      body,
      h(
        "div",
        { class: "stat-row" },
        stat("Attempts", String(s.attempts), "health-attempts"),
        stat("Success rate", percent(s.successRate), "health-success-rate", `tone-${rateTone(s.successRate)}`),
        stat("Failures", String(failures), "health-failures", failures > 0 ? "tone-bad" : ""),
        stat("p50", millis(s.latencyMs.p50), "health-p50"),
        stat("p95", millis(s.latencyMs.p95), "health-p95"),
      ),
      kinds ? h("p", { class: "muted small", testid: "health-failure-kinds", text: `Failures: ${kinds}` }) : null,
      s.attempts === 0
        ? h("p", { class: "empty-note", testid: "health-empty", text: `No attempts in the last ${WINDOW_LABEL[s.window]}.` })
        : null,
      h(
        "figure",
        { class: "chart-figure" },
        attemptsChart(s.series, bucketLabel(s.bucketSeconds)),
        h(
          "figcaption",
          { class: "chart-caption" },
          h("span", { class: "muted small", text: formatDateTime(s.since) }),
          h(
            "span",
            { class: "chart-legend small" },
            h("span", { class: "legend-swatch legend-ok" }),
            "Succeeded",
            h("span", { class: "legend-swatch legend-fail" }),
            "Failed",
          ),
          h("span", { class: "muted small", text: formatDateTime(s.until) }),
        ),
      ),
    );
    onEndpoint(s.endpoint);
  }

  async function reload(): Promise<void> {
    const mine = ++seq;
    body.setAttribute("aria-busy", "true");
    if (!body.firstChild) body.append(statusLine("Loading health…"));
    try {
      const s = await webhookStats(api, webhookId, window_);
      if (mine === seq) render(s);
    } catch (err) {
      if (mine === seq) replace(body, statusLine(`Could not load health: ${errorMessage(err)}`, "error"));
    } finally {
      if (mine === seq) body.setAttribute("aria-busy", "false");
    }
  }

  return { el, reload };
}

/** The endpoint-state strip beside the webhook's name. */
export function endpointBadge(e: EndpointState): HTMLElement {
  const s = endpointSummary(e);
  return h(
    "div",
    { class: `endpoint-state tone-${s.tone}`, testid: "endpoint-state", attrs: { "data-state": s.tone, "data-breaker": e.breaker, role: "status" } },
    h("strong", { testid: "endpoint-state-title", text: s.title }),
    h("span", { testid: "endpoint-state-detail", text: s.detail }),
  );
}
