/** The Webhooks page: cards, Add Webhook, and the Live Desktop Event Feed below them. */
import type { Webhook } from "../api";
import type { PageMount } from "../context";
import { mountFeed } from "../feed/view";
import { seedSubscriptions } from "../feed/state";
import { errorMessage, h, replace, statusLine } from "../ui/dom";
import { listOrganisations } from "../organisations/api";
import { webhookStats } from "../operations";
import { notify } from "../ui/toast";
import { webhookCard, type CardActions } from "./card";
import { openWebhookForm } from "./form";
import { confirmDelete } from "./remove";
import { confirmRotateSecret } from "./rotate";

export const mountWebhooks: PageMount = (host, { api, feed }) => {
  const grid = h("div", { class: "webhook-grid", testid: "webhook-list", attrs: { "aria-live": "polite" } });
  const addBtn = h("button", {
    class: "btn btn-primary",
    testid: "add-webhook",
    attrs: { type: "button" },
    text: "+ Add Webhook",
  });
  const feedHost = h("div", { class: "feed-host" });
  host.append(
    h(
      "div",
      { class: "page-head" },
      h(
        "div",
        {},
        h("h1", { text: "Webhooks" }),
        h("p", {
          class: "muted",
          text: "Receive signed tracking events from every organisation in your reseller network.",
        }),
      ),
      addBtn,
    ),
    grid,
    feedHost,
  );
  let alive = true;

  const actions: CardActions = {
    onEdit: (w) =>
      openWebhookForm(api, w, () => {
        notify("Webhook updated", "success");
        void load();
      }),
    onDelete: (w) =>
      confirmDelete(api, w, () => {
        notify("Webhook deleted", "success");
        void load();
      }),
    onReenable: (w) => {
      api
        .updateWebhook(w.id, { enabled: true })
        .then(() => {
          notify("Webhook re-enabled", "success");
          void load();
        })
        .catch((err: unknown) => notify(errorMessage(err), "error"));
    },
    fetchSecret: async (w) => (await api.webhookSecret(w.id)).secret,
    onRotateSecret: (w) =>
      confirmRotateSecret(api, w, () => {
        notify("Secret rotated", "success");
        void load();
      }),
    loadStats: (w) => webhookStats(api, w.id, "24h"),
  };

  function render(webhooks: Webhook[]): void {
    if (webhooks.length === 0) {
      replace(
        grid,
        h(
          "div",
          { class: "empty-state card-surface", testid: "webhooks-empty" },
          h("h2", { text: "No webhooks yet" }),
          h("p", {
            class: "muted",
            text: "Add a webhook to start receiving desktop tracking events from your organisations.",
          }),
        ),
      );
    } else {
      replace(grid, ...webhooks.map((w) => webhookCard(w, actions)));
    }
    // Until the server's `subscriptions` message arrives, guess the tabs from the cards.
    const types = webhooks.filter((w) => w.enabled).flatMap((w) => w.events);
    feed.update((s) => seedSubscriptions(s, types));
  }

  async function load(): Promise<void> {
    try {
      // The organisation names are only for the routing line: without them it shows ids.
      const [page, orgs] = await Promise.all([api.listWebhooks(), listOrganisations(api).catch(() => [])]);
      actions.organisationNames = new Map(orgs.map((o) => [o.id, o.name]));
      if (alive) render(page.data);
    } catch (err) {
      if (alive) replace(grid, statusLine(`Could not load webhooks: ${errorMessage(err)}`, "error"));
    }
  }

  addBtn.addEventListener("click", () =>
    openWebhookForm(api, null, () => {
      notify("Webhook created", "success");
      void load();
    }),
  );

  replace(grid, statusLine("Loading webhooks…"));
  void load();
  const unmountFeed = mountFeed(feedHost, feed);
  return () => {
    alive = false;
    unmountFeed();
  };
};
