/**
 * Settings: the reseller's API keys. Create with a name (the key shown once), list with
 * prefix, created and last used, revoke with confirmation. Revoking the key this browser
 * is signed in with signs it out, since every later request would be refused anyway.
 */
import { ApiError } from "../api";
import { storedKey } from "../auth";
import type { PageMount } from "../context";
import { nameMessage } from "../organisations/name-form";
import { confirmAction } from "../ui/confirm";
import { errorMessage, h, replace, statusLine } from "../ui/dom";
import { keyDates, revokeButton } from "../ui/keys";
import { revealOnce } from "../ui/reveal";
import { notify } from "../ui/toast";
import { createApiKey, listApiKeys, revokeApiKey, type ApiKey } from "./api";
import "./keys.css";

export const SIGNED_OUT_NOTICE = "You revoked the API key this browser was signed in with. Sign in with another key.";

export const mountSettings: PageMount = (host, ctx) => {
  const { api } = ctx;
  const list = h("ul", { class: "key-list", testid: "api-key-list", attrs: { "aria-live": "polite" } });
  const nameInput = h("input", {
    class: "input",
    testid: "api-key-name-input",
    attrs: { id: "api-key-name", name: "name", autocomplete: "off", maxlength: 200, placeholder: "CI deploys", "aria-describedby": "api-key-name-error" },
  });
  const nameError = h("p", { class: "field-error", testid: "field-error-name", attrs: { id: "api-key-name-error" } });
  const createBtn = h("button", { class: "btn btn-primary", testid: "create-api-key", attrs: { type: "submit" }, text: "Create API key" });
  const form = h(
    "form",
    { class: "key-create", testid: "api-key-form", attrs: { novalidate: true } },
    h("div", { class: "key-create-field" }, h("label", { class: "label", attrs: { for: "api-key-name" }, text: "New key name" }), nameInput, nameError),
    createBtn,
  );
  host.append(
    h("div", { class: "page-head" }, h("div", {}, h("h1", { text: "Settings" }), h("p", { class: "muted", text: `The API keys of ${ctx.me.name}.` }))),
    h(
      "section",
      { class: "card-surface settings-section", testid: "api-keys", attrs: { "aria-labelledby": "api-keys-title" } },
      h("h2", { attrs: { id: "api-keys-title" }, text: "API keys" }),
      h("p", {
        class: "muted small",
        text: "Reseller API keys (hk_…) sign in to this dashboard and call the API. Give each use its own key, so a leaked one can be revoked alone.",
      }),
      form,
      list,
    ),
  );
  let alive = true;

  function row(key: ApiKey): HTMLElement {
    return h(
      "li",
      { class: "key-row", testid: "api-key-row", attrs: { "data-key-id": key.id, "data-current": String(key.current) } },
      h("strong", { class: "key-name", testid: "api-key-name", text: key.name }),
      h("code", { class: "key-prefix", testid: "api-key-prefix", text: `${key.prefix}…` }),
      key.current ? h("span", { class: "badge badge-blue", testid: "api-key-current", text: "This browser" }) : null,
      keyDates("api-key", key),
      revokeButton("revoke-api-key", `Revoke API key ${key.name}`, () => confirmRevoke(key)),
    );
  }

  async function load(): Promise<void> {
    try {
      const keys = await listApiKeys(api, storedKey() ?? "");
      if (!alive) return;
      if (keys.length === 0) replace(list, h("li", { class: "empty-note", testid: "api-keys-empty", text: "No API keys." }));
      else replace(list, ...keys.map(row));
    } catch (err) {
      if (alive) replace(list, h("li", {}, statusLine(`Could not load API keys: ${errorMessage(err)}`, "error")));
    }
  }

  function confirmRevoke(key: ApiKey): void {
    let revokedCurrent = false;
    confirmAction({
      title: "Revoke API key?",
      testid: "revoke-modal",
      action: "Revoke key",
      body: [
        h("p", {}, "The key ", h("strong", { text: key.name }), " (", h("code", { text: `${key.prefix}…` }), ") stops working at once, everywhere. This cannot be undone."),
        key.current
          ? h("p", { class: "form-error", testid: "revoke-current-warning", text: "This browser is signed in with this key: you will be signed out." })
          : null,
      ],
      run: async () => {
        await revokeApiKey(api, key.id);
        revokedCurrent = key.current;
        if (!revokedCurrent) {
          notify("API key revoked", "success");
          await load();
        }
      },
      after: () => {
        if (revokedCurrent) ctx.signOut(SIGNED_OUT_NOTICE);
      },
    });
  }

  form.addEventListener("submit", (ev) => {
    ev.preventDefault();
    nameError.textContent = "";
    nameInput.removeAttribute("aria-invalid");
    createBtn.disabled = true;
    createApiKey(api, nameInput.value.trim())
      .then((created) => {
        nameInput.value = "";
        void load();
        revealOnce({
          title: "API key created",
          intro: ["The new API key ", h("strong", { text: created.name }), ":"],
          secret: created.apiKey,
          copyLabel: `Copy API key ${created.name}`,
        });
      })
      .catch((err: unknown) => {
        const message = err instanceof ApiError ? (nameMessage(err) ?? err.message) : errorMessage(err);
        nameError.textContent = message;
        nameInput.setAttribute("aria-invalid", "true");
        nameInput.focus();
      })
      .finally(() => {
        createBtn.disabled = false;
      });
  });

  replace(list, statusLine("Loading API keys…"));
  void load();
  return () => {
    alive = false;
  };
};
