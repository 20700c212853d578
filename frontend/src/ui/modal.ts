/**
 * Accessible modal dialog: focus moves to the first field, Tab stays inside, Escape and
 * the backdrop close it, and focus returns to the element that opened it.
 */
import { h, uid, type Child } from "./dom";
import { icon } from "./icons";

export interface ModalOptions {
  title: string;
  testid?: string;
  body: Child[];
  footer: Child[];
  onClose?: () => void;
  size?: "sm" | "md";
}

export interface ModalHandle {
  close(): void;
  dialog: HTMLElement;
}

const FOCUSABLE =
  'a[href], button:not([disabled]), input:not([disabled]), select:not([disabled]), textarea:not([disabled]), [tabindex]:not([tabindex="-1"])';

export function openModal(opts: ModalOptions): ModalHandle {
  const opener = document.activeElement instanceof HTMLElement ? document.activeElement : null;
  const titleId = uid("modal-title");
  const closeBtn = h("button", {
    class: "icon-btn",
    testid: "modal-close",
    attrs: { type: "button", "aria-label": "Close dialog" },
  });
  closeBtn.appendChild(icon("x"));
  const dialog = h(
    "div",
    {
      class: `modal modal-${opts.size ?? "md"}`,
      testid: opts.testid ?? "modal",
      attrs: { role: "dialog", "aria-modal": "true", "aria-labelledby": titleId },
    },
    h("div", { class: "modal-header" }, h("h2", { attrs: { id: titleId }, text: opts.title }), closeBtn),
    h("div", { class: "modal-body" }, ...opts.body),
    h("div", { class: "modal-footer" }, ...opts.footer),
  );
  const backdrop = h("div", { class: "modal-backdrop", testid: "modal-backdrop" }, dialog);
  let closed = false;

  const close = (): void => {
    if (closed) return;
    closed = true;
    document.removeEventListener("keydown", onKey, true);
    backdrop.remove();
    document.body.classList.remove("modal-open");
    opts.onClose?.();
    if (opener && document.body.contains(opener)) opener.focus();
  };

  const onKey = (ev: KeyboardEvent): void => {
    if (ev.key === "Escape") {
      ev.preventDefault();
      close();
    } else if (ev.key === "Tab") {
      const items = Array.from(dialog.querySelectorAll<HTMLElement>(FOCUSABLE));
      const first = items[0];
      const last = items[items.length - 1];
      if (!first || !last) return;
      if (ev.shiftKey && document.activeElement === first) {
        ev.preventDefault();
        last.focus();
      } else if (!ev.shiftKey && document.activeElement === last) {
        ev.preventDefault();
        first.focus();
      }
    }
  };

  closeBtn.addEventListener("click", close);
  backdrop.addEventListener("mousedown", (ev) => {
    if (ev.target === backdrop) close();
  });
  document.addEventListener("keydown", onKey, true);
  document.body.appendChild(backdrop);
  document.body.classList.add("modal-open");

  // Focus the first form field if there is one, else the first button of the footer.
  const firstField =
    dialog.querySelector<HTMLElement>(".modal-body input, .modal-body select, .modal-body textarea") ??
    dialog.querySelector<HTMLElement>(".modal-footer button") ??
    closeBtn;
  firstField.focus();

  return { close, dialog };
}
