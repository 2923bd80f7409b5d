// The failure queue's messages in words: what failed, where, whether a redrive can help.

import { eventKey, type FailureMessage, type RedriveReport } from "./api/types";

export interface FailureBody {
  error?: string;
  cause?: string;
  state?: string;
  input?: unknown;
  executionArn?: string;
  permanent?: boolean;
}

export function bodyOf(m: FailureMessage): FailureBody {
  if (typeof m.body !== "string") return (m.body ?? {}) as FailureBody;
  try {
    return JSON.parse(m.body) as FailureBody;
  } catch {
    return { cause: m.body };
  }
}

/** causeText pulls errorMessage out of a Lambda error payload, if that is what it is. */
export function causeText(cause: unknown): string {
  if (typeof cause !== "string") return cause === undefined ? "" : JSON.stringify(cause);
  try {
    const j = JSON.parse(cause);
    if (j && typeof j.errorMessage === "string") return j.errorMessage;
  } catch {
    /* plain text */
  }
  return cause;
}

/** keyOf is the object key of the S3 event the failed execution started from. */
export function keyOf(input: unknown): string | undefined {
  let i = input;
  if (typeof i === "string") {
    try {
      i = JSON.parse(i);
    } catch {
      return undefined;
    }
  }
  return eventKey((i as { detail?: { object?: { key?: string } } })?.detail?.object?.key);
}

const plural = (n: number, one: string, many = one + "s") => `${n} ${n === 1 ? one : many}`;

/** reportText says what a redrive (or discard) did, message by message in total. */
export function reportText(r: RedriveReport, verb = "Redrive"): string {
  const parts: string[] = [];
  if (r.started) parts.push(`started ${plural(r.started, "execution")}`);
  if (r.existing) parts.push(`${plural(r.existing, "execution")} already running or done`);
  if (r.discarded) parts.push(`discarded ${plural(r.discarded, "message")}`);
  if (r.permanent) parts.push(`${plural(r.permanent, "permanent failure")} left (redriving cannot fix them)`);
  if (r.parked) parts.push(`${plural(r.parked, "message")} parked (redriven too often)`);
  if (r.failed) parts.push(`${plural(r.failed, "message")} could not be redriven`);
  // A message's error is its failure's; only a failed redrive's says why the redrive failed.
  const errs = (r.messages ?? []).filter((m) => m.action === "failed" && m.error).map((m) => `${m.key ?? m.messageId}: ${m.error}`);
  return `${verb}: ${parts.length ? parts.join("; ") : "nothing to do"}.${errs.length ? " " + errs.join("; ") : ""}`;
}

/** actionText is one message's outcome in words. */
export function actionText(action: string | undefined): string {
  switch (action) {
    case "started":
      return "redriven: a new execution started";
    case "existing":
      return "its execution already exists";
    case "discarded":
      return "discarded";
    case "permanent":
      return "permanent: not redriven";
    case "parked":
      return "parked: redriven too often";
    case "failed":
      return "the redrive failed";
    default:
      return action ?? "";
  }
}
