import { useEffect, useState } from "preact/hooks";
import { formatBytes } from "../format";
import { href } from "../router";
import { Status, useInterval } from "../components/common";
import type { Upload, Uploads } from "../uploads";

export function UploadPage({ uploads }: { uploads: Uploads }) {
  const [items, setItems] = useState<Upload[]>(uploads.list);
  const [over, setOver] = useState(false);
  useEffect(() => {
    setItems(uploads.list);
    return uploads.subscribe(setItems);
  }, [uploads]);

  const add = (files: FileList | null | undefined) => {
    if (files?.length) void uploads.add(Array.from(files));
  };
  // Look for each upload's execution (backing off per upload), then follow it until it ends.
  useInterval(() => void uploads.look(), 500, items.some((x) => x.state === "uploaded" && !x.lookupGaveUp));

  const t = uploads.totals();
  const refused = items.filter((x) => x.state === "refused").length;
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
          add(e.dataTransfer?.files);
        }}
      >
        <p>Drop photos here, or</p>
        <label class="button">
          Choose files…
          <input
            class="visually-hidden"
            type="file"
            multiple
            accept="image/*,.heic,.heif,.avif"
            data-testid="upload-input"
            onChange={(e) => {
              add((e.target as HTMLInputElement).files);
              (e.target as HTMLInputElement).value = "";
            }}
          />
        </label>
        <p class="hint">
          JPEG, PNG, GIF, WebP, TIFF, BMP, HEIC/HEIF or AVIF, up to 50 MiB each. Each file lands under upload/, in your own folder with a unique id before its name,
          and starts the pipeline.
        </p>
      </div>
      {items.length > 0 && (
        <div class="overall">
          <progress max={1} value={t.bytes ? t.sent / t.bytes : 0} aria-label="Overall upload progress" data-testid="upload-overall" />
          <p role="status">
            {t.uploaded} of {t.count} uploaded ({formatBytes(t.sent)} of {formatBytes(t.bytes)}){refused ? `; ${refused} refused` : ""}
          </p>
        </div>
      )}
      <ul class="uploads">
        {items.map((it) => (
          <Row key={it.id} it={it} uploads={uploads} />
        ))}
      </ul>
    </section>
  );
}

function Row({ it, uploads }: { it: Upload; uploads: Uploads }) {
  const name = it.file.name;
  return (
    <li class={`upload st-${it.state}`} data-key={it.key} data-state={it.state} data-testid="upload-row">
      <div class="name">
        <strong>{name}</strong> <span class="muted">{formatBytes(it.file.size)}</span>
        <span class="row-actions">
          {["checking", "queued", "uploading"].includes(it.state) && (
            <button type="button" class="small" data-testid="upload-cancel" aria-label={`Cancel the upload of ${name}`} onClick={() => uploads.cancel(it.id)}>
              Cancel
            </button>
          )}
          {(it.state === "failed" || it.state === "cancelled") && (
            <button type="button" class="small" data-testid="upload-retry" aria-label={`Retry the upload of ${name}`} onClick={() => uploads.retry(it.id)}>
              Retry
            </button>
          )}
        </span>
      </div>
      {it.state !== "refused" && <progress max={1} value={it.progress} aria-label={`Upload progress of ${name}`} />}
      <div class="detail">
        <RowDetail it={it} />
      </div>
    </li>
  );
}

function RowDetail({ it }: { it: Upload }) {
  switch (it.state) {
    case "refused":
      return <span class="error" data-testid="upload-refused">Not uploaded: {it.error}</span>;
    case "failed":
      return <span class="error">{it.error}</span>;
    case "cancelled":
      return <span class="muted">cancelled</span>;
    case "checking":
    case "queued":
      return <span class="muted">{it.state}</span>;
    case "uploading":
      return <span class="muted">{Math.round(it.progress * 100)}%</span>;
  }
  return (
    <>
      <code>{it.key}</code>{" "}
      {it.execArn ? (
        <a href={href(["executions", it.execArn])} class="exec-link">
          execution <Status status={it.execStatus ?? "RUNNING"} testid="upload-execution-status" />
        </a>
      ) : it.lookupGaveUp ? (
        <span class="muted">{it.error ?? "no execution found for this key yet — see Executions"}</span>
      ) : (
        <span class="muted">waiting for its execution…</span>
      )}
      {it.docId && (
        <>
          {" · "}
          <a href={href(["search"], { id: it.docId })} class="image-link" data-testid="upload-image">
            view the image
          </a>
        </>
      )}
    </>
  );
}
