/**
 * The per-webhook `traceparent` opt-in (SPEC 7, issue 16): deliveries carry a W3C
 * `traceparent` header, but only while the server has tracing on, so the form says so.
 */
export const TRACEPARENT_HINT = "Applies only while the server has tracing on.";

/** Whether a webhook opted in; a server older than SPEC 7 has no field (= off). */
export function traceparentOf(w: { sendTraceparent?: boolean }): boolean {
  return w.sendTraceparent === true;
}

/**
 * What the form sends: always on create (the choice is explicit), on edit only when the
 * box changed, so a save that leaves it alone does not mention it (like the scheme).
 */
export function traceparentToSend(chosen: boolean, existing: boolean | null): { sendTraceparent?: boolean } {
  return existing !== null && chosen === existing ? {} : { sendTraceparent: chosen };
}
