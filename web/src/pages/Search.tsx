import { useEffect, useRef, useState } from "preact/hooks";
import type { Api, ImageDoc } from "../api/types";
import { formatBytes, formatDate } from "../format";
import { href, replaceQuery, type Route } from "../router";
import { ErrorBox, useLoad } from "../components/common";

const PAGE = 24;

export function SearchPage({ api, route }: { api: Api; route: Route }) {
  const [q, setQ] = useState(route.query.get("q") ?? "");
  const [term, setTerm] = useState(q);
  const [from, setFrom] = useState(Number(route.query.get("from") ?? 0) || 0);
  const [open, setOpen] = useState<ImageDoc | undefined>();

  // Debounce typing so each keystroke is not a request.
  useEffect(() => {
    const t = setTimeout(() => {
      if (q !== term) {
        setTerm(q);
        setFrom(0);
      }
    }, 250);
    return () => clearTimeout(t);
  }, [q]);
  useEffect(() => replaceQuery(["search"], { q: term || undefined, from: from ? String(from) : undefined }), [term, from]);

  const { data, error, loading, reload } = useLoad(() => api.search(term, from, PAGE), [term, from]);
  const total = data?.total ?? 0;
  return (
    <section>
      <h1>Search</h1>
      <form
        class="searchbar"
        role="search"
        onSubmit={(e) => {
          e.preventDefault();
          setTerm(q);
          setFrom(0);
          if (q === term) reload();
        }}
      >
        <label class="visually-hidden" for="search">
          Search images
        </label>
        <input
          id="search"
          type="search"
          placeholder="Search labels, cameras, file names…"
          value={q}
          data-testid="search-input"
          onInput={(e) => setQ((e.target as HTMLInputElement).value)}
        />
        <button>Search</button>
      </form>
      <ErrorBox error={error} />
      <p role="status" class="muted">
        {loading ? "Searching…" : data ? `${total} image${total === 1 ? "" : "s"}${term ? ` for “${term}”` : ""}` : ""}
      </p>
      <ul class="grid" aria-busy={loading}>
        {data?.images.map((d) => (
          <li key={d.id}>
            <button type="button" class="thumb" onClick={() => setOpen(d)} aria-label={`Details of ${baseName(d.key)}`} title={d.key}>
              {d.thumbnailUrl ? (
                <img src={d.thumbnailUrl} alt={altText(d)} loading="lazy" data-testid="result-thumb" data-key={d.key} />
              ) : (
                <span class="nothumb">no thumbnail</span>
              )}
              <span class="caption">{baseName(d.key)}</span>
              {d.duplicateOf && <span class="tag">duplicate</span>}
              {d.alsoKeys && d.alsoKeys.length > 0 && (
                <span class="tag" title={d.alsoKeys.join("\n")}>
                  also ×{d.alsoKeys.length}
                </span>
              )}
            </button>
          </li>
        ))}
      </ul>
      {total > PAGE && (
        <nav class="pager" aria-label="Result pages">
          <button type="button" disabled={from === 0} onClick={() => setFrom(Math.max(0, from - PAGE))}>
            ← Previous
          </button>
          <span>
            {from + 1}–{Math.min(from + PAGE, total)} of {total}
          </span>
          <button type="button" disabled={from + PAGE >= total} onClick={() => setFrom(from + PAGE)}>
            Next →
          </button>
        </nav>
      )}
      {open && <Detail doc={open} onClose={() => setOpen(undefined)} />}
    </section>
  );
}

function baseName(key: string): string {
  const b = key.split("/").pop() ?? key;
  return b.replace(/^[0-9a-f]{16}-/, "");
}

function altText(d: ImageDoc): string {
  const labels = (d.labels ?? []).slice(0, 3).map((l) => l.name);
  return labels.length ? `${baseName(d.key)}: ${labels.join(", ")}` : baseName(d.key);
}

