/**
 * The operating routes of SPEC 7 (endpoint health, recover, replay missing, the filtered
 * delivery log) on the one API client, kept apart from api.ts so the webhook client there
 * stays small. Shapes as the API documents them (README, "Operating deliveries").
 */
import type { Api, Delivery, DeliveryStatus, Page } from "./api";
import type { EventType } from "./catalogue";

export type StatsWindow = "1h" | "24h" | "7d";
export const STATS_WINDOWS: readonly StatsWindow[] = ["1h", "24h", "7d"];

export interface StatsBucket {
  start: string;
  attempts: number;
  successes: number;
  failures: number;
  /** Mean latency of the bucket's answered attempts (ms); absent or null when none. */
  latencyMs?: number | null;
  /** Median latency of the bucket's answered attempts (ms), where the API gives it. */
  p50?: number | null;
}

export interface EndpointState {
  /** paused: the circuit breaker is open (the failure streak reached its limit). */
  state: "healthy" | "failing" | "paused" | "disabled";
  enabled: boolean;
  disabledReason: string | null;
  disabledAt: string | null;
  consecutiveFailures: number;
  failingSince: string | null;
  breaker: "closed" | "open";
}

export interface WebhookStats {
  webhookId: string;
  window: StatsWindow;
  since: string;
  until: string;
  bucketSeconds: number;
  attempts: number;
  successes: number;
  failures: { timeout: number; networkError: number; httpError: number; refused: number };
  /** 0..1, null when the window has no attempts. */
  successRate: number | null;
  latencyMs: { p50: number | null; p95: number | null };
  /** Every bucket of the window, oldest first. */
  series: StatsBucket[];
  endpoint: EndpointState;
}

export type RecoverStatus = "failed" | "cancelled";

export interface RecoverInput {
  since: string;
  until?: string;
  statuses?: RecoverStatus[];
  eventTypes?: EventType[];
}

export interface Recovery {
  id: string;
  webhookId: string;
  /** stopped: its webhook was disabled or deleted while it ran (terminal, like done). */
  state: "running" | "done" | "stopped";
  since: string;
  until: string | null;
  statuses: RecoverStatus[];
  eventTypes: EventType[] | null;
  /** Deliveries that matched when the recovery started. */
  matched: number;
  /** Deliveries this recovery has set back to pending so far. */
  queued: number;
  createdAt: string;
  finishedAt: string | null;
}

export interface ReplayResult {
  webhookId: string;
  since: string;
  until: string | null;
  created: number;
  /** `since` was before event retention and was moved up to it. */
  clamped: boolean;
}

/** The delivery log's filters, as the query of GET /v1/deliveries takes them ("" = any). */
export interface DeliveryFilters {
  status: DeliveryStatus | "";
  eventType: EventType | "";
  organisationId: string;
  eventId: string;
  /** ISO-8601 instants. */
  since: string;
  until: string;
}

const enc = encodeURIComponent;

export function webhookStats(api: Api, webhookId: string, window: StatsWindow = "24h"): Promise<WebhookStats> {
  return api.request("GET", `/v1/webhooks/${enc(webhookId)}/stats?window=${enc(window)}`);
}

export function recover(api: Api, webhookId: string, input: RecoverInput): Promise<Recovery> {
  return api.request("POST", `/v1/webhooks/${enc(webhookId)}/recover`, input);
}

export function getRecovery(api: Api, id: string): Promise<Recovery> {
  return api.request("GET", `/v1/recoveries/${enc(id)}`);
}

export function replayMissing(api: Api, webhookId: string, input: { since: string; until?: string }): Promise<ReplayResult> {
  return api.request("POST", `/v1/webhooks/${enc(webhookId)}/replay`, input);
}

/** The query string of one page of a webhook's filtered delivery log. */
export function deliveriesQuery(webhookId: string, filters: DeliveryFilters, cursor: string | null, limit = 25): string {
  const q = new URLSearchParams({ webhookId, limit: String(limit) });
  for (const key of ["status", "eventType", "organisationId", "eventId", "since", "until"] as const) {
    const value = filters[key].trim();
    if (value) q.set(key, value);
  }
  if (cursor) q.set("cursor", cursor);
  return q.toString();
}

export function listDeliveries(api: Api, webhookId: string, filters: DeliveryFilters, cursor: string | null): Promise<Page<Delivery>> {
  return api.request("GET", `/v1/deliveries?${deliveriesQuery(webhookId, filters, cursor)}`);
}
