// Edges of the drawn state machine: which transitions to draw (a state's Next, a
// Choice's rules and Default, Catch, and a Parallel or Map into each branch), and the
// path of each between two measured boxes.
import type { Graph } from "./asl";

export type EdgeKind = "next" | "choice" | "default" | "catch" | "branch";

export interface GraphEdge {
  from: string;
  to: string;
  kind: EdgeKind;
  label?: string;
}

export interface Box {
  x: number;
  y: number;
  w: number;
  h: number;
}

export interface DrawnEdge extends GraphEdge {
  /** d is the SVG path; (lx, ly) where its label goes. */
  d: string;
  lx: number;
  ly: number;
}

/** allEdges lists the graph's transitions, its branches' included, and one edge into each branch. */
export function allEdges(g: Graph): GraphEdge[] {
  const out: GraphEdge[] = g.edges.map((e) => ({ from: e.from, to: e.to, kind: e.kind, label: e.kind === "catch" ? catchLabel(e.label) : e.label }));
  for (const n of Object.values(g.nodes)) {
    n.branches.forEach((b, i) => {
      out.push({ from: n.name, to: b.startAt, kind: "branch", label: n.branches.length > 1 ? `branch ${i + 1}` : undefined });
      out.push(...allEdges(b));
    });
  }
  return out;
}

/** catchLabel keeps a Catch's label short: its first error name, and how many more. */
function catchLabel(errors: string | undefined): string {
  const names = (errors ?? "").split(", ").filter(Boolean);
  if (!names.length) return "catch";
  return `catch ${names[0]}${names.length > 1 ? ` +${names.length - 1}` : ""}`;
}

const r = (n: number) => Math.round(n * 10) / 10;

/**
 * edgePath routes an edge from box a to box b: downwards as a curve from a's bottom to
 * b's top (a Catch leaves from a's right-hand side of the bottom, so it does not lie on
 * the Next edge); sideways between boxes in one row; and a back edge (a loop) around
 * the right-hand side.
 */
export function edgePath(a: Box, b: Box, kind: EdgeKind = "next"): { d: string; lx: number; ly: number } {
  const ax = kind === "catch" ? a.x + a.w * 0.8 : a.x + a.w / 2;
  const ay = a.y + a.h;
  const bx = b.x + b.w / 2;
  const by = b.y;
  if (by >= ay) {
    const dy = Math.max(12, (by - ay) / 2);
    return { d: `M${r(ax)},${r(ay)} C${r(ax)},${r(ay + dy)} ${r(bx)},${r(by - dy)} ${r(bx)},${r(by)}`, lx: r((ax + bx) / 2 + 4), ly: r((ay + by) / 2) };
  }
  const sameRow = b.y < a.y + a.h && b.y + b.h > a.y;
  if (sameRow && b.x >= a.x + a.w) {
    const y1 = a.y + a.h / 2;
    const y2 = b.y + b.h / 2;
    return { d: `M${r(a.x + a.w)},${r(y1)} L${r(b.x)},${r(y2)}`, lx: r((a.x + a.w + b.x) / 2), ly: r(Math.min(y1, y2) - 4) };
  }
  // A loop: out of a's right side, round, and into b's right side.
  const x1 = a.x + a.w;
  const y1 = a.y + a.h / 2;
  const x2 = b.x + b.w;
  const y2 = b.y + b.h / 2;
  const out = Math.max(x1, x2) + 24;
  return { d: `M${r(x1)},${r(y1)} C${r(out)},${r(y1)} ${r(out)},${r(y2)} ${r(x2)},${r(y2)}`, lx: r(out - 20), ly: r((y1 + y2) / 2) };
}
