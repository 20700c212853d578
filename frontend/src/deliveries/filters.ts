/**
 * The delivery log's filters and their place in the URL: `#/deliveries/<id>?status=failed&…`,
 * so a filtered log (or one event's deliveries) is a link to share. Times travel as ISO
 * instants and show in the browser's own time zone.
 */
import type { DeliveryStatus } from "../api";
import { CATALOGUE, EVENT_TYPES, isEventType } from "../catalogue";
import type { DeliveryFilters } from "../operations";
import type { Organisation } from "../organisations/api";
import { h } from "../ui/dom";

export const DELIVERY_STATUSES: readonly DeliveryStatus[] = ["pending", "succeeded", "failed", "cancelled"];
const FILTER_KEYS = ["status", "eventType", "organisationId", "eventId", "since", "until"] as const;
const MAX_ID = 100;

export const NO_FILTERS: DeliveryFilters = { status: "", eventType: "", organisationId: "", eventId: "", since: "", until: "" };

function isStatus(value: string): value is DeliveryStatus {
  return (DELIVERY_STATUSES as readonly string[]).includes(value);
}

/** An ISO instant for any date the browser parses; "" otherwise. */
export function isoOrEmpty(value: string | null | undefined): string {
  if (!value) return "";
  const ms = Date.parse(value);
  return Number.isNaN(ms) ? "" : new Date(ms).toISOString();
}

/** The filters in a location hash's query; anything unknown or malformed is dropped. */
export function filtersFromHash(hash: string): DeliveryFilters {
  const query = hash.includes("?") ? hash.slice(hash.indexOf("?") + 1) : "";
  const q = new URLSearchParams(query);
  const text = (key: string): string => (q.get(key) ?? "").trim().slice(0, MAX_ID);
  const status = text("status");
  const eventType = text("eventType");
  return {
    status: isStatus(status) ? status : "",
    eventType: isEventType(eventType) ? eventType : "",
    organisationId: text("organisationId"),
    eventId: text("eventId"),
    since: isoOrEmpty(q.get("since")),
    until: isoOrEmpty(q.get("until")),
  };
}

/** The delivery log's hash for `filters` (only the ones set, in a fixed order). */
export function hashWithFilters(webhookId: string, filters: DeliveryFilters): string {
  const q = new URLSearchParams();
  for (const key of FILTER_KEYS) if (filters[key]) q.set(key, filters[key]);
  const query = q.toString();
  return `#/deliveries/${encodeURIComponent(webhookId)}${query ? `?${query}` : ""}`;
}

export function hasFilters(filters: DeliveryFilters): boolean {
  return FILTER_KEYS.some((key) => filters[key] !== "");
}

function pad(n: number): string {
  return String(n).padStart(2, "0");
}

