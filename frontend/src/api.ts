/**
 * The one API client: relative /v1 URLs (same origin), bearer reseller key, typed
 * responses, and one error type that carries the API's per-field messages.
 */
import type { EventType } from "./catalogue";
import type { SignatureScheme } from "./webhooks/scheme";

export interface Me {
  id: string;
  name: string;
}

export interface Webhook {
  id: string;
  name: string;
  url: string;
  events: EventType[];
  secretMasked: string;
  enabled: boolean;
  /** Attempts at once across every worker; null: no limit. */
  maxInFlight: number | null;
  /** Attempts per second across every worker; null: no limit. */
  ratePerSecond: number | null;
  /** How deliveries are signed; absent from a server older than SPEC 7 (= "hookline"). */
  signatureScheme?: SignatureScheme;
  /** While set, Standard Webhooks deliveries carry the previous secret's signature too. */
  previousSecretExpiresAt?: string | null;
  /** Only these organisations' events fan out to it; [] (or absent, an older server): all. */
  organisationIds?: string[];
  /** Deliveries carry a W3C `traceparent` header while tracing is on; absent from an older server (= off). */
  sendTraceparent?: boolean;
  disabledReason: string | null;
  disabledAt: string | null;
  createdAt: string;
  updatedAt: string;
}

export interface WebhookInput {
  name: string;
  url: string;
  events: EventType[];
  maxInFlight?: number | null;
  ratePerSecond?: number | null;
  signatureScheme?: SignatureScheme;
  organisationIds?: string[];
  sendTraceparent?: boolean;
}

export type WebhookPatch = Partial<WebhookInput> & { enabled?: boolean };

export interface Page<T> {
  data: T[];
  nextCursor: string | null;
}

export interface SimulationPreview {
  event: EventType;
  payload: unknown;
}

export interface SimulationResult {
  delivered: boolean;
  status: number | null;
  latencyMs: number | null;
  headers: Record<string, string>;
  payload: unknown;
  responseBody: string | null;
  error: string | null;
  /** Milliseconds per phase of the send; null: not reached or not applicable (no TLS on http). */
  timing?: SimulationTiming;
  /** The mis-signed copy sent after the signed one: an endpoint that accepts it does not verify. */
  selfCheck?: SignatureSelfCheck;
}

export interface SimulationTiming {
  dns: number | null;
  connect: number | null;
  tls: number | null;
  firstByte: number | null;
  total: number;
}

export interface SignatureSelfCheck {
  sent: boolean;
  status: number | null;
  acceptedBadSignature: boolean;
  error: string | null;
}

export type DeliveryStatus = "pending" | "succeeded" | "failed" | "cancelled";

export interface Delivery {
  id: string;
  eventId: string;
  webhookId: string;
  /** The event's organisation; null once the event has been pruned. */
  organisationId: string | null;
  event: EventType;
  status: DeliveryStatus;
  attemptCount: number;
  nextAttemptAt: string | null;
  lastStatusCode: number | null;
  lastError: string | null;
  createdAt: string;
  updatedAt: string;
}

export interface Attempt {
  id: string;
  attemptedAt: string;
  statusCode: number | null;
  latencyMs: number | null;
  responseBody: string | null;
  error: string | null;
  kind?: "success" | "http_error" | "timeout" | "network_error" | "refused" | null;
  /** The headers as sent (never the secret); null for attempts recorded before they were kept. */
  requestHeaders?: Record<string, string> | null;
}

export type DeliveryDetail = Delivery & { attempts: Attempt[] };

/** An API failure: HTTP status, stable error code, message and per-field messages (422). */
export class ApiError extends Error {
  readonly status: number;
  readonly code: string;
  readonly fields: Readonly<Record<string, string>>;

