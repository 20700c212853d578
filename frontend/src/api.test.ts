import { describe, expect, it } from "vitest";
import { Api, ApiError, errorFromBody } from "./api";

describe("errorFromBody", () => {
  it("reads the documented envelope with per-field messages", () => {
    const err = errorFromBody(422, {
      error: {
        code: "validation_error",
        message: "Invalid webhook",
        fields: { url: "URL must use https", events: ["At least one", "event"] },
      },
    });
    expect(err).toBeInstanceOf(ApiError);
    expect(err.status).toBe(422);
    expect(err.code).toBe("validation_error");
    expect(err.message).toBe("Invalid webhook");
    expect(err.fields).toEqual({ url: "URL must use https", events: "At least one event" });
  });

  it("has no fields when the API sent none", () => {
    const err = errorFromBody(404, { error: { code: "not_found", message: "Webhook not found" } });
    expect(err.fields).toEqual({});
    expect(err.code).toBe("not_found");
  });

  it("tolerates FastAPI's default detail, plain text and HTML pages", () => {
    expect(errorFromBody(405, { detail: "Method Not Allowed" }).message).toBe("Method Not Allowed");
    expect(errorFromBody(502, "Bad gateway").message).toBe("Bad gateway");
    const html = errorFromBody(500, "<html><body>oops</body></html>");
    expect(html.message).toBe("Request failed (HTTP 500)");
    expect(html.code).toBe("http_500");
    expect(errorFromBody(500, null).message).toBe("Request failed (HTTP 500)");
  });
});

function fakeFetch(status: number, body: string, seen: { url?: string; init?: RequestInit }[] = []) {
  return (url: string, init?: RequestInit): Promise<Response> => {
    seen.push({ url, ...(init ? { init } : {}) });
    return Promise.resolve(new Response(status === 204 ? null : body, { status }));
  };
}

describe("Api", () => {
  it("sends the bearer key and JSON body to a relative URL", async () => {
    const seen: { url?: string; init?: RequestInit }[] = [];
    const api = new Api("hk_test", { fetch: fakeFetch(201, '{"id":"whk_1"}', seen) });
    const created = await api.createWebhook({ name: "n", url: "https://x.example", events: [] });
    expect(created.id).toBe("whk_1");
    const call = seen[0];
    expect(call?.url).toBe("/v1/webhooks");
    expect(call?.init?.method).toBe("POST");
    const headers = call?.init?.headers as Record<string, string>;
    expect(headers.Authorization).toBe("Bearer hk_test");
    expect(headers["Content-Type"]).toBe("application/json");
    expect(JSON.parse(String(call?.init?.body))).toEqual({ name: "n", url: "https://x.example", events: [] });
  });

  it("returns undefined for 204", async () => {
    const api = new Api("hk", { fetch: fakeFetch(204, "") });
    await expect(api.deleteWebhook("whk_1")).resolves.toBeUndefined();
  });

  it("throws ApiError with fields on 422", async () => {
    const body = JSON.stringify({
      error: { code: "validation_error", message: "Invalid", fields: { name: "Name is required" } },
    });
    const api = new Api("hk", { fetch: fakeFetch(422, body) });
    const err = await api.createWebhook({ name: "", url: "", events: [] }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ApiError);
    expect((err as ApiError).fields.name).toBe("Name is required");
  });

  it("calls onUnauthorized on 401", async () => {
    let signedOut = 0;
    const body = JSON.stringify({ error: { code: "unauthorized", message: "Invalid API key" } });
    const api = new Api("hk_bad", { fetch: fakeFetch(401, body), onUnauthorized: () => (signedOut += 1) });
    await expect(api.me()).rejects.toMatchObject({ status: 401, code: "unauthorized" });
    expect(signedOut).toBe(1);
  });

  it("turns a network failure into ApiError status 0", async () => {
    const api = new Api("hk", { fetch: () => Promise.reject(new TypeError("Failed to fetch")) });
    await expect(api.me()).rejects.toMatchObject({ status: 0, code: "network_error" });
  });

  it("encodes ids and query parameters", async () => {
    const seen: { url?: string }[] = [];
    const api = new Api("hk", { fetch: fakeFetch(200, '{"data":[],"nextCursor":null}', seen) });
    await api.listDeliveries("whk/1", "c&2", "failed");
    expect(seen[0]?.url).toBe("/v1/deliveries?webhookId=whk%2F1&limit=25&cursor=c%262&status=failed");
  });
});
