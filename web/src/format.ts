export function formatBytes(n: number | undefined): string {
  if (n === undefined || n === null || !isFinite(n)) return "—";
  if (n < 1024) return `${n} B`;
  const units = ["KiB", "MiB", "GiB", "TiB"];
  let v = n / 1024;
  let i = 0;
  while (v >= 1024 && i < units.length - 1) {
    v /= 1024;
    i++;
  }
  return `${v.toFixed(v < 10 ? 1 : 0)} ${units[i]}`;
}

/** toDate accepts what AWS JSON and SDKs give: epoch seconds, ISO strings or Dates. */
export function toDate(v: unknown): Date | undefined {
  if (v === undefined || v === null || v === "") return undefined;
  if (v instanceof Date) return isNaN(v.getTime()) ? undefined : v;
  // Epoch numbers are seconds (Step Functions) or milliseconds (SQS SentTimestamp):
  // 1e11 seconds would be the year 5138, so anything larger is milliseconds.
  const fromEpoch = (n: number) => new Date(Math.abs(n) >= 1e11 ? n : n * 1000);
  if (typeof v === "number") return fromEpoch(v);
  if (typeof v === "string") {
    const n = Number(v);
    const d = isFinite(n) && v.trim() !== "" ? fromEpoch(n) : new Date(v);
    return isNaN(d.getTime()) ? undefined : d;
  }
  return undefined;
}

export function formatDate(v: unknown): string {
  const d = toDate(v);
  return d ? d.toLocaleString(undefined, { dateStyle: "medium", timeStyle: "medium" }) : "—";
}

export function formatDuration(ms: number | undefined): string {
  if (ms === undefined || !isFinite(ms)) return "—";
  if (ms < 1000) return `${Math.round(ms)} ms`;
  if (ms < 60_000) return `${(ms / 1000).toFixed(ms < 10_000 ? 2 : 1)} s`;
  const m = Math.floor(ms / 60_000);
  return `${m} min ${Math.round((ms % 60_000) / 1000)} s`;
}

/** pretty shows JSON strings (as Step Functions returns input/output) indented. */
export function pretty(v: unknown): string {
  if (v === undefined || v === null) return "";
  if (typeof v === "string") {
    try {
      return JSON.stringify(JSON.parse(v), null, 2);
    } catch {
      return v;
    }
  }
  return JSON.stringify(v, null, 2);
}
