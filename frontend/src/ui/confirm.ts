/**
 * A confirmation dialog for destructive actions (disable, revoke, rotate), on the one modal
 * helper: Cancel is focused first, the action runs only on the danger button, and its error
 * stays in the dialog so nothing looks done that was not.
 */
import { errorMessage, h, type Child } from "./dom";
import { openModal } from "./modal";

export interface ConfirmOptions {
  title: string;
  /** Test id of the dialog; its buttons are `confirm-action` and `confirm-cancel`. */
  testid: string;
  body: Child[];
  action: string;
  /** Runs on confirm; the dialog closes when it resolves and shows its error when it rejects. */
  run: () => Promise<void>;
  /** After the dialog has closed (say, to show a new key in a dialog of its own). */
  after?: () => void;
  /** Fields in the body the dialog should focus first instead of Cancel. */
  focusBody?: boolean;
}

export function confirmAction(opts: ConfirmOptions): void {
  const error = h("p", { class: "form-error", testid: "form-error", attrs: { role: "alert" } });
  const cancel = h("button", { class: "btn", testid: "confirm-cancel", attrs: { type: "button" }, text: "Cancel" });
  const confirm = h("button", {
    class: "btn btn-danger",
    testid: "confirm-action",
    attrs: { type: "button" },
    text: opts.action,
  });
  const modal = openModal({
    title: opts.title,
    testid: opts.testid,
    size: "sm",
    body: [...opts.body, error],
    footer: [cancel, confirm],
  });
  if (!opts.focusBody) cancel.focus();
  cancel.addEventListener("click", () => modal.close());
  confirm.addEventListener("click", () => {
    confirm.disabled = true;
    error.textContent = "";
    opts
      .run()
      .then(() => {
        modal.close();
        opts.after?.();
      })
      .catch((err: unknown) => {
        confirm.disabled = false;
        error.textContent = errorMessage(err);
      });
  });
}
