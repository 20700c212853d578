/** The one name dialog: create an organisation or rename one; the API's 422 shows under the field. */
import { ApiError } from "../api";
import { errorMessage, h } from "../ui/dom";
import { openModal } from "../ui/modal";
import { cleanName } from "./format";

export interface NameFormOptions {
  title: string;
  submitText: string;
  initial: string;
  /** Saves the name; a rejection with per-field messages is shown in the form. */
  save: (name: string) => Promise<void>;
  /** After a successful save has closed the dialog (one dialog at a time). */
  after?: () => void;
}

export function openNameForm(opts: NameFormOptions): void {
  const input = h("input", {
    class: "input",
    testid: "org-name-input",
    attrs: { id: "org-name", name: "name", autocomplete: "off", maxlength: 200, "aria-describedby": "org-name-error" },
  });
  input.value = opts.initial;
  const fieldError = h("p", { class: "field-error", testid: "field-error-name", attrs: { id: "org-name-error" } });
  const formError = h("p", { class: "form-error", testid: "form-error", attrs: { role: "alert" } });
  const submit = h("button", {
    class: "btn btn-primary",
    testid: "org-name-submit",
    attrs: { type: "submit", form: "org-name-form" },
    text: opts.submitText,
  });
  const cancel = h("button", { class: "btn", testid: "org-name-cancel", attrs: { type: "button" }, text: "Cancel" });
  const form = h(
    "form",
    { attrs: { id: "org-name-form", novalidate: true }, testid: "org-name-form" },
    h("div", { class: "field" }, h("label", { class: "label", attrs: { for: "org-name" }, text: "Organisation name" }), input, fieldError),
    formError,
  );
  const modal = openModal({ title: opts.title, testid: "org-name-modal", size: "sm", body: [form], footer: [cancel, submit] });
  input.select();
  cancel.addEventListener("click", () => modal.close());
  form.addEventListener("submit", (ev) => {
    ev.preventDefault();
    fieldError.textContent = "";
    formError.textContent = "";
    input.removeAttribute("aria-invalid");
    submit.disabled = true;
    opts
      .save(cleanName(input.value))
      .then(() => {
        modal.close();
        opts.after?.();
      })
      .catch((err: unknown) => {
        submit.disabled = false;
        const message = err instanceof ApiError ? nameMessage(err) : null;
        if (message !== null) {
          fieldError.textContent = message;
          input.setAttribute("aria-invalid", "true");
          input.focus();
        } else {
          formError.textContent = errorMessage(err);
        }
      });
  });
}

/** The 422 message about the name, whatever path the API gives it ("name", "body.name"). */
export function nameMessage(err: ApiError): string | null {
  for (const [key, message] of Object.entries(err.fields)) {
    if (key.split(".").includes("name")) return message;
  }
  return null;
}
