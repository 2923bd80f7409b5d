import { useMemo, useState } from "preact/hooks";
import type { Api, ExecutionDetail } from "../api/types";
import { AslError, allStates, layout, type Graph } from "../asl";
import { summarize, type StateSummary } from "../history";
import { attemptsOf, eventRows, filterRows, pickState } from "../events";
import { formatDate, formatDuration, pretty, toDate } from "../format";
import { href } from "../router";
import { ErrorBox, Status, useInterval, useLoad } from "../components/common";
import { StateGraph } from "../components/Graph";

export function ExecutionPage({ api, arn }: { api: Api; arn: string }) {
  const { data, error, reload } = useLoad(() => api.describeExecution(arn), [arn]);
  const running = data?.execution.status === "RUNNING";
  useInterval(reload, 2000, running);
  const [selected, setSelected] = useState<string>();

  const graph = useMemo<Graph | AslError | undefined>(() => {
    if (!data) return undefined;
    try {
      return layout(data.definition);
    } catch (e) {
      return e instanceof AslError ? e : new AslError(String(e));
    }
  }, [data?.definition]);
  const states = useMemo(() => (data ? summarize(data.history ?? [], data.execution.status) : new Map<string, StateSummary>()), [data]);

  if (error) {
    return (
      <section>
        <p>
          <a href="#/executions">← Executions</a>
        </p>
        <ErrorBox error={error} />
        {api.consoleUrl?.(arn) && (
          <p>
            <a href={api.consoleUrl(arn)} target="_blank" rel="noopener noreferrer">
              Open this execution in the Step Functions console
            </a>
          </p>
        )}
      </section>
    );
  }
  if (!data) return <p role="status">Loading the execution…</p>;
  const x = data.execution;
  const start = toDate(x.startDate);
  const stop = toDate(x.stopDate);
  const names = graph && !(graph instanceof AslError) ? allStates(graph) : [...states.keys()];
  const sel = selected ?? pickState(names, states);
  const s = sel ? states.get(sel) : undefined;
  const node = sel && graph && !(graph instanceof AslError) ? findNode(graph, sel) : undefined;

  return (
    <section>
      <p>
        <a href="#/executions">← Executions</a>
      </p>
      <h1 class="exec-title">
        {x.name ?? arn} <Status status={x.status} />
      </h1>
      <dl class="facts inline">
        <dt>Started</dt>
        <dd>{formatDate(x.startDate)}</dd>
        <dt>Stopped</dt>
        <dd>{x.stopDate ? formatDate(x.stopDate) : "—"}</dd>
        <dt>Duration</dt>
        <dd>{start && stop ? formatDuration(stop.getTime() - start.getTime()) : "—"}</dd>
        {x.redriveCount ? (
          <>
            <dt>Redriven</dt>
            <dd data-testid="execution-redrive-count">{x.redriveCount}×</dd>
          </>
        ) : null}
      </dl>
      <p class="muted">
        <code class="key">{x.executionArn}</code>
      </p>
      <ExecutionActions api={api} arn={arn} status={x.status} onDone={reload} />
      {(x.error || x.cause) && (
        <div class="error" role="alert">
          <strong>{x.error}</strong>
          {x.cause && <pre tabIndex={0}>{pretty(x.cause)}</pre>}
        </div>
      )}
      <div class="exec-layout">
        <div class="exec-graph" aria-label="State machine">
          {graph instanceof AslError ? <ErrorBox error={graph} /> : graph ? <StateGraph graph={graph} states={states} selected={sel} onSelect={setSelected} /> : null}
          <p class="legend muted">
            <span class="dot st-succeeded" /> succeeded <span class="dot st-failed" /> failed <span class="dot st-caught" /> caught{" "}
            <span class="dot st-running" /> running <span class="dot st-not_run" /> not run
          </p>
        </div>
        <aside class="state-panel" aria-live="polite">
          {sel ? (
            <>
              <h2>
                {sel} <Status status={s?.status ?? "NOT_RUN"} testid="state-status" />
              </h2>
              <dl class="facts">
                <dt>Type</dt>
                <dd>{node?.type ?? s?.type ?? "—"}</dd>
                {node?.resource && (
                  <>
                    <dt>Resource</dt>
                    <dd>
                      <code class="key">{node.resource}</code>
                    </dd>
                  </>
                )}
                <dt>Entered</dt>
                <dd>{s?.enteredAt ? formatDate(s.enteredAt.getTime() / 1000) : "—"}</dd>
                <dt>Duration</dt>
                <dd>{formatDuration(s?.durationMs)}</dd>
                <dt>Attempts</dt>
                <dd>{s?.attempts ? `${s.attempts} (${s.attempts - 1} retr${s.attempts === 2 ? "y" : "ies"})` : "—"}</dd>
              </dl>
              {s && s.attempts > 0 ? <Attempts history={data.history ?? []} state={sel} /> : null}
              {s?.errors.length && !s.attempts ? (
                <>
                  <h3>Errors</h3>
                  <ol class="errors">
                    {s.errors.map((e) => (
                      <li>
                        <strong>{e.error}</strong>
                        {e.cause && <pre tabIndex={0}>{pretty(e.cause)}</pre>}
                      </li>
                    ))}
                  </ol>
                </>
              ) : null}
              {node?.retry.length ? (
                <>
                  <h3>Retry policy</h3>
                  <ul class="retry">
                    {node.retry.map((r) => (
                      <li>
                        {r.ErrorEquals.join(", ")}: up to {r.MaxAttempts ?? 3} more, {r.IntervalSeconds ?? 1} s × {r.BackoffRate ?? 2}
                        {r.MaxDelaySeconds ? `, at most ${r.MaxDelaySeconds} s` : ""}
                        {r.JitterStrategy ? `, jitter ${r.JitterStrategy.toLowerCase()}` : ""}
                      </li>
                    ))}
                  </ul>
                </>
              ) : null}
              <h3>Input</h3>
              <pre class="json" tabIndex={0}>{s?.input !== undefined ? pretty(s.input) : "—"}</pre>
              <h3>Output</h3>
              <pre class="json" tabIndex={0}>{s?.output !== undefined ? pretty(s.output) : "—"}</pre>
            </>
          ) : (
            <p class="muted">Choose a state.</p>
          )}
        </aside>
      </div>
      <HistoryTable history={data.history ?? []} onSelect={setSelected} />
      <details>
        <summary>Execution input and output</summary>
        <h3>Input</h3>
        <pre class="json" tabIndex={0}>{pretty(x.input) || "—"}</pre>
        <h3>Output</h3>
        <pre class="json" tabIndex={0}>{pretty(x.output) || "—"}</pre>
      </details>
      <p>
        <a href={href(["executions"])}>All executions</a>
        {api.consoleUrl?.(arn) && (
          <>
            {" · "}
            <a href={api.consoleUrl(arn)} target="_blank" rel="noopener noreferrer">
              Step Functions console
            </a>
          </>
        )}
      </p>
    </section>
  );
}

