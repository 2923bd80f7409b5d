import { useEffect, useRef, useState } from "preact/hooks";
import type { Api } from "../api/types";
import { documentId } from "../keys";
import { formatBytes } from "../format";
import { href } from "../router";
import { Status, useInterval } from "../components/common";

interface Item {
  id: number;
  file: File;
  key: string;
  progress: number;
  state: "queued" | "uploading" | "uploaded" | "failed";
  error?: string;
  uploadedAt?: number;
  execArn?: string;
  execStatus?: string;
  lookupGaveUp?: boolean;
}

const PARALLEL = 3;
// How long to look for the execution an upload started before saying so.
const FIND_DEADLINE_MS = 60_000;
const TERMINAL = new Set(["SUCCEEDED", "FAILED", "TIMED_OUT", "ABORTED"]);

let nextId = 1;

// The upload list lives outside the page so that it survives navigating away and back;
// uploads in flight go on meanwhile.
let store: Item[] = [];
const listeners = new Set<(xs: Item[]) => void>();
const queue: Item[] = [];
let active = 0;

function setStore(f: (xs: Item[]) => Item[]) {
  store = f(store);
  for (const l of listeners) l(store);
}

const patch = (id: number, p: Partial<Item>) => setStore((xs) => xs.map((x) => (x.id === id ? { ...x, ...p } : x)));

function pump(api: Api) {
  while (active < PARALLEL && queue.length) {
    const it = queue.shift()!;
    active++;
    patch(it.id, { state: "uploading" });
    api
      .upload(it.file, (f) => patch(it.id, { progress: f }))
      .then(
        (r) => patch(it.id, { state: "uploaded", progress: 1, key: r.key, uploadedAt: Date.now() }),
        (e: Error) => patch(it.id, { state: "failed", error: e.message }),
      )
      .finally(() => {
        active--;
        pump(api);
      });
  }
}

/**
 * findExecution finds the execution an upload started: from its search document once
 * indexed (the document names its execution, and anyone may read it), else, for
 * operators, from the executions whose input names the key.
 */
async function findExecution(api: Api, bucket: string, key: string): Promise<{ arn: string; status: string } | undefined> {
  if (api.getImage) {
    const doc = await api.getImage(await documentId(bucket, key)).catch(() => undefined);
    if (doc?.executionArn) return { arn: doc.executionArn, status: "SUCCEEDED" };
  }
  const r = await api.listExecutions({ key, maxResults: 5 });
  const e = r.executions[0];
  return e && { arn: e.executionArn, status: e.status };
}

export function UploadPage({ api }: { api: Api }) {
  const [items, setItems] = useState<Item[]>(store);
  const [over, setOver] = useState(false);
  const inputRef = useRef<HTMLInputElement>(null);
  useEffect(() => {
    listeners.add(setItems);
    setItems(store);
    return () => {
      listeners.delete(setItems);
    };
  }, []);

  const add = (files: FileList | File[] | null) => {
    if (!files) return;
    // The stack names the key (POST /uploads); until then the row has none.
    const fresh = Array.from(files).map<Item>((file) => ({ id: nextId++, file, key: "", progress: 0, state: "queued" }));
    if (!fresh.length) return;
    setStore((xs) => [...fresh, ...xs]);
    queue.push(...fresh);
    pump(api);
  };

  // Look for each upload's execution, then follow it until it ends.
  const polling = useRef(false);
  const watch = items.filter((x) => x.state === "uploaded" && !x.lookupGaveUp && !(x.execStatus && TERMINAL.has(x.execStatus)));
  useInterval(
    () => {
      if (polling.current) return;
      polling.current = true;
      Promise.all(
        watch.map(async (it) => {
          try {
            const e = await findExecution(api, api.bucket, it.key);
            if (e) patch(it.id, { execArn: e.arn, execStatus: e.status });
            else if (Date.now() - (it.uploadedAt ?? 0) > FIND_DEADLINE_MS) patch(it.id, { lookupGaveUp: true });
          } catch {
            patch(it.id, { lookupGaveUp: true });
          }
        }),
      ).finally(() => (polling.current = false));
    },
    1000,
    watch.length > 0,
  );

  const done = items.filter((x) => x.state === "uploaded").length;
  return (
    <section>
      <h1>Upload</h1>
      <div
        class={`drop ${over ? "over" : ""}`}
        onDragOver={(e) => {
          e.preventDefault();
          setOver(true);
        }}
        onDragLeave={() => setOver(false)}
        onDrop={(e) => {
          e.preventDefault();
          setOver(false);
          add(e.dataTransfer?.files ?? null);
        }}
      >
        <p>Drop photos here, or</p>
        <label class="button">
          Choose files…
          <input
            ref={inputRef}
            class="visually-hidden"
            type="file"
            multiple
            accept="image/*,.heic,.heif"
            data-testid="upload-input"
            onChange={(e) => {
              add((e.target as HTMLInputElement).files);
              (e.target as HTMLInputElement).value = "";
            }}
          />
        </label>
        <p class="hint">Each file lands under upload/, in your own folder with a unique id before its name, and starts the pipeline.</p>
      </div>
      {items.length > 0 && (
        <p role="status">
          {done} of {items.length} uploaded
        </p>
      )}
      <ul class="uploads">
        {items.map((it) => (
          <li key={it.id} class={`upload st-${it.state}`} data-key={it.key} data-testid="upload-row">
            <div class="name">
              <strong>{it.file.name}</strong> <span class="muted">{formatBytes(it.file.size)}</span>
            </div>
            <progress max={1} value={it.progress} aria-label={`Upload progress of ${it.file.name}`} />
            <div class="detail">
              {it.state === "failed" ? (
                <span class="error">{it.error}</span>
              ) : it.state === "uploaded" ? (
                <>
                  <code>{it.key}</code>{" "}
                  {it.execArn ? (
                    <a href={href(["executions", it.execArn])} class="exec-link">
                      execution <Status status={it.execStatus ?? "RUNNING"} testid="upload-execution-status" />
                    </a>
                  ) : it.lookupGaveUp ? (
                    <span class="muted">no execution found for this key yet — see Executions</span>
                  ) : (
                    <span class="muted">waiting for its execution…</span>
                  )}
                </>
              ) : (
                <span class="muted">{it.state === "queued" ? "queued" : `${Math.round(it.progress * 100)}%`}</span>
              )}
            </div>
          </li>
        ))}
      </ul>
    </section>
  );
}
