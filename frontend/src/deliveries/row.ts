/** One delivery in the log: summary line, expandable attempts, and Retry (which refreshes). */
import type { Api, Attempt, Delivery, DeliveryDetail } from "../api";
import { eventBadge, statusBadge } from "../ui/badges";
import { errorMessage, h, replace, statusLine, uid } from "../ui/dom";
import { icon } from "../ui/icons";
import { notify } from "../ui/toast";
import { formatDateTime } from "../ui/time";

const POLL_MS = 1000;
const POLL_TIMES = 8;

const KIND_LABEL: Record<string, string> = {
  success: "success",
  http_error: "HTTP error",
  timeout: "timeout",
  network_error: "network error",
  refused: "refused",
};

/** The request headers as the API returns them (as sent; the secret is never among them). */
function headersBlock(headers: Attempt["requestHeaders"]): HTMLElement | null {
  if (!headers) return null;
  const names = Object.keys(headers).sort();
  return h(
    "details",
    { class: "attempt-headers", testid: "attempt-headers" },
    h("summary", { class: "small", text: `Request headers (${names.length})` }),
    h(
      "dl",
      { class: "kv-grid header-grid" },
      ...names.map((name) =>
        h(
          "div",
          { class: "kv", testid: "attempt-header", attrs: { "data-name": name } },
          h("dt", {}, h("code", { text: name })),
          h("dd", {}, h("code", { class: "break", testid: "attempt-header-value", text: headers[name] ?? "" })),
        ),
      ),
    ),
  );
}

function attemptRow(a: Attempt, index: number): HTMLElement {
  const ok = a.statusCode !== null && a.statusCode >= 200 && a.statusCode < 300;
  return h(
    "li",
    { class: "attempt-row", testid: "attempt-row", attrs: { "data-attempt-id": a.id } },
    h(
      "div",
      { class: "attempt-head" },
      h("span", { class: "muted small", text: `#${index}` }),
      h("time", { testid: "attempt-time", attrs: { datetime: a.attemptedAt }, text: formatDateTime(a.attemptedAt) }),
      h("span", {
        class: `status-code small ${ok ? "is-ok" : "is-bad"}`,
        testid: "attempt-status",
        text: a.statusCode === null ? "no response" : String(a.statusCode),
      }),
      h("span", { class: "muted small", testid: "attempt-latency", text: a.latencyMs === null ? "—" : `${a.latencyMs} ms` }),
      a.kind && a.kind !== "success"
        ? h("span", { class: "badge badge-red", testid: "attempt-kind", attrs: { "data-kind": a.kind }, text: KIND_LABEL[a.kind] ?? a.kind })
        : null,
    ),
    a.error ? h("p", { class: "field-error", testid: "attempt-error", text: a.error }) : null,
    a.responseBody
      ? h("pre", { class: "code-block code-short", testid: "attempt-response", attrs: { tabindex: 0 }, text: a.responseBody })
      : null,
    headersBlock(a.requestHeaders),
  );
}

export interface DeliveryRowView {
  el: HTMLElement;
}

/** An organisation's name by id (the id itself until the names have loaded). */
export type OrganisationName = (id: string) => string;

