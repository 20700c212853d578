/**
 * A new key shown once: the API returns the plaintext only in the create response, so the
 * dialog says so, offers the copy button and keeps the key out of every list afterwards.
 */
import { copyButton } from "./clipboard";
import { h, type Child } from "./dom";
import { openModal } from "./modal";

export interface RevealOptions {
  title: string;
  /** What the key is for, above it. */
  intro: Child[];
  secret: string;
  /** Label of the copy button ("Copy ingest key"). */
  copyLabel: string;
  /** Under the key; by default that it is never shown again. */
  note?: string;
  onClose?: () => void;
}

export function revealOnce(opts: RevealOptions): void {
  const done = h("button", { class: "btn btn-primary", testid: "reveal-done", attrs: { type: "button" }, text: "Done" });
  const modal = openModal({
    title: opts.title,
    testid: "reveal-modal",
    body: [
      h("p", {}, ...opts.intro),
      h(
        "div",
        { class: "secret-row" },
        h("code", { class: "secret reveal-secret", testid: "reveal-secret", text: opts.secret }),
        copyButton({ label: opts.copyLabel, testid: "reveal-copy", value: opts.secret }),
      ),
      h("p", {
        class: "hint reveal-warning",
        attrs: { role: "note" },
        text: opts.note ?? "This is the only time the full key is shown. Copy it now and keep it somewhere safe.",
      }),
    ],
    footer: [done],
    ...(opts.onClose ? { onClose: opts.onClose } : {}),
  });
  done.focus();
  done.addEventListener("click", () => modal.close());
}
