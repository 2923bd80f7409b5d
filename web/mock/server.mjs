// A development stand-in for the twin's web server: serves web/dist, /config.json and
// the /api/ contract from memory, with a fake pipeline (1 s per image, failure for
// bytes that are not an image). Never part of the bundle; `npm run mock`.
import { createServer } from "node:http";
import { readFile } from "node:fs/promises";
import { createHash, randomUUID } from "node:crypto";
import { join, extname } from "node:path";
import { fileURLToPath } from "node:url";

const dist = fileURLToPath(new URL("../dist/", import.meta.url));
const port = Number(process.env.PORT ?? 8080);
const SM = "arn:aws:states:us-east-1:000000000000:stateMachine:imagepipe-pipeline";
const retry = [{ ErrorEquals: ["Lambda.ServiceException", "Lambda.TooManyRequestsException", "TransientError", "ThrottledError"], IntervalSeconds: 1, MaxAttempts: 4, BackoffRate: 2, MaxDelaySeconds: 20, JitterStrategy: "FULL" }];
const task = (next) => ({ Type: "Task", Resource: "arn:aws:states:::lambda:invoke", OutputPath: "$.Payload", Retry: retry, ...(next ? { Next: next } : { End: true }) });
const definition = {
  Comment: "imagepipe (mock)",
  StartAt: "Process",
  States: {
    Process: {
      Type: "Parallel",
      Branches: ["ExtractMetadata", "DetectLabels", "MakeThumbnail"].map((n) => ({ StartAt: n, States: { [n]: task() } })),
      Catch: [{ ErrorEquals: ["States.ALL"], ResultPath: "$.error", Next: "NotifyFailure" }],
      Next: "IndexDocument",
    },
    IndexDocument: { ...task(), Catch: [{ ErrorEquals: ["States.ALL"], ResultPath: "$.error", Next: "NotifyFailure" }] },
    NotifyFailure: { Type: "Task", Resource: "arn:aws:states:::sqs:sendMessage", Next: "Failed" },
    Failed: { Type: "Fail", Error: "ImageFailed" },
  },
};

const objects = new Map(); // key -> {body, type, etag}
const docs = [];
const executions = []; // newest last
const failures = [];
let load = null;

function isImage(b) {
  return (b[0] === 0xff && b[1] === 0xd8 && b[b.length - 2] === 0xff && b[b.length - 1] === 0xd9) || (b[0] === 0x89 && b[1] === 0x50) || (b[0] === 0x47 && b[1] === 0x49);
}

