import { describe, expect, it } from "vitest";
import { summarize, type HistoryEvent } from "../src/history";
import { attemptsOf, eventRows, filterRows, pickState, shortCause } from "../src/events";

function builder(t0 = 1_700_000_000) {
  const events: HistoryEvent[] = [];
  const add = (type: string, prev: number, dt: number, extra: Partial<HistoryEvent> = {}) => {
    const id = events.length + 1;
    events.push({ id, type, previousEventId: prev, timestamp: t0 + dt, ...extra });
    return id;
  };
  const enter = (type: string, name: string, prev: number, dt: number) => add(`${type}StateEntered`, prev, dt, { stateEnteredEventDetails: { name, input: "{}" } });
  const exit = (type: string, name: string, prev: number, dt: number) => add(`${type}StateExited`, prev, dt, { stateExitedEventDetails: { name, output: "{}" } });
  return { events, add, enter, exit };
}

/** A task that fails twice with backoff, is caught, and ends in a Fail state. */
function failedRun() {
  const b = builder();
  const s = b.add("ExecutionStarted", 0, 0);
  const en = b.enter("Task", "ExtractMetadata", s, 0.01);
  let sc = b.add("TaskScheduled", en, 0.02, { taskScheduledEventDetails: { resource: "invoke", resourceType: "lambda" } });
  let f = b.add("TaskFailed", sc, 0.1, { taskFailedEventDetails: { error: "Lambda.ServiceException", cause: '{"errorMessage":"boom"}' } });
  sc = b.add("TaskScheduled", f, 1.1);
  f = b.add("TaskFailed", sc, 1.3, { taskFailedEventDetails: { error: "NotAnImage", cause: '{"errorMessage":"not a JPEG"}' } });
  const x = b.exit("Task", "ExtractMetadata", f, 1.31);
  const fe = b.enter("Pass", "RecordFailure", x, 1.32);
  const fx = b.exit("Pass", "RecordFailure", fe, 1.33);
  const fail = b.enter("Fail", "Failed", fx, 1.34);
  b.add("ExecutionFailed", fail, 1.35, { executionFailedEventDetails: { error: "NotAnImage", cause: "not a JPEG" } });
  return b.events;
}

describe("eventRows", () => {
  it("tables every event with its step and time since start", () => {
    const rows = eventRows(failedRun());
    expect(rows).toHaveLength(11);
    expect(rows[0]).toMatchObject({ id: 1, type: "ExecutionStarted", step: "", sinceStartMs: 0 });
    expect(rows[2]).toMatchObject({ type: "TaskScheduled", step: "ExtractMetadata", details: "lambda invoke" });
    expect(rows[3].details).toBe("Lambda.ServiceException: boom");
    expect(rows[3].sinceStartMs).toBeCloseTo(100, 0);
    expect(rows[10]).toMatchObject({ type: "ExecutionFailed", step: "" });
  });

  it("filters by every word across the columns", () => {
    const rows = eventRows(failedRun());
    expect(filterRows(rows, "").length).toBe(rows.length);
    expect(filterRows(rows, "taskfailed").map((r) => r.id)).toEqual([4, 6]);
    expect(filterRows(rows, "failed notanimage").map((r) => r.id)).toEqual([6, 11]);
    expect(filterRows(rows, "recordfailure").length).toBe(2);
  });
});

describe("pickState", () => {
  it("selects the task that failed, not the Fail state the Catch led to", () => {
    const h = failedRun();
    const states = summarize(h, "FAILED");
    expect(pickState(["ExtractMetadata", "RecordFailure", "Failed"], states)).toBe("ExtractMetadata");
  });
  it("falls back to the first state when nothing failed", () => {
    expect(pickState(["A", "B"], new Map())).toBe("A");
  });
});

describe("attemptsOf", () => {
  it("lists each attempt with its time, backoff and error", () => {
    const a = attemptsOf(failedRun(), "ExtractMetadata");
    expect(a).toHaveLength(2);
    expect(a[0]).toMatchObject({ n: 1, outcome: "failed", error: "Lambda.ServiceException", cause: "boom" });
    expect(a[0].scheduledMs).toBeCloseTo(20, 0);
    expect(a[0].backoffMs).toBeUndefined();
    expect(a[1].backoffMs).toBeCloseTo(1000, 0);
    expect(a[1].durationMs).toBeCloseTo(200, 0);
    expect(a[1].error).toBe("NotAnImage");
    expect(attemptsOf(failedRun(), "RecordFailure")).toEqual([]);
  });
  it("shortCause reads Lambda payloads and clips long text", () => {
    expect(shortCause('{"errorMessage":"x","errorType":"y"}')).toBe("x");
    expect(shortCause("a".repeat(500)).length).toBe(120);
    expect(shortCause(undefined)).toBe("");
  });
});
