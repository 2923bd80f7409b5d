import { useState } from "preact/hooks";
import type { Api, ExecutionItem } from "../api/types";
import { formatDate, formatDuration, toDate } from "../format";
import { href, type Route } from "../router";
import { ErrorBox, Status, useInterval, useLoad } from "../components/common";

const STATUSES = ["", "RUNNING", "SUCCEEDED", "FAILED", "TIMED_OUT", "ABORTED"];

export function ExecutionsPage({ api, route }: { api: Api; route: Route }) {
  const status = route.query.get("status") ?? "";
  const key = route.query.get("key") ?? "";
  const [more, setMore] = useState<{ items: ExecutionItem[]; token?: string }>({ items: [] });
  const { data, error, loading, reload } = useLoad(async () => {
    const r = await api.listExecutions({ status, key, maxResults: 50 });
    setMore({ items: [], token: r.nextToken });
    return r;
  }, [status, key]);
  // Newest first and live while anything runs.
  const anyRunning = data?.executions.some((e) => e.status === "RUNNING") ?? false;
  useInterval(reload, 3000, anyRunning && more.items.length === 0);
  const [moreError, setMoreError] = useState<unknown>();
  const loadMore = async () => {
    try {
      const r = await api.listExecutions({ status, key, maxResults: 50, nextToken: more.token });
      setMore({ items: [...more.items, ...r.executions], token: r.nextToken });
    } catch (e) {
      setMoreError(e);
    }
  };
  const rows = [...(data?.executions ?? []), ...more.items];
  const withKeys = rows.some((e) => e.key);
  return (
    <section>
      <h1>Executions</h1>
      <nav class="filters" aria-label="Filter by status">
        {STATUSES.map((s) => (
          <a href={href(["executions"], { status: s, key })} aria-current={s === status ? "true" : undefined}>
            {s ? s.replace("_", " ").toLowerCase() : "all"}
          </a>
        ))}
        <button type="button" onClick={reload}>
          Refresh
        </button>
      </nav>
      {key && (
        <p>
          For <code>{key}</code> · <a href={href(["executions"], { status })}>show all</a>
        </p>
      )}
      <ErrorBox error={error} />
      {!loading && !error && rows.length === 0 && <p class="muted">No executions{status ? ` with status ${status}` : ""}.</p>}
      {rows.length > 0 && (
        <div class="scroll">
          <table class="list">
            <thead>
              <tr>
                <th scope="col">Status</th>
                <th scope="col">Name</th>
                {withKeys && <th scope="col">Object</th>}
                <th scope="col">Started</th>
                <th scope="col">Duration</th>
              </tr>
            </thead>
            <tbody>
              {rows.map((e) => {
                const start = toDate(e.startDate);
                const stop = toDate(e.stopDate);
                return (
                  <tr key={e.executionArn} data-testid="execution-row" data-key={e.key}>
                    <td>
                      <Status status={e.status} />
                    </td>
                    <td>
                      <a href={href(["executions", e.executionArn])}>{e.name || e.executionArn}</a>
                    </td>
                    {withKeys && (
                      <td>
                        <code class="key">{e.key ?? ""}</code>
                      </td>
                    )}
                    <td>{formatDate(e.startDate)}</td>
                    <td>{start && stop ? formatDuration(stop.getTime() - start.getTime()) : e.status === "RUNNING" ? "running" : "—"}</td>
                  </tr>
                );
              })}
            </tbody>
          </table>
        </div>
      )}
      <ErrorBox error={moreError} />
      {more.token !== undefined && more.token !== "" && (
        <button type="button" onClick={loadMore}>
          Load more
        </button>
      )}
    </section>
  );
}
