import { describe, expect, it } from "vitest";
import { endpointSummary, failureKindsText, totalFailures } from "./health";
import { recoveryText, replayText, windowField } from "./recover";

const healthy = { state: "healthy" as const, enabled: true, disabledReason: null, disabledAt: null, consecutiveFailures: 0, failingSince: null, breaker: "closed" as const };

describe("health panel text", () => {
  it("lists failures by kind, plural where needed", () => {
    const f = { timeout: 2, networkError: 0, httpError: 1, refused: 1 };
    expect(failureKindsText(f)).toBe("1 HTTP error · 2 timeouts · 1 refused");
    expect(totalFailures(f)).toBe(4);
    expect(failureKindsText({ timeout: 0, networkError: 0, httpError: 0, refused: 0 })).toBe("");
  });

  it("summarises the endpoint from its state", () => {
    expect(endpointSummary(healthy).tone).toBe("healthy");
    expect(endpointSummary({ ...healthy, state: "failing", consecutiveFailures: 3 })).toMatchObject({ tone: "failing", detail: "3 consecutive failures." });
    expect(endpointSummary({ ...healthy, state: "paused", consecutiveFailures: 1, breaker: "open" })).toMatchObject({ tone: "paused", title: "Circuit open" });
    expect(endpointSummary({ ...healthy, state: "disabled", enabled: false, disabledReason: "Failing for 5 days", breaker: "open" })).toMatchObject({ tone: "disabled", detail: "Failing for 5 days" });
  });
});

describe("recover and replay text", () => {
  it("tells the recovery's progress", () => {
    expect(recoveryText({ state: "running", matched: 5, queued: 2 })).toBe("Running: 2 of 5 matching deliveries queued again so far…");
    expect(recoveryText({ state: "done", matched: 1, queued: 1 })).toBe("Done: 1 of 1 matching delivery queued again.");
    expect(recoveryText({ state: "done", matched: 0, queued: 0 })).toBe("No delivery matched: nothing to send again.");
    expect(recoveryText({ state: "stopped", matched: 4, queued: 1 })).toBe(
      "Stopped: 1 of 4 matching deliveries queued again; the webhook was disabled or deleted meanwhile.",
    );
  });

  it("tells the replay's count and a clamped window", () => {
    const base = { webhookId: "w", since: "2026-12-01T00:00:00Z", until: null };
    expect(replayText({ ...base, created: 0, clamped: false })).toBe("No missing deliveries for events this webhook never had.");
    expect(replayText({ ...base, created: 3, clamped: false })).toBe("Created 3 deliveries for events this webhook never had.");
    expect(replayText({ ...base, created: 1, clamped: true })).toContain("older events are no longer kept");
  });

  it("maps API error keys to the form's fields", () => {
    const fields = ["since", "until", "statuses", "eventTypes"];
    expect(windowField("since", fields)).toBe("since");
    expect(windowField("body.until", fields)).toBe("until");
    expect(windowField("eventTypes.0", fields)).toBe("eventTypes");
    expect(windowField("other", fields)).toBeNull();
  });
});
