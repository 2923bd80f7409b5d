import { describe, expect, it } from "vitest";
import { niceMax } from "../src/components/LoadChart";
import { durationMs } from "../src/api/aws";

describe("niceMax", () => {
  it.each([
    [0, 1],
    [3, 5],
    [7, 10],
    [12, 20],
    [250, 500],
    [1000, 1000],
  ])("%d → %d", (v, want) => {
    expect(niceMax(v)).toBe(want);
  });
});

describe("durationMs", () => {
  it("reads the durations the page accepts", () => {
    expect(durationMs("30s")).toBe(30_000);
    expect(durationMs("2m")).toBe(120_000);
    expect(durationMs("500ms")).toBe(500);
    expect(durationMs("1h")).toBe(0);
  });
});
