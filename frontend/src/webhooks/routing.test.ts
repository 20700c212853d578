import { describe, expect, it } from "vitest";
import { fieldFor } from "./form";
import { ALL_ORGANISATIONS, routingText } from "./routing";

const names = new Map([
  ["org_a", "Acme"],
  ["org_b", "Beta"],
  ["org_c", "Gamma"],
]);

describe("routingText", () => {
  it("says all organisations when none is chosen", () => {
    expect(routingText([], names)).toBe(ALL_ORGANISATIONS);
    expect(routingText(undefined, names)).toBe(ALL_ORGANISATIONS);
  });

  it("names the chosen ones in the reseller's order", () => {
    expect(routingText(["org_c", "org_a"], names)).toBe("Acme, Gamma");
  });

  it("shows an id it cannot name rather than hiding it", () => {
    expect(routingText(["org_x", "org_b"], names)).toBe("Beta, org_x");
  });
});

describe("422 on organisationIds", () => {
  it("lands under the organisations field, whatever index the API names", () => {
    expect(fieldFor("organisationIds")).toBe("organisationIds");
    expect(fieldFor("organisationIds.1")).toBe("organisationIds");
    expect(fieldFor("body.organisationIds")).toBe("organisationIds");
  });
});
