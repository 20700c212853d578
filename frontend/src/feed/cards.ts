/** Builders for the feed's pieces: event card, pool entry, toast. Text only, never markup. */
import { CATALOGUE } from "../catalogue";
import { copyButton } from "../ui/clipboard";
import { h } from "../ui/dom";
import { icon } from "../ui/icons";
import { formatDateTime, relativeTime } from "../ui/time";
import type { FeedItem } from "./state";

export interface Keyed {
  el: HTMLElement;
  setNew(isNew: boolean): void;
}

/** A relative-time span the view's one-second tick keeps current. */
export function relTime(ms: number, now: number, testid: string): HTMLElement {
  return h("span", { class: "rel-time", testid, attrs: { "data-rel-ms": ms }, text: relativeTime(ms, now) });
}

function newBadge(): HTMLElement {
  return h("span", { class: "badge badge-new", testid: "new-badge", text: "New Event" });
}

function idRow(label: string, value: string, testid: string): HTMLElement {
  return h(
    "div",
    { class: "kv" },
    h("dt", { text: label }),
    h(
      "dd",
      { class: "kv-id" },
      h("code", { testid, text: value || "—" }),
      value ? copyButton({ label: `Copy ${label}`, testid: `copy-${testid}`, value }) : null,
    ),
  );
}

function textRow(label: string, value: string, testid: string): HTMLElement {
  return h("div", { class: "kv" }, h("dt", { text: label }), h("dd", { testid, text: value || "—" }));
}

export function payloadText(payload: unknown): string {
  try {
    return JSON.stringify(payload, null, 2) ?? "null";
  } catch {
    return String(payload);
  }
}

export function eventCard(item: FeedItem, now: number): Keyed {
  const ev = item.event;
  const info = CATALOGUE[ev.event];
  const typeLabel = h("span", {
    class: `badge badge-${info.colour}`,
    testid: "event-type-label",
    text: info.label,
  });
  const labelSlot = h("div", { class: "event-card-label" }, typeLabel);
  const payloadId = `payload-${ev.id}`;
  const el = h(
    "article",
    {
      class: `event-card accent-${info.colour}`,
      testid: "event-card",
      attrs: { "data-event-id": ev.id, "data-event-type": ev.event, "aria-label": `${info.label} from ${ev.organisationName}` },
    },
    h(
      "header",
      { class: "event-card-top" },
      labelSlot,
      h(
        "div",
        { class: "event-card-time" },
        h("time", {
          testid: "event-timestamp",
          attrs: { datetime: new Date(item.receivedMs).toISOString() },
          text: formatDateTime(item.receivedMs),
        }),
        relTime(item.receivedMs, now, "event-relative"),
      ),
    ),
    h(
      "dl",
      { class: "kv-grid" },
      textRow("Parent Organisation", ev.parentOrganisationName, "event-parent-org"),
      textRow("Organisation", ev.organisationName, "event-org"),
      idRow("Event ID", ev.id, "event-id"),
      idRow("UserId", ev.userId, "event-user-id"),
      idRow("TeamId", ev.teamId, "event-team-id"),
    ),
    h("div", { class: "payload-label", attrs: { id: payloadId }, text: "Payload" }),
    h("pre", {
      class: "code-block",
      testid: "event-payload",
      attrs: { tabindex: 0, "aria-labelledby": payloadId },
      text: payloadText(ev.payload),
    }),
  );
  let shownNew: boolean | null = null;
  return {
    el,
    setNew(isNew) {
      if (shownNew === isNew) return;
      shownNew = isNew;
      el.classList.toggle("is-new", isNew);
      el.dataset.new = String(isNew);
      labelSlot.replaceChildren(isNew ? newBadge() : typeLabel);
    },
  };
}

export function poolEntry(item: FeedItem, now: number): Keyed {
  const ev = item.event;
  const info = CATALOGUE[ev.event];
  const badgeSlot = h("span", { class: "pool-badge-slot" });
  const el = h(
    "li",
    { class: "pool-entry", testid: "pool-entry", attrs: { "data-event-id": ev.id, "data-event-type": ev.event } },
    h("span", { class: `dot dot-${info.colour}`, testid: "pool-dot", attrs: { title: info.label } }),
    h(
      "div",
      { class: "pool-main" },
      h("div", { class: "pool-line" }, h("span", { class: "pool-type", text: info.label })),
      h("div", { class: "pool-org", testid: "pool-org", text: ev.organisationName || "—" }),
      h(
        "div",
        { class: "pool-time" },
        h("time", { testid: "pool-timestamp", text: formatDateTime(item.receivedMs) }),
        " · ",
        relTime(item.receivedMs, now, "pool-relative"),
      ),
    ),
    badgeSlot,
  );
  let shownNew: boolean | null = null;
  return {
    el,
    setNew(isNew) {
      if (shownNew === isNew) return;
      shownNew = isNew;
      el.classList.toggle("is-new", isNew);
      el.dataset.new = String(isNew);
      badgeSlot.replaceChildren(...(isNew ? [newBadge()] : []));
    },
  };
}

export function toastView(item: FeedItem, now: number): HTMLElement {
  const info = CATALOGUE[item.event.event];
  return h(
    "div",
    { class: `feed-toast accent-${info.colour}`, testid: "toast", attrs: { "data-event-type": item.event.event, "data-event-id": item.event.id } },
    h("span", { class: `toast-icon icon-${info.colour}`, testid: "toast-icon" }, icon(info.icon, 18)),
    h(
      "div",
      { class: "toast-body" },
      h("div", { class: "toast-title", testid: "toast-title", text: info.label }),
      h("div", { class: "toast-org", testid: "toast-org", text: item.event.organisationName || "—" }),
      h(
        "div",
        { class: "toast-time" },
        h("time", { testid: "toast-timestamp", text: formatDateTime(item.receivedMs) }),
        " · ",
        relTime(item.receivedMs, now, "toast-relative"),
      ),
    ),
  );
}
