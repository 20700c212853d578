import { describe, expect, it } from "vitest";
import { Api, ApiError } from "../api";
import { isCurrentKey, listApiKeys } from "../settings/api";
import { createIngestKey, listOrganisations, organisationFrom, revokeIngestKey, updateOrganisation } from "./api";
import { eventsText, keyState, keyStateText, untilText } from "./format";
import { nameMessage } from "./name-form";

type Seen = { url: string; method: string; body: unknown }[];

/** An API client whose fetch records each request and answers with `reply`. */
function recordingApi(reply: unknown, status = 200): { api: Api; seen: Seen } {
  const seen: Seen = [];
  const api = new Api("hk_abcdefghijKLMNOP", {
    fetch: (url, init) => {
      seen.push({ url, method: init?.method ?? "GET", body: init?.body ? JSON.parse(String(init.body)) : undefined });
      const text = status === 204 ? null : JSON.stringify(reply);
      return Promise.resolve(new Response(text, { status }));
    },
  });
  return { api, seen };
}

const NOW = Date.parse("2026-12-01T12:00:00Z");

describe("wording", () => {
  it("counts events", () => {
    expect(eventsText(0)).toBe("No events");
    expect(eventsText(null)).toBe("—");
    expect(eventsText(1)).toBe("1 event");
    expect(eventsText(12345)).toBe("12,345 events");
  });

  it("says how long until an overlap runs out", () => {
    expect(untilText(NOW + 30_000, NOW)).toBe("in 30 sec");
    expect(untilText(NOW + 5 * 60_000 + 1, NOW)).toBe("in 5 min");
    expect(untilText(NOW + 23 * 3_600_000 + 59 * 60_000, NOW)).toBe("in 23 hr");
    expect(untilText(NOW + 86_400_000, NOW)).toBe("in 1 day");
    expect(untilText(NOW + 7 * 86_400_000, NOW)).toBe("in 7 days");
    expect(untilText(NOW - 1, NOW)).toBe("now");
    expect(untilText(Number.NaN, NOW)).toBe("now");
  });

  it("tells active, expiring and expired keys apart", () => {
    expect(keyState(null, NOW)).toBe("active");
    expect(keyState("2026-12-01T13:00:00Z", NOW)).toBe("expiring");
    expect(keyState("2026-12-01T11:59:59Z", NOW)).toBe("expired");
    expect(keyStateText("2026-12-01T13:00:00Z", NOW)).toBe("Expires in 1 hr");
    expect(keyStateText(null, NOW)).toBe("Active");
    expect(keyStateText("2026-12-01T11:00:00Z", NOW)).toBe("Expired");
  });
});

describe("organisation routes", () => {
  it("lists organisations, defaulting what an older server leaves out", async () => {
    const { api, seen } = recordingApi({
      data: [
        { id: "org_1", name: "Acme", createdAt: "2026-12-01T10:00:00Z", enabled: false, eventsLast24h: 7 },
        { id: "org_2", name: "Old", createdAt: "2026-11-01T10:00:00Z" },
      ],
      nextCursor: null,
    });
    const orgs = await listOrganisations(api);
    expect(seen).toMatchObject([{ url: "/v1/organisations?limit=200", method: "GET" }]);
    expect(orgs.map((o) => [o.name, o.enabled, o.eventsLast24h])).toEqual([
      ["Acme", false, 7],
      ["Old", true, null],
    ]);
  });

  it("follows the cursor to the end of the list", async () => {
    const seen: string[] = [];
    const pages: Record<string, unknown> = {
      "": { data: [{ id: "org_1", name: "A" }], nextCursor: "c/2" },
      "c/2": { data: [{ id: "org_2", name: "B" }], nextCursor: null },
    };
    const api = new Api("hk_x", {
      fetch: (url) => {
        seen.push(url);
        const cursor = new URL(url, "http://x").searchParams.get("cursor") ?? "";
        return Promise.resolve(new Response(JSON.stringify(pages[cursor]), { status: 200 }));
      },
    });
    expect((await listOrganisations(api)).map((o) => o.id)).toEqual(["org_1", "org_2"]);
    expect(seen).toEqual(["/v1/organisations?limit=200", "/v1/organisations?limit=200&cursor=c%2F2"]);
  });

  it("patches only what changes", async () => {
    const { api, seen } = recordingApi({ id: "org/1", name: "New", enabled: true, createdAt: "x", eventsLast24h: 0 });
    const org = await updateOrganisation(api, "org/1", { name: "New" });
    expect(org.name).toBe("New");
    expect(seen[0]).toEqual({ url: "/v1/organisations/org%2F1", method: "PATCH", body: { name: "New" } });
    expect(organisationFrom({ id: "a", name: "b" }).enabled).toBe(true);
  });

  it("creates a key beside the others, or rotates with an overlap (0: at once)", async () => {
    const { api, seen } = recordingApi({ id: "key_1", ingestKey: "ik_x" }, 201);
    expect((await createIngestKey(api, "org_1")).ingestKey).toBe("ik_x");
    await createIngestKey(api, "org_1", 0);
    await createIngestKey(api, "org_1", 3600);
    expect(seen.map((s) => s.body)).toEqual([{}, { overlapSeconds: 0 }, { overlapSeconds: 3600 }]);
    expect(seen.every((s) => s.url === "/v1/organisations/org_1/ingest-keys" && s.method === "POST")).toBe(true);
  });

  it("revokes one key", async () => {
    const { api, seen } = recordingApi(null, 204);
    await expect(revokeIngestKey(api, "org_1", "key_2")).resolves.toBeUndefined();
    expect(seen[0]).toMatchObject({ url: "/v1/organisations/org_1/ingest-keys/key_2", method: "DELETE" });
  });
});

describe("API keys", () => {
  it("marks the key in use from the API's `current`, else from the visible prefix", () => {
    const signedIn = "hk_abcdefghijKLMNOP";
    expect(isCurrentKey({ prefix: "hk_abcdefghi", current: false }, signedIn)).toBe(false);
    expect(isCurrentKey({ prefix: "hk_zzzzzzzzz", current: true }, signedIn)).toBe(true);
    expect(isCurrentKey({ prefix: "hk_abcdefghi" }, signedIn)).toBe(true);
    expect(isCurrentKey({ prefix: "hk_abcdefghX" }, signedIn)).toBe(false);
    expect(isCurrentKey({ prefix: "" }, signedIn)).toBe(false);
  });

  it("lists keys with the current one marked", async () => {
    const { api } = recordingApi({
      data: [
        { id: "k1", name: "Dashboard", prefix: "hk_abcdefghi", createdAt: "t", lastUsedAt: "t" },
        { id: "k2", name: "CI", prefix: "hk_other0000", createdAt: "t" },
      ],
      nextCursor: null,
    });
    const keys = await listApiKeys(api, "hk_abcdefghijKLMNOP");
    expect(keys.map((k) => [k.name, k.current, k.lastUsedAt])).toEqual([
      ["Dashboard", true, "t"],
      ["CI", false, null],
    ]);
  });

  it("finds the name's 422 message under any path", () => {
    expect(nameMessage(new ApiError(422, "validation_error", "bad", { "body.name": "Too long" }))).toBe("Too long");
    expect(nameMessage(new ApiError(422, "validation_error", "bad", { other: "x" }))).toBeNull();
  });
});
