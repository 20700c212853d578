/** Pieces of a key row that API keys (Settings) and ingest keys (Organisations) share. */
import { h } from "./dom";
import { formatDateTime } from "./time";

/** "Created … · Last used …" (never, until the server's batched flush has seen a use). */
export function keyDates(testidPrefix: string, key: { createdAt: string; lastUsedAt: string | null }): HTMLElement {
  return h(
    "span",
    { class: "muted small key-dates" },
    "Created ",
    h("time", { testid: `${testidPrefix}-created`, attrs: { datetime: key.createdAt }, text: formatDateTime(key.createdAt) }),
    " · Last used ",
    h("span", { testid: `${testidPrefix}-last-used`, text: key.lastUsedAt ? formatDateTime(key.lastUsedAt) : "never" }),
  );
}

/** The row's Revoke button; `onClick` asks for confirmation. */
export function revokeButton(testid: string, label: string, onClick: () => void): HTMLElement {
  return h("button", {
    class: "btn btn-sm btn-ghost btn-danger-text",
    testid,
    attrs: { type: "button", "aria-label": label },
    text: "Revoke",
    on: { click: onClick },
  });
}
