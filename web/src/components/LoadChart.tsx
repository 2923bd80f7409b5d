import type { LoadSecond } from "../api/types";

const W = 560;
const H = 180;
const PAD = { l: 40, r: 56, t: 12, b: 26 };

/** niceMax rounds a maximum up to 1, 2 or 5 times a power of ten, for the axis. */
export function niceMax(v: number): number {
  if (!(v > 0)) return 1;
  const p = 10 ** Math.floor(Math.log10(v));
  for (const m of [1, 2, 5, 10]) if (v <= m * p) return m * p;
  return 10 * p;
}

/**
 * LoadChart draws a load run second by second: bars for the uploads S3 answered
 * (refused ones in red on top), a line for their median latency on the right axis.
 * The summary in its label says the same for a screen reader.
 */
export function LoadChart({ timeline }: { timeline: LoadSecond[] }) {
  if (!timeline.length) return null;
  const n = timeline.length;
  const maxCount = niceMax(Math.max(...timeline.map((s) => s.sent + s.failed)));
  const maxMs = niceMax(Math.max(...timeline.map((s) => s.uploadP50Ms)));
  const iw = W - PAD.l - PAD.r;
  const ih = H - PAD.t - PAD.b;
  const bw = iw / n;
  const y = (v: number, max: number) => PAD.t + ih - (v / max) * ih;
  const line = timeline
    .filter((s) => s.sent + s.failed > 0)
    .map((s) => `${(PAD.l + (s.t + 0.5) * bw).toFixed(1)},${y(s.uploadP50Ms, maxMs).toFixed(1)}`)
    .join(" ");
  const total = timeline.reduce((a, s) => a + s.sent, 0);
  const refused = timeline.reduce((a, s) => a + s.failed, 0);
  const peak = Math.max(...timeline.map((s) => s.sent));
  const summary = `${total} uploads over ${n} s (peak ${peak}/s${refused ? `, ${refused} refused` : ""}); median upload latency up to ${Math.round(Math.max(...timeline.map((s) => s.uploadP50Ms)))} ms`;
  return (
    <figure class="load-chart">
      <svg viewBox={`0 0 ${W} ${H}`} role="img" aria-label={summary} data-testid="load-chart">
        <line x1={PAD.l} y1={PAD.t + ih} x2={W - PAD.r} y2={PAD.t + ih} class="axis" />
        <text x={PAD.l - 6} y={PAD.t + 4} class="tick" text-anchor="end">
          {maxCount}/s
        </text>
        <text x={W - PAD.r + 6} y={PAD.t + 4} class="tick">
          {maxMs} ms
        </text>
        <text x={PAD.l} y={H - 6} class="tick">
          0 s
        </text>
        <text x={W - PAD.r} y={H - 6} class="tick" text-anchor="end">
          {n} s
        </text>
        {timeline.map((s) => (
          <g key={s.t}>
            <rect x={PAD.l + s.t * bw + 1} y={y(s.sent, maxCount)} width={Math.max(bw - 2, 1)} height={PAD.t + ih - y(s.sent, maxCount)} class="bar-sent" />
            {s.failed > 0 && (
              <rect
                x={PAD.l + s.t * bw + 1}
                y={y(s.sent + s.failed, maxCount)}
                width={Math.max(bw - 2, 1)}
                height={y(s.sent, maxCount) - y(s.sent + s.failed, maxCount)}
                class="bar-failed"
              />
            )}
          </g>
        ))}
        {line && <polyline points={line} class="latency" />}
      </svg>
      <figcaption>
        Uploads answered per second (bars; refused in red) and their median latency (line, right axis). {summary}.
      </figcaption>
    </figure>
  );
}
