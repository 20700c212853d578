import { describe, expect, it } from "vitest";
import { href, parseRoute } from "./router";

describe("parseRoute", () => {
  it.each([
    ["", { name: "webhooks" }],
    ["#/", { name: "webhooks" }],
    ["#/webhooks", { name: "webhooks" }],
    ["#/nope", { name: "webhooks" }],
    ["#/simulations", { name: "simulations", webhookId: null }],
    ["#/simulations?webhook=whk_1", { name: "simulations", webhookId: "whk_1" }],
    ["#/deliveries/whk_2", { name: "deliveries", webhookId: "whk_2" }],
    ["#/deliveries", { name: "webhooks" }],
    ["#/organisations", { name: "organisations" }],
    ["#/settings", { name: "settings" }],
  ])("%s", (hash, route) => {
    expect(parseRoute(hash)).toEqual(route);
  });

  it("round-trips through href", () => {
    const route = { name: "deliveries", webhookId: "a/b c" } as const;
    expect(parseRoute(href(route))).toEqual(route);
  });
});
