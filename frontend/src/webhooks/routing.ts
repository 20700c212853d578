/**
 * Routing by organisation: which of the reseller's organisations a webhook receives events
 * from. None chosen means every organisation (also the ones created later), so the picker
 * says so rather than showing an empty choice as "nothing".
 */
import type { Api } from "../api";
import { listOrganisations, type Organisation } from "../organisations/api";
import { errorMessage, h, replace } from "../ui/dom";

export const ALL_ORGANISATIONS = "All organisations";

/** "All organisations", or the chosen names in the order of the reseller's list (unknown ids last, as ids). */
export function routingText(ids: readonly string[] | undefined, names: ReadonlyMap<string, string>): string {
  if (!ids || ids.length === 0) return ALL_ORGANISATIONS;
  const chosen = new Set(ids);
  const known = [...names].filter(([id]) => chosen.has(id)).map(([, name]) => name);
  const unknown = ids.filter((id) => !names.has(id));
  return [...known, ...unknown].join(", ");
}

export interface OrganisationPicker {
  el: HTMLElement;
  /** The chosen ids ([] = all); the initial ones until the list has loaded. */
  value(): string[];
}

/** Checkboxes of the reseller's organisations, loaded when the modal opens. */
export function organisationPicker(api: Api, initial: readonly string[], error: HTMLElement): OrganisationPicker {
  const list = h("div", { class: "check-list org-list", testid: "webhook-orgs-list" });
  const summary = h("p", { class: "hint", testid: "webhook-orgs-summary", attrs: { id: "wh-orgs-hint" } });
  const el = h(
    "fieldset",
    { class: "field", testid: "webhook-orgs", attrs: { "aria-describedby": "wh-orgs-hint wh-organisationIds-error" } },
    h("legend", { class: "label", text: "Organisations" }),
    list,
    summary,
    error,
  );
  let boxes: { id: string; box: HTMLInputElement }[] = [];
  let loaded = false;
  const chosen = (): string[] => (loaded ? boxes.filter((b) => b.box.checked).map((b) => b.id) : [...initial]);
  const updateSummary = (): void => {
    const n = chosen().length;
    summary.textContent =
      n === 0 ? "None selected: events of every organisation, including ones added later." : `Only events of the ${n} selected organisation${n === 1 ? "" : "s"}.`;
  };
  replace(list, h("span", { class: "muted small", text: "Loading organisations…" }));
  updateSummary();

  listOrganisations(api)
    .then((orgs: Organisation[]) => {
      const known = new Set(orgs.map((o) => o.id));
      // A chosen organisation that no longer lists (removed since) stays chosen, by id, so saving keeps it.
      const rows = [...orgs.map((o) => ({ id: o.id, name: o.name, enabled: o.enabled })), ...initial.filter((id) => !known.has(id)).map((id) => ({ id, name: id, enabled: true }))];
      boxes = rows.map((o) => {
        const box = h("input", {
          testid: `webhook-org-${o.id}`,
          attrs: { type: "checkbox", name: "organisationIds", value: o.id, id: `wh-org-${o.id}` },
        });
        box.checked = initial.includes(o.id);
        box.addEventListener("change", updateSummary);
        return { id: o.id, box };
      });
      loaded = true;
      if (rows.length === 0) {
        replace(list, h("span", { class: "muted small", testid: "webhook-orgs-empty", text: "No organisations yet: events of every organisation you add." }));
      } else {
        replace(
          list,
          ...rows.map((o, i) =>
            h(
              "label",
              { class: "check check-compact", attrs: { for: `wh-org-${o.id}` } },
              boxes[i]?.box,
              h("span", { class: "check-title", text: o.name }),
              o.enabled ? null : h("span", { class: "badge", text: "disabled" }),
            ),
          ),
        );
      }
      updateSummary();
    })
    .catch((err: unknown) => {
      replace(list, h("span", { class: "field-error", text: `Could not load organisations: ${errorMessage(err)}` }));
    });

  return {
    el,
    value: chosen,
  };
}
