/** Hash routes: #/webhooks (default), #/simulations[?webhook=ID], #/deliveries/ID. */

export type Route =
  | { name: "webhooks" }
  | { name: "simulations"; webhookId: string | null }
  | { name: "deliveries"; webhookId: string };

export function parseRoute(hash: string): Route {
  const raw = hash.replace(/^#/, "");
  const [path = "", query = ""] = raw.split("?", 2);
  const parts = path.split("/").filter(Boolean).map(safeDecode);
  const params = new URLSearchParams(query);
  if (parts[0] === "simulations") return { name: "simulations", webhookId: params.get("webhook") || null };
  if (parts[0] === "deliveries" && parts[1]) return { name: "deliveries", webhookId: parts[1] };
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
  }
}

function safeDecode(part: string): string {
  try {
    return decodeURIComponent(part);
  } catch {
    return part;
  }
}
