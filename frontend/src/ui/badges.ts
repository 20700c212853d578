/** Event-type badges, coloured per type. */
import { CATALOGUE, isEventType } from "../catalogue";
import { h } from "./dom";

export function eventBadge(type: string): HTMLElement {
  const info = isEventType(type) ? CATALOGUE[type] : null;
  return h("span", {
    class: `badge badge-${info?.colour ?? "grey"}`,
    testid: "event-badge",
    attrs: { "data-event-type": type, title: type },
    text: info?.label ?? type,
  });
}

export function statusBadge(status: string, testid: string): HTMLElement {
  const colour =
    status === "succeeded" ? "green" : status === "failed" ? "red" : status === "pending" ? "amber" : "grey";
  return h("span", { class: `badge badge-${colour}`, testid, attrs: { "data-status": status }, text: status });
}
