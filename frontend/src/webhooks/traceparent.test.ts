import { describe, expect, it } from "vitest";
import { traceparentOf, traceparentToSend } from "./traceparent";

describe("traceparent opt-in", () => {
  it("reads the webhook's choice, off when the server has none", () => {
    expect(traceparentOf({ sendTraceparent: true })).toBe(true);
    expect(traceparentOf({ sendTraceparent: false })).toBe(false);
    expect(traceparentOf({})).toBe(false);
  });

  it("sends the choice on create, and on edit only when it changes", () => {
    expect(traceparentToSend(false, null)).toEqual({ sendTraceparent: false });
    expect(traceparentToSend(true, null)).toEqual({ sendTraceparent: true });
    expect(traceparentToSend(true, true)).toEqual({});
    expect(traceparentToSend(false, false)).toEqual({});
    expect(traceparentToSend(true, false)).toEqual({ sendTraceparent: true });
    expect(traceparentToSend(false, true)).toEqual({ sendTraceparent: false });
  });
});
