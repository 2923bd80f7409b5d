import { describe, expect, it } from "vitest";
import { layout } from "../src/asl";
import { allEdges, edgePath } from "../src/edges";

const task = { Type: "Task", Resource: "arn:aws:states:::lambda:invoke" };
const catchAll = [{ ErrorEquals: ["States.ALL"], Next: "NotifyFailure" }];
const pipeline = {
  StartAt: "Process",
  States: {
    Process: {
      Type: "Parallel",
      Branches: ["ExtractMetadata", "DetectLabels", "MakeThumbnail"].map((n) => ({ StartAt: n, States: { [n]: { ...task, End: true } } })),
      Catch: catchAll,
      Next: "IndexDocument",
    },
    IndexDocument: { ...task, Catch: catchAll, End: true },
    NotifyFailure: { ...task, Next: "Failed" },
    Failed: { Type: "Fail" },
  },
};

describe("allEdges", () => {
  it("draws Next, Catch and one edge into each Parallel branch", () => {
    const e = allEdges(layout(pipeline));
    const key = (x: { from: string; to: string; kind: string }) => `${x.kind}:${x.from}>${x.to}`;
    expect(e.map(key).sort()).toEqual(
      [
        "next:Process>IndexDocument",
        "catch:Process>NotifyFailure",
        "catch:IndexDocument>NotifyFailure",
        "next:NotifyFailure>Failed",
        "branch:Process>ExtractMetadata",
        "branch:Process>DetectLabels",
        "branch:Process>MakeThumbnail",
      ].sort(),
    );
    expect(e.find((x) => x.kind === "catch")?.label).toBe("catch States.ALL");
    expect(e.filter((x) => x.kind === "branch").map((x) => x.label)).toEqual(["branch 1", "branch 2", "branch 3"]);
  });

  it("labels a Choice's rules and its Default apart", () => {
    const e = allEdges(
      layout({
        StartAt: "Pick",
        States: {
          Pick: { Type: "Choice", Choices: [{ Variable: "$.x", IsPresent: true, Next: "A" }], Default: "B" },
          A: { Type: "Succeed" },
          B: { Type: "Fail" },
        },
      }),
    );
    expect(e).toEqual([
      { from: "Pick", to: "A", kind: "choice", label: "rule 1" },
      { from: "Pick", to: "B", kind: "default", label: "default" },
    ]);
  });
});

describe("edgePath", () => {
  const a = { x: 0, y: 0, w: 100, h: 40 };
  it("goes down from the bottom of one box to the top of the next", () => {
    expect(edgePath(a, { x: 0, y: 100, w: 100, h: 40 }).d).toBe("M50,40 C50,70 50,70 50,100");
  });
  it("lets a Catch leave from the right of the bottom", () => {
    expect(edgePath(a, { x: 0, y: 100, w: 100, h: 40 }, "catch").d.startsWith("M80,40 ")).toBe(true);
  });
  it("joins boxes in one row sideways", () => {
    expect(edgePath(a, { x: 150, y: 0, w: 100, h: 40 }).d).toBe("M100,20 L150,20");
  });
  it("routes a loop round the right-hand side", () => {
    const d = edgePath({ x: 0, y: 100, w: 100, h: 40 }, a).d;
    expect(d).toBe("M100,120 C124,120 124,20 100,20");
  });
});
