/** Copy-to-clipboard buttons: the value may be fetched lazily (the full webhook secret). */
import { h } from "./dom";
import { icon } from "./icons";
import { notify } from "./toast";

export async function copyText(text: string): Promise<void> {
  if (navigator.clipboard && window.isSecureContext) {
    try {
      await navigator.clipboard.writeText(text);
      return;
    } catch {
      // Permission refused: fall through to the legacy path below.
    }
  }
  // Plain-http deployments have no async clipboard API; fall back to a hidden textarea.
  const area = h("textarea", { attrs: { "aria-hidden": "true", readonly: true } });
  area.value = text;
  area.style.position = "fixed";
  area.style.opacity = "0";
  document.body.appendChild(area);
  area.select();
  const ok = document.execCommand("copy");
  area.remove();
  if (!ok) throw new Error("Clipboard is not available");
}

export interface CopyButtonOptions {
  label: string;
  testid?: string;
  value: string | (() => Promise<string>);
}

/** An icon button that copies `value`, shows a tick for a moment and announces the result. */
export function copyButton(opts: CopyButtonOptions): HTMLButtonElement {
  const btn = h("button", {
    class: "icon-btn copy-btn",
    testid: opts.testid ?? "copy-button",
    attrs: { type: "button", "aria-label": opts.label, title: opts.label },
  });
  btn.appendChild(icon("copy", 14));
  btn.addEventListener("click", (ev) => {
    ev.stopPropagation();
    void (async () => {
      try {
        const value = typeof opts.value === "string" ? opts.value : await opts.value();
        await copyText(value);
        btn.replaceChildren(icon("check", 14));
        btn.classList.add("copied");
        btn.dataset.copied = "true";
        notify("Copied to clipboard", "success");
        window.setTimeout(() => {
          btn.replaceChildren(icon("copy", 14));
          btn.classList.remove("copied");
          delete btn.dataset.copied;
        }, 1500);
      } catch (err) {
        notify(err instanceof Error ? `Copy failed: ${err.message}` : "Copy failed", "error");
      }
    })();
  });
  return btn;
}
