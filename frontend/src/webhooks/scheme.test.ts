import { describe, expect, it } from "vitest";
import { schemeLabel, schemeOf, schemeToSend } from "./scheme";

describe("signature scheme", () => {
  it("reads the webhook's scheme, Hookline when the server has none", () => {
    expect(schemeOf({ signatureScheme: "standard-webhooks" })).toBe("standard-webhooks");
    expect(schemeOf({ signatureScheme: "hookline" })).toBe("hookline");
    expect(schemeOf({})).toBe("hookline");
    expect(schemeLabel("standard-webhooks")).toBe("Standard Webhooks");
  });

  it("sends the scheme only when the choice changes it", () => {
    expect(schemeToSend("hookline", null)).toEqual({});
    expect(schemeToSend("standard-webhooks", null)).toEqual({ signatureScheme: "standard-webhooks" });
    expect(schemeToSend("standard-webhooks", "standard-webhooks")).toEqual({});
    expect(schemeToSend("hookline", "standard-webhooks")).toEqual({ signatureScheme: "hookline" });
  });
});
