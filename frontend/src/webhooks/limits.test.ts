import { describe, expect, it } from "vitest";
import { limitsText } from "./card";
import { limitValue } from "./form";

describe("webhook limits", () => {
  it("reads an empty field as no limit and anything else as a number for the API to check", () => {
    expect(limitValue("")).toBeNull();
    expect(limitValue("  ")).toBeNull();
    expect(limitValue("4")).toBe(4);
    expect(limitValue(" 2.5 ")).toBe(2.5);
  });

  it("shows only the limits a webhook has", () => {
    expect(limitsText({ maxInFlight: null, ratePerSecond: null })).toBe("");
    expect(limitsText({ maxInFlight: 4, ratePerSecond: null })).toBe("≤ 4 at once");
    expect(limitsText({ maxInFlight: 4, ratePerSecond: 2.5 })).toBe("≤ 4 at once · ≤ 2.5/s");
  });
});
