/**
 * The Live Desktop Event Feed's rules as pure functions of (state, input, now).
 * No timers and no clock in here: the view passes `now`, the unit tests pass a fake one.
 *
 * - each tab keeps its latest 10 events, newest first, and counts every event of the session;
 * - the Live Pool keeps all tabs, newest first, at most 30; paused, arrivals are held back
 *   (still counted and still shown in their tab) and join the pool on resume;
 * - the newest card of a tab and the newest pool entry are "new" for 3 s;
 * - every arrival raises a toast that lives 3 s; a burst shows at most three and counts the
 *   rest ("+N more", see toasts.ts).
 */
import { EVENT_TYPES, isEventType, sortTypes, type EventType } from "../catalogue";
import { toMs } from "../ui/time";
import { expireToasts, pushToast, type QueuedToast } from "./toasts";

export { relativeTime } from "../ui/time";

export const LATEST_PER_TAB = 10;
export const POOL_MAX = 30;
export const NEW_MS = 3000;
export { MAX_TOASTS, TOAST_MS } from "./toasts";

/** A `desktop_event` message, ids normalised to strings. */
export interface FeedEvent {
  id: string;
  event: EventType;
  parentOrganisationName: string;
  organisationName: string;
  userId: string;
  teamId: string;
  receivedAt: string;
  payload: unknown;
}

export interface FeedItem {
  event: FeedEvent;
  /** Local clock at arrival: drives the 3 s "new" highlight. */
  arrivedAt: number;
  /** The server's receipt time (falls back to arrival): drives timestamps and relative time. */
  receivedMs: number;
}

export interface PoolEntry {
  item: FeedItem;
  /** When the entry entered the pool (arrival, or resume for held entries). */
  shownAt: number;
}

export type Toast = QueuedToast<FeedItem>;

export interface FeedState {
  connected: boolean;
  subscribed: EventType[];
  /** True once the server has said what is subscribed; local guesses stop counting then. */
  subscriptionsFromServer: boolean;
  selected: EventType | null;
  latest: Record<EventType, FeedItem[]>;
  counts: Record<EventType, number>;
  pool: PoolEntry[];
  paused: boolean;
  /** Arrivals while paused, newest first, waiting for resume. */
  held: FeedItem[];
  toasts: Toast[];
  /** Events of the current burst not shown as a toast ("+N more"). */
  moreToasts: number;
}

function perType<T>(make: () => T): Record<EventType, T> {
  const out = {} as Record<EventType, T>;
  for (const t of EVENT_TYPES) out[t] = make();
  return out;
}

export function initialFeedState(): FeedState {
  return {
    connected: false,
    subscribed: [],
    subscriptionsFromServer: false,
    selected: null,
    latest: perType<FeedItem[]>(() => []),
    counts: perType(() => 0),
    pool: [],
    paused: false,
    held: [],
    toasts: [],
    moreToasts: 0,
  };
}

function asText(value: unknown): string | null {
  if (typeof value === "string") return value;
  if (typeof value === "number" && Number.isFinite(value)) return String(value);
  return null;
}

/** Validates a raw `desktop_event` message; null for anything malformed. */
export function parseFeedEvent(raw: unknown): FeedEvent | null {
  if (typeof raw !== "object" || raw === null) return null;
  const r = raw as Record<string, unknown>;
  const id = asText(r.id);
  if (!id || !isEventType(r.event)) return null;
  return {
    id,
    event: r.event,
    parentOrganisationName: asText(r.parentOrganisationName) ?? "",
    organisationName: asText(r.organisationName) ?? "",
    userId: asText(r.userId) ?? "",
    teamId: asText(r.teamId) ?? "",
    receivedAt: asText(r.receivedAt) ?? "",
    payload: r.payload,
  };
}

export function setConnected(state: FeedState, connected: boolean): FeedState {
  return state.connected === connected ? state : { ...state, connected };
}

function withSubscribed(state: FeedState, types: Iterable<string>, fromServer: boolean): FeedState {
  const subscribed = sortTypes(types);
  const selected =
    state.selected !== null && subscribed.includes(state.selected) ? state.selected : (subscribed[0] ?? null);
  return { ...state, subscribed, selected, subscriptionsFromServer: fromServer || state.subscriptionsFromServer };
}