function findNode(g: Graph, name: string): Graph["nodes"][string] | undefined {
  if (g.nodes[name]) return g.nodes[name];
  for (const n of Object.values(g.nodes)) {
    for (const b of n.branches) {
      const f = findNode(b, name);
      if (f) return f;
    }
  }
  return undefined;
}

function Attempts({ history, state }: { history: ExecutionDetail["history"]; state: string }) {
  const attempts = useMemo(() => attemptsOf(history, state), [history, state]);
  if (!attempts.length) return null;
  return (
    <>
      <h3>Attempts</h3>
      <ol class="attempts" data-testid="attempts">
        {attempts.map((a) => (
          <li class={`attempt st-${a.outcome === "succeeded" ? "succeeded" : a.outcome === "failed" ? "failed" : "running"}`} data-testid="attempt">
            <span>
              #{a.n} at +{formatDuration(a.scheduledMs)}
              {a.backoffMs !== undefined ? ` after ${formatDuration(a.backoffMs)} backoff` : ""}
              {a.durationMs !== undefined ? `, ran ${formatDuration(a.durationMs)}` : ""}: <strong>{a.outcome === "failed" ? a.error : a.outcome}</strong>
            </span>
            {a.cause && <span class="cause">{a.cause}</span>}
          </li>
        ))}
      </ol>
    </>
  );
}

