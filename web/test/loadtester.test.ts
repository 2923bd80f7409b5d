import { describe, expect, it } from "vitest";
import { loadRunning, parseLoadReport } from "../src/api/aws";
import { ApiError } from "../src/api/types";

const enc = (v: unknown) => new TextEncoder().encode(JSON.stringify(v));

describe("parseLoadReport", () => {
  it("reads the load tester's report", () => {
    const r = parseLoadReport(enc({ runId: "r1", prefix: "upload/load/r1/", planned: 10, sent: 9, failed: 1, complete: true, elapsedMs: 2000, uploadP50Ms: 40 }), undefined);
    expect(r).toMatchObject({ sent: 9, failed: 1, uploadP50Ms: 40 });
  });

  it("turns a function error into words", () => {
    expect(() => parseLoadReport(enc({ errorMessage: "load-tester input: rate 500", errorType: "InputError" }), "Unhandled")).toThrow(/rate 500 \(InputError\)/);
    expect(() => parseLoadReport(undefined, "Unhandled")).toThrow(ApiError);
  });

  it("refuses an answer that is not a report", () => {
    expect(() => parseLoadReport(enc({ hello: 1 }), undefined)).toThrow(/unexpected answer/);
    expect(() => parseLoadReport(new TextEncoder().encode("not json"), undefined)).toThrow(/unexpected answer/);
  });
});

describe("loadRunning", () => {
  const report = { runId: "r", prefix: "p", planned: 4, sent: 4, failed: 0, complete: true, elapsedMs: 1 };
  it("runs until the Lambda answers", () => {
    expect(loadRunning({}, 0)).toBe(true);
  });
  it("then follows the pipeline until all sent are indexed, for two minutes at most", () => {
    expect(loadRunning({ finishedAt: 0, report, baseline: 10, indexed: 2 }, 1000)).toBe(true);
    expect(loadRunning({ finishedAt: 0, report, baseline: 10, indexed: 4 }, 1000)).toBe(false);
    expect(loadRunning({ finishedAt: 0, report, baseline: 10, indexed: 2 }, 121_000)).toBe(false);
  });
  it("stops at once without a report or a baseline", () => {
    expect(loadRunning({ finishedAt: 0, error: new Error("x") }, 1)).toBe(false);
    expect(loadRunning({ finishedAt: 0, report }, 1)).toBe(false);
  });
});

describe("config", () => {
  it("carries the load tester's name from config.json", async () => {
    const { parseConfig } = await import("../src/config");
    const c = parseConfig({
      mode: "aws",
      region: "eu-central-1",
      identityPoolId: "eu-central-1:1b2c3d4e-0000-4000-8000-123456789abc",
      apiUrl: "https://abc.execute-api.eu-central-1.amazonaws.com/prod/",
      bucket: "b",
      loadTesterFunction: "ImagePipe-LoadTesterFunction-abc",
    });
    expect(c.mode === "aws" && c.loadTesterFunction).toBe("ImagePipe-LoadTesterFunction-abc");
  });
});
