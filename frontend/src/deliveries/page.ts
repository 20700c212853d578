/** Delivery log of one webhook: newest first, paged with "Load more", filter by status. */
import type { Webhook } from "../api";
import type { AppContext } from "../context";
import { h, replace, statusLine, errorMessage } from "../ui/dom";
import { icon } from "../ui/icons";
import { notify } from "../ui/toast";
import { deliveryRow } from "./row";

const STATUSES = ["", "pending", "succeeded", "failed", "cancelled"] as const;

export function mountDeliveries(host: HTMLElement, { api }: AppContext, webhookId: string): () => void {
  const info = h("div", { class: "delivery-webhook", testid: "deliveries-webhook" });
  const filter = h("select", { class: "input input-sm", testid: "delivery-status-filter", attrs: { id: "dl-status" } });
  for (const s of STATUSES) filter.append(h("option", { attrs: { value: s }, text: s ? s : "All statuses" }));
  const refreshBtn = h("button", { class: "btn btn-sm", testid: "deliveries-refresh", attrs: { type: "button" } });
  refreshBtn.append(icon("refresh", 14), "Refresh");
  const list = h("ol", { class: "delivery-list", testid: "delivery-list" });
  const empty = h("p", { class: "empty-note", testid: "deliveries-empty", text: "No deliveries yet." });
  empty.hidden = true;
  const more = h("button", { class: "btn", testid: "load-more", attrs: { type: "button" }, text: "Load more" });
  more.hidden = true;
  const errorLine = h("div", {});
  host.append(
    h("a", { class: "link back-link", attrs: { href: "#/webhooks" }, text: "← Webhooks" }),
    h("div", { class: "page-head" }, h("div", {}, h("h1", { text: "Delivery log" }), info)),
    h(
      "div",
      { class: "toolbar" },
      h("label", { class: "label-inline", attrs: { for: "dl-status" }, text: "Status" }),
      filter,
      refreshBtn,
    ),
    errorLine,
    empty,
    list,
    h("div", { class: "actions-row center" }, more),
  );

  let cursor: string | null = null;
  let alive = true;
  let generation = 0;

  function renderWebhook(w: Webhook): void {
    replace(
      info,
      h("p", {}, h("strong", { testid: "deliveries-webhook-name", text: w.name }), " ", h("span", { class: "muted break", text: w.url })),
      w.enabled
        ? null
        : h(
            "div",
            { class: "disabled-note", testid: "webhook-disabled", attrs: { role: "note" } },
            h("div", {}, h("strong", { text: "Disabled" }), h("span", { testid: "webhook-disabled-reason", text: w.disabledReason ?? "This endpoint is disabled." })),
            h("button", {
              class: "btn btn-sm",
              testid: "reenable-button",
              attrs: { type: "button" },
              text: "Re-enable",
              on: {
                click: () => {
                  api
                    .updateWebhook(w.id, { enabled: true })
                    .then((updated) => {
                      notify("Webhook re-enabled", "success");
                      if (alive) renderWebhook(updated);
                    })
                    .catch((err: unknown) => notify(errorMessage(err), "error"));
                },
              },
            }),
          ),
    );
  }

  async function loadPage(reset: boolean): Promise<void> {
    const gen = reset ? ++generation : generation;
    if (reset) {
      cursor = null;
      list.replaceChildren();
      replace(errorLine, statusLine("Loading deliveries…"));
    }
    more.disabled = true;
    try {
      const page = await api.listDeliveries(webhookId, cursor, filter.value);
      if (!alive || gen !== generation) return;
      errorLine.replaceChildren();
      list.append(...page.data.map((d) => deliveryRow(api, d).el));
      cursor = page.nextCursor;
      more.hidden = cursor === null;
      empty.hidden = list.childElementCount > 0;
    } catch (err) {
      if (alive) replace(errorLine, statusLine(`Could not load deliveries: ${errorMessage(err)}`, "error"));
    } finally {
      more.disabled = false;
    }
  }

  api
    .getWebhook(webhookId)
    .then((w) => alive && renderWebhook(w))
    .catch((err: unknown) => alive && replace(info, statusLine(`Webhook not found: ${errorMessage(err)}`, "error")));
  filter.addEventListener("change", () => void loadPage(true));
  refreshBtn.addEventListener("click", () => void loadPage(true));
  more.addEventListener("click", () => void loadPage(false));
  void loadPage(true);

  return () => {
    alive = false;
  };
}
