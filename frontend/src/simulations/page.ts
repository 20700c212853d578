/**
 * Simulations: send one signed test event to a webhook and show exactly what happened
 * (status, latency, signature headers, the payload sent and the endpoint's answer).
 */
import type { SimulationResult, Webhook } from "../api";
import { CATALOGUE, sortTypes, type EventType } from "../catalogue";
import type { AppContext } from "../context";
import { payloadText } from "../feed/cards";
import { copyButton } from "../ui/clipboard";
import { errorMessage, h, replace, statusLine } from "../ui/dom";
import { icon } from "../ui/icons";
import { selfCheckPanel, timingPanel } from "./timing";

export function mountSimulations(host: HTMLElement, { api }: AppContext, preselect: string | null): () => void {
  const webhookSelect = h("select", { class: "input", testid: "sim-webhook", attrs: { id: "sim-webhook" } });
  const eventSelect = h("select", { class: "input", testid: "sim-event", attrs: { id: "sim-event" } });
  const preview = h("pre", {
    class: "code-block code-tall",
    testid: "sim-preview",
    attrs: { tabindex: 0, "aria-labelledby": "sim-preview-title", "aria-busy": "false" },
  });
  const sendBtn = h("button", { class: "btn btn-primary", testid: "sim-send", attrs: { type: "button" } });
  sendBtn.append(icon("send", 14), "Send Test Event");
  const result = h("section", {
    class: "sim-result-host",
    attrs: { "aria-live": "polite", "aria-label": "Simulation result" },
  });
  const body = h("div", { class: "sim-layout" });
  host.append(
    h(
      "div",
      { class: "page-head" },
      h(
        "div",
        {},
        h("h1", { text: "Simulations" }),
        h("p", {
          class: "muted",
          text: "Send a signed test payload to your endpoint and check it responds correctly before going live.",
        }),
      ),
    ),
    body,
  );

  let webhooks: Webhook[] = [];
  let alive = true;
  let previewSeq = 0;

  function selected(): Webhook | undefined {
    return webhooks.find((w) => w.id === webhookSelect.value);
  }

  function fillEvents(): void {
    const w = selected();
    const previous = eventSelect.value;
    const types = w ? sortTypes(w.events) : [];
    replace(
      eventSelect,
      ...types.map((t) => h("option", { attrs: { value: t }, text: `${CATALOGUE[t].label} — ${t}` })),
    );
    if (types.includes(previous as EventType)) eventSelect.value = previous;
    sendBtn.disabled = types.length === 0;
    void loadPreview();
  }

  async function loadPreview(): Promise<void> {
    const w = selected();
    const type = eventSelect.value as EventType;
    const seq = ++previewSeq;
    if (!w || !type) {
      preview.textContent = "";
      return;
    }
    preview.setAttribute("aria-busy", "true");
    preview.textContent = "Loading preview…";
    try {
      const p = await api.previewSimulation(w.id, type);
      if (alive && seq === previewSeq) preview.textContent = payloadText(p.payload);
    } catch (err) {
      if (alive && seq === previewSeq) preview.textContent = `Preview unavailable: ${errorMessage(err)}`;
    } finally {
      if (seq === previewSeq) preview.setAttribute("aria-busy", "false");
    }
  }

  async function send(): Promise<void> {
    const w = selected();
    const type = eventSelect.value as EventType;
    if (!w || !type) return;
    sendBtn.disabled = true;
    replace(result, statusLine("Sending…"));
    try {
      const r = await api.simulate(w.id, type);
      if (alive) replace(result, resultPanel(r));
    } catch (err) {
      if (alive) {
        replace(
          result,
          h(
            "div",
            { class: "sim-result card-surface is-failed", testid: "sim-result", attrs: { "data-delivered": "false" } },
            h("p", { class: "field-error", testid: "sim-error", text: errorMessage(err) }),
          ),
        );
      }
    } finally {
      sendBtn.disabled = false;
    }
  }

  webhookSelect.addEventListener("change", fillEvents);
  eventSelect.addEventListener("change", () => void loadPreview());
  sendBtn.addEventListener("click", () => void send());

  replace(body, statusLine("Loading webhooks…"));
  api
    .listWebhooks()
    .then((page) => {
      if (!alive) return;
      webhooks = page.data;
      if (webhooks.length === 0) {
        replace(
          body,
          h(
            "div",
            { class: "empty-state card-surface", testid: "sim-empty" },
            h("h2", { text: "No webhooks to test" }),
            h("p", { class: "muted" }, "Create a webhook on the ", h("a", { attrs: { href: "#/webhooks" }, text: "Webhooks" }), " page first."),
          ),
        );
        return;
      }
      replace(
        webhookSelect,
        ...webhooks.map((w) => h("option", { attrs: { value: w.id }, text: `${w.name} — ${w.url}` })),
      );
      if (preselect && webhooks.some((w) => w.id === preselect)) webhookSelect.value = preselect;
      replace(
        body,
        h(
          "div",
          { class: "sim-form card-surface" },
          h(
            "div",
            { class: "field" },
            h("label", { class: "label", attrs: { for: "sim-webhook" }, text: "Webhook" }),
            webhookSelect,
          ),
          h(
            "div",
            { class: "field" },
            h("label", { class: "label", attrs: { for: "sim-event" }, text: "Event type" }),
            eventSelect,
            h("p", { class: "hint", text: "Limited to the events this webhook subscribes to." }),
          ),
          h("h2", { class: "panel-title", attrs: { id: "sim-preview-title" }, text: "Payload preview" }),
          preview,
          h("div", { class: "actions-row" }, sendBtn),
        ),
        result,
      );
      fillEvents();
    })
    .catch((err: unknown) => {
      if (alive) replace(body, statusLine(`Could not load webhooks: ${errorMessage(err)}`, "error"));
    });

  return () => {
    alive = false;
  };
}

