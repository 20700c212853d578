import { describe, expect, it } from "vitest";
import { phaseShares, phaseText, selfCheckState } from "./timing";

describe("timing breakdown", () => {
  it("formats phases, a missing one as a dash", () => {
    expect(phaseText(null)).toBe("—");
    expect(phaseText(0.44)).toBe("0.4 ms");
    expect(phaseText(12.345)).toBe("12.3 ms");
    expect(phaseText(250.6)).toBe("251 ms");
  });

  it("gives each phase its share of the total", () => {
    expect(phaseShares({ dns: null, connect: 10, tls: null, firstByte: 30, total: 40 })).toEqual([0, 25, 0, 75]);
    expect(phaseShares({ dns: 1, connect: 1, tls: 1, firstByte: 1, total: 0 })).toEqual([0, 0, 0, 0]);
  });
});

describe("signature self-check", () => {
  it("warns exactly when the mis-signed copy was accepted", () => {
    expect(selfCheckState({ sent: true, status: 200, acceptedBadSignature: true, error: null })).toBe("warning");
    expect(selfCheckState({ sent: true, status: 401, acceptedBadSignature: false, error: null })).toBe("ok");
    expect(selfCheckState({ sent: true, status: null, acceptedBadSignature: false, error: "timeout" })).toBe("error");
    expect(selfCheckState({ sent: false, status: null, acceptedBadSignature: false, error: null })).toBe("skipped");
  });
});
