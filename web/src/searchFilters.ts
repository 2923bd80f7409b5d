// The search page's sort and filters: kept in the URL (so a filtered search can be
// shared and Back restores it) and sent to GET /images as its parameters. Load-test
// images (the load tester's upload/load/ keys) are left out unless asked for.

export interface SearchFilters {
  /** "" (relevance; newest upload when listing everything), "uploaded" or "taken". */
  sort: "" | "uploaded" | "taken";
  label: string;
  camera: string;
  hasLocation: boolean;
  /** includeLoad shows the load tester's images too. */
  includeLoad: boolean;
  /** takenFrom and takenTo: the days taken, YYYY-MM-DD, both inclusive; "" is no bound. */
  takenFrom: string;
  takenTo: string;
}

export const NO_FILTERS: SearchFilters = { sort: "", label: "", camera: "", hasLocation: false, includeLoad: false, takenFrom: "", takenTo: "" };

/** A calendar day as a date input gives it and GET /images takes it. */
const DAY = /^\d{4}-\d{2}-\d{2}$/;

/** filtersFrom reads the filters from the page's URL query. */
export function filtersFrom(q: URLSearchParams): SearchFilters {
  const sort = q.get("sort");
  return {
    sort: sort === "uploaded" || sort === "taken" ? sort : "",
    label: q.get("label") ?? "",
    camera: q.get("camera") ?? "",
    hasLocation: q.get("loc") === "1",
    includeLoad: q.get("load") === "1",
    takenFrom: day(q.get("takenFrom")),
    takenTo: day(q.get("takenTo")),
  };
}

function day(v: string | null): string {
  return v && DAY.test(v) ? v : "";
}

/** filtersQuery is the URL query for the filters: only what differs from none. */
export function filtersQuery(f: SearchFilters): Record<string, string | undefined> {
  return {
    sort: f.sort || undefined,
    label: f.label || undefined,
    camera: f.camera || undefined,
    loc: f.hasLocation ? "1" : undefined,
    load: f.includeLoad ? "1" : undefined,
    takenFrom: f.takenFrom || undefined,
    takenTo: f.takenTo || undefined,
  };
}

/** apiParams are the filters as GET /images parameters (functions/api ParseSearch). */
export function apiParams(f: SearchFilters): Record<string, string> {
  const p: Record<string, string> = { load: f.includeLoad ? "include" : "exclude" };
  if (f.sort) p.sort = f.sort;
  if (f.label.trim()) p.label = f.label.trim();
  if (f.camera.trim()) p.camera = f.camera.trim();
  if (f.hasLocation) p.hasLocation = "true";
  if (f.takenFrom) p.takenFrom = f.takenFrom;
  if (f.takenTo) p.takenTo = f.takenTo;
  return p;
}

/** isFiltered: anything narrows the results (the sort does not). */
export function isFiltered(f: SearchFilters): boolean {
  return !!(f.label.trim() || f.camera.trim() || f.hasLocation || f.takenFrom || f.takenTo);
}
