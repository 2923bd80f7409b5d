import { describe, expect, it } from "vitest";
import { apiParams, filtersFrom, filtersQuery, isFiltered, NO_FILTERS } from "../src/searchFilters";

describe("search filters", () => {
  it("hide load-test images unless asked", () => {
    expect(apiParams(NO_FILTERS)).toEqual({ load: "exclude" });
    expect(apiParams({ ...NO_FILTERS, includeLoad: true })).toEqual({ load: "include" });
  });
  it("round-trip through the URL and become API parameters", () => {
    const f = { sort: "taken", label: "Boat", camera: "Canon EOS 40D", hasLocation: true, includeLoad: false, takenFrom: "2021-07-01", takenTo: "2021-07-31" } as const;
    const q = new URLSearchParams(Object.entries(filtersQuery(f)).filter(([, v]) => v) as [string, string][]);
    expect(q.toString()).toBe("sort=taken&label=Boat&camera=Canon+EOS+40D&loc=1&takenFrom=2021-07-01&takenTo=2021-07-31");
    expect(filtersFrom(q)).toEqual(f);
    expect(apiParams(f)).toEqual({
      load: "exclude",
      sort: "taken",
      label: "Boat",
      camera: "Canon EOS 40D",
      hasLocation: "true",
      takenFrom: "2021-07-01",
      takenTo: "2021-07-31",
    });
  });
  it("take one end of the date range alone, and count it as a filter", () => {
    const f = filtersFrom(new URLSearchParams("takenTo=2021-07-14"));
    expect(f).toEqual({ ...NO_FILTERS, takenTo: "2021-07-14" });
    expect(apiParams(f)).toEqual({ load: "exclude", takenTo: "2021-07-14" });
    expect(isFiltered(f)).toBe(true);
    expect(isFiltered({ ...NO_FILTERS, sort: "taken" })).toBe(false);
  });
  it("ignore a date that is not a day", () => {
    expect(filtersFrom(new URLSearchParams("takenFrom=14/07/2021&takenTo=2021-07-14T10:00")).takenFrom).toBe("");
    expect(filtersFrom(new URLSearchParams("takenTo=2021-07-14T10:00")).takenTo).toBe("");
  });
  it("ignore a sort it does not know", () => {
    expect(filtersFrom(new URLSearchParams("sort=size")).sort).toBe("");
  });
});
