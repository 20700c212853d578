/** What every page gets: the API client, the session's live feed and the signed-in reseller. */
import type { Api, Me } from "./api";
import type { LiveFeed } from "./feed/live";

export interface AppContext {
  api: Api;
  feed: LiveFeed;
  me: Me;
  /** Drops the stored key and shows sign-in with `notice` (the key in use was revoked). */
  signOut: (notice?: string) => void;
}

/** Mounts a page into `host`; the returned function tears down its timers and listeners. */
export type PageMount = (host: HTMLElement, ctx: AppContext) => () => void;
