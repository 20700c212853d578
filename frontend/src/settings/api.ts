/** The reseller's own API keys (SPEC 7: POST/GET /v1/api-keys, DELETE /v1/api-keys/{id}). */
import type { Api, Page } from "../api";

export interface ApiKey {
  id: string;
  name: string;
  prefix: string;
  createdAt: string;
  lastUsedAt: string | null;
  /** The key this browser is signed in with. */
  current: boolean;
}

export interface ApiKeyCreated {
  id: string;
  name: string;
  apiKey: string;
}

type RawApiKey = Omit<ApiKey, "current" | "lastUsedAt"> & { current?: boolean; lastUsedAt?: string | null };

/** Shown key prefixes are this long (app/auth/keys.py VISIBLE_PREFIX_LENGTH). */
const PREFIX_LENGTH = 12;

/**
 * Whether a listed key is the one in use: the API's `current` when it says, otherwise the
 * visible prefix of the signed-in key (12 characters of 256 random bits: no false match).
 */
export function isCurrentKey(raw: Pick<RawApiKey, "prefix" | "current">, signedInKey: string): boolean {
  if (typeof raw.current === "boolean") return raw.current;
  return raw.prefix.length > 0 && signedInKey.slice(0, PREFIX_LENGTH) === raw.prefix.slice(0, PREFIX_LENGTH);
}

export async function listApiKeys(api: Api, signedInKey: string): Promise<ApiKey[]> {
  const page = await api.request<Page<RawApiKey>>("GET", "/v1/api-keys?limit=200");
  return page.data.map((raw) => ({
    id: raw.id,
    name: raw.name,
    prefix: raw.prefix,
    createdAt: raw.createdAt,
    lastUsedAt: raw.lastUsedAt ?? null,
    current: isCurrentKey(raw, signedInKey),
  }));
}

export function createApiKey(api: Api, name: string): Promise<ApiKeyCreated> {
  return api.request("POST", "/v1/api-keys", { name });
}

export function revokeApiKey(api: Api, id: string): Promise<void> {
  return api.request("DELETE", `/v1/api-keys/${encodeURIComponent(id)}`);
}
