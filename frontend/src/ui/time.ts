/** Time formatting. Pure functions of their inputs (the feed tests drive them with a fake clock). */

/** "just now", "3 sec ago", "2 min ago", "5 hr ago", "1 day ago"; future times clamp to "just now". */
export function relativeTime(thenMs: number, nowMs: number): string {
  const seconds = Math.floor((nowMs - thenMs) / 1000);
  if (!Number.isFinite(seconds) || seconds < 1) return "just now";
  if (seconds < 60) return `${seconds} sec ago`;
  const minutes = Math.floor(seconds / 60);
  if (minutes < 60) return `${minutes} min ago`;
  const hours = Math.floor(minutes / 60);
  if (hours < 24) return `${hours} hr ago`;
  const days = Math.floor(hours / 24);
  return days === 1 ? "1 day ago" : `${days} days ago`;
}

/** Parses an ISO-8601 string or epoch ms; NaN when unusable. */
export function toMs(value: string | number | null | undefined): number {
  if (typeof value === "number") return value;
  if (!value) return Number.NaN;
  return Date.parse(value);
}

const dateTimeFmt = new Intl.DateTimeFormat(undefined, {
  year: "numeric",
  month: "short",
  day: "numeric",
  hour: "2-digit",
  minute: "2-digit",
  second: "2-digit",
});
const dateFmt = new Intl.DateTimeFormat(undefined, { year: "numeric", month: "short", day: "numeric" });

export function formatDateTime(value: string | number | null | undefined): string {
  const ms = toMs(value);
  return Number.isNaN(ms) ? "—" : dateTimeFmt.format(ms);
}

export function formatDate(value: string | number | null | undefined): string {
  const ms = toMs(value);
  return Number.isNaN(ms) ? "—" : dateFmt.format(ms);
}