function startExecution(key, body, etag) {
  const name = randomUUID();
  const t0 = Date.now() / 1000;
  const event = { version: "0", "detail-type": "Object Created", source: "aws.s3", detail: { bucket: { name: "images" }, object: { key, size: body.length, etag, sequencer: t0.toFixed(0) } } };
  const x = { executionArn: `arn:aws:states:us-east-1:000000000000:execution:imagepipe-pipeline:${name}`, name, status: "RUNNING", startDate: t0, stateMachineArn: SM, key, input: JSON.stringify(event), history: [] };
  executions.push(x);
  const h = x.history;
  let id = 0;
  const ev = (type, prev, extra = {}, dt = 0) => {
    const e = { timestamp: t0 + dt, type, id: ++id, previousEventId: prev, ...extra };
    h.push(e);
    return e.id;
  };
  const inp = x.input;
  const started = ev("ExecutionStarted", 0, { executionStartedEventDetails: { input: inp } });
  const pe = ev("ParallelStateEntered", started, { stateEnteredEventDetails: { name: "Process", input: inp } }, 0.001);
  const ps = ev("ParallelStateStarted", pe, {}, 0.002);
  const ok = isImage(body);
  const outs = [];
  const lasts = [];
  ["ExtractMetadata", "DetectLabels", "MakeThumbnail"].forEach((n, i) => {
    const en = ev("TaskStateEntered", ps, { stateEnteredEventDetails: { name: n, input: inp } }, 0.003);
    let sch = ev("TaskScheduled", en, { taskScheduledEventDetails: { resource: "invoke", resourceType: "lambda" } }, 0.004);
    let st = ev("TaskStarted", sch, {}, 0.005);
    if (n === "DetectLabels") {
      // One throttled attempt then a retry, so the page shows retries.
      st = ev("TaskFailed", st, { taskFailedEventDetails: { error: "ThrottledError", cause: '{"errorMessage":"rate exceeded","errorType":"ThrottledError"}' } }, 0.1);
      sch = ev("TaskScheduled", st, {}, 0.4);
      st = ev("TaskStarted", sch, {}, 0.41);
    }
    if (!ok && n === "ExtractMetadata") {
      const f = ev("TaskFailed", st, { taskFailedEventDetails: { error: "NotAnImageError", cause: '{"errorMessage":"not an image: unknown format","errorType":"NotAnImageError"}' } }, 0.2);
      lasts.push(f);
      return;
    }
    const out = JSON.stringify(i === 0 ? { format: "jpeg", width: 64, height: 48 } : i === 1 ? { labels: [{ name: "Pattern", confidence: 91.2 }] } : { bucket: "images", key: key.replace(/^upload/, "thumbnail") });
    outs.push(out);
    const su = ev("TaskSucceeded", st, { taskSucceededEventDetails: { output: out } }, 0.5 + i * 0.1);
    lasts.push(ev("TaskStateExited", su, { stateExitedEventDetails: { name: n, output: out } }, 0.51 + i * 0.1));
  });
  setTimeout(() => {
    const last = lasts[lasts.length - 1];
    if (!ok) {
      const pf = ev("ParallelStateFailed", last, { parallelStateFailedEventDetails: { error: "NotAnImageError", cause: "not an image" } }, 0.6);
      const ne = ev("TaskStateEntered", pf, { stateEnteredEventDetails: { name: "NotifyFailure", input: "{}" } }, 0.61);
      const nx = ev("TaskStateExited", ne, { stateExitedEventDetails: { name: "NotifyFailure", output: "{}" } }, 0.7);
      const fe = ev("FailStateEntered", nx, { stateEnteredEventDetails: { name: "Failed", input: "{}" } }, 0.71);
      ev("ExecutionFailed", fe, { executionFailedEventDetails: { error: "ImageFailed" } }, 0.72);
      Object.assign(x, { status: "FAILED", stopDate: t0 + 0.72, error: "ImageFailed" });
      failures.push({ messageId: randomUUID(), sentTimestamp: t0 + 0.7, receiveCount: 1, body: { error: "NotAnImageError", cause: '{"errorMessage":"not an image: unknown format","errorType":"NotAnImageError"}', state: "ExtractMetadata", input: event } });
      return;
    }
    const pse = ev("ParallelStateSucceeded", last, {}, 0.8);
    const px = ev("ParallelStateExited", pse, { stateExitedEventDetails: { name: "Process", output: `[${outs}]` } }, 0.81);
    const ie = ev("TaskStateEntered", px, { stateEnteredEventDetails: { name: "IndexDocument", input: "{}" } }, 0.82);
    const is = ev("TaskScheduled", ie, {}, 0.83);
    const su = ev("TaskSucceeded", is, { taskSucceededEventDetails: { output: '{"outcome":"created"}' } }, 0.9);
    const ix = ev("TaskStateExited", su, { stateExitedEventDetails: { name: "IndexDocument", output: '{"outcome":"created"}' } }, 0.91);
    ev("ExecutionSucceeded", ix, { executionSucceededEventDetails: { output: '{"outcome":"created"}' } }, 0.92);
    Object.assign(x, { status: "SUCCEEDED", stopDate: t0 + 0.92, output: '{"outcome":"created"}' });
    const sha = createHash("sha256").update(body).digest("hex");
    const dup = docs.find((d) => d.contentSha256 === sha);
    const thumb = key.replace(/^upload/, "thumbnail");
    objects.set(thumb, objects.get(key));
    docs.push({
      id: createHash("sha256").update("images/" + key).digest("hex"), bucket: "images", key, thumbnail: thumb, etag, size: body.length,
      format: "png", width: 64, height: 48, colorspace: "RGB", camera: { make: /Browsertest/.exec(body.toString("latin1"))?.[0] ?? "Mock", model: /Cam\d+/.exec(body.toString("latin1"))?.[0] ?? "Camera 1" }, location: { lat: 43.467, lon: 11.885 },
      exif: { Make: "Mock", Model: "Camera 1", DateTimeOriginal: "2019:06:01 10:22:31" }, labels: [{ name: "Pattern", confidence: 91.2 }, { name: "Art", confidence: 67.5 }],
      contentSha256: sha, duplicateOf: dup?.key, uploadedAt: new Date(t0 * 1000).toISOString(), processedAt: new Date().toISOString(),
      thumbnailUrl: `/api/objects/${thumb}`, previewUrl: `/api/objects/${key}`,
    });
  }, 1000);
}

