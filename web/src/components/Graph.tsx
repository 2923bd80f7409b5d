import type { Graph, GraphNode } from "../asl";
import type { StateSummary } from "../history";
import { formatDuration } from "../format";

interface Props {
  graph: Graph;
  states: Map<string, StateSummary>;
  selected?: string;
  onSelect: (name: string) => void;
}

/** StateGraph draws rows top to bottom; Parallel branches sit side by side. */
export function StateGraph(p: Props) {
  return (
    <div class="graph">
      {p.graph.rows.map((row, i) => (
        <>
          {i > 0 && <div class="arrow" aria-hidden="true">↓</div>}
          <div class="row">
            {row.map((n) => (
              <StateNode {...p} node={p.graph.nodes[n]} />
            ))}
          </div>
        </>
      ))}
    </div>
  );
}

function StateNode(p: Props & { node: GraphNode }) {
  const { node, states } = p;
  const s = states.get(node.name);
  const status = s?.status ?? "NOT_RUN";
  const retries = s && s.attempts > 1 ? s.attempts - 1 : 0;
  const head = (
    <button
      type="button"
      class={`state st-${status.toLowerCase()} ${node.errorPath ? "error-path" : ""} ${p.selected === node.name ? "selected" : ""}`}
      aria-pressed={p.selected === node.name}
      onClick={() => p.onSelect(node.name)}
      data-state={node.name}
      data-status={status}
      data-error-path={node.errorPath ? "true" : undefined}
      title={node.errorPath ? "runs only when a Catch sends an error here" : undefined}
    >
      <span class="state-name">{node.name}</span>
      <span class="state-meta">
        {node.type} · {status.replace("_", " ").toLowerCase()}
        {s?.durationMs !== undefined ? ` · ${formatDuration(s.durationMs)}` : ""}
        {retries ? ` · ${retries} retr${retries === 1 ? "y" : "ies"}` : ""}
      </span>
      {node.catchTo.length > 0 && <span class="state-edge">catch → {node.catchTo.map((c) => c.next).join(", ")}</span>}
    </button>
  );
  if (!node.branches.length) return head;
  return (
    <div class={`container st-${status.toLowerCase()}`}>
      {head}
      <div class="branches">
        {node.branches.map((b) => (
          <div class="branch">
            <StateGraph {...p} graph={b} />
          </div>
        ))}
      </div>
    </div>
  );
}
