// Execution history → one summary per state: what Step Functions' console shows
// when a state is clicked (status, input, output, errors, attempts, timing).

import { toDate } from "./format";

export interface HistoryEvent {
  timestamp: unknown;
  type: string;
  id: number;
  previousEventId?: number;
  stateEnteredEventDetails?: { name: string; input?: string };
  stateExitedEventDetails?: { name: string; output?: string };
  [details: string]: unknown;
}

export type StateStatus = "SUCCEEDED" | "FAILED" | "CAUGHT" | "RUNNING" | "NOT_RUN";

export interface StateSummary {
  name: string;
  type: string;
  status: StateStatus;
  enteredAt?: Date;
  exitedAt?: Date;
  durationMs?: number;
  input?: string;
  output?: string;
  /** Task attempts (scheduled count); retries = attempts - 1. */
  attempts: number;
  errors: { error?: string; cause?: string; at?: Date }[];
  /** How many times the state was entered (a redrive or a loop enters again). */
  entries: number;
}

function stateType(eventType: string): string {
  const m = /^(\w+?)State(Entered|Exited)$/.exec(eventType);
  return m ? m[1] : "";
}

function failureDetails(ev: HistoryEvent): { error?: string; cause?: string } | undefined {
  if (!/(Failed|TimedOut|Aborted)$/.test(ev.type)) return undefined;
  for (const [k, v] of Object.entries(ev)) {
    if (k.endsWith("EventDetails") && v && typeof v === "object") {
      const d = v as { error?: string; cause?: string };
      if ("error" in d || "cause" in d) return { error: d.error, cause: d.cause };
    }
  }
  return { error: ev.type };
}

/** ownerOf walks previousEventId back to the state the event belongs to. */
export function ownerOf(ev: HistoryEvent, byId: Map<number, HistoryEvent>): string | undefined {
  let cur: HistoryEvent | undefined = ev;
  for (let hops = 0; cur && hops < 10_000; hops++) {
    if (cur.stateEnteredEventDetails) return cur.stateEnteredEventDetails.name;
    if (cur !== ev && cur.stateExitedEventDetails) return undefined;
    cur = cur.previousEventId ? byId.get(cur.previousEventId) : undefined;
  }
  return undefined;
}

export function summarize(history: HistoryEvent[], executionStatus?: string): Map<string, StateSummary> {
  const byId = new Map(history.map((e) => [e.id, e]));
  const out = new Map<string, StateSummary>();
  const get = (name: string, type = "") => {
    let s = out.get(name);
    if (!s) {
      s = { name, type, status: "RUNNING", attempts: 0, errors: [], entries: 0 };
      out.set(name, s);
    }
    if (type && !s.type) s.type = type;
    return s;
  };
  const sorted = [...history].sort((a, b) => a.id - b.id);
  // Parallel/Map lifecycle events name no state: they belong to the innermost open one.
  const open: string[] = [];
  const ownerById = new Map<number, string>();
  for (const ev of sorted) {
    const at = toDate(ev.timestamp);
    const m = /^(Parallel|Map)State(Entered|Exited|Started|Succeeded|Failed|Aborted)$/.exec(ev.type);
    if (m && m[2] === "Entered" && ev.stateEnteredEventDetails) open.push(ev.stateEnteredEventDetails.name);
    if (m && m[2] === "Exited" && ev.stateExitedEventDetails) {
      const i = open.lastIndexOf(ev.stateExitedEventDetails.name);
      if (i >= 0) open.splice(i, 1);
    }
    if (m && !ev.stateEnteredEventDetails && !ev.stateExitedEventDetails) {
      const owner = open[open.length - 1];
      if (!owner) continue;
      ownerById.set(ev.id, owner);
      const s = get(owner, m[1]);
      if (m[2] === "Succeeded") s.status = "SUCCEEDED";
      else if (m[2] === "Failed" || m[2] === "Aborted") {
        const f = failureDetails(ev);
        s.errors.push({ ...f, at });
        s.status = "FAILED";
        open.pop();
      }
      continue;
    }
    if (ev.stateEnteredEventDetails) {
      const s = get(ev.stateEnteredEventDetails.name, stateType(ev.type));
      s.entries++;
      // A new entry (redrive) starts a fresh attempt at this state.
      s.status = "RUNNING";
      s.enteredAt = at;
      s.exitedAt = undefined;
      s.durationMs = undefined;
      s.input = ev.stateEnteredEventDetails.input;
      if (s.type === "Fail") s.status = "FAILED";
      continue;
    }
    if (ev.stateExitedEventDetails) {
      const s = get(ev.stateExitedEventDetails.name, stateType(ev.type));
      s.exitedAt = at;
      s.output = ev.stateExitedEventDetails.output;
      if (s.enteredAt && at) s.durationMs = at.getTime() - s.enteredAt.getTime();
      if (s.status === "RUNNING") s.status = "SUCCEEDED";
      continue;
    }
    const owner = ownerOf(ev, byId);
    if (!owner) continue;
    ownerById.set(ev.id, owner);
    const s = get(owner);
    if (/^(Task|LambdaFunction)Scheduled$/.test(ev.type)) {
      s.attempts++;
      if (s.status !== "FAILED") s.status = "RUNNING";
    } else if (/^(Task|LambdaFunction)Succeeded$/.test(ev.type)) {
      s.status = "SUCCEEDED";
    } else {
      const f = failureDetails(ev);
      if (f) {
        s.errors.push({ ...f, at });
        s.status = "FAILED";
      }
    }
  }
  // A state that failed but whose Catch led on to another state was caught: the
  // execution went on. One that failed only to be retried successfully ends SUCCEEDED.
  for (const ev of sorted) {
    if (ev.stateEnteredEventDetails && ev.previousEventId) {
      const prev = byId.get(ev.previousEventId);
      const from = prev && (prev.stateExitedEventDetails?.name ?? ownerById.get(prev.id));
      const s = from ? out.get(from) : undefined;
      if (s && s.status === "FAILED" && s.type !== "Fail" && from !== ev.stateEnteredEventDetails.name) s.status = "CAUGHT";
    }
  }
  if (executionStatus && executionStatus !== "RUNNING") {
    for (const s of out.values()) {
      if (s.status === "RUNNING") s.status = executionStatus === "SUCCEEDED" ? "SUCCEEDED" : "FAILED";
    }
  }
  return out;
}
