/**
 * The organisation and ingest-key routes (SPEC 7 "Keys and organisations"), on the one
 * API client. Kept beside the page so the webhook client in api.ts stays as it is.
 */
import type { Api, Page } from "../api";

export interface Organisation {
  id: string;
  name: string;
  /** false: its ingest keys are refused with 403; its history stays. */
  enabled: boolean;
  createdAt: string;
  /** Events received from this organisation in the last 24 hours; null when the API gave none. */
  eventsLast24h: number | null;
  /** Live ingest keys (those in a rotation overlap included); null when the API gave none. */
  ingestKeys: number | null;
}

export interface OrganisationCreated extends Organisation {
  ingestKey: string;
}

export interface OrganisationPatch {
  name?: string;
  enabled?: boolean;
}

export interface IngestKey {
  id: string;
  prefix: string;
  createdAt: string;
  lastUsedAt: string | null;
  /** Set while a rotation overlap runs out: the key is refused after this time. */
  expiresAt: string | null;
}

export interface IngestKeyCreated {
  id: string;
  ingestKey: string;
}

/** The API may leave out what the dashboard can default (an older server, a partial list). */
export function organisationFrom(raw: Partial<Organisation> & Pick<Organisation, "id" | "name">): Organisation {
  return {
    id: raw.id,
    name: raw.name,
    enabled: raw.enabled ?? true,
    createdAt: raw.createdAt ?? "",
    eventsLast24h: typeof raw.eventsLast24h === "number" ? raw.eventsLast24h : null,
    ingestKeys: typeof raw.ingestKeys === "number" ? raw.ingestKeys : null,
  };
}

export function ingestKeyFrom(raw: Partial<IngestKey> & Pick<IngestKey, "id">): IngestKey {
  return {
    id: raw.id,
    prefix: raw.prefix ?? "",
    createdAt: raw.createdAt ?? "",
    lastUsedAt: raw.lastUsedAt ?? null,
    expiresAt: raw.expiresAt ?? null,
  };
}

const enc = encodeURIComponent;

/** Pages through a list route to its end: the pages show every organisation, not the first 200. */
export async function allPages<T>(api: Api, path: string, maxPages = 50): Promise<T[]> {
  const items: T[] = [];
  let cursor: string | null = null;
  for (let i = 0; i < maxPages; i++) {
    const q = new URLSearchParams({ limit: "200" });
    if (cursor) q.set("cursor", cursor);
    const page: Page<T> = await api.request<Page<T>>("GET", `${path}?${q.toString()}`);
    items.push(...page.data);
    cursor = page.nextCursor;
    if (!cursor) break;
  }
  return items;
}

export async function listOrganisations(api: Api): Promise<Organisation[]> {
  return (await allPages<Organisation>(api, "/v1/organisations")).map(organisationFrom);
}

export async function getOrganisation(api: Api, id: string): Promise<Organisation> {
  return organisationFrom(await api.request<Organisation>("GET", `/v1/organisations/${enc(id)}`));
}

export function createOrganisation(api: Api, name: string): Promise<OrganisationCreated> {
  return api.request("POST", "/v1/organisations", { name });
}

export async function updateOrganisation(api: Api, id: string, patch: OrganisationPatch): Promise<Organisation> {
  return organisationFrom(await api.request<Organisation>("PATCH", `/v1/organisations/${enc(id)}`, patch));
}

export async function listIngestKeys(api: Api, orgId: string): Promise<IngestKey[]> {
  const page = await api.request<Page<IngestKey>>("GET", `/v1/organisations/${enc(orgId)}/ingest-keys?limit=200`);
  return page.data.map(ingestKeyFrom);
}

/** A new key. With `overlapSeconds` it is a rotation: the older keys stop working after it. */
export function createIngestKey(api: Api, orgId: string, overlapSeconds?: number): Promise<IngestKeyCreated> {
  const body = overlapSeconds === undefined ? {} : { overlapSeconds };
  return api.request("POST", `/v1/organisations/${enc(orgId)}/ingest-keys`, body);
}

export function revokeIngestKey(api: Api, orgId: string, keyId: string): Promise<void> {
  return api.request("DELETE", `/v1/organisations/${enc(orgId)}/ingest-keys/${enc(keyId)}`);
}
