/** Hash routes: #/webhooks (default), #/simulations[?webhook=ID], #/deliveries/ID, #/organisations, #/settings. */

export type Route =
  | { name: "webhooks" }
  | { name: "simulations"; webhookId: string | null }
  | { name: "deliveries"; webhookId: string }
  | { name: "organisations" }
  | { name: "settings" };

export function parseRoute(hash: string): Route {
  const raw = hash.replace(/^#/, "");
  const [path = "", query = ""] = raw.split("?", 2);
  const parts = path.split("/").filter(Boolean).map(safeDecode);
  const params = new URLSearchParams(query);
  if (parts[0] === "simulations") return { name: "simulations", webhookId: params.get("webhook") || null };
  if (parts[0] === "deliveries" && parts[1]) return { name: "deliveries", webhookId: parts[1] };
  if (parts[0] === "organisations") return { name: "organisations" };
  if (parts[0] === "settings") return { name: "settings" };
  return { name: "webhooks" };
}

export function href(route: Route): string {
  switch (route.name) {
    case "webhooks":
      return "#/webhooks";
    case "simulations":
      return route.webhookId ? `#/simulations?webhook=${encodeURIComponent(route.webhookId)}` : "#/simulations";
    case "deliveries":
      return `#/deliveries/${encodeURIComponent(route.webhookId)}`;
    case "organisations":
      return "#/organisations";
    case "settings":
      return "#/settings";
  }
}

function safeDecode(part: string): string {
  try {
    return decodeURIComponent(part);
  } catch {
    return part;
  }
}
