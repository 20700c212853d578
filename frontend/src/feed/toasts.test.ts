import { describe, expect, it } from "vitest";
import {
  MAX_TOASTS,
  TOAST_MS,
  emptyQueue,
  expireToasts,
  moreText,
  pushToast,
  CORNERS,
  boxAt,
  chooseCorner,
  type Box,
  type ToastQueue,
} from "./toasts";

const T0 = 1_700_000_000_000;

function burst(queue: ToastQueue<string>, count: number, at: number, prefix = "e"): ToastQueue<string> {
  let q = queue;
  for (let i = 0; i < count; i++) q = pushToast(q, `${prefix}${i}`, `${prefix}${i}`, at + i);
  return q;
}

describe("toast queue under a burst", () => {
  it("shows at most three, the newest first, and counts the rest", () => {
    const q = burst(emptyQueue(), 10, T0);
    expect(q.toasts).toHaveLength(MAX_TOASTS);
    expect(q.toasts.map((t) => t.item)).toEqual(["e9", "e8", "e7"]);
    expect(q.more).toBe(7);
    expect(moreText(q.more)).toBe("+7 more");
  });

  it("counts nothing while the burst fits", () => {
    const q = burst(emptyQueue(), MAX_TOASTS, T0);
    expect(q.toasts).toHaveLength(3);
    expect(q.more).toBe(0);
    expect(moreText(q.more)).toBe("");
  });

  it("keeps the count while any toast of the burst is shown, resets it when the last expires", () => {
    let q = burst(emptyQueue(), 5, T0); // toasts until T0+2..T0+4 (+TOAST_MS)
    expect(q.more).toBe(2);
    q = expireToasts(q, T0 + 3 + TOAST_MS); // e2, e3 gone, e4 left
    expect(q.toasts.map((t) => t.item)).toEqual(["e4"]);
    expect(q.more).toBe(2);
    q = expireToasts(q, T0 + 4 + TOAST_MS);
    expect(q).toEqual({ toasts: [], more: 0 });
  });

  it("starts a new count for a burst after the stack emptied", () => {
    let q = burst(emptyQueue(), 6, T0);
    expect(q.more).toBe(3);
    // Nothing expired explicitly, but by T0+10 s every toast is past its time.
    q = burst(q, 4, T0 + 10_000, "f");
    expect(q.toasts.map((t) => t.item)).toEqual(["f3", "f2", "f1"]);
    expect(q.more).toBe(1);
  });

  it("does not count toasts that expired on their own as hidden", () => {
    let q = burst(emptyQueue(), 2, T0);
    q = pushToast(q, "late", "late", T0 + 1 + TOAST_MS); // e0 and e1 have expired by now
    expect(q.toasts.map((t) => t.item)).toEqual(["late"]);
    expect(q.more).toBe(0);
  });

  it("returns the same queue when nothing expires (no re-render)", () => {
    const q = burst(emptyQueue(), 2, T0);
    expect(expireToasts(q, T0 + TOAST_MS - 1)).toBe(q);
  });
});

describe("where the stack sits", () => {
  const frame = { width: 1280, height: 900, top: 62, gap: 16 };
  const size = { width: 300, height: 230 };
  const box = (left: number, top: number, w = 80, h = 30): Box => ({ left, top, right: left + w, bottom: top + h });

  it("knows the four corners' boxes", () => {
    expect(boxAt("bottom-right", size, frame)).toEqual({ left: 964, top: 654, right: 1264, bottom: 884 });
    expect(boxAt("top-left", size, frame)).toEqual({ left: 16, top: 62, right: 316, bottom: 292 });
  });

  it("stays bottom-right when that covers nothing", () => {
    expect(chooseCorner(size, frame, [box(1150, 120)], [box(20, 20)])).toBe("bottom-right");
  });

  it("leaves a corner where it would cover the Pause button", () => {
    const pause = box(1150, 640);
    expect(chooseCorner(size, frame, [pause], [])).toBe("top-right");
  });

  it("prefers the corner that covers the fewest other controls", () => {
    const pause = box(1150, 640);
    const addWebhook = box(1130, 80);
    const copyButtons = [box(430, 760, 26, 26), box(280, 790, 26, 26)];
    // top-right covers "Add webhook"; bottom-left covers a feed copy button; top-left is clear.
    expect(chooseCorner(size, frame, [pause, ...copyButtons], [addWebhook])).toBe("top-left");
  });

  it("ignores hidden controls (empty boxes) and ones outside the window", () => {
    const hidden: Box = { left: 0, right: 0, top: 0, bottom: 0 };
    const below = box(1150, 950);
    expect(chooseCorner(size, frame, [hidden, below], [])).toBe("bottom-right");
  });

  it("falls back to the usual corner when every corner covers a feed control", () => {
    const everywhere = CORNERS.map((c) => boxAt(c, size, frame));
    expect(chooseCorner(size, frame, everywhere, [])).toBe("bottom-right");
  });
});
