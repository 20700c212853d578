/** App notices (saved, copied, failed): a polite live region, top-right of the window. */
import { h } from "./dom";

let region: HTMLElement | null = null;

function ensureRegion(): HTMLElement {
  if (region && document.body.contains(region)) return region;
  region = h("div", {
    class: "notice-region",
    testid: "notice-region",
    attrs: { role: "status", "aria-live": "polite" },
  });
  document.body.appendChild(region);
  return region;
}

export function notify(message: string, kind: "success" | "error" | "info" = "info", ms = 3000): void {
  const node = h("div", { class: `notice notice-${kind}`, testid: "notice", text: message });
  const host = ensureRegion();
  host.appendChild(node);
  while (host.childElementCount > 4) host.firstElementChild?.remove();
  window.setTimeout(() => node.remove(), ms);
}