function HistoryTable({ history, onSelect }: { history: ExecutionDetail["history"]; onSelect: (s: string) => void }) {
  const [filter, setFilter] = useState("");
  const rows = useMemo(() => eventRows(history), [history]);
  const shown = filterRows(rows, filter);
  return (
    <section class="history" aria-labelledby="history-title">
      <h2 id="history-title">Event history</h2>
      <label class="history-filter">
        Filter events{" "}
        <input type="search" value={filter} data-testid="history-filter" placeholder="type, step or error" onInput={(e) => setFilter((e.target as HTMLInputElement).value)} />
      </label>
      <p class="muted" role="status">
        {shown.length === rows.length ? `${rows.length} events` : `${shown.length} of ${rows.length} events`}
      </p>
      <div class="scroll">
        <table class="history-table">
          <thead>
            <tr>
              <th scope="col">ID</th>
              <th scope="col">Type</th>
              <th scope="col">Step</th>
              <th scope="col">Since start</th>
              <th scope="col">Details</th>
            </tr>
          </thead>
          <tbody>
            {shown.map((r) => (
              <tr data-testid="history-row" data-type={r.type} data-step={r.step} class={/Failed|TimedOut|Aborted/.test(r.type) ? "bad" : undefined}>
                <td>{r.id}</td>
                <td class="ev-type">{r.type}</td>
                <td>
                  {r.step ? (
                    <button type="button" class="linkish" onClick={() => onSelect(r.step)}>
                      {r.step}
                    </button>
                  ) : (
                    ""
                  )}
                </td>
                <td>{formatDuration(r.sinceStartMs)}</td>
                <td class="ev-details">{r.details}</td>
              </tr>
            ))}
          </tbody>
        </table>
      </div>
    </section>
  );
}

/** ExecutionActions offers Redrive (a FAILED, TIMED_OUT or ABORTED run) and Stop (a RUNNING one) where the API has them. */
function ExecutionActions({ api, arn, status, onDone }: { api: Api; arn: string; status: string; onDone: () => void }) {
  const [busy, setBusy] = useState(false);
  const [err, setErr] = useState<unknown>();
  const [done, setDone] = useState<string>();
  if (!api.redriveExecution && !api.stopExecution) return null;
  const run = async (what: string, fn: () => Promise<void>) => {
    setBusy(true);
    setErr(undefined);
    setDone(undefined);
    try {
      await fn();
      setDone(what);
      onDone();
    } catch (e) {
      setErr(e);
    } finally {
      setBusy(false);
    }
  };
  const redrivable = ["FAILED", "TIMED_OUT", "ABORTED"].includes(status);
  return (
    <div class="actions">
      {api.redriveExecution && (
        <button type="button" data-testid="execution-redrive" disabled={busy || !redrivable} onClick={() => run("Redrive started.", () => api.redriveExecution!(arn))}>
          Redrive
        </button>
      )}
      {api.stopExecution && (
        <button type="button" data-testid="execution-stop" disabled={busy || status !== "RUNNING"} onClick={() => run("Stop requested.", () => api.stopExecution!(arn))}>
          Stop
        </button>
      )}
      {done && <span role="status">{done}</span>}
      <ErrorBox error={err} />
    </div>
  );
}
