import { describe, expect, it } from "vitest";
import { deliveriesQuery } from "../operations";
import { NO_FILTERS, filtersFromHash, fromLocalInput, hasFilters, hashWithFilters, toLocalInput } from "./filters";

const APP = "desktop.app_tracking.captured";

describe("filters in the URL", () => {
  it("round-trips every filter through the hash", () => {
    const filters = {
      status: "failed" as const,
      eventType: APP as typeof APP,
      organisationId: "org_1",
      eventId: "evt_42",
      since: "2026-11-30T10:00:00.000Z",
      until: "2026-12-01T10:00:00.000Z",
    };
    const hash = hashWithFilters("wh_1", filters);
    expect(hash).toBe(
      `#/deliveries/wh_1?status=failed&eventType=${APP}&organisationId=org_1&eventId=evt_42&since=2026-11-30T10%3A00%3A00.000Z&until=2026-12-01T10%3A00%3A00.000Z`,
    );
    expect(filtersFromHash(hash)).toEqual(filters);
  });

  it("has no query without filters", () => {
    expect(hashWithFilters("wh/1", NO_FILTERS)).toBe("#/deliveries/wh%2F1");
    expect(filtersFromHash("#/deliveries/wh_1")).toEqual(NO_FILTERS);
    expect(hasFilters(NO_FILTERS)).toBe(false);
    expect(hasFilters({ ...NO_FILTERS, eventId: "evt_1" })).toBe(true);
  });

  it("drops what it does not know instead of sending it to the API", () => {
    const f = filtersFromHash("#/deliveries/wh_1?status=exploded&eventType=nope&since=yesterday&until=&eventId=%20evt_9%20");
    expect(f).toEqual({ ...NO_FILTERS, eventId: "evt_9" });
  });

  it("normalises any parseable time to an ISO instant", () => {
    expect(filtersFromHash("#/deliveries/w?since=2026-12-01T10:00:00Z").since).toBe("2026-12-01T10:00:00.000Z");
  });
});

describe("datetime-local values", () => {
  it("converts local input to an instant and back", () => {
    const iso = fromLocalInput("2026-12-01T09:30");
    expect(iso).not.toBe("");
    expect(toLocalInput(iso)).toBe("2026-12-01T09:30");
  });

  it("is empty for empty or malformed input", () => {
    expect(fromLocalInput("")).toBe("");
    expect(fromLocalInput("tomorrow")).toBe("");
    expect(toLocalInput("")).toBe("");
    expect(toLocalInput("garbage")).toBe("");
  });
});

describe("deliveriesQuery", () => {
  it("sends only the filters that are set, with the webhook, limit and cursor", () => {
    const q = new URLSearchParams(deliveriesQuery("wh_1", { ...NO_FILTERS, status: "failed", organisationId: "org_2" }, "c1"));
    expect(Object.fromEntries(q)).toEqual({ webhookId: "wh_1", limit: "25", status: "failed", organisationId: "org_2", cursor: "c1" });
  });
});
