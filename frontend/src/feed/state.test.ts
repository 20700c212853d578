import { describe, expect, it } from "vitest";
import type { EventType } from "../catalogue";
import {
  LATEST_PER_TAB,
  NEW_MS,
  POOL_MAX,
  TOAST_MS,
  expire,
  feedVisible,
  initialFeedState,
  newCardId,
  newPoolId,
  nextExpiry,
  parseFeedEvent,
  pause,
  receiveEvent,
  relativeTime,
  resume,
  seedSubscriptions,
  selectTab,
  setSubscriptions,
  visibleCards,
  type FeedEvent,
  type FeedState,
} from "./state";

const TRACK: EventType = "desktop.app_tracking.captured";
const SHOT: EventType = "desktop.screenshot_tracking.captured";
const ACT: EventType = "desktop.activity_tracking.captured";
const T0 = Date.UTC(2025, 0, 1, 12, 0, 0);

let seq = 0;
function ev(type: EventType, at: number, extra: Partial<FeedEvent> = {}): FeedEvent {
  seq += 1;
  return {
    id: `evt_${seq}`,
    event: type,
    parentOrganisationName: "Acme Reseller",
    organisationName: `Org ${seq}`,
    userId: "u1",
    teamId: "t1",
    receivedAt: new Date(at).toISOString(),
    payload: { n: seq },
    ...extra,
  };
}

/** Feeds `n` events of `type`, one per second from `start`; returns the state and the clock. */
function feed(state: FeedState, type: EventType, n: number, start: number): [FeedState, number] {
  let s = state;
  let now = start;
  for (let i = 0; i < n; i += 1) {
    now = start + i * 1000;
    s = receiveEvent(s, ev(type, now), now);
  }
  return [s, now];
}

describe("subscriptions and tabs", () => {
  it("hides the feed until a type is subscribed and orders tabs by catalogue", () => {
    let s = initialFeedState();
    expect(feedVisible(s)).toBe(false);
    s = setSubscriptions(s, [ACT, TRACK]);
    expect(feedVisible(s)).toBe(true);
    expect(s.subscribed).toEqual([TRACK, ACT]);
    expect(s.selected).toBe(TRACK);
  });

  it("keeps the selected tab while subscribed and moves off it when it goes", () => {
    let s = setSubscriptions(initialFeedState(), [TRACK, SHOT]);
    s = selectTab(s, SHOT);
    expect(s.selected).toBe(SHOT);
    s = setSubscriptions(s, [TRACK, SHOT, ACT]);
    expect(s.selected).toBe(SHOT);
    s = setSubscriptions(s, [ACT]);
    expect(s.selected).toBe(ACT);
    expect(selectTab(s, TRACK).selected).toBe(ACT); // not a tab: ignored
    s = setSubscriptions(s, []);
    expect(s.selected).toBeNull();
    expect(feedVisible(s)).toBe(false);
  });

  it("uses a local guess only until the server sends subscriptions", () => {
    let s = seedSubscriptions(initialFeedState(), [SHOT]);
    expect(s.subscribed).toEqual([SHOT]);
    s = setSubscriptions(s, [TRACK]);
    s = seedSubscriptions(s, [SHOT, ACT]);
    expect(s.subscribed).toEqual([TRACK]);
  });

  it("drops unknown types", () => {
    expect(setSubscriptions(initialFeedState(), ["desktop.nope", SHOT]).subscribed).toEqual([SHOT]);
  });
});

