/**
 * The Organisations page: the reseller's child organisations with their state and last
 * 24 h of events; create (the ingest key shown once), rename, disable/enable, and each
 * one's ingest keys. Disabling is confirmed: its desktops are refused (403) until enabled.
 */
import type { Api } from "../api";
import type { PageMount } from "../context";
import { confirmAction } from "../ui/confirm";
import { errorMessage, h, replace, statusLine } from "../ui/dom";
import { revealOnce } from "../ui/reveal";
import { formatDate } from "../ui/time";
import { notify } from "../ui/toast";
import "../settings/keys.css";
import { createOrganisation, listOrganisations, updateOrganisation, type IngestKey, type Organisation, type OrganisationCreated } from "./api";
import { eventsText } from "./format";
import { ingestKeysPanel } from "./keys";
import { openNameForm } from "./name-form";

export const mountOrganisations: PageMount = (host, { api }) => {
  const list = h("div", { class: "org-list", testid: "org-list", attrs: { "aria-live": "polite" } });
  const addBtn = h("button", {
    class: "btn btn-primary",
    testid: "add-organisation",
    attrs: { type: "button" },
    text: "+ New Organisation",
  });
  host.append(
    h(
      "div",
      { class: "page-head" },
      h(
        "div",
        {},
        h("h1", { text: "Organisations" }),
        h("p", { class: "muted", text: "The child organisations whose desktops send you events, and their ingest keys." }),
      ),
      addBtn,
    ),
    list,
  );
  let alive = true;
  /** Organisations whose key panel is open: kept across reloads of the list. */
  const open = new Set<string>();
  const seenKeys = new Map<string, IngestKey[]>();

  async function load(): Promise<void> {
    try {
      const orgs = await listOrganisations(api);
      if (!alive) return;
      if (orgs.length === 0) {
        replace(
          list,
          h(
            "div",
            { class: "empty-state card-surface", testid: "organisations-empty" },
            h("h2", { text: "No organisations yet" }),
            h("p", { class: "muted", text: "Create one to get the ingest key its desktop apps send events with." }),
          ),
        );
      } else {
        replace(list, ...orgs.map((o) => orgCard(api, o, { open, seenKeys }, load)));
      }
    } catch (err) {
      if (alive) replace(list, statusLine(`Could not load organisations: ${errorMessage(err)}`, "error"));
    }
  }

  addBtn.addEventListener("click", () => {
    let created: OrganisationCreated | null = null;
    openNameForm({
      title: "New Organisation",
      submitText: "Create Organisation",
      initial: "",
      save: async (name) => {
        created = await createOrganisation(api, name);
        void load();
      },
      after: () => {
        if (!created) return;
        notify("Organisation created", "success");
        revealOnce({
          title: "Organisation created",
          intro: ["The ingest key of ", h("strong", { text: created.name }), ". Its desktop apps send events with it:"],
          secret: created.ingestKey,
          copyLabel: `Copy ingest key of ${created.name}`,
        });
      },
    });
  });

  replace(list, statusLine("Loading organisations…"));
  void load();
  return () => {
    alive = false;
  };
};

/** What the page keeps across re-renders of its cards. */
interface Kept {
  open: Set<string>;
  seenKeys: Map<string, IngestKey[]>;
}

function orgCard(api: Api, org: Organisation, { open, seenKeys }: Kept, reload: () => Promise<void>): HTMLElement {
  const keys = ingestKeysPanel(api, org, () => void reload(), seenKeys);
  const isOpen = open.has(org.id);
  keys.element.hidden = !isOpen;
  if (isOpen) void keys.refresh();
  const toggleKeys = h("button", {
    class: "btn btn-sm",
    testid: "org-keys-toggle",
    attrs: { type: "button", "aria-expanded": String(isOpen), "aria-label": `Ingest keys of ${org.name}` },
    text: org.ingestKeys === null ? "Ingest keys" : `Ingest keys (${org.ingestKeys})`,
  });
  toggleKeys.addEventListener("click", () => {
    const show = keys.element.hidden;
    keys.element.hidden = !show;
    toggleKeys.setAttribute("aria-expanded", String(show));
    if (show) {
      open.add(org.id);
      void keys.refresh();
    } else {
      open.delete(org.id);
    }
  });

  const rename = (): void =>
    openNameForm({
      title: "Rename Organisation",
      submitText: "Save",
      initial: org.name,
      save: async (name) => {
        await updateOrganisation(api, org.id, { name });
        notify("Organisation renamed", "success");
        void reload();
      },
    });

  const setEnabled = async (enabled: boolean): Promise<void> => {
    await updateOrganisation(api, org.id, { enabled });
    notify(enabled ? "Organisation enabled" : "Organisation disabled", "success");
    void reload();
  };

  const toggle = h("button", {
    class: `btn btn-sm${org.enabled ? " btn-danger-text" : ""}`,
    testid: "toggle-organisation",
    attrs: { type: "button", "aria-label": `${org.enabled ? "Disable" : "Enable"} organisation ${org.name}` },
    text: org.enabled ? "Disable" : "Enable",
  });
  toggle.addEventListener("click", () => {
    if (!org.enabled) {
      toggle.disabled = true;
      setEnabled(true).catch((err: unknown) => {
        toggle.disabled = false;
        notify(errorMessage(err), "error");
      });
      return;
    }
    confirmAction({
      title: "Disable organisation?",
      testid: "disable-modal",
      action: "Disable Organisation",
      body: [
        h(
          "p",
          {},
          h("strong", { text: org.name }),
          "'s desktops are refused (403) while it is disabled: their events are not accepted. Its history stays, and you can enable it again.",
        ),
      ],
      run: () => setEnabled(false),
    });
  });

  return h(
    "article",
    {
      class: `org-card card-surface${org.enabled ? "" : " is-disabled"}`,
      testid: "org-card",
      attrs: { "data-org-id": org.id, "data-enabled": String(org.enabled), "aria-label": `Organisation ${org.name}` },
    },
    h(
      "div",
      { class: "org-line" },
      h(
        "div",
        { class: "org-title" },
        h("h3", { testid: "org-name", text: org.name }),
        h("span", {
          class: `badge ${org.enabled ? "badge-green-soft" : "badge-red"}`,
          testid: "org-status",
          text: org.enabled ? "Enabled" : "Disabled",
        }),
      ),
      h(
        "div",
        { class: "org-facts" },
        h("span", { testid: "org-events", attrs: { "data-count": org.eventsLast24h ?? "" }, text: eventsText(org.eventsLast24h) }),
        h("span", { class: "muted small", text: " in the last 24 h" }),
        h("span", { class: "muted small org-created" }, "Created ", h("time", { attrs: { datetime: org.createdAt }, text: formatDate(org.createdAt) })),
      ),
      h(
        "div",
        { class: "org-actions" },
        toggleKeys,
        h("button", {
          class: "btn btn-sm",
          testid: "rename-organisation",
          attrs: { type: "button", "aria-label": `Rename organisation ${org.name}` },
          text: "Rename",
          on: { click: rename },
        }),
        toggle,
      ),
    ),
    keys.element,
  );
}
