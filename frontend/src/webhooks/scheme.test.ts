import { describe, expect, it } from "vitest";
import { overlapBody } from "./rotate";
import { schemeLabel, schemeOf, schemeToSend } from "./scheme";

describe("signature scheme", () => {
  it("reads the webhook's scheme, Hookline when the server has none", () => {
    expect(schemeOf({ id: "w", signatureScheme: "standard-webhooks" })).toBe("standard-webhooks");
    expect(schemeOf({ id: "w", signatureScheme: "hookline" })).toBe("hookline");
    expect(schemeOf({ id: "w" })).toBe("hookline");
    expect(schemeLabel("standard-webhooks")).toBe("Standard Webhooks");
  });

  it("sends the scheme only when the choice changes it", () => {
    expect(schemeToSend("hookline", null)).toEqual({});
    expect(schemeToSend("standard-webhooks", null)).toEqual({ signatureScheme: "standard-webhooks" });
    expect(schemeToSend("standard-webhooks", "standard-webhooks")).toEqual({});
    expect(schemeToSend("hookline", "standard-webhooks")).toEqual({ signatureScheme: "hookline" });
  });
});

describe("secret rotation", () => {
  it("leaves the overlap to the server unless one is chosen", () => {
    expect(overlapBody("")).toEqual({});
    expect(overlapBody("0")).toEqual({ overlapSeconds: 0 });
    expect(overlapBody("86400")).toEqual({ overlapSeconds: 86_400 });
  });
});
