import { describe, expect, it } from "vitest";
import { formatBytes, formatDuration, pretty, toDate } from "../src/format";

describe("toDate", () => {
  it("reads epoch seconds, epoch milliseconds, ISO strings and Dates", () => {
    const want = "2024-01-02T03:04:05.000Z";
    expect(toDate(1704164645)?.toISOString()).toBe(want);
    expect(toDate(1704164645.0)?.toISOString()).toBe(want);
    expect(toDate("1704164645000")?.toISOString()).toBe(want); // SQS SentTimestamp
    expect(toDate(want)?.toISOString()).toBe(want);
    expect(toDate(new Date(want))?.toISOString()).toBe(want);
    expect(toDate("")).toBeUndefined();
    expect(toDate("not a date")).toBeUndefined();
  });
});

describe("formatting", () => {
  it("sizes and durations", () => {
    expect(formatBytes(512)).toBe("512 B");
    expect(formatBytes(2190194)).toBe("2.1 MiB");
    expect(formatDuration(250)).toBe("250 ms");
    expect(formatDuration(1500)).toBe("1.50 s");
    expect(formatDuration(125_000)).toBe("2 min 5 s");
  });
  it("indents JSON given as a string, and leaves other text alone", () => {
    expect(pretty('{"a":1}')).toBe('{\n  "a": 1\n}');
    expect(pretty("plain")).toBe("plain");
    expect(pretty(undefined)).toBe("");
  });
});
