/** Sign-in with a reseller API key, kept in sessionStorage (gone with the tab; sign-out clears it). */
import { Api, ApiError, type Me } from "./api";
import { errorMessage, h } from "./ui/dom";

const STORAGE_KEY = "hookline.apiKey";

export function storedKey(): string | null {
  try {
    return sessionStorage.getItem(STORAGE_KEY);
  } catch {
    return null;
  }
}

export function saveKey(key: string): void {
  sessionStorage.setItem(STORAGE_KEY, key);
}

export function clearKey(): void {
  try {
    sessionStorage.removeItem(STORAGE_KEY);
  } catch {
    // storage disabled: nothing was kept
  }
}

/** Renders the sign-in screen; calls `onSignedIn` once the key has been checked against /v1/me. */
export function renderSignIn(host: HTMLElement, onSignedIn: (key: string, me: Me) => void, notice = ""): void {
  const input = h("input", {
    class: "input",
    testid: "signin-key",
    attrs: {
      id: "signin-key",
      type: "password",
      name: "apiKey",
      autocomplete: "off",
      spellcheck: "false",
      placeholder: "hk_…",
      "aria-describedby": "signin-help signin-error",
    },
  });
  const error = h("p", {
    class: "field-error",
    testid: "signin-error",
    attrs: { id: "signin-error", role: "alert" },
    text: notice,
  });
  const submit = h("button", {
    class: "btn btn-primary btn-block",
    testid: "signin-submit",
    attrs: { type: "submit" },
    text: "Sign in",
  });
  const form = h(
    "form",
    { class: "signin-card card-surface", testid: "signin-form", attrs: { novalidate: true } },
    h("div", { class: "brand brand-lg" }, h("span", { class: "brand-mark" }), "Hookline"),
    h("h1", { text: "Sign in to your reseller dashboard" }),
    h("label", { class: "label", attrs: { for: "signin-key" }, text: "Reseller API key" }),
    input,
    h("p", {
      class: "hint",
      attrs: { id: "signin-help" },
      text: "Your key is kept only in this browser tab and is cleared when you sign out.",
    }),
    error,
    submit,
  );
  form.addEventListener("submit", (ev) => {
    ev.preventDefault();
    const key = input.value.trim();
    if (!key) {
      error.textContent = "Enter your API key.";
      input.setAttribute("aria-invalid", "true");
      input.focus();
      return;
    }
    submit.disabled = true;
    error.textContent = "";
    new Api(key)
      .me()
      .then((me) => {
        saveKey(key);
        onSignedIn(key, me);
      })
      .catch((err: unknown) => {
        submit.disabled = false;
        input.setAttribute("aria-invalid", "true");
        error.textContent =
          err instanceof ApiError && (err.status === 401 || err.status === 403)
            ? "That API key was not accepted."
            : `Could not sign in: ${errorMessage(err)}`;
        input.focus();
      });
  });
  host.replaceChildren(h("main", { class: "signin-page" }, form));
  input.focus();
}
