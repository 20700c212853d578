import { describe, expect, it } from "vitest";
import { sparklinePath, stackedBars } from "./chart";

describe("sparklinePath", () => {
  it("is empty without any value", () => {
    expect(sparklinePath([], 100, 20)).toBe("");
    expect(sparklinePath([null, null], 100, 20)).toBe("");
  });

  it("spans the width and puts the slowest bucket at the top", () => {
    // width 104, pad 2: x = 2, 52, 102; height 24: y from 2 (max) to 22 (min)
    expect(sparklinePath([10, 30, 20], 104, 24)).toBe("M2 22 L52 2 L102 12");
  });

  it("breaks the line at empty buckets", () => {
    expect(sparklinePath([10, null, 20, 30], 104, 24)).toBe("M2 22 h0.1 M68.7 12 L102 2");
  });

  it("draws a flat line through the middle when every bucket is the same", () => {
    expect(sparklinePath([5, 5], 100, 20)).toBe("M2 10 L98 10");
  });
});

describe("stackedBars", () => {
  it("scales to the busiest bucket with failures on top of successes", () => {
    const { bars, max } = stackedBars(
      [
        { successes: 3, failures: 1 },
        { successes: 0, failures: 0 },
        { successes: 1, failures: 1 },
      ],
      300,
      100,
    );
    expect(max).toBe(4);
    expect(bars).toHaveLength(3);
    expect(bars[0]).toEqual({ x: 1, width: 98, okY: 25, okHeight: 75, failY: 0, failHeight: 25 });
    expect(bars[1]).toMatchObject({ x: 101, okHeight: 0, failHeight: 0 });
    expect(bars[2]).toMatchObject({ x: 201, okY: 75, okHeight: 25, failY: 50, failHeight: 25 });
  });

  it("draws nothing tall for an empty window", () => {
    const { bars, max } = stackedBars([{ successes: 0, failures: 0 }], 100, 50);
    expect(max).toBe(0);
    expect(bars[0]).toMatchObject({ okHeight: 0, failHeight: 0 });
  });
});
