/**
 * What the simulation result adds to "it worked": where the time went (DNS, connect, TLS,
 * first byte, total) and whether the endpoint really checks signatures: the same payload is
 * sent once more with a wrong signature, and an endpoint that accepts it is flagged.
 */
import type { SignatureSelfCheck, SimulationTiming } from "../api";
import { h } from "../ui/dom";

export const PHASES = [
  { key: "dns", label: "DNS", testid: "sim-timing-dns" },
  { key: "connect", label: "Connect", testid: "sim-timing-connect" },
  { key: "tls", label: "TLS", testid: "sim-timing-tls" },
  { key: "firstByte", label: "First byte", testid: "sim-timing-first-byte" },
] as const;

/** "12.3 ms" under 100 ms, "123 ms" above; "—" for a phase that did not happen. */
export function phaseText(ms: number | null | undefined): string {
  if (ms === null || ms === undefined || !Number.isFinite(ms)) return "—";
  return ms < 100 ? `${(Math.round(ms * 10) / 10).toFixed(1)} ms` : `${Math.round(ms)} ms`;
}

/** Each phase's share of the total, in percent (0 for a phase that did not happen). */
export function phaseShares(t: SimulationTiming): number[] {
  const total = t.total > 0 ? t.total : 0;
  return PHASES.map((p) => {
    const v = t[p.key];
    return total > 0 && v !== null && v > 0 ? Math.min(100, (100 * v) / total) : 0;
  });
}

export function timingPanel(t: SimulationTiming): HTMLElement {
  const shares = phaseShares(t);
  return h(
    "section",
    { class: "sim-timing", testid: "sim-timing", attrs: { "aria-label": "Timing breakdown" } },
    h("h3", { class: "panel-title", text: "Timing" }),
    h(
      "div",
      { class: "timing-bar", attrs: { "aria-hidden": "true" } },
      ...PHASES.map((p, i) => {
        const seg = h("span", { class: `timing-seg seg-${p.key}`, attrs: { title: `${p.label}: ${phaseText(t[p.key])}` } });
        seg.style.width = `${shares[i] ?? 0}%`;
        return seg;
      }),
    ),
    h(
      "dl",
      { class: "timing-grid" },
      ...PHASES.map((p) =>
        h(
          "div",
          { class: "timing-item" },
          h("dt", {}, h("span", { class: `timing-swatch seg-${p.key}` }), p.label),
          h("dd", { testid: p.testid, attrs: { "data-ms": t[p.key] === null ? "" : String(t[p.key]) }, text: phaseText(t[p.key]) }),
        ),
      ),
      h(
        "div",
        { class: "timing-item timing-total" },
        h("dt", { text: "Total" }),
        h("dd", { testid: "sim-timing-total", attrs: { "data-ms": String(t.total) }, text: phaseText(t.total) }),
      ),
    ),
    h("p", { class: "hint", text: "— : the phase did not happen (no DNS for an IP address, no TLS over http, or the send stopped before it)." }),
  );
}

export type SelfCheckState = "warning" | "ok" | "skipped" | "error";

export function selfCheckState(c: SignatureSelfCheck): SelfCheckState {
  if (!c.sent) return "skipped";
  if (c.acceptedBadSignature) return "warning";
  return c.status === null ? "error" : "ok";
}

export function selfCheckPanel(c: SignatureSelfCheck): HTMLElement {
  const state = selfCheckState(c);
  const status = c.status === null ? "no response" : `HTTP ${c.status}`;
  const text: Record<SelfCheckState, [string, string]> = {
    warning: [
      "Your endpoint does not verify signatures",
      `It accepted a copy of the test event with a deliberately wrong signature (${status}). Anyone who knows its URL can send it forged events: verify the signature header before trusting a request.`,
    ],
    ok: ["Signature check passed", `A copy with a wrong signature was refused (${status}), as it should be.`],
    error: ["Signature check inconclusive", `The copy with a wrong signature got no answer${c.error ? `: ${c.error}` : ""}.`],
    skipped: ["Signature check not run", "The signed test event got no answer, so no mis-signed copy was sent."],
  };
  const [title, detail] = text[state];
  return h(
    "section",
    {
      class: `sim-selfcheck is-${state}`,
      testid: "sim-selfcheck",
      attrs: { "data-state": state, role: state === "warning" ? "alert" : "status" },
    },
    h("strong", { testid: state === "warning" ? "sim-selfcheck-warning" : "sim-selfcheck-title", text: title }),
    h("p", { class: "small", testid: "sim-selfcheck-detail", text: detail }),
  );
}