/** An ISO instant as a datetime-local input's value, in local time ("" stays ""). */
export function toLocalInput(iso: string): string {
  const ms = Date.parse(iso);
  if (!iso || Number.isNaN(ms)) return "";
  const d = new Date(ms);
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())}T${pad(d.getHours())}:${pad(d.getMinutes())}`;
}

/** A datetime-local value (local time) as an ISO instant; "" when empty or invalid. */
export function fromLocalInput(value: string): string {
  const m = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2})(?::(\d{2}))?$/.exec(value.trim());
  if (!m) return "";
  const [, y, mo, d, hh, mm, ss] = m;
  const date = new Date(Number(y), Number(mo) - 1, Number(d), Number(hh), Number(mm), Number(ss ?? 0));
  return Number.isNaN(date.getTime()) ? "" : date.toISOString();
}

export interface FilterBar {
  el: HTMLElement;
  /** Fills the organisation choice once the list has loaded. */
  setOrganisations(orgs: readonly Organisation[]): void;
}

function select(testid: string, id: string, options: [string, string][], value: string): HTMLSelectElement {
  const el = h("select", { class: "input input-sm", testid, attrs: { id } });
  for (const [v, text] of options) el.append(h("option", { attrs: { value: v }, text }));
  el.value = value;
  return el;
}

/** The toolbar: selects and times apply at once, the event id on Enter or "Find". */
export function filterBar(initial: DeliveryFilters, onChange: (filters: DeliveryFilters) => void): FilterBar {
  const status = select("delivery-status-filter", "dl-status", [["", "All statuses"], ...DELIVERY_STATUSES.map((s): [string, string] => [s, s])], initial.status);
  const eventType = select(
    "delivery-event-filter",
    "dl-event",
    [["", "All event types"], ...EVENT_TYPES.map((t): [string, string] => [t, CATALOGUE[t].label])],
    initial.eventType,
  );
  const organisation = select("delivery-org-filter", "dl-org", [["", "All organisations"]], "");
  if (initial.organisationId) {
    // Until the names load, the chosen id is an option of its own, so the filter shows.
    organisation.append(h("option", { attrs: { value: initial.organisationId }, text: initial.organisationId }));
    organisation.value = initial.organisationId;
  }
  const since = h("input", { class: "input input-sm", testid: "delivery-since", attrs: { id: "dl-since", type: "datetime-local" } });
  since.value = toLocalInput(initial.since);
  const until = h("input", { class: "input input-sm", testid: "delivery-until", attrs: { id: "dl-until", type: "datetime-local" } });
  until.value = toLocalInput(initial.until);
  const eventId = h("input", {
    class: "input input-sm mono",
    testid: "delivery-event-id",
    attrs: { id: "dl-event-id", type: "search", placeholder: "evt_…", autocomplete: "off", spellcheck: "false", maxlength: MAX_ID },
  });
  eventId.value = initial.eventId;
  const find = h("button", { class: "btn btn-sm", testid: "delivery-find", attrs: { type: "submit" }, text: "Find" });
  const clear = h("button", { class: "btn btn-sm btn-ghost", testid: "delivery-clear-filters", attrs: { type: "button" }, text: "Clear filters" });

  const current = (): DeliveryFilters => ({
    status: isStatus(status.value) ? status.value : "",
    eventType: isEventType(eventType.value) ? eventType.value : "",
    organisationId: organisation.value,
    eventId: eventId.value.trim(),
    since: fromLocalInput(since.value),
    until: fromLocalInput(until.value),
  });
  const changed = (): void => {
    clear.hidden = !hasFilters(current());
    onChange(current());
  };
  for (const el of [status, eventType, organisation, since, until]) el.addEventListener("change", changed);
  clear.hidden = !hasFilters(initial);
  clear.addEventListener("click", () => {
    status.value = eventType.value = organisation.value = since.value = until.value = eventId.value = "";
    changed();
  });

  const field = (label: string, id: string, control: HTMLElement): HTMLElement =>
    h("div", { class: "filter-field" }, h("label", { class: "label-inline", attrs: { for: id }, text: label }), control);
  const form = h(
    "form",
    { class: "filter-bar", testid: "delivery-filters", attrs: { role: "search", "aria-label": "Filter deliveries" } },
    field("Status", "dl-status", status),
    field("Event type", "dl-event", eventType),
    field("Organisation", "dl-org", organisation),
    field("From", "dl-since", since),
    field("To", "dl-until", until),
    h(
      "div",
      { class: "filter-field filter-lookup" },
      h("label", { class: "label-inline", attrs: { for: "dl-event-id" }, text: "Event id" }),
      h("div", { class: "lookup-row" }, eventId, find),
    ),
    clear,
  );
  form.addEventListener("submit", (ev) => {
    ev.preventDefault();
    changed();
  });

  return {
    el: form,
    setOrganisations(orgs) {
      const chosen = organisation.value;
      organisation.replaceChildren(h("option", { attrs: { value: "" }, text: "All organisations" }));
      for (const o of orgs) organisation.append(h("option", { attrs: { value: o.id }, text: o.name }));
      if (chosen && !orgs.some((o) => o.id === chosen)) organisation.append(h("option", { attrs: { value: chosen }, text: chosen }));
      organisation.value = chosen;
    },
  };
}
