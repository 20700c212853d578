/** Delete confirmation: deletion is immediate and permanent, so it is asked for explicitly. */
import type { Api, Webhook } from "../api";
import { errorMessage, h } from "../ui/dom";
import { openModal } from "../ui/modal";

export function confirmDelete(api: Api, webhook: Webhook, onDeleted: () => void): void {
  const error = h("p", { class: "form-error", testid: "form-error", attrs: { role: "alert" } });
  const cancel = h("button", { class: "btn", testid: "delete-cancel", attrs: { type: "button" }, text: "Cancel" });
  const confirm = h("button", {
    class: "btn btn-danger",
    testid: "confirm-delete",
    attrs: { type: "button" },
    text: "Delete Webhook",
  });
  const modal = openModal({
    title: "Delete webhook?",
    testid: "delete-modal",
    size: "sm",
    body: [
      h(
        "p",
        {},
        "The webhook ",
        h("strong", { text: webhook.name }),
        " will be deleted permanently. No further events will be delivered to ",
        h("code", { class: "break", text: webhook.url }),
        ".",
      ),
      error,
    ],
    footer: [cancel, confirm],
  });
  cancel.addEventListener("click", () => modal.close());
  confirm.addEventListener("click", () => {
    confirm.disabled = true;
    api
      .deleteWebhook(webhook.id)
      .then(() => {
        modal.close();
        onDeleted();
      })
      .catch((err: unknown) => {
        confirm.disabled = false;
        error.textContent = errorMessage(err);
      });
  });
}
