/** One webhook card: name, URL, event badges, masked secret with copy, created date, actions. */
import type { Webhook } from "../api";
import { href } from "../router";
import { eventBadge } from "../ui/badges";
import { copyButton } from "../ui/clipboard";
import { h } from "../ui/dom";
import { icon } from "../ui/icons";
import { formatDate, formatDateTime } from "../ui/time";
import type { WebhookStats } from "../operations";
import { healthSlot } from "./health";
import { ALL_ORGANISATIONS, routingText } from "./routing";
import { schemeLabel, schemeOf } from "./scheme";
import { traceparentOf } from "./traceparent";

export interface CardActions {
  onEdit(webhook: Webhook): void;
  onDelete(webhook: Webhook): void;
  onReenable(webhook: Webhook): void;
  fetchSecret(webhook: Webhook): Promise<string>;
  /** Rotate the signing secret (confirmed); absent: no rotate button. */
  onRotateSecret?(webhook: Webhook): void;
  /** The reseller's organisations by id, for the routing line. */
  organisationNames?: ReadonlyMap<string, string>;
  /** The card's 24 h stats; absent: no health line. */
  loadStats?(webhook: Webhook): Promise<WebhookStats>;
}

function iconButton(name: "edit" | "trash" | "refresh", label: string, testid: string, onClick: () => void): HTMLElement {
  const btn = h("button", {
    class: `icon-btn${name === "trash" ? " icon-btn-danger" : ""}`,
    testid,
    attrs: { type: "button", "aria-label": label, title: label },
    on: { click: onClick },
  });
  btn.appendChild(icon(name));
  return btn;
}

/** "≤ 4 at once · ≤ 2.5/s" when the webhook has limits; nothing otherwise. */
export function limitsText(w: Pick<Webhook, "maxInFlight" | "ratePerSecond">): string {
  const parts: string[] = [];
  if (w.maxInFlight !== null) parts.push(`≤ ${w.maxInFlight} at once`);
  if (w.ratePerSecond !== null) parts.push(`≤ ${w.ratePerSecond}/s`);
  return parts.join(" · ");
}

function limitsLine(w: Webhook): HTMLElement | null {
  const text = limitsText(w);
  return text ? h("p", { class: "muted small", testid: "webhook-limits", text: `Limits: ${text}` }) : null;
}

/** During a rotation overlap: until when the previous secret still signs too. */
function overlapLine(w: Webhook): HTMLElement | null {
  if (!w.previousSecretExpiresAt) return null;
  return h(
    "p",
    { class: "muted small", testid: "webhook-secret-overlap" },
    "The previous secret also signs until ",
    h("time", { attrs: { datetime: w.previousSecretExpiresAt }, text: formatDateTime(w.previousSecretExpiresAt) }),
  );
}

/** Which organisations' events reach the webhook. */
function routingLine(w: Webhook, names: ReadonlyMap<string, string> = new Map()): HTMLElement {
  const text = routingText(w.organisationIds, names);
  return h(
    "p",
    { class: "muted small routing-line" },
    "From ",
    h("span", {
      class: `routing ${text === ALL_ORGANISATIONS ? "is-all" : "is-some"}`,
      testid: "webhook-routing",
      attrs: { "data-organisation-ids": (w.organisationIds ?? []).join(","), title: text },
      text,
    }),
  );
}

/** Only when the webhook opted in: its deliveries carry `traceparent` (while tracing is on). */
function traceparentBadge(w: Webhook): HTMLElement | null {
  if (!traceparentOf(w)) return null;
  return h("span", {
    class: "badge",
    testid: "webhook-traceparent",
    attrs: { title: "Deliveries carry a W3C traceparent header while the server has tracing on" },
    text: "traceparent",
  });
}

function healthOf(w: Webhook, load: CardActions["loadStats"]): HTMLElement | null {
  return load ? healthSlot(() => load(w)) : null;
}

export function webhookCard(w: Webhook, actions: CardActions): HTMLElement {
  const disabled = !w.enabled;
  const disabledBlock = disabled
    ? h(
        "div",
        { class: "disabled-note", testid: "webhook-disabled", attrs: { role: "note" } },
        h(
          "div",
          {},
          h("strong", { text: "Disabled" }),
          h("span", { testid: "webhook-disabled-reason", text: w.disabledReason ?? "This endpoint is disabled." }),
        ),
        h("button", {
          class: "btn btn-sm",
          testid: "reenable-button",
          attrs: { type: "button", "aria-label": `Re-enable webhook ${w.name}` },
          text: "Re-enable",
          on: { click: () => actions.onReenable(w) },
        }),
      )
    : null;

  return h(
    "article",
    {
      class: `webhook-card card-surface${disabled ? " is-disabled" : ""}`,
      testid: "webhook-card",
      attrs: { "data-webhook-id": w.id, "data-enabled": String(w.enabled), "aria-label": `Webhook ${w.name}` },
    },
    h(
      "header",
      { class: "webhook-card-head" },
      h(
        "div",
        { class: "webhook-title" },
        h("h3", { testid: "webhook-name", text: w.name }),
        h("span", {
          class: `badge ${disabled ? "badge-red" : "badge-green-soft"}`,
          testid: "webhook-status",
          text: disabled ? "Disabled" : "Active",
        }),
      ),
      h(
        "div",
        { class: "webhook-actions" },
        iconButton("edit", `Edit webhook ${w.name}`, "edit-webhook", () => actions.onEdit(w)),
        iconButton("trash", `Delete webhook ${w.name}`, "delete-webhook", () => actions.onDelete(w)),
      ),
    ),
    h("p", { class: "webhook-url", testid: "webhook-url", attrs: { title: w.url }, text: w.url }),
    h("div", { class: "badge-row", testid: "webhook-events" }, ...w.events.map(eventBadge)),
    limitsLine(w),
    routingLine(w, actions.organisationNames),
    healthOf(w, actions.loadStats),
    h(
      "p",
      { class: "muted small" },
      "Signed with ",
      h("span", {
        class: "badge scheme-badge",
        testid: "webhook-scheme",
        attrs: { "data-scheme": schemeOf(w) },
        text: schemeLabel(schemeOf(w)),
      }),
      traceparentOf(w) ? " · " : null,
      traceparentBadge(w),
    ),
    h(
      "div",
      { class: "secret-row" },
      h("span", { class: "label-inline", text: "Secret" }),
      h("code", { class: "secret", testid: "webhook-secret", text: w.secretMasked }),
      copyButton({
        label: `Copy secret of ${w.name}`,
        testid: "copy-secret",
        value: () => actions.fetchSecret(w),
      }),
      actions.onRotateSecret
        ? iconButton("refresh", `Rotate secret of ${w.name}`, "rotate-secret", () => actions.onRotateSecret?.(w))
        : null,
    ),
    overlapLine(w),
    disabledBlock,
    h(
      "footer",
      { class: "webhook-card-foot" },
      h(
        "span",
        { class: "muted small" },
        "Created ",
        h("time", { testid: "webhook-created", attrs: { datetime: w.createdAt }, text: formatDate(w.createdAt) }),
      ),
      h(
        "span",
        { class: "card-links" },
        h(
          "a",
          { class: "link", testid: "simulate-link", attrs: { href: href({ name: "simulations", webhookId: w.id }) } },
          icon("send", 14),
          "Test",
        ),
        h(
          "a",
          { class: "link", testid: "delivery-log-link", attrs: { href: href({ name: "deliveries", webhookId: w.id }) } },
          icon("log", 14),
          "Delivery log",
        ),
      ),
    ),
  );
}
