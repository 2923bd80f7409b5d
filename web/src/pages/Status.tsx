import { useState } from "preact/hooks";
import { NotAvailable, type Api, type LoadStatus } from "../api/types";
import { ErrorBox, useInterval, useLoad } from "../components/common";
import { LoadChart } from "../components/LoadChart";

export function StatusPage({ api }: { api: Api }) {
  const ping = useLoad(() => api.ping(), []);
  return (
    <section>
      <h1>Status</h1>
      <div class="card">
        <h2>API</h2>
        <p>
          Images indexed:{" "}
          <strong data-testid="ping-count" class="big">
            {ping.data ? ping.data.count : ping.loading ? "…" : "?"}
          </strong>
        </p>
        <ErrorBox error={ping.error} />
        <button type="button" onClick={ping.reload}>
          Test API endpoint
        </button>
      </div>
      <LoadTest api={api} />
    </section>
  );
}

const DURATION = /^\d+(ms|s|m)$/;

function LoadTest({ api }: { api: Api }) {
  const [status, setStatus] = useState<LoadStatus>();
  const [error, setError] = useState<unknown>();
  const [busy, setBusy] = useState(false);
  const [watching, setWatching] = useState(true);
  const poll = () =>
    api.loadStatus().then(
      (s) => {
        setStatus(s);
        setError(undefined);
        if (!s.running) setWatching(false);
      },
      (e) => {
        setError(e);
        setWatching(false);
      },
    );
  // Read once on open (a run may be going), then live while it runs.
  useLoad(poll, []);
  useInterval(poll, 1000, watching);
  const start = async (e: Event) => {
    e.preventDefault();
    const f = new FormData(e.target as HTMLFormElement);
    const rate = Number(f.get("rate"));
    const duration = String(f.get("duration")).trim();
    if (!(rate > 0 && rate <= 1000)) return setError(new Error("Rate must be between 1 and 1000 uploads a second."));
    if (!DURATION.test(duration)) return setError(new Error("Duration is a number with ms, s or m, e.g. 30s."));
    setBusy(true);
    setError(undefined);
    try {
      await api.startLoad(rate, duration);
      setWatching(true);
    } catch (err) {
      setError(err);
    } finally {
      setBusy(false);
    }
  };
  const unavailable = error instanceof NotAvailable;
  // In AWS the load-tester Lambda answers when its run ends: sent, failed and upload
  // times come then; Indexed counts documents added to the index since the start.
  return (
    <div class="card">
      <h2>Load test</h2>
      {(
        <p class="hint">
          Operators only. The load-tester Lambda uploads 1024×768 sample photos under <code>upload/load/</code>; it reports what it sent when the run ends, and
          Indexed counts documents added to the index since the start. A run cannot be stopped once started (an invoked Lambda runs to its end): it
          stops itself at its duration, at most 5 minutes.
        </p>
      )}
      <form class="load" onSubmit={start}>
        <label>
          Rate (uploads/s) <input name="rate" type="number" min={1} max={1000} defaultValue="5" required />
        </label>
        <label>
          Duration <input name="duration" defaultValue="30s" pattern="\d+(ms|s|m)" required />
        </label>
        <button disabled={busy || status?.running || unavailable}>{status?.running ? "Running…" : "Start"}</button>
      </form>
      <ErrorBox error={error} />
      {status && (
        <dl class="facts inline" aria-live="polite">
          <dt>State</dt>
          <dd>{status.running ? "running" : "idle"}</dd>
          <dt>Sent</dt>
          <dd>{status.running && status.sent === 0 ? "…" : status.sent}</dd>
          <dt>Indexed</dt>
          <dd>{status.indexed}</dd>
          <dt>Failed</dt>
          <dd>{status.failed}</dd>
          <dt>Upload p50</dt>
          <dd>{status.p50Ms !== undefined ? `${Math.round(status.p50Ms)} ms` : "—"}</dd>
          <dt>Upload p95</dt>
          <dd>{status.p95Ms !== undefined ? `${Math.round(status.p95Ms)} ms` : "—"}</dd>
        </dl>
      )}
      {status?.running && status.startedAt !== undefined && status.durationMs ? <TimeProgress startedAt={status.startedAt} durationMs={status.durationMs} /> : null}
      {status && status.sent > 0 && (
        <label class="block">
          Processed {status.indexed + status.failed} of {status.sent} sent
          <progress max={status.sent} value={status.indexed + status.failed} />
        </label>
      )}
      {status?.timeline && <LoadChart timeline={status.timeline} />}
    </div>
  );
}

/** TimeProgress shows how far the run is through its duration (the Lambda reports only at its end). */
function TimeProgress({ startedAt, durationMs }: { startedAt: number; durationMs: number }) {
  const elapsed = Math.min(Date.now() - startedAt, durationMs);
  const left = Math.max(0, Math.ceil((durationMs - elapsed) / 1000));
  return (
    <label class="block" data-testid="load-time">
      {left > 0 ? `Uploading: ${left} s left of ${Math.round(durationMs / 1000)} s` : "Uploads done: waiting for the load tester's report and the pipeline"}
      <progress max={durationMs} value={elapsed} />
    </label>
  );
}