  constructor(status: number, code: string, message: string, fields: Record<string, string> = {}) {
    super(message);
    this.name = "ApiError";
    this.status = status;
    this.code = code;
    this.fields = fields;
  }
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

function fieldMessage(value: unknown): string | null {
  if (typeof value === "string") return value;
  if (Array.isArray(value)) {
    const parts = value.filter((v): v is string => typeof v === "string");
    return parts.length > 0 ? parts.join(" ") : null;
  }
  return null;
}

/**
 * Turns any error response body into an ApiError. Tolerates bodies that are not the
 * documented envelope (a proxy's HTML page, FastAPI's default `detail`), so the UI
 * always has a message to show.
 */
export function errorFromBody(status: number, body: unknown): ApiError {
  const fallback = status === 0 ? "Network error" : `Request failed (HTTP ${status})`;
  if (isRecord(body) && isRecord(body.error)) {
    const err = body.error;
    const code = typeof err.code === "string" ? err.code : `http_${status}`;
    const message = typeof err.message === "string" && err.message ? err.message : fallback;
    const fields: Record<string, string> = {};
    if (isRecord(err.fields)) {
      for (const [key, value] of Object.entries(err.fields)) {
        const msg = fieldMessage(value);
        if (msg !== null) fields[key] = msg;
      }
    }
    return new ApiError(status, code, message, fields);
  }
  if (isRecord(body) && typeof body.detail === "string") {
    return new ApiError(status, `http_${status}`, body.detail);
  }
  if (typeof body === "string" && body.trim() && body.length < 300 && !body.includes("<")) {
    return new ApiError(status, `http_${status}`, body.trim());
  }
  return new ApiError(status, `http_${status}`, fallback);
}

type FetchLike = (input: string, init?: RequestInit) => Promise<Response>;

export interface ApiOptions {
  fetch?: FetchLike;
  /** Called on any 401 so the app can drop the stored key and show sign-in. */
  onUnauthorized?: () => void;
}

export class Api {
  private readonly key: string;
  private readonly fetchImpl: FetchLike;
  private readonly onUnauthorized: (() => void) | undefined;

  constructor(key: string, options: ApiOptions = {}) {
    this.key = key;
    this.fetchImpl = options.fetch ?? ((input, init) => fetch(input, init));
    this.onUnauthorized = options.onUnauthorized;
  }

  async request<T>(method: string, path: string, body?: unknown): Promise<T> {
    const headers: Record<string, string> = {
      Accept: "application/json",
      Authorization: `Bearer ${this.key}`,
    };
    const init: RequestInit = { method, headers };
    if (body !== undefined) {
      headers["Content-Type"] = "application/json";
      init.body = JSON.stringify(body);
    }
    let res: Response;
    try {
      res = await this.fetchImpl(path, init);
    } catch (cause) {
      throw new ApiError(0, "network_error", cause instanceof Error ? cause.message : "Network error");
    }
    const text = await res.text();
    let parsed: unknown = text;
    if (text) {
      try {
        parsed = JSON.parse(text);
      } catch {
        parsed = text;
      }
    }
    if (!res.ok) {
      const error = errorFromBody(res.status, parsed);
      if (res.status === 401) this.onUnauthorized?.();
      throw error;
    }
    return (text ? parsed : undefined) as T;
  }

  me(): Promise<Me> {
    return this.request("GET", "/v1/me");
  }

  listWebhooks(): Promise<Page<Webhook>> {
    return this.request("GET", "/v1/webhooks?limit=200");
  }

  getWebhook(id: string): Promise<Webhook> {
    return this.request("GET", `/v1/webhooks/${enc(id)}`);
  }

  createWebhook(input: WebhookInput): Promise<Webhook & { secret: string }> {
    return this.request("POST", "/v1/webhooks", input);
  }

  updateWebhook(id: string, patch: WebhookPatch): Promise<Webhook> {
    return this.request("PATCH", `/v1/webhooks/${enc(id)}`, patch);
  }

  deleteWebhook(id: string): Promise<void> {
    return this.request("DELETE", `/v1/webhooks/${enc(id)}`);
  }

  webhookSecret(id: string): Promise<{ secret: string }> {
    return this.request("GET", `/v1/webhooks/${enc(id)}/secret`);
  }

  previewSimulation(id: string, event: EventType): Promise<SimulationPreview> {
    return this.request("GET", `/v1/webhooks/${enc(id)}/simulate/preview?event=${enc(event)}`);
  }

  simulate(id: string, event: EventType): Promise<SimulationResult> {
    return this.request("POST", `/v1/webhooks/${enc(id)}/simulate`, { event });
  }

  listDeliveries(webhookId: string, cursor: string | null, status = ""): Promise<Page<Delivery>> {
    const q = new URLSearchParams({ webhookId, limit: "25" });
    if (cursor) q.set("cursor", cursor);
    if (status) q.set("status", status);
    return this.request("GET", `/v1/deliveries?${q.toString()}`);
  }

  getDelivery(id: string): Promise<DeliveryDetail> {
    return this.request("GET", `/v1/deliveries/${enc(id)}`);
  }

  retryDelivery(id: string): Promise<Delivery> {
    return this.request("POST", `/v1/deliveries/${enc(id)}/retry`);
  }
}

function enc(value: string): string {
  return encodeURIComponent(value);
}
