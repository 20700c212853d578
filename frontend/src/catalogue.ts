/** The event-type catalogue as the dashboard shows it (SPEC §1): label, colour and icon per type. */

export const EVENT_TYPES = [
  "desktop.app_tracking.captured",
  "desktop.screenshot_tracking.captured",
  "desktop.activity_tracking.captured",
] as const;

export type EventType = (typeof EVENT_TYPES)[number];

export type Colour = "blue" | "orange" | "green";

export interface EventTypeInfo {
  readonly type: EventType;
  readonly label: string;
  readonly colour: Colour;
  readonly icon: "monitor" | "camera" | "activity";
  readonly description: string;
}

export const CATALOGUE: Readonly<Record<EventType, EventTypeInfo>> = {
  "desktop.app_tracking.captured": {
    type: "desktop.app_tracking.captured",
    label: "Tracking Event",
    colour: "blue",
    icon: "monitor",
    description: "App or website usage tracked on an employee's desktop",
  },
  "desktop.screenshot_tracking.captured": {
    type: "desktop.screenshot_tracking.captured",
    label: "Screenshot Event",
    colour: "orange",
    icon: "camera",
    description: "A screenshot captured from an employee's desktop",
  },
  "desktop.activity_tracking.captured": {
    type: "desktop.activity_tracking.captured",
    label: "Activity Event",
    colour: "green",
    icon: "activity",
    description: "An employee's work mode or privacy mode changed",
  },
};

export function isEventType(value: unknown): value is EventType {
  return typeof value === "string" && (EVENT_TYPES as readonly string[]).includes(value);
}

/** Catalogue order, so tabs and checkboxes never reorder with the server's list. */
export function sortTypes(types: Iterable<string>): EventType[] {
  const wanted = new Set(types);
  return EVENT_TYPES.filter((t) => wanted.has(t));
}
