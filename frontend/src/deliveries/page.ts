/**
 * Delivery log of one webhook: its health (chart, endpoint state), the deliveries newest
 * first with filters kept in the URL, "Load more", and the bulk actions Recover… and Replay
 * missing…. After a recovery the log refreshes itself while its deliveries are on the way.
 */
import type { Webhook } from "../api";
import type { AppContext } from "../context";
import { listDeliveries, type DeliveryFilters, type EndpointState, type Recovery } from "../operations";
import { listOrganisations } from "../organisations/api";
import { errorMessage, h, replace, statusLine } from "../ui/dom";
import { icon } from "../ui/icons";
import { notify } from "../ui/toast";
import { filterBar, filtersFromHash, hashWithFilters, hasFilters } from "./filters";
import { endpointBadge, healthPanel } from "./health";
import { openRecover, openReplay, recoveryProgress, replayText, type RecoveryView } from "./recover";
import { deliveryRow } from "./row";

const WATCH_MS = 1500;
const WATCH_TIMES = 20;

export function mountDeliveries(host: HTMLElement, { api }: AppContext, webhookId: string): () => void {
  let filters: DeliveryFilters = filtersFromHash(location.hash);
  let webhook: Webhook | null = null;
  let cursor: string | null = null;
  let alive = true;
  let generation = 0;
  let watchTimer: number | undefined;
  const recoveries: RecoveryView[] = [];
  const organisationNames = new Map<string, string>();
  const organisationName = (id: string): string => organisationNames.get(id) ?? id;

  const info = h("div", { class: "delivery-webhook", testid: "deliveries-webhook" });
  const endpointSlot = h("div", { class: "endpoint-slot" });
  const recoverBtn = h("button", { class: "btn btn-primary", testid: "recover-open", attrs: { type: "button", disabled: true }, text: "Recover…" });
  const replayBtn = h("button", { class: "btn", testid: "replay-open", attrs: { type: "button", disabled: true }, text: "Replay missing…" });
  const refreshBtn = h("button", { class: "btn btn-sm", testid: "deliveries-refresh", attrs: { type: "button" } });
  refreshBtn.append(icon("refresh", 14), "Refresh");
  const bulkHost = h("div", { class: "bulk-host" });
  const list = h("ol", { class: "delivery-list", testid: "delivery-list" });
  const empty = h("p", { class: "empty-note", testid: "deliveries-empty" });
  empty.hidden = true;
  const more = h("button", { class: "btn", testid: "load-more", attrs: { type: "button" }, text: "Load more" });
  more.hidden = true;
  const errorLine = h("div", {});
  const health = healthPanel(api, webhookId, (e) => renderEndpoint(e));
  const bar = filterBar(filters, (next) => {
    filters = next;
    history.replaceState(null, "", hashWithFilters(webhookId, filters));
    void loadPage(true);
  });

  host.append(
    h("a", { class: "link back-link", attrs: { href: "#/webhooks" }, text: "← Webhooks" }),
    h(
      "div",
      { class: "page-head" },
      h("div", {}, h("h1", { text: "Delivery log" }), info, endpointSlot),
      h("div", { class: "page-actions" }, replayBtn, recoverBtn),
    ),
    bulkHost,
    health.el,
    h("div", { class: "toolbar toolbar-filters" }, bar.el, refreshBtn),
    errorLine,
    empty,
    list,
    h("div", { class: "actions-row center" }, more),
  );

  function renderEndpoint(e: EndpointState): void {
    // The webhook's own disabled note (with Re-enable) says it when disabled.
    replace(endpointSlot, e.enabled ? endpointBadge(e) : null);
  }

  function renderWebhook(w: Webhook): void {
    webhook = w;
    recoverBtn.disabled = replayBtn.disabled = false;
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
                      if (alive) {
                        renderWebhook(updated);
                        void health.reload();
                      }
                    })
                    .catch((err: unknown) => notify(errorMessage(err), "error"));
                },
              },
            }),
          ),
    );
  }

  /** A page of the log; `quiet` keeps the rows shown until the new ones arrive (no flicker while watching). */
  async function loadPage(reset: boolean, quiet = false): Promise<boolean> {
    const gen = reset ? ++generation : generation;
    if (reset) {
      cursor = null;
      if (!quiet) {
        list.replaceChildren();
        replace(errorLine, statusLine("Loading deliveries…"));
      }
    }
    more.disabled = true;
    try {
      const page = await listDeliveries(api, webhookId, filters, cursor);
      if (!alive || gen !== generation) return false;
      errorLine.replaceChildren();
      const rows = page.data.map((d) => deliveryRow(api, d, organisationName).el);
      if (reset) list.replaceChildren(...rows);
      else list.append(...rows);
      cursor = page.nextCursor;
      more.hidden = cursor === null;
      empty.textContent = hasFilters(filters) ? "No deliveries match these filters." : "No deliveries yet.";
      empty.hidden = list.childElementCount > 0;
      return page.data.some((d) => d.status === "pending");
    } catch (err) {
      if (alive && gen === generation) replace(errorLine, statusLine(`Could not load deliveries: ${errorMessage(err)}`, "error"));
      return false;
    } finally {
      more.disabled = false;
    }
  }

  /** Recovered deliveries go out through the dispatcher: follow them for a while. */
  function watch(left: number): void {
    window.clearTimeout(watchTimer);
    if (left <= 0 || !alive) return;
    watchTimer = window.setTimeout(() => {
      void loadPage(true, true).then((pending) => {
        void health.reload();
        if (pending) watch(left - 1);
      });
    }, WATCH_MS);
  }

  function recoveryStarted(r: Recovery): void {
    notify(r.matched === 0 ? "No delivery matched" : `Recovering ${r.matched} deliver${r.matched === 1 ? "y" : "ies"}`, "success");
    const view = recoveryProgress(api, r, (done) => {
      if (!alive) return;
      void loadPage(true, true);
      if (done.queued > 0) watch(WATCH_TIMES);
    });
    recoveries.push(view);
    bulkHost.prepend(view.el);
  }

  recoverBtn.addEventListener("click", () => webhook && openRecover(api, webhook, recoveryStarted));
  replayBtn.addEventListener("click", () =>
    webhook &&
    openReplay(api, webhook, (r) => {
      if (!alive) return;
      bulkHost.prepend(h("p", { class: "bulk-note card-surface", testid: "replay-result", attrs: { role: "status", "data-created": r.created }, text: replayText(r) }));
      void loadPage(true, true);
      if (r.created > 0) watch(WATCH_TIMES);
    }),
  );
  refreshBtn.addEventListener("click", () => {
    void loadPage(true);
    void health.reload();
  });
  more.addEventListener("click", () => void loadPage(false));

  api
    .getWebhook(webhookId)
    .then((w) => alive && renderWebhook(w))
    .catch((err: unknown) => alive && replace(info, statusLine(`Webhook not found: ${errorMessage(err)}`, "error")));
  listOrganisations(api)
    .then((orgs) => {
      if (!alive) return;
      bar.setOrganisations(orgs);
      for (const o of orgs) organisationNames.set(o.id, o.name);
      for (const el of list.querySelectorAll<HTMLElement>("[data-testid=delivery-org]")) {
        el.textContent = organisationName(el.dataset.organisationId ?? "");
      }
    })
    .catch(() => undefined); // the filter then offers only "All organisations" (and a linked id)
  void health.reload();
  void loadPage(true);

  return () => {
    alive = false;
    window.clearTimeout(watchTimer);
    for (const r of recoveries) r.stop();
  };
}
