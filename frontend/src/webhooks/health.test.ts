import { describe, expect, it } from "vitest";
import { latencySeries, millis, percent, rateTone } from "./health";
import type { WebhookStats } from "../operations";

describe("card health formatting", () => {
  it.each([
    [null, "—"],
    [1, "100%"],
    [0, "0%"],
    [0.995, "99.5%"],
    [0.99999, "99.9%"],
    [0.00001, "0.1%"],
    [0.5, "50%"],
  ])("percent(%s) = %s", (rate, text) => {
    expect(percent(rate)).toBe(text);
  });

  it.each([
    [null, "—"],
    [0.4, "0 ms"],
    [120.4, "120 ms"],
    [1234, "1.2 s"],
    [12_345, "12 s"],
  ])("millis(%s) = %s", (ms, text) => {
    expect(millis(ms)).toBe(text);
  });

  it("tones the success rate", () => {
    expect(rateTone(null)).toBe("none");
    expect(rateTone(1)).toBe("ok");
    expect(rateTone(0.95)).toBe("warn");
    expect(rateTone(0.5)).toBe("bad");
  });

  it("draws the sparkline only from buckets that have a latency", () => {
    const stats = {
      series: [
        { start: "a", attempts: 1, successes: 1, failures: 0, p50: 12 },
        { start: "b", attempts: 2, successes: 2, failures: 0, latencyMs: 30.5 },
        { start: "c", attempts: 0, successes: 0, failures: 0, latencyMs: null },
        { start: "d", attempts: 0, successes: 0, failures: 0 },
      ],
    } as unknown as WebhookStats;
    expect(latencySeries(stats)).toEqual([12, 30.5, null, null]);
  });
});