export function deliveryRow(api: Api, initial: Delivery, organisationName: OrganisationName = (id) => id): DeliveryRowView {
  let delivery = initial;
  let open = false;
  let pollTimer: number | undefined;
  const detailsId = uid("attempts");
  const toggle = h("button", {
    class: "delivery-toggle",
    testid: "delivery-toggle",
    attrs: { type: "button", "aria-expanded": "false", "aria-controls": detailsId },
  });
  const retryBtn = h("button", {
    class: "btn btn-sm",
    testid: "retry-button",
    attrs: { type: "button", "aria-label": `Retry delivery ${initial.id}` },
  });
  retryBtn.append(icon("refresh", 14), "Retry");
  const details = h("div", { class: "delivery-details", attrs: { id: detailsId }, testid: "delivery-details" });
  details.hidden = true;
  const el = h(
    "li",
    { class: "delivery-row card-surface", testid: "delivery-row", attrs: { "data-delivery-id": initial.id, "data-event-id": initial.eventId } },
    h("div", { class: "delivery-line" }, toggle, retryBtn),
    details,
  );

  function renderSummary(): void {
    el.dataset.status = delivery.status;
    const code = delivery.lastStatusCode;
    replace(
      toggle,
      h("span", { class: "chevron" }, icon("chevron", 14)),
      eventBadge(delivery.event),
      statusBadge(delivery.status, "delivery-status"),
      delivery.organisationId
        ? h("span", {
            class: "muted small",
            testid: "delivery-org",
            attrs: { "data-organisation-id": delivery.organisationId },
            text: organisationName(delivery.organisationId),
          })
        : null,
      h("span", { class: "small", testid: "delivery-attempts", text: `${delivery.attemptCount} attempt${delivery.attemptCount === 1 ? "" : "s"}` }),
      h("span", {
        class: `small status-code ${code !== null && code >= 200 && code < 300 ? "is-ok" : code === null ? "" : "is-bad"}`,
        testid: "delivery-last-status",
        text: code === null ? "—" : `HTTP ${code}`,
      }),
      h("time", { class: "muted small", testid: "delivery-created", attrs: { datetime: delivery.createdAt }, text: formatDateTime(delivery.createdAt) }),
      delivery.status === "pending" && delivery.nextAttemptAt
        ? h("span", { class: "muted small", testid: "delivery-next", text: `next ${formatDateTime(delivery.nextAttemptAt)}` })
        : null,
    );
    retryBtn.disabled = false;
  }

  function renderDetail(d: DeliveryDetail): void {
    replace(
      details,
      h("p", { class: "muted small" }, "Delivery ", h("code", { text: d.id }), " · event ", h("code", { text: d.eventId })),
      d.lastError ? h("p", { class: "field-error", testid: "delivery-error", text: d.lastError }) : null,
      d.attempts.length === 0
        ? h("p", { class: "empty-note", testid: "attempts-empty", text: "No attempts yet." })
        : h("ol", { class: "attempt-list", testid: "attempt-list" }, ...d.attempts.map((a, i) => attemptRow(a, i + 1))),
    );
  }

  async function refresh(): Promise<DeliveryDetail | null> {
    try {
      const d = await api.getDelivery(delivery.id);
      delivery = d;
      renderSummary();
      if (open) renderDetail(d);
      return d;
    } catch (err) {
      if (open) replace(details, statusLine(`Could not load attempts: ${errorMessage(err)}`, "error"));
      return null;
    }
  }

  /** The retry runs in the dispatcher, so watch the row for a short while until it settles. */
  function poll(left: number): void {
    window.clearTimeout(pollTimer);
    if (left <= 0 || !el.isConnected) return;
    pollTimer = window.setTimeout(() => {
      void refresh().then((d) => {
        if (d && d.status === "pending" && d.attemptCount <= attemptsBefore) poll(left - 1);
      });
    }, POLL_MS);
  }
  let attemptsBefore = 0;

  toggle.addEventListener("click", () => {
    open = !open;
    toggle.setAttribute("aria-expanded", String(open));
    el.classList.toggle("is-open", open);
    details.hidden = !open;
    if (open) {
      replace(details, statusLine("Loading attempts…"));
      void refresh();
    }
  });

  retryBtn.addEventListener("click", () => {
    retryBtn.disabled = true;
    attemptsBefore = delivery.attemptCount;
    api
      .retryDelivery(delivery.id)
      .then((d) => {
        delivery = { ...delivery, ...d };
        renderSummary();
        notify("Retry scheduled", "success");
        return refresh();
      })
      .then(() => poll(POLL_TIMES))
      .catch((err: unknown) => {
        retryBtn.disabled = false;
        notify(`Retry failed: ${errorMessage(err)}`, "error");
      });
  });

  renderSummary();
  return { el };
}
