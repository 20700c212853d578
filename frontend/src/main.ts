/** Boot: sign-in or the app shell (header, nav, routed page), one live feed per session. */
import "./ui/styles.css";
import { Api, ApiError, type Me } from "./api";
import { clearKey, renderSignIn, storedKey } from "./auth";
import type { AppContext } from "./context";
import { mountDeliveries } from "./deliveries/page";
import { mountOrganisations } from "./organisations/page";
import { LiveFeed } from "./feed/live";
import { parseRoute, type Route } from "./router";
import { mountSimulations } from "./simulations/page";
import { mountSettings } from "./settings/page";
import { errorMessage, h, statusLine } from "./ui/dom";
import { mountWebhooks } from "./webhooks/page";

const app = document.getElementById("app") ?? document.body;
const feed = new LiveFeed();
let unmountPage: (() => void) | null = null;
let onHashChange: (() => void) | null = null;

function signOut(notice = ""): void {
  clearKey();
  feed.disconnect();
  unmountPage?.();
  unmountPage = null;
  if (onHashChange) window.removeEventListener("hashchange", onHashChange);
  onHashChange = null;
  document.querySelectorAll(".modal-backdrop").forEach((el) => el.remove());
  document.body.classList.remove("modal-open");
  renderSignIn(app, (key, me) => startApp(key, me), notice);
}

function navLink(text: string, hash: string, testid: string): HTMLAnchorElement {
  return h("a", { class: "nav-link", testid, attrs: { href: hash }, text });
}

function startApp(key: string, me: Me): void {
  const api = new Api(key, { onUnauthorized: () => signOut("Your session has ended. Sign in again.") });
  const ctx: AppContext = { api, feed, me, signOut };
  feed.connect(key);

  const nav = {
    webhooks: navLink("Webhooks", "#/webhooks", "nav-webhooks"),
    simulations: navLink("Simulations", "#/simulations", "nav-simulations"),
    organisations: navLink("Organisations", "#/organisations", "nav-organisations"),
    settings: navLink("Settings", "#/settings", "nav-settings"),
  };
  const docs = h("a", {
    class: "nav-link",
    testid: "docs-link",
    attrs: { href: "/docs", target: "_blank", rel: "noopener" },
    text: "API explorer",
  });
  const signOutBtn = h("button", {
    class: "btn btn-sm btn-ghost",
    testid: "sign-out",
    attrs: { type: "button" },
    text: "Sign out",
    on: { click: () => signOut() },
  });
  const main = h("main", { class: "page", attrs: { id: "main", tabindex: -1 } });
  app.replaceChildren(
    h("a", { class: "skip-link", attrs: { href: "#main" }, text: "Skip to content", on: { click: (ev) => { ev.preventDefault(); main.focus(); } } }),
    h(
      "header",
      { class: "topbar" },
      h(
        "div",
        { class: "topbar-inner" },
        h("a", { class: "brand", attrs: { href: "#/webhooks" } }, h("span", { class: "brand-mark" }), "Hookline"),
        h("nav", { class: "nav", attrs: { "aria-label": "Main" } }, nav.webhooks, nav.simulations, nav.organisations, nav.settings, docs),
        h(
          "div",
          { class: "topbar-user" },
          h("span", { class: "reseller-name", testid: "reseller-name", attrs: { title: "Signed in as" }, text: me.name }),
          signOutBtn,
        ),
      ),
    ),
    main,
  );

  const show = (route: Route): void => {
    unmountPage?.();
    main.replaceChildren();
    for (const [name, link] of Object.entries(nav)) {
      const current = name === route.name || (name === "webhooks" && route.name === "deliveries");
      if (current) link.setAttribute("aria-current", "page");
      else link.removeAttribute("aria-current");
    }
    switch (route.name) {
      case "webhooks":
        unmountPage = mountWebhooks(main, ctx);
        document.title = "Webhooks · Hookline";
        break;
      case "simulations":
        unmountPage = mountSimulations(main, ctx, route.webhookId);
        document.title = "Simulations · Hookline";
        break;
      case "deliveries":
        unmountPage = mountDeliveries(main, ctx, route.webhookId);
        document.title = "Delivery log · Hookline";
        break;
      case "organisations":
        unmountPage = mountOrganisations(main, ctx);
        document.title = "Organisations · Hookline";
        break;
      case "settings":
        unmountPage = mountSettings(main, ctx);
        document.title = "Settings · Hookline";
        break;
    }
  };
  onHashChange = () => show(parseRoute(location.hash));
  window.addEventListener("hashchange", onHashChange);
  show(parseRoute(location.hash));
}

function boot(): void {
  const key = storedKey();
  if (!key) {
    signOut();
    return;
  }
  app.replaceChildren(statusLine("Loading…"));
  new Api(key)
    .me()
    .then((me) => startApp(key, me))
    .catch((err: unknown) => {
      if (err instanceof ApiError && (err.status === 401 || err.status === 403)) {
        signOut("Your API key was not accepted. Sign in again.");
        return;
      }
      const retry = h("button", { class: "btn", attrs: { type: "button" }, text: "Retry", on: { click: boot } });
      app.replaceChildren(
        h("main", { class: "signin-page" }, h("div", { class: "card-surface signin-card" }, statusLine(`Could not reach the API: ${errorMessage(err)}`, "error"), retry)),
      );
    });
}

boot();