describe("event cards", () => {
  it("keeps the latest 10 per tab, newest first, and counts every event", () => {
    let s = setSubscriptions(initialFeedState(), [TRACK, SHOT]);
    [s] = feed(s, TRACK, 13, T0);
    [s] = feed(s, SHOT, 2, T0 + 20_000);
    expect(s.latest[TRACK]).toHaveLength(LATEST_PER_TAB);
    expect(s.counts[TRACK]).toBe(13);
    expect(s.counts[SHOT]).toBe(2);
    expect(s.counts[ACT]).toBe(0);
    const cards = visibleCards(s);
    expect(cards.map((c) => c.event.organisationName)).toEqual(
      Array.from({ length: 10 }, (_, i) => `Org ${seq - 2 - i}`),
    );
    expect(visibleCards(selectTab(s, SHOT))).toHaveLength(2);
  });

  it("ignores a re-sent event", () => {
    let s = setSubscriptions(initialFeedState(), [TRACK]);
    const e = ev(TRACK, T0);
    s = receiveEvent(s, e, T0);
    const again = receiveEvent(s, e, T0 + 10);
    expect(again).toBe(s);
    expect(again.counts[TRACK]).toBe(1);
  });

  it("marks only the newest card of a tab as new, for 3 s", () => {
    let s = setSubscriptions(initialFeedState(), [TRACK, SHOT]);
    const a = ev(TRACK, T0);
    const b = ev(TRACK, T0 + 1000);
    s = receiveEvent(s, a, T0);
    expect(newCardId(s, TRACK, T0)).toBe(a.id);
    s = receiveEvent(s, b, T0 + 1000);
    expect(newCardId(s, TRACK, T0 + 1000)).toBe(b.id);
    expect(newCardId(s, TRACK, T0 + 1000 + NEW_MS - 1)).toBe(b.id);
    expect(newCardId(s, TRACK, T0 + 1000 + NEW_MS)).toBeNull();
    expect(newCardId(s, SHOT, T0 + 1000)).toBeNull();
  });
});

describe("live pool", () => {
  it("holds all tabs, newest first, at most 30", () => {
    let s = setSubscriptions(initialFeedState(), [TRACK, SHOT, ACT]);
    [s] = feed(s, TRACK, 15, T0);
    [s] = feed(s, SHOT, 15, T0 + 15_000);
    [s] = feed(s, ACT, 5, T0 + 30_000);
    expect(s.pool).toHaveLength(POOL_MAX);
    expect(s.pool[0]?.item.event.event).toBe(ACT);
    const times = s.pool.map((p) => p.item.arrivedAt);
    expect([...times].sort((x, y) => y - x)).toEqual(times);
  });

  it("marks the newest entry as new for 3 s", () => {
    let s = setSubscriptions(initialFeedState(), [TRACK]);
    const e = ev(TRACK, T0);
    s = receiveEvent(s, e, T0);
    expect(newPoolId(s, T0 + NEW_MS - 1)).toBe(e.id);
    expect(newPoolId(s, T0 + NEW_MS)).toBeNull();
  });

  it("pauses: arrivals are counted and carded but join the pool only on resume", () => {
    let s = setSubscriptions(initialFeedState(), [TRACK]);
    let now: number;
    [s, now] = feed(s, TRACK, 2, T0);
    s = pause(s);
    const before = s.pool;
    [s, now] = feed(s, TRACK, 3, now + 1000);
    expect(s.pool).toBe(before);
    expect(s.counts[TRACK]).toBe(5);
    expect(s.latest[TRACK]).toHaveLength(5);
    expect(s.held).toHaveLength(3);
    expect(newPoolId(s, now)).toBeNull();

    const resumedAt = now + 10_000;
    s = resume(s, resumedAt);
    expect(s.paused).toBe(false);
    expect(s.held).toHaveLength(0);
    expect(s.pool).toHaveLength(5);
    expect(s.pool.map((p) => p.item.event.id)).toEqual(s.latest[TRACK].map((i) => i.event.id));
    expect(newPoolId(s, resumedAt + 1)).toBe(s.pool[0]?.item.event.id);
    expect(newPoolId(s, resumedAt + NEW_MS)).toBeNull();
  });

  it("caps the pool at 30 after a long pause", () => {
    let s = pause(setSubscriptions(initialFeedState(), [TRACK, SHOT]));
    [s] = feed(s, TRACK, 20, T0);
    [s] = feed(s, SHOT, 20, T0 + 20_000);
    s = resume(s, T0 + 60_000);
    expect(s.pool).toHaveLength(POOL_MAX);
    expect(s.counts[TRACK] + s.counts[SHOT]).toBe(40);
    expect(resume(s, T0 + 61_000)).toBe(s); // not paused: no-op
    expect(pause(pause(s)).paused).toBe(true);
  });
});

