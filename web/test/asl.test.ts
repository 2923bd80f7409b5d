import { describe, expect, it } from "vitest";
import { AslError, allStates, layout } from "../src/asl";

const retry = [{ ErrorEquals: ["TransientError"], IntervalSeconds: 1, MaxAttempts: 3, BackoffRate: 2, JitterStrategy: "FULL" }];
const catchAll = [{ ErrorEquals: ["States.ALL"], ResultPath: "$.error", Next: "NotifyFailure" }];
export const pipeline = {
  StartAt: "Process",
  States: {
    Process: {
      Type: "Parallel",
      Branches: ["ExtractMetadata", "DetectLabels", "MakeThumbnail"].map((n) => ({ StartAt: n, States: { [n]: { Type: "Task", Resource: "arn:aws:states:::lambda:invoke", Retry: retry, End: true } } })),
      Catch: catchAll,
      Next: "IndexDocument",
    },
    IndexDocument: { Type: "Task", Resource: "arn:aws:states:::lambda:invoke", Retry: retry, Catch: catchAll, End: true },
    NotifyFailure: { Type: "Task", Resource: "arn:aws:states:::sqs:sendMessage", Next: "Failed" },
    Failed: { Type: "Fail", Error: "ImageFailed" },
  },
};

describe("layout", () => {
  it("ranks the pipeline top to bottom with the branches side by side", () => {
    const g = layout(pipeline);
    // NotifyFailure sits below IndexDocument, which can also be caught into it.
    expect(g.rows).toEqual([["Process"], ["IndexDocument"], ["NotifyFailure"], ["Failed"]]);
    const p = g.nodes.Process;
    expect(p.branches.map((b) => b.rows)).toEqual([[["ExtractMetadata"]], [["DetectLabels"]], [["MakeThumbnail"]]]);
    expect(p.catchTo).toEqual([{ errors: ["States.ALL"], next: "NotifyFailure" }]);
    expect(g.nodes.ExtractMetadata).toBeUndefined();
    expect(p.branches[0].nodes.ExtractMetadata.retry[0].JitterStrategy).toBe("FULL");
    expect(g.nodes.Failed.end).toBe(true);
    expect(g.edges).toContainEqual({ from: "IndexDocument", to: "NotifyFailure", kind: "catch", label: "States.ALL" });
  });

  it("accepts the definition as a JSON string, as DescribeStateMachine returns it", () => {
    expect(layout(JSON.stringify(pipeline)).rows[0]).toEqual(["Process"]);
  });

  it("uses the longest path so a join sits below both arms", () => {
    const g = layout({
      StartAt: "A",
      States: {
        A: { Type: "Choice", Choices: [{ Variable: "$.x", IsPresent: true, Next: "B" }], Default: "D" },
        B: { Type: "Pass", Next: "C" },
        C: { Type: "Pass", Next: "D" },
        D: { Type: "Succeed" },
      },
    });
    expect(g.rows).toEqual([["A"], ["B"], ["C"], ["D"]]);
    expect(g.edges.filter((e) => e.from === "A").map((e) => e.kind)).toEqual(["choice", "default"]);
  });

  it("survives loops (a back edge does not push ranks forever)", () => {
    const g = layout({
      StartAt: "Wait",
      States: {
        Wait: { Type: "Wait", Seconds: 1, Next: "Check" },
        Check: { Type: "Choice", Choices: [{ Variable: "$.done", BooleanEquals: false, Next: "Wait" }], Default: "Done" },
        Done: { Type: "Succeed" },
      },
    });
    expect(g.rows).toEqual([["Wait"], ["Check"], ["Done"]]);
  });

  it("draws a Map's item processor as one branch", () => {
    const g = layout({ StartAt: "M", States: { M: { Type: "Map", ItemProcessor: { StartAt: "X", States: { X: { Type: "Pass", End: true } } }, End: true } } });
    expect(allStates(g)).toEqual(["M", "X"]);
  });

  it.each([
    ["not json", /not JSON/],
    [{}, /StartAt/],
    [{ StartAt: "A", States: {} }, /not a state/],
    [{ StartAt: "A", States: { A: { Type: "Pass", Next: "Nowhere" } } }, /"Nowhere", which is not a state/],
    [{ StartAt: "A", States: { A: 3 } }, /not an object/],
  ])("rejects a broken definition %#", (def, msg) => {
    expect(() => layout(def)).toThrow(AslError);
    expect(() => layout(def)).toThrow(msg);
  });

  it("lists every state, branches included", () => {
    expect(allStates(layout(pipeline)).sort()).toEqual(["DetectLabels", "ExtractMetadata", "Failed", "IndexDocument", "MakeThumbnail", "NotifyFailure", "Process"]);
  });
});

describe("error path", () => {
  it("marks the states only a Catch reaches", () => {
    const g = layout(pipeline);
    expect(Object.values(g.nodes).filter((n) => n.errorPath).map((n) => n.name).sort()).toEqual(["Failed", "NotifyFailure"]);
    expect(g.nodes.IndexDocument.errorPath).toBe(false);
  });
});

describe("error path through a Choice", () => {
  it("marks a Choice's arm that can only fail", () => {
    const g = layout({
      StartAt: "Check",
      States: {
        Check: { Type: "Choice", Choices: [{ Variable: "$.bad", BooleanEquals: true, Next: "Report" }], Default: "Index" },
        Report: { Type: "Pass", Next: "Failed" },
        Failed: { Type: "Fail" },
        Index: { Type: "Pass", End: true },
      },
    });
    expect(Object.values(g.nodes).filter((n) => n.errorPath).map((n) => n.name).sort()).toEqual(["Failed", "Report"]);
  });
});
