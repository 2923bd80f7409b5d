import { useLayoutEffect, useRef, useState } from "preact/hooks";
import type { Graph, GraphNode } from "../asl";
import { allEdges, edgePath, type Box, type DrawnEdge } from "../edges";
import type { StateSummary } from "../history";
import { formatDuration } from "../format";

interface Props {
  graph: Graph;
  states: Map<string, StateSummary>;
  selected?: string;
  onSelect: (name: string) => void;
}

/**
 * StateGraph draws rows top to bottom (Parallel branches side by side), then lays its
 * edges over them as SVG, measured from where the boxes landed: the layout is the
 * browser's (it wraps on a phone), so the edges follow whatever it chose.
 */
export function StateGraph(p: Props) {
  const ref = useRef<HTMLDivElement>(null);
  const [drawn, setDrawn] = useState<{ w: number; h: number; edges: DrawnEdge[] }>({ w: 0, h: 0, edges: [] });
  const sig = useRef("");
  useLayoutEffect(() => {
    const el = ref.current;
    if (!el) return;
    const draw = () => {
      const next = measure(el, p.graph);
      const s = JSON.stringify(next);
      if (s !== sig.current) {
        sig.current = s;
        setDrawn(next);
      }
    };
    draw();
    const ro = new ResizeObserver(draw);
    ro.observe(el);
    return () => ro.disconnect();
  });
  return (
    <>
      <div class="graph-wrap" ref={ref}>
        <svg class="edges" width={drawn.w} height={drawn.h} aria-hidden="true" focusable="false">
          <defs>
            {KINDS.map((k) => (
              <marker id={`arrow-${k}`} viewBox="0 0 8 8" refX="7" refY="4" markerWidth="7" markerHeight="7" orient="auto-start-reverse">
                <path d="M0,0 L8,4 L0,8 z" class={`head edge-${k}`} />
              </marker>
            ))}
          </defs>
          {drawn.edges.map((e) => (
            <g class={`edge edge-${e.kind}`} data-edge={e.kind} data-from={e.from} data-to={e.to}>
              <path d={e.d} marker-end={`url(#arrow-${e.kind})`} />
              {e.label && (
                <text x={e.lx} y={e.ly}>
                  {e.label}
                </text>
              )}
            </g>
          ))}
        </svg>
        <Rows {...p} />
      </div>
      <p class="legend muted edge-legend" aria-hidden="true">
        <span class="ln edge-next" /> next <span class="ln edge-choice" /> choice <span class="ln edge-default" /> default{" "}
        <span class="ln edge-catch" /> catch <span class="ln edge-branch" /> branch
      </p>
    </>
  );
}

const KINDS = ["next", "choice", "default", "catch", "branch"] as const;

function Rows(p: Props) {
  return (
    <div class="graph">
      {p.graph.rows.map((row) => (
        <div class="row">
          {row.map((n) => (
            <StateNode {...p} node={p.graph.nodes[n]} />
          ))}
        </div>
      ))}
    </div>
  );
}

/** measure finds each state's box relative to the wrapper and routes every edge. */
function measure(el: HTMLElement, g: Graph): { w: number; h: number; edges: DrawnEdge[] } {
  const origin = el.getBoundingClientRect();
  const boxes = new Map<string, { head: Box; outer: Box }>();
  const rel = (r: DOMRect): Box => ({ x: r.left - origin.left, y: r.top - origin.top, w: r.width, h: r.height });
  for (const b of el.querySelectorAll<HTMLElement>("button.state[data-state]")) {
    const name = b.dataset.state!;
    const outer = b.parentElement?.classList.contains("container") ? b.parentElement : b;
    boxes.set(name, { head: rel(b.getBoundingClientRect()), outer: rel(outer.getBoundingClientRect()) });
  }
  const edges: DrawnEdge[] = [];
  for (const e of allEdges(g)) {
    const a = boxes.get(e.from);
    const b = boxes.get(e.to);
    if (!a || !b) continue;
    // A branch leaves the Parallel's own box; every other edge leaves the whole container.
    edges.push({ ...e, ...edgePath(e.kind === "branch" ? a.head : a.outer, b.outer, e.kind) });
  }
  return { w: el.scrollWidth, h: el.scrollHeight, edges };
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
            <Rows {...p} graph={b} />
          </div>
        ))}
      </div>
    </div>
  );
}
