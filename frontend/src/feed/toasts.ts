/**
 * The feed's toast queue and where the stack may sit, as pure functions.
 *
 * A burst of events must not bury the page in toasts: at most MAX_TOASTS are shown (the
 * newest, each for TOAST_MS after its arrival) and the rest of the burst is only counted,
 * shown as one "+N more" line. The count belongs to the burst: it ends, and resets, when the
 * last shown toast expires.
 */

export const TOAST_MS = 3000;
export const MAX_TOASTS = 3;

export interface QueuedToast<T> {
  key: string;
  item: T;
  until: number;
}

export interface ToastQueue<T> {
  /** Newest first, at most MAX_TOASTS, none expired at the time of the last change. */
  toasts: QueuedToast<T>[];
  /** Arrivals of the current burst that are not (or no longer) shown as a toast. */
  more: number;
}

export function emptyQueue<T>(): ToastQueue<T> {
  return { toasts: [], more: 0 };
}

/** An arrival: a toast on top; the oldest shown ones beyond MAX_TOASTS are folded into `more`. */
export function pushToast<T>(queue: ToastQueue<T>, key: string, item: T, now: number): ToastQueue<T> {
  const live = queue.toasts.filter((t) => t.until > now);
  const carried = live.length === 0 ? 0 : queue.more; // an empty stack means the burst is over
  const all = [{ key, item, until: now + TOAST_MS }, ...live];
  const toasts = all.slice(0, MAX_TOASTS);
  return { toasts, more: carried + (all.length - toasts.length) };
}

/** Drops expired toasts; the same object when nothing expired (so nothing re-renders). */
export function expireToasts<T>(queue: ToastQueue<T>, now: number): ToastQueue<T> {
  const toasts = queue.toasts.filter((t) => t.until > now);
  if (toasts.length === queue.toasts.length) return queue;
  return { toasts, more: toasts.length === 0 ? 0 : queue.more };
}

/** "+7 more" while part of a burst is not shown; empty otherwise. */
export function moreText(more: number): string {
  return more > 0 ? `+${more} more` : "";
}

export interface Box {
  left: number;
  top: number;
  right: number;
  bottom: number;
}

export function overlaps(a: Box, b: Box): boolean {
  return a.left < b.right && b.left < a.right && a.top < b.bottom && b.top < a.bottom;
}

export type Corner = "bottom-right" | "top-right" | "bottom-left" | "top-left";
/** In order of preference: the usual toast corner first. */
export const CORNERS: readonly Corner[] = ["bottom-right", "top-right", "bottom-left", "top-left"];

export interface Frame {
  width: number;
  height: number;
  /** Where the top corners start (below a sticky header). */
  top: number;
  gap: number;
}

/** The stack's box in `corner` of the window. */
export function boxAt(corner: Corner, size: { width: number; height: number }, frame: Frame): Box {
  const left = corner.endsWith("left") ? frame.gap : frame.width - frame.gap - size.width;
  const top = corner.startsWith("top") ? frame.top : frame.height - frame.gap - size.height;
  return { left, top, right: left + size.width, bottom: top + size.height };
}

/**
 * Where the stack goes: a corner that covers none of the feed's controls (its tabs, the
 * pool's Pause/Resume, the cards' copy buttons) and, among those, the one that covers the
 * fewest other controls of the page; ties go to the earlier corner. When every corner
 * covers a feed control (a tiny window), the usual one.
 */
export function chooseCorner(size: { width: number; height: number }, frame: Frame, feedControls: readonly Box[], otherControls: readonly Box[]): Corner {
  const inView = (b: Box): boolean => b.right > b.left && b.bottom > b.top && b.bottom > 0 && b.top < frame.height;
  const feed = feedControls.filter(inView);
  const other = otherControls.filter(inView);
  let best: Corner = "bottom-right";
  let bestScore = Number.POSITIVE_INFINITY;
  for (const corner of CORNERS) {
    const box = boxAt(corner, size, frame);
    if (feed.some((c) => overlaps(box, c))) continue;
    const score = other.filter((c) => overlaps(box, c)).length;
    if (score < bestScore) {
      best = corner;
      bestScore = score;
    }
  }
  return best;
}
