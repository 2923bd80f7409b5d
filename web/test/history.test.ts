import { describe, expect, it } from "vitest";
import { summarize, type HistoryEvent } from "../src/history";

/** builder makes a history the way Step Functions numbers it (ids in order, previousEventId links). */
function builder(t0 = 1_700_000_000) {
  const events: HistoryEvent[] = [];
  const add = (type: string, prev: number, dt: number, extra: Partial<HistoryEvent> = {}) => {
    const id = events.length + 1;
    events.push({ id, type, previousEventId: prev, timestamp: t0 + dt, ...extra });
    return id;
  };
  const enter = (type: string, name: string, prev: number, dt: number, input = "{}") => add(`${type}StateEntered`, prev, dt, { stateEnteredEventDetails: { name, input } });
  const exit = (type: string, name: string, prev: number, dt: number, output = "{}") => add(`${type}StateExited`, prev, dt, { stateExitedEventDetails: { name, output } });
  return { events, add, enter, exit };
}

function successfulRun() {
  const b = builder();
  const s = b.add("ExecutionStarted", 0, 0);
  const pe = b.enter("Parallel", "Process", s, 0.01, '{"detail":{}}');
  const ps = b.add("ParallelStateStarted", pe, 0.02);
  const ends: number[] = [];
  for (const [i, n] of ["ExtractMetadata", "DetectLabels", "MakeThumbnail"].entries()) {
    const en = b.enter("Task", n, ps, 0.03);
    let sc = b.add("TaskScheduled", en, 0.04);
    let st = b.add("TaskStarted", sc, 0.05);
    if (n === "DetectLabels") {
      const f = b.add("TaskFailed", st, 0.1, { taskFailedEventDetails: { error: "ThrottledError", cause: "rate exceeded" } });
      sc = b.add("TaskScheduled", f, 0.5);
      st = b.add("TaskStarted", sc, 0.51);
    }
    const ok = b.add("TaskSucceeded", st, 0.6 + i * 0.1, { taskSucceededEventDetails: { output: `{"n":${i}}` } });
    ends.push(b.exit("Task", n, ok, 0.61 + i * 0.1, `{"n":${i}}`));
  }
  const pok = b.add("ParallelStateSucceeded", ends[2], 0.9);
  const px = b.exit("Parallel", "Process", pok, 0.91, "[1,2,3]");
  const ie = b.enter("Task", "IndexDocument", px, 0.92);
  const is = b.add("TaskScheduled", ie, 0.93);
  const ok = b.add("TaskSucceeded", is, 1.2);
  const ix = b.exit("Task", "IndexDocument", ok, 1.21, '{"outcome":"created"}');
  b.add("ExecutionSucceeded", ix, 1.22);
  return b.events;
}

describe("summarize", () => {
  it("gives every state of a successful run SUCCEEDED with timing, input and output", () => {
    const m = summarize(successfulRun(), "SUCCEEDED");
    expect([...m.keys()].sort()).toEqual(["DetectLabels", "ExtractMetadata", "IndexDocument", "MakeThumbnail", "Process"]);
    for (const s of m.values()) expect(s.status).toBe("SUCCEEDED");
    const idx = m.get("IndexDocument")!;
    expect(idx.durationMs).toBeCloseTo(290, 0);
    expect(idx.output).toBe('{"outcome":"created"}');
    expect(idx.attempts).toBe(1);
    expect(m.get("Process")!.input).toBe('{"detail":{}}');
    expect(m.get("Process")!.type).toBe("Parallel");
    expect(m.get("ExtractMetadata")!.type).toBe("Task");
  });

  it("counts a retry and keeps the error that caused it", () => {
    const d = summarize(successfulRun(), "SUCCEEDED").get("DetectLabels")!;
    expect(d.attempts).toBe(2);
    expect(d.status).toBe("SUCCEEDED");
    expect(d.errors).toEqual([expect.objectContaining({ error: "ThrottledError", cause: "rate exceeded" })]);
  });

  it("marks a failed branch FAILED, its Parallel caught, and the Fail state FAILED", () => {
    const b = builder();
    const s = b.add("ExecutionStarted", 0, 0);
    const pe = b.enter("Parallel", "Process", s, 0.01);
    const ps = b.add("ParallelStateStarted", pe, 0.02);
    const en = b.enter("Task", "ExtractMetadata", ps, 0.03);
    const sc = b.add("LambdaFunctionScheduled", en, 0.04);
    const f = b.add("LambdaFunctionFailed", sc, 0.2, { lambdaFunctionFailedEventDetails: { error: "NotAnImageError", cause: '{"errorMessage":"not an image"}' } });
    const en2 = b.enter("Task", "DetectLabels", ps, 0.03);
    b.add("TaskScheduled", en2, 0.04); // aborted along with the branch: never finishes
    const pf = b.add("ParallelStateFailed", f, 0.3, { parallelStateFailedEventDetails: { error: "NotAnImageError", cause: "x" } });
    const ne = b.enter("Task", "NotifyFailure", pf, 0.31);
    const nx = b.exit("Task", "NotifyFailure", b.add("TaskSucceeded", b.add("TaskScheduled", ne, 0.32), 0.4), 0.41);
    const fe = b.enter("Fail", "Failed", nx, 0.42);
    b.add("ExecutionFailed", fe, 0.43, { executionFailedEventDetails: { error: "ImageFailed" } });
    const m = summarize(b.events, "FAILED");
    expect(m.get("ExtractMetadata")).toMatchObject({ status: "FAILED", errors: [{ error: "NotAnImageError", cause: '{"errorMessage":"not an image"}' }] });
    expect(m.get("Process")!.status).toBe("CAUGHT");
    expect(m.get("NotifyFailure")!.status).toBe("SUCCEEDED");
    expect(m.get("Failed")!.status).toBe("FAILED");
    expect(m.get("DetectLabels")!.status).toBe("FAILED");
  });

  it("leaves states RUNNING while the execution runs", () => {
    const b = builder();
    const s = b.add("ExecutionStarted", 0, 0);
    const en = b.enter("Task", "IndexDocument", s, 0.1);
    b.add("TaskScheduled", en, 0.2);
    const m = summarize(b.events, "RUNNING");
    expect(m.get("IndexDocument")).toMatchObject({ status: "RUNNING", attempts: 1, durationMs: undefined });
  });

  it("tolerates unordered events, string and Date timestamps", () => {
    const ev = successfulRun()
      .map((e, i) => ({ ...e, timestamp: i % 2 ? new Date((e.timestamp as number) * 1000) : String(e.timestamp) }))
      .reverse();
    const m = summarize(ev, "SUCCEEDED");
    expect(m.get("IndexDocument")!.durationMs).toBeCloseTo(290, 0);
  });

  it("returns nothing for an empty history", () => {
    expect(summarize([]).size).toBe(0);
  });
});