describe("toasts and expiry", () => {
  it("raises one toast per event that expires after 3 s", () => {
    let s = setSubscriptions(initialFeedState(), [TRACK]);
    s = receiveEvent(s, ev(TRACK, T0), T0);
    s = receiveEvent(s, ev(TRACK, T0 + 1000), T0 + 1000);
    expect(s.toasts).toHaveLength(2);
    expect(expire(s, T0 + TOAST_MS - 1)).toBe(s);
    s = expire(s, T0 + TOAST_MS);
    expect(s.toasts).toHaveLength(1);
    s = expire(s, T0 + 1000 + TOAST_MS);
    expect(s.toasts).toHaveLength(0);
  });

  it("shows three toasts of a burst and counts the rest until the stack empties", () => {
    let s = setSubscriptions(initialFeedState(), [TRACK]);
    for (let i = 0; i < 10; i++) s = receiveEvent(s, ev(TRACK, T0 + i), T0 + i);
    expect(s.toasts).toHaveLength(3);
    expect(s.moreToasts).toBe(7);
    expect(s.pool).toHaveLength(10); // the feed itself keeps everything
    s = expire(s, T0 + 9 + TOAST_MS);
    expect(s.toasts).toHaveLength(0);
    expect(s.moreToasts).toBe(0);
  });

  it("shows toasts while paused too", () => {
    let s = pause(setSubscriptions(initialFeedState(), [TRACK]));
    s = receiveEvent(s, ev(TRACK, T0), T0);
    expect(s.toasts).toHaveLength(1);
  });

  it("reports the next expiry so the view re-renders exactly then", () => {
    let s = setSubscriptions(initialFeedState(), [TRACK]);
    expect(nextExpiry(s, T0)).toBeNull();
    s = receiveEvent(s, ev(TRACK, T0), T0);
    expect(nextExpiry(s, T0 + 500)).toBe(T0 + 3000);
    expect(nextExpiry(s, T0 + 3000)).toBeNull();
  });
});

describe("relative time", () => {
  it.each([
    [0, "just now"],
    [-5_000, "just now"],
    [999, "just now"],
    [1_000, "1 sec ago"],
    [3_400, "3 sec ago"],
    [59_999, "59 sec ago"],
    [60_000, "1 min ago"],
    [125_000, "2 min ago"],
    [3_600_000, "1 hr ago"],
    [86_400_000, "1 day ago"],
    [3 * 86_400_000, "3 days ago"],
  ])("%i ms → %s", (age, text) => {
    expect(relativeTime(T0, T0 + age)).toBe(text);
  });

  it("keeps ticking with the clock", () => {
    const s = receiveEvent(setSubscriptions(initialFeedState(), [TRACK]), ev(TRACK, T0), T0);
    const item = s.latest[TRACK][0];
    expect(item).toBeDefined();
    if (!item) return;
    expect(relativeTime(item.receivedMs, T0 + 3_000)).toBe("3 sec ago");
    expect(relativeTime(item.receivedMs, T0 + 120_000)).toBe("2 min ago");
  });
});

describe("parseFeedEvent", () => {
  it("normalises numeric ids and rejects unknown types", () => {
    const parsed = parseFeedEvent({
      id: "evt_1",
      event: TRACK,
      parentOrganisationName: "P",
      organisationName: "O",
      userId: 42,
      teamId: "7",
      receivedAt: "2025-01-01T12:00:00Z",
      payload: {},
    });
    expect(parsed?.userId).toBe("42");
    expect(parseFeedEvent({ id: "x", event: "other" })).toBeNull();
    expect(parseFeedEvent(null)).toBeNull();
  });

  it("falls back to arrival time when receivedAt is unusable", () => {
    const s = receiveEvent(initialFeedState(), ev(TRACK, T0, { receivedAt: "" }), T0 + 77);
    expect(s.latest[TRACK][0]?.receivedMs).toBe(T0 + 77);
  });
});
