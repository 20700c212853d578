/** Pure wording for the Organisations and Settings pages (unit-tested with a fixed clock). */
import { toMs } from "../ui/time";

/** The overlaps a rotation offers: how long the older keys keep working. */
export const OVERLAPS: readonly { label: string; seconds: number }[] = [
  { label: "None: older keys stop at once", seconds: 0 },
  { label: "1 hour", seconds: 3600 },
  { label: "24 hours", seconds: 86_400 },
  { label: "7 days", seconds: 604_800 },
];

const numberFmt = new Intl.NumberFormat("en");

/** "No events", "1 event", "12,345 events"; "—" when unknown. */
export function eventsText(count: number | null): string {
  if (count === null) return "—";
  if (count === 0) return "No events";
  return `${numberFmt.format(count)} ${count === 1 ? "event" : "events"}`;
}

/** "in 30 sec", "in 5 min", "in 23 hr", "in 2 days"; past times read "now". */
export function untilText(thenMs: number, nowMs: number): string {
  const seconds = Math.ceil((thenMs - nowMs) / 1000);
  if (!Number.isFinite(seconds) || seconds <= 0) return "now";
  if (seconds < 60) return `in ${seconds} sec`;
  const minutes = Math.floor(seconds / 60);
  if (minutes < 60) return `in ${minutes} min`;
  const hours = Math.floor(minutes / 60);
  if (hours < 24) return `in ${hours} hr`;
  const days = Math.floor(hours / 24);
  return days === 1 ? "in 1 day" : `in ${days} days`;
}

export type KeyState = "active" | "expiring" | "expired";

/** A key with an `expiresAt` is running out an overlap; past it, the API refuses it. */
export function keyState(expiresAt: string | null, nowMs: number): KeyState {
  if (!expiresAt) return "active";
  const at = toMs(expiresAt);
  if (Number.isNaN(at)) return "active";
  return at > nowMs ? "expiring" : "expired";
}

export function keyStateText(expiresAt: string | null, nowMs: number): string {
  switch (keyState(expiresAt, nowMs)) {
    case "active":
      return "Active";
    case "expiring":
      return `Expires ${untilText(toMs(expiresAt), nowMs)}`;
    case "expired":
      return "Expired";
  }
}

/** A name as typed: trimmed; the API says whether it is acceptable. */
export function cleanName(raw: string): string {
  return raw.trim();
}
