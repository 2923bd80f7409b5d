// The execution's event history as the Step Functions console tables it, the state a
// person wants to see first, and each Task's attempts with their times and backoff.

import { toDate } from "./format";
import { ownerOf, type HistoryEvent, type StateSummary } from "./history";

export interface EventRow {
  id: number;
  type: string;
  /** The state the event belongs to ("" for execution-level events). */
  step: string;
  /** Milliseconds since the first event. */
  sinceStartMs?: number;
  details: string;
}

function detailsOf(ev: HistoryEvent): string {
  for (const [k, v] of Object.entries(ev)) {
    if (!k.endsWith("EventDetails") || !v || typeof v !== "object") continue;
    const d = v as Record<string, unknown>;
    if (typeof d.error === "string" || typeof d.cause === "string") {
      return [d.error, shortCause(d.cause)].filter(Boolean).join(": ");
    }
    if (typeof d.resource === "string") return `${d.resourceType ? d.resourceType + " " : ""}${d.resource}`;
    if (typeof d.output === "string") return `output ${clip(d.output)}`;
    if (typeof d.input === "string") return `input ${clip(d.input)}`;
  }
  return "";
}

function clip(s: string, n = 120): string {
  const one = s.replace(/\s+/g, " ");
  return one.length > n ? one.slice(0, n - 1) + "…" : one;
}

/** shortCause pulls errorMessage out of a Lambda error payload, else clips the text. */
export function shortCause(cause: unknown): string {
  if (typeof cause !== "string") return "";
  try {
    const j = JSON.parse(cause);
    if (j && typeof j.errorMessage === "string") return clip(j.errorMessage);
  } catch {
    /* plain text */
  }
  return clip(cause);
}

/** eventRows is the history table, oldest first. */
export function eventRows(history: HistoryEvent[]): EventRow[] {
  const sorted = [...history].sort((a, b) => a.id - b.id);
  const byId = new Map(sorted.map((e) => [e.id, e]));
  const t0 = sorted.length ? toDate(sorted[0].timestamp)?.getTime() : undefined;
  return sorted.map((ev) => {
    const at = toDate(ev.timestamp)?.getTime();
    const step = ev.type.startsWith("Execution")
      ? ""
      : (ev.stateEnteredEventDetails?.name ?? ev.stateExitedEventDetails?.name ?? ownerOf(ev, byId) ?? "");
    return { id: ev.id, type: ev.type, step, sinceStartMs: at !== undefined && t0 !== undefined ? at - t0 : undefined, details: detailsOf(ev) };
  });
}

/** filterRows keeps the rows any of whose columns contain every word of the filter. */
export function filterRows(rows: EventRow[], filter: string): EventRow[] {
  const words = filter.toLowerCase().split(/\s+/).filter(Boolean);
  if (!words.length) return rows;
  return rows.filter((r) => {
    const text = `${r.id} ${r.type} ${r.step} ${r.details}`.toLowerCase();
    return words.every((w) => text.includes(w));
  });
}

/**
 * pickState is the state to show first: the task that failed (not the Fail state the
 * Catch led to), else the last caught one, else the Fail state, else the first.
 */
export function pickState(names: string[], states: Map<string, StateSummary>): string | undefined {
  const all = names.length ? names : [...states.keys()];
  const last = (pred: (s: StateSummary) => boolean) =>
    all
      .map((n) => states.get(n))
      .filter((s): s is StateSummary => !!s && pred(s))
      .sort((a, b) => (lastErrorAt(a) ?? 0) - (lastErrorAt(b) ?? 0))
      .pop()?.name;
  return (
    last((s) => s.status === "FAILED" && s.type !== "Fail" && s.errors.length > 0) ??
    last((s) => s.status === "FAILED" && s.type !== "Fail") ??
    last((s) => s.status === "CAUGHT" && s.errors.length > 0) ??
    last((s) => s.status === "FAILED") ??
    all[0]
  );
}

function lastErrorAt(s: StateSummary): number | undefined {
  return s.errors.length ? (s.errors[s.errors.length - 1].at?.getTime() ?? 0) : s.enteredAt?.getTime();
}

export interface Attempt {
  n: number;
  /** Milliseconds since the execution's first event. */
  scheduledMs?: number;
  /** The wait since the previous attempt failed (the retry's backoff). */
  backoffMs?: number;
  durationMs?: number;
  outcome: "succeeded" | "failed" | "running";
  error?: string;
  cause?: string;
}

/** attemptsOf lists one state's Task attempts (each TaskScheduled) with their outcomes. */
export function attemptsOf(history: HistoryEvent[], state: string): Attempt[] {
  const sorted = [...history].sort((a, b) => a.id - b.id);
  const byId = new Map(sorted.map((e) => [e.id, e]));
  const t0 = sorted.length ? toDate(sorted[0].timestamp)?.getTime() : undefined;
  const out: Attempt[] = [];
  let lastFailAt: number | undefined;
  for (const ev of sorted) {
    if (ev.stateEnteredEventDetails || ev.stateExitedEventDetails) continue;
    if (!/^(Task|LambdaFunction)(Scheduled|Succeeded|Failed|TimedOut|StartFailed|SubmitFailed)$/.test(ev.type)) continue;
    if (ownerOf(ev, byId) !== state) continue;
    const at = toDate(ev.timestamp)?.getTime();
    if (ev.type.endsWith("Scheduled")) {
      out.push({
        n: out.length + 1,
        scheduledMs: at !== undefined && t0 !== undefined ? at - t0 : undefined,
        backoffMs: at !== undefined && lastFailAt !== undefined ? at - lastFailAt : undefined,
        outcome: "running",
      });
      continue;
    }
    const a = out[out.length - 1];
    if (!a) continue;
    if (a.scheduledMs !== undefined && t0 !== undefined && at !== undefined) a.durationMs = at - t0 - a.scheduledMs;
    if (ev.type.endsWith("Succeeded")) {
      a.outcome = "succeeded";
    } else {
      a.outcome = "failed";
      const d = Object.entries(ev).find(([k, v]) => k.endsWith("EventDetails") && v && typeof v === "object")?.[1] as
        | { error?: string; cause?: string }
        | undefined;
      a.error = d?.error ?? ev.type;
      a.cause = shortCause(d?.cause);
      lastFailAt = at;
    }
  }
  return out;
}
