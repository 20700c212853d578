/**
 * Renders the Live Desktop Event Feed from FeedState. Structural re-renders happen on state
 * changes and at the exact instant a 3 s highlight or toast expires; relative times tick
 * (twice a second) without rebuilding anything.
 */
import { CATALOGUE, type EventType } from "../catalogue";
import { h, reconcile } from "../ui/dom";
import { icon } from "../ui/icons";
import { relativeTime } from "../ui/time";
import { CORNER_GAP, cornerBox, dockInCorner, placeCorner } from "../ui/toast";
import { eventCard, poolEntry, toastView, type Keyed } from "./cards";
import type { LiveFeed } from "./live";
import {
  expire,
  feedVisible,
  newCardId,
  newPoolId,
  nextExpiry,
  pause,
  resume,
  selectTab,
  visibleCards,
  type FeedState,
} from "./state";
import { chooseCorner, moreText } from "./toasts";

/** What a toast must never sit on: anything the user clicks or types into. */
const CONTROLS = "button, a[href], input, select, textarea, [role=\"tab\"]";

interface TabView {
  btn: HTMLButtonElement;
  count: HTMLElement;
}

export function mountFeed(host: HTMLElement, feed: LiveFeed): () => void {
  const connection = h("span", { class: "badge badge-status", testid: "connection-badge" });
  const live = h("span", { class: "badge badge-live", testid: "live-badge" }, h("span", { class: "pulse" }), "Live");
  const tabList = h("div", {
    class: "tabs",
    testid: "feed-tabs",
    attrs: { role: "tablist", "aria-label": "Event types" },
  });
  const cardList = h("div", { class: "event-list", testid: "event-list" });
  const cardsEmpty = h("p", { class: "empty-note", testid: "feed-empty", text: "Waiting for events…" });
  const panelTitle = h("h3", { class: "panel-title", testid: "feed-panel-title" });
  const panel = h(
    "div",
    { class: "feed-left", testid: "feed-panel", attrs: { role: "tabpanel", tabindex: -1 } },
    panelTitle,
    cardsEmpty,
    cardList,
  );
  const pauseBtn = h("button", {
    class: "btn btn-sm",
    testid: "pool-pause",
    attrs: { type: "button", "aria-label": "Pause live pool" },
  });
  pauseBtn.append(icon("pause", 14), "Pause");
  const resumeBtn = h("button", {
    class: "btn btn-sm btn-primary",
    testid: "pool-resume",
    attrs: { type: "button", "aria-label": "Resume live pool" },
  });
  resumeBtn.append(icon("play", 14), "Resume");
  const heldNote = h("p", { class: "held-note", testid: "pool-held", attrs: { role: "status" } });
  const poolList = h("ol", { class: "pool-list", testid: "pool-list", attrs: { "aria-label": "Live pool entries" } });
  const poolEmpty = h("p", { class: "empty-note", testid: "pool-empty", text: "No events yet." });
  const poolCount = h("span", { class: "muted small", testid: "pool-count" });
  const pool = h(
    "aside",
    { class: "feed-pool", testid: "live-pool", attrs: { "aria-label": "Live Pool" } },
    h(
      "div",
      { class: "pool-header" },
      h("div", {}, h("h3", { class: "panel-title", text: "Live Pool" }), poolCount),
      h("div", { class: "pool-controls" }, pauseBtn, resumeBtn),
    ),
    heldNote,
    poolEmpty,
    poolList,
  );
  // The toasts live in the window's notification corner (bottom-right), not over the feed:
  // a burst must never hide the pool's Pause button or the tabs.
  const toastList = h("div", { class: "feed-toast-list" });
  const toastMore = h("p", { class: "toast-more", testid: "toast-more" });
  const toasts = h(
    "div",
    { class: "feed-toasts", testid: "feed-toasts", attrs: { role: "status", "aria-live": "polite" } },
    toastList,
    toastMore,
  );
  toasts.hidden = true;
  const undock = dockInCorner(toasts);
  const root = h(
    "section",
    { class: "feed card-surface", testid: "feed", attrs: { "aria-labelledby": "feed-title" } },
    h(
      "header",
      { class: "feed-header" },
      h(
        "div",
        {},
        h("h2", { attrs: { id: "feed-title" }, text: "Live Desktop Event Feed" }),
        h("p", { class: "muted", text: "Events from every organisation in your network, as they arrive." }),
      ),
      h("div", { class: "feed-badges" }, connection, live),
    ),
    tabList,
    h("div", { class: "feed-panels" }, panel, pool),
  );
  host.appendChild(root);

  const tabs = new Map<EventType, TabView>();
  const cards = new Map<string, Keyed>();
  const entries = new Map<string, Keyed>();
  const toastNodes = new Map<string, HTMLElement>();
  let expiryTimer: number | undefined;

  function tabView(type: EventType): TabView {
    const existing = tabs.get(type);
    if (existing) return existing;
    const info = CATALOGUE[type];
    const count = h("span", { class: "tab-count", testid: "feed-tab-count" });
    const btn = h(
      "button",
      {
        class: `tab tab-${info.colour}`,
        testid: `feed-tab-${type}`,
        attrs: { type: "button", role: "tab", "data-event-type": type },
        on: { click: () => feed.update((s) => selectTab(s, type)) },
      },
      h("span", { class: `dot dot-${info.colour}` }),
      info.label,
      count,
    );
    btn.addEventListener("keydown", (ev) => onTabKey(ev, type));
    const view = { btn, count };
    tabs.set(type, view);
    return view;
  }

  function onTabKey(ev: KeyboardEvent, type: EventType): void {
    const order = feed.state.subscribed;
    const i = order.indexOf(type);
    const step = ev.key === "ArrowRight" ? 1 : ev.key === "ArrowLeft" ? -1 : 0;
    if (step === 0 || i < 0) return;
    ev.preventDefault();
    const next = order[(i + step + order.length) % order.length];
    if (!next) return;
    feed.update((s) => selectTab(s, next));
    tabs.get(next)?.btn.focus();
  }

  function render(state: FeedState): void {
    const now = feed.now();
    root.hidden = !feedVisible(state);
    connection.textContent = state.connected ? "Connected" : "Disconnected";
    connection.dataset.state = state.connected ? "connected" : "disconnected";
    connection.className = `badge badge-status ${state.connected ? "is-on" : "is-off"}`;
    live.hidden = !state.connected;

    reconcile(
      tabList,
      state.subscribed.map((type) => {
        const view = tabView(type);
        const selected = type === state.selected;
        view.btn.setAttribute("aria-selected", String(selected));
        view.btn.tabIndex = selected ? 0 : -1;
        view.btn.classList.toggle("is-selected", selected);
        view.count.textContent = String(state.counts[type]);
        view.count.setAttribute("aria-label", `${state.counts[type]} events this session`);
        return view.btn;
      }),
    );

    const shown = visibleCards(state);
    const newId = state.selected ? newCardId(state, state.selected, now) : null;
    panelTitle.textContent = state.selected ? `Latest ${CATALOGUE[state.selected].label}s` : "";
    cardsEmpty.hidden = shown.length > 0;
    reconcile(
      cardList,
      shown.map((item) => {
        let view = cards.get(item.event.id);
        if (!view) {
          view = eventCard(item, now);
          cards.set(item.event.id, view);
        }
        view.setNew(item.event.id === newId);
        return view.el;
      }),
    );
    const keep = new Set(Object.values(state.latest).flatMap((list) => list.map((i) => i.event.id)));
    for (const id of cards.keys()) if (!keep.has(id)) cards.delete(id);

    const poolNew = newPoolId(state, now);
    poolEmpty.hidden = state.pool.length > 0;
    poolCount.textContent = `${state.pool.length} of 30`;
    reconcile(
      poolList,
      state.pool.map(({ item }) => {
        let view = entries.get(item.event.id);
        if (!view) {
          view = poolEntry(item, now);
          entries.set(item.event.id, view);
        }
        view.setNew(item.event.id === poolNew);
        return view.el;
      }),
    );
    const inPool = new Set(state.pool.map((p) => p.item.event.id));
    for (const id of entries.keys()) if (!inPool.has(id)) entries.delete(id);

    const focusWasOnPause = document.activeElement === pauseBtn || document.activeElement === resumeBtn;
    pauseBtn.hidden = state.paused;
    resumeBtn.hidden = !state.paused;
    if (focusWasOnPause) (state.paused ? resumeBtn : pauseBtn).focus();
    pool.classList.toggle("is-paused", state.paused);
    heldNote.hidden = !state.paused;
    heldNote.textContent = `Paused — ${state.held.length} new event${state.held.length === 1 ? "" : "s"} waiting`;

    reconcile(
      toastList,
      state.toasts.map((t) => {
        let node = toastNodes.get(t.key);
        if (!node) {
          node = toastView(t.item, now);
          toastNodes.set(t.key, node);
        }
        return node;
      }),
    );
    const live_ = new Set(state.toasts.map((t) => t.key));
    for (const key of toastNodes.keys()) if (!live_.has(key)) toastNodes.delete(key);
    toastMore.textContent = moreText(state.moreToasts);
    toastMore.hidden = state.moreToasts === 0;
    const wasHidden = toasts.hidden;
    toasts.hidden = root.hidden || state.toasts.length === 0;
    // At once when the stack appears (never drawn in the wrong place), else once a frame.
    if (wasHidden || toasts.hidden) placeToasts();
    else onViewportChange();

    scheduleExpiry(state, now);
  }

  /** Puts the corner where it covers none of the feed's controls (see chooseCorner). */
  function placeToasts(): void {
    if (toasts.hidden) {
      placeCorner(null);
      return;
    }
    const box = cornerBox();
    const header = document.querySelector(".topbar")?.getBoundingClientRect().bottom ?? 0;
    const frame = { width: document.documentElement.clientWidth, height: window.innerHeight, top: Math.max(0, header) + CORNER_GAP / 2, gap: CORNER_GAP };
    const feedControls: DOMRect[] = [];
    const otherControls: DOMRect[] = [];
    for (const el of document.querySelectorAll<HTMLElement>(CONTROLS)) {
      if (el.closest(".app-corner")) continue;
      (root.contains(el) ? feedControls : otherControls).push(el.getBoundingClientRect());
    }
    const corner = chooseCorner({ width: box.width, height: box.height }, frame, feedControls, otherControls);
    placeCorner(corner === "bottom-right" ? null : { top: corner.startsWith("top"), left: corner.endsWith("left"), topPx: frame.top });
  }

  let placeFrame = 0;
  const onViewportChange = (): void => {
    if (toasts.hidden || placeFrame) return;
    placeFrame = window.requestAnimationFrame(() => {
      placeFrame = 0;
      placeToasts();
    });
  };
  window.addEventListener("scroll", onViewportChange, { passive: true });
  window.addEventListener("resize", onViewportChange);

  function scheduleExpiry(state: FeedState, now: number): void {
    window.clearTimeout(expiryTimer);
    const at = nextExpiry(state, now);
    if (at === null) return;
    expiryTimer = window.setTimeout(() => {
      const before = feed.state;
      feed.update(expire);
      if (feed.state === before) render(before); // highlights expire without a state change
    }, at - now + 5);
  }

  function tick(): void {
    const now = feed.now();
    for (const el of root.querySelectorAll<HTMLElement>("[data-rel-ms]")) {
      const text = relativeTime(Number(el.dataset.relMs), now);
      if (el.textContent !== text) el.textContent = text;
    }
  }

  pauseBtn.addEventListener("click", () => feed.update(pause));
  resumeBtn.addEventListener("click", () => feed.update(resume));

  const unsubscribe = feed.subscribe(render);
  // Half-second ticks keep "N sec ago" within half a second of the truth for every card.
  const ticker = window.setInterval(tick, 500);
  render(feed.state);

  return () => {
    unsubscribe();
    window.clearInterval(ticker);
    window.clearTimeout(expiryTimer);
    window.removeEventListener("scroll", onViewportChange);
    window.removeEventListener("resize", onViewportChange);
    window.cancelAnimationFrame(placeFrame);
    undock();
    root.remove();
  };
}
