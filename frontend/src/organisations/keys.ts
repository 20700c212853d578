/**
 * One organisation's ingest keys: list, a new key beside the others, a rotation (a new key;
 * the older ones stop after the chosen overlap) and revoke. Revoke and rotate are confirmed.
 */
import type { Api } from "../api";
import { confirmAction } from "../ui/confirm";
import { errorMessage, h, replace, statusLine } from "../ui/dom";
import { keyDates, revokeButton } from "../ui/keys";
import { revealOnce } from "../ui/reveal";
import { notify } from "../ui/toast";
import { createIngestKey, listIngestKeys, revokeIngestKey, type IngestKey, type IngestKeyCreated, type Organisation } from "./api";
import { keyState, keyStateText, OVERLAPS } from "./format";

export interface KeysPanel {
  element: HTMLElement;
  refresh(): Promise<void>;
}

/**
 * `onChanged` runs after a key is added, rotated or revoked (the page reloads the card and its
 * count); `seen` holds the last list per organisation, so a re-rendered card shows it at once.
 */
export function ingestKeysPanel(
  api: Api,
  org: Organisation,
  onChanged: () => void,
  seen: Map<string, IngestKey[]>,
): KeysPanel {
  const list = h("ul", { class: "key-list", testid: "ingest-key-list" });
  const newBtn = h("button", {
    class: "btn btn-sm",
    testid: "new-ingest-key",
    attrs: { type: "button" },
    text: "New key",
    on: { click: () => void addKey() },
  });
  const rotateBtn = h("button", {
    class: "btn btn-sm",
    testid: "rotate-ingest-keys",
    attrs: { type: "button" },
    text: "Rotate keys…",
    on: { click: () => confirmRotate() },
  });
  const element = h(
    "section",
    { class: "org-keys", testid: "org-keys", attrs: { "aria-label": `Ingest keys of ${org.name}` } },
    h(
      "div",
      { class: "org-keys-head" },
      h("h4", { text: "Ingest keys" }),
      h("div", { class: "org-keys-actions" }, newBtn, rotateBtn),
    ),
    h("p", {
      class: "hint",
      text: "The desktop apps of this organisation send events with one of these keys (Authorization: Bearer ik_…).",
    }),
    list,
  );

  function keyRow(key: IngestKey, now: number): HTMLElement {
    const state = keyState(key.expiresAt, now);
    return h(
      "li",
      { class: "key-row", testid: "ingest-key-row", attrs: { "data-key-id": key.id, "data-state": state } },
      h("code", { class: "key-prefix", testid: "ingest-key-prefix", text: `${key.prefix}…` }),
      h("span", {
        class: `badge ${state === "active" ? "badge-green-soft" : state === "expiring" ? "badge-amber" : "badge-red"}`,
        testid: "ingest-key-state",
        text: keyStateText(key.expiresAt, now),
      }),
      keyDates("ingest-key", key),
      revokeButton("revoke-ingest-key", `Revoke ingest key ${key.prefix}`, () => confirmRevoke(key)),
    );
  }

  function render(keys: IngestKey[]): void {
    const now = Date.now();
    if (keys.length === 0) {
      replace(list, h("li", { class: "empty-note", testid: "ingest-keys-empty", text: "No ingest keys: this organisation cannot send events." }));
    } else {
      replace(list, ...keys.map((k) => keyRow(k, now)));
    }
  }

  const known = seen.get(org.id);
  if (known) render(known);

  async function refresh(): Promise<void> {
    try {
      const keys = await listIngestKeys(api, org.id);
      seen.set(org.id, keys);
      render(keys);
    } catch (err) {
      replace(list, h("li", {}, statusLine(`Could not load ingest keys: ${errorMessage(err)}`, "error")));
    }
  }

  function showNewKey(secret: string, what: string): void {
    revealOnce({
      title: "New ingest key",
      intro: [what, " for ", h("strong", { text: org.name }), ":"],
      secret,
      copyLabel: `Copy ingest key of ${org.name}`,
    });
  }

  async function addKey(): Promise<void> {
    newBtn.disabled = true;
    try {
      const created = await createIngestKey(api, org.id);
      showNewKey(created.ingestKey, "A new ingest key, beside the existing ones,");
      onChanged();
    } catch (err) {
      notify(`Could not create a key: ${errorMessage(err)}`, "error");
    } finally {
      newBtn.disabled = false;
    }
  }

  function confirmRotate(): void {
    const select = h("select", { class: "input", testid: "rotate-overlap", attrs: { id: "rotate-overlap", name: "overlap" } });
    for (const o of OVERLAPS) select.append(h("option", { attrs: { value: String(o.seconds) }, text: o.label }));
    let created: IngestKeyCreated | null = null;
    confirmAction({
      title: "Rotate ingest keys?",
      testid: "rotate-modal",
      action: "Rotate keys",
      focusBody: true,
      body: [
        h(
          "p",
          {},
          "A new ingest key is made for ",
          h("strong", { text: org.name }),
          ". Every older key of this organisation is revoked after the overlap you choose; desktops still using one then get 401.",
        ),
        h("label", { class: "label", attrs: { for: "rotate-overlap" }, text: "Older keys keep working for" }),
        select,
      ],
      run: async () => {
        created = await createIngestKey(api, org.id, Number(select.value));
      },
      after: () => {
        if (!created) return;
        notify("Ingest keys rotated", "success");
        showNewKey(created.ingestKey, "The rotated ingest key");
        onChanged();
      },
    });
  }

  function confirmRevoke(key: IngestKey): void {
    confirmAction({
      title: "Revoke ingest key?",
      testid: "revoke-modal",
      action: "Revoke key",
      body: [
        h(
          "p",
          {},
          "The key ",
          h("code", { text: `${key.prefix}…` }),
          " of ",
          h("strong", { text: org.name }),
          " stops working at once: desktops sending with it get 401. This cannot be undone.",
        ),
      ],
      run: async () => {
        await revokeIngestKey(api, org.id, key.id);
        notify("Ingest key revoked", "success");
        onChanged();
      },
    });
  }

  return { element, refresh };
}
