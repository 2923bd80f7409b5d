import { describe, expect, it } from "vitest";
import { apiParams, filtersFrom, filtersQuery, NO_FILTERS } from "../src/searchFilters";

describe("search filters", () => {
  it("hide load-test images unless asked", () => {
    expect(apiParams(NO_FILTERS)).toEqual({ load: "exclude" });
    expect(apiParams({ ...NO_FILTERS, includeLoad: true })).toEqual({ load: "include" });
  });
  it("round-trip through the URL and become API parameters", () => {
    const f = { sort: "taken", label: "Boat", camera: "Canon EOS 40D", hasLocation: true, includeLoad: false } as const;
    const q = new URLSearchParams(Object.entries(filtersQuery(f)).filter(([, v]) => v) as [string, string][]);
    expect(q.toString()).toBe("sort=taken&label=Boat&camera=Canon+EOS+40D&loc=1");
    expect(filtersFrom(q)).toEqual(f);
    expect(apiParams(f)).toEqual({ load: "exclude", sort: "taken", label: "Boat", camera: "Canon EOS 40D", hasLocation: "true" });
  });
  it("ignore a sort it does not know", () => {
    expect(filtersFrom(new URLSearchParams("sort=size")).sort).toBe("");
  });
});
