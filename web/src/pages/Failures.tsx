import { useState } from "preact/hooks";
import type { Api, FailureMessage, RedriveReport } from "../api/types";
import { formatDate, pretty } from "../format";
import { actionText, bodyOf, causeText, keyOf, reportText } from "../failures";
import { href } from "../router";
import { ErrorBox, useLoad } from "../components/common";

export function FailuresPage({ api }: { api: Api }) {
  const { data, error, loading, reload } = useLoad(() => api.listFailures(), []);
  const [busy, setBusy] = useState<string>(); // "all" or a message id
  const [result, setResult] = useState<string>();
  const [outcomes, setOutcomes] = useState<Record<string, string>>({});
  const [actionError, setActionError] = useState<unknown>();

  // A redrive job reports each round as it lands; the last report replaces them.
  const progress = (round: number, r: RedriveReport) => setResult(`Redriving (round ${round}): ${reportText(r, "so far").replace(/^so far: /, "")}`);
  const act = async (id: string, verb: string, run: () => Promise<RedriveReport>) => {
    setBusy(id);
    setResult(undefined);
    setActionError(undefined);
    try {
      const r = await run();
      setResult(reportText(r, verb));
      const o: Record<string, string> = {};
      for (const m of r.messages ?? []) o[m.messageId] = actionText(m.action) + (m.action === "failed" && m.error ? `: ${m.error}` : "");
      setOutcomes((prev) => ({ ...prev, ...o }));
      reload();
    } catch (e) {
      setActionError(e);
    } finally {
      setBusy(undefined);
    }
  };
  const msgs = data?.messages ?? [];
  const transient = msgs.filter((m) => !bodyOf(m).permanent).length;
  return (
    <section>
      <h1>Failures</h1>
      <p class="muted">
        Executions that failed after their retries put the error and the original event on the failure queue. Redrive starts the same work again;
        a <strong>permanent</strong> failure (the bytes cannot be read) fails again unless the object changes.
      </p>
      <div class="actions">
        <button type="button" onClick={() => act("all", "Redrive", () => api.redrive({}, progress))} disabled={!!busy || transient === 0}>
          {busy === "all" ? "Redriving…" : `Redrive ${transient} transient failure${transient === 1 ? "" : "s"}`}
        </button>
        <button type="button" onClick={reload}>
          Refresh
        </button>
      </div>
      {result && (
        <p role="status" data-testid="failure-report">
          {result}
        </p>
      )}
      <ErrorBox error={actionError} />
      <ErrorBox error={error} />
      {!loading && !error && msgs.length === 0 && <p class="muted">The failure queue is empty.</p>}
      <ul class="failures">
        {msgs.map((m) => (
          <FailureRow key={m.messageId} m={m} busy={busy} outcome={outcomes[m.messageId]} act={act} api={api} progress={progress} />
        ))}
      </ul>
    </section>
  );
}

function FailureRow({
  m,
  busy,
  outcome,
  act,
  api,
  progress,
}: {
  m: FailureMessage;
  busy?: string;
  outcome?: string;
  act: (id: string, verb: string, run: () => Promise<RedriveReport>) => void;
  api: Api;
  progress: (round: number, r: RedriveReport) => void;
}) {
  const b = bodyOf(m);
  const key = keyOf(b.input);
  const name = key?.split("/").pop() ?? m.messageId;
  return (
    <li class="failure" data-testid="failure-row" data-key={key} data-message-id={m.messageId} data-permanent={b.permanent ? "true" : "false"}>
      <div data-testid="failure" data-key={key}>
        <header>
          <strong class="error-name">{b.error ?? "Error"}</strong>
          {b.state && <span class="muted"> in {b.state}</span>}{" "}
          <span class={`badge ${b.permanent ? "st-failed" : "st-running"}`} data-testid="failure-kind">
            {b.permanent ? "permanent" : "transient"}
          </span>
          <span class="muted">
            {" "}
            · {formatDate(m.sentTimestamp)}
            {m.receiveCount ? ` · received ${m.receiveCount}×` : ""}
          </span>
        </header>
        {key && (
          <p>
            <code class="key">{key}</code>
          </p>
        )}
        <p class="cause" data-testid="failure-cause">
          {causeText(b.cause)}
        </p>
        <p class="links">
          {b.executionArn && (
            <a href={href(["executions", b.executionArn])} data-testid="failure-execution">
              Execution
            </a>
          )}
          {b.executionArn && key && " · "}
          {key && (
            <a href={href(["search"], { q: name })} data-testid="failure-image">
              Image
            </a>
          )}
        </p>
        <div class="actions">
          <button
            type="button"
            data-testid="failure-redrive"
            disabled={!!busy}
            aria-label={`Redrive ${name}`}
            title={b.permanent ? "A permanent failure: it fails again unless the object was replaced" : "Start the work again"}
            onClick={() => act(m.messageId, "Redrive", () => api.redrive({ messageIds: [m.messageId], includePermanent: true }, progress))}
          >
            {busy === m.messageId ? "Working…" : "Redrive"}
          </button>
          <button type="button" data-testid="failure-discard" disabled={!!busy} aria-label={`Discard ${name}`} onClick={() => act(m.messageId, "Discard", () => api.discard([m.messageId]))}>
            Discard
          </button>
          {outcome && (
            <span role="status" class="muted" data-testid="failure-outcome">
              {outcome}
            </span>
          )}
        </div>
        <details>
          <summary>Message</summary>
          <pre class="json" tabIndex={0}>{pretty(b)}</pre>
        </details>
      </div>
    </li>
  );
}