function resultPanel(r: SimulationResult): HTMLElement {
  const ok = r.status !== null && r.status >= 200 && r.status < 300;
  const header = (name: string, testid: string): HTMLElement => {
    const value = r.headers[name] ?? "";
    return h(
      "div",
      { class: "kv" },
      h("dt", {}, h("code", { text: name })),
      h(
        "dd",
        { class: "kv-id" },
        h("code", { class: "break", testid, text: value || "—" }),
        value ? copyButton({ label: `Copy ${name}`, testid: `copy-${testid}`, value }) : null,
      ),
    );
  };
  return h(
    "div",
    {
      class: `sim-result card-surface ${r.delivered ? "is-delivered" : "is-failed"}`,
      testid: "sim-result",
      attrs: { "data-delivered": String(r.delivered) },
    },
    h(
      "div",
      { class: "sim-summary" },
      h("span", {
        class: `status-code ${ok ? "is-ok" : "is-bad"}`,
        testid: "sim-status",
        attrs: { "data-ok": String(ok) },
        text: r.status === null ? "No response" : String(r.status),
      }),
      h("span", {
        class: `badge ${r.delivered ? "badge-green" : "badge-red"}`,
        testid: "sim-outcome",
        text: r.delivered ? "Delivered" : "Failed",
      }),
      h("span", { class: "muted", testid: "sim-latency", text: r.latencyMs === null ? "—" : `${r.latencyMs} ms` }),
    ),
    r.error ? h("p", { class: "field-error", testid: "sim-error", attrs: { role: "alert" }, text: r.error }) : null,
    r.selfCheck ? selfCheckPanel(r.selfCheck) : null,
    r.timing ? timingPanel(r.timing) : null,
    h("h3", { class: "panel-title", text: "Signature headers" }),
    h(
      "dl",
      { class: "kv-grid" },
      // The webhook's scheme decides the names (issue 15): Standard Webhooks adds webhook-id.
      ...("webhook-signature" in r.headers
        ? [
            header("webhook-id", "sim-header-id"),
            header("webhook-timestamp", "sim-header-timestamp"),
            header("webhook-signature", "sim-header-signature"),
          ]
        : [header("x-webhook-timestamp", "sim-header-timestamp"), header("x-webhook-signature", "sim-header-signature")]),
    ),
    h("h3", { class: "panel-title", text: "Sent payload" }),
    h("pre", { class: "code-block", testid: "sim-payload", attrs: { tabindex: 0 }, text: payloadText(r.payload) }),
    h("h3", { class: "panel-title", text: "Endpoint response" }),
    h("pre", {
      class: "code-block",
      testid: "sim-response",
      attrs: { tabindex: 0 },
      text: r.responseBody ?? "(no body)",
    }),
  );
}
