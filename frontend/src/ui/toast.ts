/**
 * App notices (saved, copied, failed) and the window's notification corner.
 *
 * One fixed corner, bottom-right, holds the live feed's event toasts (docked by the feed)
 * above the app notices, so the two never overlap each other, and neither sits over the
 * feed's header, tabs or Live Pool controls, which live at the top of their panels.
 */
import { h } from "./dom";

export const CORNER_GAP = 16;

let corner: HTMLElement | null = null;
let region: HTMLElement | null = null;

function ensureCorner(): { corner: HTMLElement; region: HTMLElement } {
  if (corner && region && document.body.contains(corner)) return { corner, region };
  region = h("div", {
    class: "notice-region",
    testid: "notice-region",
    attrs: { role: "status", "aria-live": "polite" },
  });
  corner = h("div", { class: "app-corner", testid: "app-corner" }, region);
  document.body.appendChild(corner);
  return { corner, region };
}

export function notify(message: string, kind: "success" | "error" | "info" = "info", ms = 3000): void {
  const node = h("div", { class: `notice notice-${kind}`, testid: "notice", text: message });
  const host = ensureCorner().region;
  host.appendChild(node);
  while (host.childElementCount > 4) host.firstElementChild?.remove();
  window.setTimeout(() => node.remove(), ms);
}

/** Puts `el` in the corner above the notices; the returned function takes it out again. */
export function dockInCorner(el: HTMLElement): () => void {
  const { corner: c, region: r } = ensureCorner();
  c.insertBefore(el, r);
  return () => {
    el.remove();
    placeCorner(null);
  };
}

/** The corner's box. */
export function cornerBox(): DOMRect {
  return ensureCorner().corner.getBoundingClientRect();
}

/** Bottom-right (null, the default), or the given corner with `topPx` for the top ones. */
export function placeCorner(at: { top: boolean; left: boolean; topPx: number } | null): void {
  const c = corner;
  if (!c) return;
  c.classList.toggle("at-top", at?.top ?? false);
  c.classList.toggle("at-left", at?.left ?? false);
  c.style.top = at?.top ? `${Math.round(at.topPx)}px` : "";
}
