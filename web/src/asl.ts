// ASL → a layout graph: states in rows by their longest distance from StartAt, so a
// definition reads top to bottom; a Parallel (or Map) state holds its branches as
// sub-graphs drawn side by side.

export interface Retrier {
  ErrorEquals: string[];
  IntervalSeconds?: number;
  MaxAttempts?: number;
  BackoffRate?: number;
  MaxDelaySeconds?: number;
  JitterStrategy?: string;
}

export interface Edge {
  from: string;
  to: string;
  kind: "next" | "catch" | "choice" | "default";
  label?: string;
}

export interface GraphNode {
  name: string;
  type: string;
  resource?: string;
  end: boolean;
  rank: number;
  /** errorPath: reached only through a Catch, or can only end in Fail: a clean run never enters it. */
  errorPath: boolean;
  retry: Retrier[];
  catchTo: { errors: string[]; next: string }[];
  branches: Graph[];
}

export interface Graph {
  startAt: string;
  /** rows[i] holds the names of the states at rank i, in discovery order. */
  rows: string[][];
  nodes: Record<string, GraphNode>;
  edges: Edge[];
}

export class AslError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "AslError";
  }
}

type Obj = Record<string, unknown>;

function isObj(v: unknown): v is Obj {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

/** parseDefinition accepts the definition as a JSON string or an object. */
export function parseDefinition(def: unknown): Obj {
  let d = def;
  if (typeof d === "string") {
    try {
      d = JSON.parse(d);
    } catch (e) {
      throw new AslError(`definition is not JSON: ${(e as Error).message}`);
    }
  }
  if (!isObj(d)) throw new AslError("definition must be a JSON object");
  return d;
}

export function layout(def: unknown, depth = 0): Graph {
  if (depth > 20) throw new AslError("definition nests too deeply");
  const d = parseDefinition(def);
  const startAt = d.StartAt;
  const states = d.States;
  if (typeof startAt !== "string") throw new AslError("StartAt is missing");
  if (!isObj(states)) throw new AslError("States is missing");
  if (!(startAt in states)) throw new AslError(`StartAt names "${startAt}", which is not a state`);

  const nodes: Record<string, GraphNode> = {};
  const edges: Edge[] = [];
  for (const [name, raw] of Object.entries(states)) {
    if (!isObj(raw)) throw new AslError(`state "${name}" is not an object`);
    const s = raw;
    const node: GraphNode = {
      name,
      type: typeof s.Type === "string" ? s.Type : "Unknown",
      resource: typeof s.Resource === "string" ? s.Resource : undefined,
      end: s.End === true || s.Type === "Succeed" || s.Type === "Fail",
      rank: -1,
      errorPath: false,
      retry: Array.isArray(s.Retry) ? (s.Retry.filter(isObj) as unknown as Retrier[]) : [],
      catchTo: [],
      branches: [],
    };
    const add = (to: unknown, kind: Edge["kind"], label?: string) => {
      if (typeof to !== "string") return;
      if (!(to in states)) throw new AslError(`state "${name}" points at "${to}", which is not a state`);
      edges.push({ from: name, to, kind, label });
    };
    add(s.Next, "next");
    if (Array.isArray(s.Catch)) {
      for (const c of s.Catch.filter(isObj)) {
        const errors = Array.isArray(c.ErrorEquals) ? c.ErrorEquals.map(String) : [];
        add(c.Next, "catch", errors.join(", "));
        if (typeof c.Next === "string") node.catchTo.push({ errors, next: c.Next });
      }
    }
    if (Array.isArray(s.Choices)) {
      s.Choices.filter(isObj).forEach((c, i) => add(c.Next, "choice", `rule ${i + 1}`));
    }
    add(s.Default, "default", "default");
    if (node.type === "Parallel" && Array.isArray(s.Branches)) {
      node.branches = s.Branches.map((b) => layout(b, depth + 1));
    }
    if (node.type === "Map") {
      const proc = s.ItemProcessor ?? s.Iterator;
      if (proc !== undefined) node.branches = [layout(proc, depth + 1)];
    }
    nodes[name] = node;
  }

  // Longest-path ranks over the graph minus back edges (found by DFS), so loops
  // (a Choice that retries) still draw as a top-to-bottom flow.
  const out: Record<string, string[]> = {};
  for (const e of edges) (out[e.from] ??= []).push(e.to);
  const order: string[] = [];
  const colour: Record<string, 0 | 1 | 2> = {};
  const back = new Set<string>();
  const visit = (n: string) => {
    colour[n] = 1;
    for (const m of out[n] ?? []) {
      if (colour[m] === 1) back.add(`${n}\u0000${m}`);
      else if (!colour[m]) visit(m);
    }
    colour[n] = 2;
    order.push(n);
  };
  visit(startAt);
  for (const n of Object.keys(nodes)) if (!colour[n]) visit(n);
  order.reverse();
  for (const n of order) if (nodes[n].rank < 0) nodes[n].rank = n === startAt ? 0 : 0;
  for (const n of order) {
    for (const m of out[n] ?? []) {
      if (back.has(`${n}\u0000${m}`)) continue;
      nodes[m].rank = Math.max(nodes[m].rank, nodes[n].rank + 1);
    }
  }
  // Whatever is not reachable from StartAt without a Catch edge is the error path.
  const clean = new Set<string>();
  const walk = (n: string) => {
    if (clean.has(n)) return;
    clean.add(n);
    for (const e of edges) if (e.from === n && e.kind !== "catch") walk(e.to);
  };
  walk(startAt);
  // ...and so is whatever can only end in a Fail state (e.g. a Choice's failure arm).
  const succeeds = new Set<string>();
  for (const n of Object.values(nodes)) if (n.end && n.type !== "Fail") succeeds.add(n.name);
  for (let grew = true; grew; ) {
    grew = false;
    for (const e of edges) {
      if (succeeds.has(e.to) && !succeeds.has(e.from)) {
        succeeds.add(e.from);
        grew = true;
      }
    }
  }
  for (const n of Object.keys(nodes)) nodes[n].errorPath = !clean.has(n) || !succeeds.has(n);
  const rows: string[][] = [];
  for (const n of order) (rows[nodes[n].rank] ??= []).push(n);
  return { startAt, rows: rows.filter((r) => r && r.length), nodes, edges };
}

/** allStates lists every state name in the graph, branches included. */
export function allStates(g: Graph): string[] {
  const names: string[] = [];
  for (const row of g.rows) {
    for (const n of row) {
      names.push(n);
      for (const b of g.nodes[n].branches) names.push(...allStates(b));
    }
  }
  return names;
}
