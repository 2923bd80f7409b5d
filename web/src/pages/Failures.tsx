import { useState } from "preact/hooks";
import { eventKey, type Api, type FailureMessage } from "../api/types";
import { formatDate, pretty } from "../format";
import { ErrorBox, useLoad } from "../components/common";

function bodyOf(m: FailureMessage) {
  if (typeof m.body !== "string") return m.body ?? {};
  try {
    return JSON.parse(m.body);
  } catch {
    return { cause: m.body };
  }
}

/** causeText pulls errorMessage out of a Lambda error payload, if that is what it is. */
function causeText(cause: unknown): string {
  if (typeof cause !== "string") return cause === undefined ? "" : JSON.stringify(cause);
  try {
    const j = JSON.parse(cause);
    if (j && typeof j.errorMessage === "string") return j.errorMessage;
  } catch {
    /* plain text */
  }
  return cause;
}

function keyOf(input: unknown): string | undefined {
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

export function FailuresPage({ api }: { api: Api }) {
  const { data, error, loading, reload } = useLoad(() => api.listFailures(), []);
  const [busy, setBusy] = useState(false);
  const [result, setResult] = useState<string>();
  const [redriveError, setRedriveError] = useState<unknown>();
  const redrive = async () => {
    setBusy(true);
    setResult(undefined);
    setRedriveError(undefined);
    try {
      const r = await api.redrive();
      setResult(`Redrive started ${r.started} execution${r.started === 1 ? "" : "s"}${r.failed ? `; ${r.failed} could not be started` : ""}.`);
      reload();
    } catch (e) {
      setRedriveError(e);
    } finally {
      setBusy(false);
    }
  };
  const msgs = data?.messages ?? [];
  return (
    <section>
      <h1>Failures</h1>
      <p class="muted">Executions that failed after their retries put the error and the original event on the failure queue. Redrive starts the same work again.</p>
      <div class="actions">
        <button type="button" onClick={redrive} disabled={busy || msgs.length === 0}>
          {busy ? "Redriving…" : `Redrive ${msgs.length} message${msgs.length === 1 ? "" : "s"}`}
        </button>
        <button type="button" onClick={reload}>
          Refresh
        </button>
      </div>
      {result && <p role="status">{result}</p>}
      <ErrorBox error={redriveError} />
      <ErrorBox error={error} />
      {!loading && !error && msgs.length === 0 && <p class="muted">The failure queue is empty.</p>}
      <ul class="failures">
        {msgs.map((m) => {
          const b = bodyOf(m);
          const key = keyOf(b.input);
          return (
            <li class="failure" data-testid="failure" data-key={key}>
              <header>
                <strong class="error-name">{b.error ?? "Error"}</strong>
                {b.state && <span class="muted"> in {b.state}</span>}
                <span class="muted"> · {formatDate(m.sentTimestamp)}{m.receiveCount ? ` · received ${m.receiveCount}×` : ""}</span>
              </header>
              {key && (
                <p>
                  <code class="key">{key}</code>
                </p>
              )}
              <p class="cause" data-testid="failure-cause">{causeText(b.cause)}</p>
              <details>
                <summary>Message</summary>
                <pre class="json">{pretty(b)}</pre>
              </details>
            </li>
          );
        })}
      </ul>
    </section>
  );
}