/** The server's `subscriptions` message: the authority on which tabs exist. */
export function setSubscriptions(state: FeedState, types: Iterable<string>): FeedState {
  return withSubscribed(state, types, true);
}

/** A local guess (from the webhook list) used only until the server has spoken. */
export function seedSubscriptions(state: FeedState, types: Iterable<string>): FeedState {
  return state.subscriptionsFromServer ? state : withSubscribed(state, types, false);
}

export function selectTab(state: FeedState, type: EventType): FeedState {
  return state.subscribed.includes(type) ? { ...state, selected: type } : state;
}

export function feedVisible(state: FeedState): boolean {
  return state.subscribed.length > 0;
}

export function receiveEvent(state: FeedState, event: FeedEvent, now: number): FeedState {
  const tab = state.latest[event.event];
  if (tab.some((i) => i.event.id === event.id) || state.held.some((i) => i.event.id === event.id)) {
    return state; // a re-sent message: neither a new card nor a new count
  }
  const received = toMs(event.receivedAt);
  const item: FeedItem = { event, arrivedAt: now, receivedMs: Number.isNaN(received) ? now : received };
  const latest = { ...state.latest, [event.event]: [item, ...tab].slice(0, LATEST_PER_TAB) };
  const counts = { ...state.counts, [event.event]: state.counts[event.event] + 1 };
  const queue = pushToast({ toasts: state.toasts, more: state.moreToasts }, `${event.id}@${now}`, item, now);
  const toasts = queue.toasts;
  const moreToasts = queue.more;
  if (state.paused) {
    return { ...state, latest, counts, toasts, moreToasts, held: [item, ...state.held].slice(0, POOL_MAX) };
  }
  const pool = [{ item, shownAt: now }, ...state.pool].slice(0, POOL_MAX);
  return { ...state, latest, counts, toasts, moreToasts, pool };
}

export function pause(state: FeedState): FeedState {
  return state.paused ? state : { ...state, paused: true };
}

/** Held arrivals join the pool (newest first) and the newest of them is highlighted. */
export function resume(state: FeedState, now: number): FeedState {
  if (!state.paused) return state;
  const joined = state.held.map((item) => ({ item, shownAt: now }));
  return { ...state, paused: false, held: [], pool: [...joined, ...state.pool].slice(0, POOL_MAX) };
}

/** Drops expired toasts; returns the same object when nothing changed (no re-render). */
export function expire(state: FeedState, now: number): FeedState {
  const before = { toasts: state.toasts, more: state.moreToasts };
  const after = expireToasts(before, now);
  return after === before ? state : { ...state, toasts: after.toasts, moreToasts: after.more };
}

/** The selected tab's cards, newest first. */
export function visibleCards(state: FeedState): FeedItem[] {
  return state.selected === null ? [] : state.latest[state.selected];
}

/** Id of the card carrying the "New Event" badge in `type`'s tab, if any. */
export function newCardId(state: FeedState, type: EventType, now: number): string | null {
  const top = state.latest[type][0];
  return top && now - top.arrivedAt < NEW_MS ? top.event.id : null;
}

/** Id of the pool entry carrying the "New Event" badge, if any. */
export function newPoolId(state: FeedState, now: number): string | null {
  const top = state.pool[0];
  return top && now - top.shownAt < NEW_MS ? top.item.event.id : null;
}

/** The next instant at which something visible expires, so the view can re-render exactly then. */
export function nextExpiry(state: FeedState, now: number): number | null {
  const candidates: number[] = state.toasts.map((t) => t.until);
  for (const t of EVENT_TYPES) {
    const top = state.latest[t][0];
    if (top) candidates.push(top.arrivedAt + NEW_MS);
  }
  const poolTop = state.pool[0];
  if (poolTop) candidates.push(poolTop.shownAt + NEW_MS);
  const future = candidates.filter((c) => c > now);
  return future.length > 0 ? Math.min(...future) : null;
}