function Detail({ doc, onClose }: { doc: ImageDoc; onClose: () => void }) {
  const ref = useRef<HTMLDialogElement>(null);
  useEffect(() => {
    const d = ref.current!;
    if (!d.open) d.showModal();
    const close = () => onClose();
    d.addEventListener("close", close);
    return () => d.removeEventListener("close", close);
  }, [doc]);
  const loc = doc.location;
  const exif = Object.entries(doc.exif ?? {}).sort(([a], [b]) => a.localeCompare(b));
  return (
    <dialog ref={ref} class="detail" aria-labelledby="detail-title" onClick={(e) => e.target === ref.current && ref.current?.close()}>
      <div class="detail-body">
        <header>
          <h2 id="detail-title">{baseName(doc.key)}</h2>
          <button type="button" onClick={() => ref.current?.close()} aria-label="Close">
            ✕
          </button>
        </header>
        <div class="detail-cols">
          <figure>
            {doc.previewUrl || doc.thumbnailUrl ? <img src={doc.previewUrl ?? doc.thumbnailUrl} alt={altText(doc)} data-testid="detail-preview" /> : <p>No preview.</p>}
          </figure>
          <div>
            {doc.duplicateOf && (
              <p class="notice">
                Duplicate: the same bytes were uploaded as <code>{doc.duplicateOf}</code>.
              </p>
            )}
            {doc.alsoKeys && doc.alsoKeys.length > 0 && (
              <p class="notice">
                The same image was also uploaded as{" "}
                {doc.alsoKeys.map((k, i) => (
                  <span key={k}>
                    {i > 0 && ", "}
                    <code>{k}</code>
                  </span>
                ))}
                .
              </p>
            )}
            {doc.exifError && <p class="notice">Some EXIF could not be read: {doc.exifError}</p>}
            <dl class="facts">
              <dt>Key</dt>
              <dd>
                <code>{doc.key}</code>
              </dd>
              <dt>Format</dt>
              <dd>{doc.format ?? "—"}</dd>
              <dt>Size</dt>
              <dd>
                {formatBytes(doc.size)}
                {doc.width && doc.height ? ` · ${doc.width} × ${doc.height} px` : ""}
                {doc.orientation && doc.orientation !== 1 ? ` · orientation ${doc.orientation}` : ""}
              </dd>
              {doc.colorspace && (
                <>
                  <dt>Colour space</dt>
                  <dd>{doc.colorspace}</dd>
                </>
              )}
              <dt>Camera</dt>
              <dd>{doc.camera ? [doc.camera.make, doc.camera.model].filter(Boolean).join(" ") : "—"}</dd>
              <dt>Taken</dt>
              <dd>{doc.takenAt ? formatDate(doc.takenAt) : "—"}</dd>
              <dt>Location</dt>
              <dd>
                {loc ? (
                  <>
                    {loc.lat.toFixed(5)}, {loc.lon.toFixed(5)}{" "}
                    <a href={`https://www.openstreetmap.org/?mlat=${loc.lat}&mlon=${loc.lon}#map=15/${loc.lat}/${loc.lon}`} target="_blank" rel="noopener noreferrer">
                      map
                    </a>
                  </>
                ) : (
                  "—"
                )}
              </dd>
              <dt>Uploaded</dt>
              <dd>{formatDate(doc.uploadedAt)}</dd>
              <dt>Processed</dt>
              <dd>{formatDate(doc.processedAt)}</dd>
            </dl>
            <p>
              <a href={href(["executions"], { key: doc.key })}>Executions for this image</a>
            </p>
            <h3>Labels</h3>
            {doc.labels?.length ? (
              <ul class="labels">
                {doc.labels.map((l) => (
                  <li>
                    <span>{l.name}</span>
                    <meter min={0} max={100} value={l.confidence} aria-label={`confidence ${l.confidence.toFixed(1)}%`} />
                    <span class="muted">{l.confidence.toFixed(1)}%</span>
                  </li>
                ))}
              </ul>
            ) : (
              <p class="muted">No labels.</p>
            )}
          </div>
        </div>
        <h3>EXIF</h3>
        {exif.length ? (
          <div class="scroll">
            <table class="exif">
              <tbody>
                {exif.map(([k, v]) => (
                  <tr>
                    <th scope="row">{k}</th>
                    <td>{v}</td>
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
        ) : (
          <p class="muted">No EXIF data.</p>
        )}
      </div>
    </dialog>
  );
}
