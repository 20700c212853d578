/**
 * The session's live feed: one Socket.IO connection and the feed state, alive from
 * sign-in to sign-out so tab counts cover the whole session, whatever page is shown.
 */
import { io, type Socket } from "socket.io-client";
import {
  initialFeedState,
  parseFeedEvent,
  receiveEvent,
  setConnected,
  setSubscriptions,
  type FeedState,
} from "./state";

type Listener = (state: FeedState) => void;

export class LiveFeed {
  private current: FeedState = initialFeedState();
  private readonly listeners = new Set<Listener>();
  private socket: Socket | null = null;
  private readonly clock: () => number;

  constructor(clock: () => number = Date.now) {
    this.clock = clock;
  }

  get state(): FeedState {
    return this.current;
  }

  now(): number {
    return this.clock();
  }

  /** Applies a pure transition and notifies the views when it changed something. */
  update(transition: (state: FeedState, now: number) => FeedState): void {
    const next = transition(this.current, this.clock());
    if (next === this.current) return;
    this.current = next;
    for (const listener of this.listeners) listener(next);
  }

  subscribe(listener: Listener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  connect(token: string): void {
    this.disconnect();
    // Same origin: the API serves the dashboard, so no URL is needed.
    const socket = io({ path: "/socket.io/", auth: { token }, transports: ["websocket"] });
    socket.on("connect", () => this.update((s) => setConnected(s, true)));
    socket.on("disconnect", (reason) => {
      this.update((s) => setConnected(s, false));
      // A server-side disconnect is not retried by the client on its own.
      if (reason === "io server disconnect") window.setTimeout(() => socket.connect(), 2000);
    });
    socket.on("connect_error", () => this.update((s) => setConnected(s, false)));
    socket.on("subscriptions", (msg: unknown) => {
      // Documented as {events: [...]}; a bare list is accepted too.
      const events = Array.isArray(msg) ? msg : (msg as { events?: unknown } | null)?.events;
      if (Array.isArray(events)) this.update((s) => setSubscriptions(s, events.map(String)));
    });
    socket.on("desktop_event", (msg: unknown) => {
      const event = parseFeedEvent(msg);
      if (event) this.update((s, now) => receiveEvent(s, event, now));
    });
    this.socket = socket;
  }

  disconnect(): void {
    if (!this.socket) return;
    this.socket.removeAllListeners();
    this.socket.disconnect();
    this.socket = null;
    this.current = initialFeedState();
  }
}