const json = (res, status, v) => {
  res.writeHead(status, { "Content-Type": "application/json" });
  res.end(JSON.stringify(v));
};

async function body(req) {
  const chunks = [];
  for await (const c of req) chunks.push(c);
  return Buffer.concat(chunks);
}

createServer(async (req, res) => {
  const u = new URL(req.url, "http://x");
  const p = decodeURIComponent(u.pathname);
  try {
    if (p === "/config.json") return json(res, 200, { mode: "local", apiBase: "/api" });
    if (p === "/api/ping") return json(res, 200, { count: docs.length });
    if (p === "/api/images") {
      const q = (u.searchParams.get("search") ?? "").toLowerCase();
      const from = Number(u.searchParams.get("from") ?? 0), size = Number(u.searchParams.get("size") ?? 24);
      const hits = docs.filter((d) => !q || JSON.stringify(d).toLowerCase().includes(q)).reverse();
      return json(res, 200, { total: hits.length, images: hits.slice(from, from + size) });
    }
    if (p.startsWith("/api/objects/")) {
      const key = p.slice("/api/objects/".length);
      if (req.method === "PUT") {
        if (!key.startsWith("upload/")) return json(res, 400, { error: "keys must start with upload/" });
        if (objects.has(key)) return json(res, 409, { error: `object ${key} exists` });
        const b = await body(req);
        const etag = '"' + createHash("md5").update(b).digest("hex") + '"';
        objects.set(key, { body: b, type: req.headers["content-type"] ?? "application/octet-stream", etag });
        startExecution(key, b, etag);
        return json(res, 200, { key, etag });
      }
      const o = objects.get(key);
      if (!o) return json(res, 404, { error: `no object ${key}` });
      res.writeHead(200, { "Content-Type": o.type });
      return res.end(o.body);
    }
    if (p === "/api/executions") {
      const st = u.searchParams.get("status"), key = u.searchParams.get("key");
      const xs = executions.filter((x) => (!st || x.status === st) && (!key || x.key === key)).reverse();
      return json(res, 200, { executions: xs.map(({ history, input, output, ...rest }) => rest) });
    }
    if (p.startsWith("/api/executions/")) {
      const arn = p.slice("/api/executions/".length);
      const x = executions.find((e) => e.executionArn === arn);
      if (!x) return json(res, 404, { error: `execution ${arn} does not exist` });
      const { history, ...execution } = x;
      return json(res, 200, { execution, definition, history });
    }
    if (p === "/api/failures") return json(res, 200, { messages: failures });
    if (p === "/api/failures/redrive") {
      const n = failures.length;
      for (const f of failures.splice(0)) {
        const k = f.body.input.detail.object.key;
        startExecution(k, objects.get(k).body, objects.get(k).etag);
      }
      return json(res, 200, { started: n, failed: 0 });
    }
    if (p === "/api/load" && process.env.MOCK_LOAD) {
      if (req.method === "POST") {
        const r = JSON.parse((await body(req)).toString());
        load = { running: true, sent: 0, indexed: 0, failed: 0, p50Ms: 800, p95Ms: 1400 };
        const end = Date.now() + parseInt(r.duration) * 1000;
        const t = setInterval(() => {
          load.sent += r.rate;
          load.indexed = Math.max(0, load.sent - r.rate);
          if (Date.now() > end) (load.running = false), (load.indexed = load.sent), clearInterval(t);
        }, 1000);
        return json(res, 200, { id: "load-1" });
      }
      return json(res, 200, load ?? { running: false, sent: 0, indexed: 0, failed: 0 });
    }
    if (p.startsWith("/api/")) return json(res, 404, { error: `no route ${p}` });
    const file = p === "/" ? "index.html" : p.slice(1);
    const data = await readFile(join(dist, file)).catch(() => null);
    if (!data) return json(res, 404, { error: "not found" });
    const types = { ".html": "text/html", ".js": "text/javascript", ".css": "text/css", ".svg": "image/svg+xml" };
    res.writeHead(200, { "Content-Type": types[extname(file)] ?? "application/octet-stream" });
    res.end(data);
  } catch (e) {
    json(res, 500, { error: String(e) });
  }
}).listen(port, "127.0.0.1", () => console.log(`mock on http://127.0.0.1:${port}`));
