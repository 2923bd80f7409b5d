import { useEffect, useRef, useState } from "preact/hooks";
import { ApiError, type Api, type ImageDoc } from "../api/types";
import { formatBytes, formatDate } from "../format";
import { href, parseHash, replaceQuery, type Route } from "../router";
import { ErrorBox, useLoad } from "../components/common";
import { cameraName, exifSummary, exifValue } from "../exif";
import { GRID_SIZES, thumbSrcset } from "../thumbs";
import { apiParams, filtersFrom, filtersQuery, isFiltered, type SearchFilters } from "../searchFilters";

/** setRoute changes the URL without a history entry and tells the router. */
function replaceRoute(query: Record<string, string | undefined>) {
  replaceQuery(["search"], query);
  dispatchEvent(new HashChangeEvent("hashchange"));
}

// Whether this page pushed the detail's history entry (then Back/close pops it).
let pushedDetail = false;

const PAGE = 24;

export function SearchPage({ api, route }: { api: Api; route: Route }) {
  const [q, setQ] = useState(route.query.get("q") ?? "");
  const [term, setTerm] = useState(q);
  const [from, setFrom] = useState(Number(route.query.get("from") ?? 0) || 0);
  const openId = route.query.get("id") ?? undefined;
  const [filters, setFilters] = useState<SearchFilters>(() => filtersFrom(route.query));
  const fkey = JSON.stringify(filters);

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
  useEffect(() => {
    const id = parseHash(location.hash).query.get("id") ?? undefined;
    replaceQuery(["search"], { q: term || undefined, from: from ? String(from) : undefined, ...filtersQuery(filters), id });
  }, [term, from, fkey]);

  const { data, error, loading, reload } = useLoad(() => api.search(term, from, PAGE, apiParams(filters)), [term, from, fkey]);
  const total = data?.total ?? 0;
  const images = error ? [] : (data?.images ?? []);
  const query = (id?: string) => ({ q: term || undefined, from: from ? String(from) : undefined, ...filtersQuery(filters), id });
  const setFilter = (p: Partial<SearchFilters>) => {
    // From the latest filters: two changes before a render both count.
    setFilters((f) => ({ ...f, ...p }));
    setFrom(0);
  };
  const openDoc = (id: string) => {
    pushedDetail = true;
    location.hash = href(["search"], query(id));
  };
  const closeDoc = () => {
    if (pushedDetail) {
      pushedDetail = false;
      history.back();
    } else replaceRoute(query());
  };
  // A chip sets its exact filter (label or camera) in place of the words, keeping
  // the others: a new search, with its own history entry.
  const filterBy = (p: Partial<SearchFilters>) => {
    const next = { ...filters, ...p };
    pushedDetail = false;
    setQ("");
    setTerm("");
    setFrom(0);
    setFilters(next);
    location.hash = href(["search"], filtersQuery(next));
  };
  useEffect(() => {
    if (!openId) pushedDetail = false;
  }, [openId]);
  const removal = useRemoval(api, reload);
  const idx = openId ? images.findIndex((d) => d.id === openId) : -1;
  const step = (by: number) => {
    const d = images[idx + by];
    if (d) replaceRoute(query(d.id));
  };
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
      <Filters filters={filters} onChange={setFilter} />
      <ErrorBox error={error} />
      <p role="status" class="muted" data-testid="result-count">
        {loading
          ? "Searching…"
          : error
            ? ""
            : data
              ? `${total} image${total === 1 ? "" : "s"}${term ? ` for “${term}”` : ""}${isFiltered(filters) ? " (filtered)" : ""}`
              : ""}
      </p>
      <ul class="grid" aria-busy={loading}>
        {images.map((d) => (
          <li key={d.id}>
            <button type="button" class="thumb" onClick={() => openDoc(d.id)} aria-label={`Details of ${baseName(d.key)}`} title={d.key}>
              {d.thumbnailUrl || d.previewUrl ? (
                <img
                  src={d.thumbnailUrl ?? d.previewUrl}
                  srcset={thumbSrcset(d) || undefined}
                  sizes={GRID_SIZES}
                  alt={altText(d)}
                  loading="lazy"
                  data-testid="result-thumb"
                  data-key={d.key}
                  data-id={d.id}
                />
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
      {!error && total > PAGE && (
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
      {removal.message && (
        <p role="status" class="notice" data-testid="delete-status">
          {removal.message}
        </p>
      )}
      {openId && (
        <DetailLoader
          api={api}
          id={openId}
          onDeleted={(d) => {
            closeDoc();
            removal.follow(d);
          }}
          doc={idx >= 0 ? images[idx] : undefined}
          onClose={closeDoc}
          onFilter={filterBy}
          onPrev={idx > 0 ? () => step(-1) : undefined}
          onNext={idx >= 0 && idx < images.length - 1 ? () => step(1) : undefined}
        />
      )}
    </section>
  );
}

/** Filters: the sort, exact label and camera, the days taken, with a location, and the load tester's images. */
function Filters({ filters: f, onChange }: { filters: SearchFilters; onChange: (p: Partial<SearchFilters>) => void }) {
  return (
    <fieldset class="filters" data-testid="search-filters">
      <legend class="visually-hidden">Sort and filter</legend>
      <label>
        Sort{" "}
        <select value={f.sort} data-testid="search-sort" onChange={(e) => onChange({ sort: (e.target as HTMLSelectElement).value as SearchFilters["sort"] })}>
          <option value="">best match</option>
          <option value="uploaded">newest upload</option>
          <option value="taken">newest taken</option>
        </select>
      </label>
      <label>
        Label <FilterText value={f.label} testid="filter-label" onChange={(label) => onChange({ label })} />
      </label>
      <label>
        Camera <FilterText value={f.camera} testid="filter-camera" onChange={(camera) => onChange({ camera })} />
      </label>
      <label>
        Taken from <DayInput value={f.takenFrom} max={f.takenTo} testid="filter-taken-from" onChange={(takenFrom) => onChange({ takenFrom })} />
      </label>
      <label>
        to <DayInput value={f.takenTo} min={f.takenFrom} label="Taken to" testid="filter-taken-to" onChange={(takenTo) => onChange({ takenTo })} />
      </label>
      <label>
        <input type="checkbox" checked={f.hasLocation} data-testid="filter-location" onChange={(e) => onChange({ hasLocation: (e.target as HTMLInputElement).checked })} /> with a
        location
      </label>
      <label>
        <input type="checkbox" checked={f.includeLoad} data-testid="filter-load" onChange={(e) => onChange({ includeLoad: (e.target as HTMLInputElement).checked })} /> show
        load-test images
      </label>
    </fieldset>
  );
}

/** DayInput is a date input (YYYY-MM-DD, or "" when cleared); min and max keep the range in order. */
function DayInput(p: { value: string; min?: string; max?: string; label?: string; testid: string; onChange: (v: string) => void }) {
  return (
    <input
      type="date"
      value={p.value}
      min={p.min || undefined}
      max={p.max || undefined}
      aria-label={p.label}
      data-testid={p.testid}
      onChange={(e) => {
        const v = (e.target as HTMLInputElement).value;
        if (v !== p.value) p.onChange(v);
      }}
    />
  );
}

/** FilterText applies its value when the person leaves the field or presses Enter, not per keystroke. */
function FilterText({ value, testid, onChange }: { value: string; testid: string; onChange: (v: string) => void }) {
  const [v, setV] = useState(value);
  useEffect(() => setV(value), [value]);
  const apply = () => v !== value && onChange(v);
  return (
    <input
      type="text"
      value={v}
      size={12}
      data-testid={testid}
      onInput={(e) => setV((e.target as HTMLInputElement).value)}
      onBlur={apply}
      onKeyDown={(e) => {
        if (e.key === "Enter") {
          e.preventDefault();
          apply();
        }
      }}
    />
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

interface DetailProps {
  onClose: () => void;
  /** onDeleted hears that S3 deleted the image's upload (POST /images/delete). */
  onDeleted: (doc: ImageDoc) => void;
  onFilter: (p: Partial<SearchFilters>) => void;
  onPrev?: () => void;
  onNext?: () => void;
}

/** DetailLoader shows the document from the results, or reads it by id (a shared link). */
function DetailLoader({ api, id, doc, ...p }: DetailProps & { api: Api; id: string; doc?: ImageDoc }) {
  const [loaded, setLoaded] = useState<ImageDoc>();
  const [err, setErr] = useState<unknown>();
  useEffect(() => {
    if (doc || loaded?.id === id || !api.getImage) return;
    let live = true;
    api.getImage(id).then(
      (d) => live && setLoaded(d),
      (e) => live && setErr(e),
    );
    return () => {
      live = false;
    };
  }, [id, doc]);
  if (err) return <ErrorBox error={err} />;
  const d = doc ?? (loaded?.id === id ? loaded : undefined);
  return d ? <Detail api={api} doc={d} {...p} /> : null;
}

// How long the page waits for the remove pipeline to drop a deleted image's document.
const REMOVAL_WAIT_MS = 60_000;

/**
 * useRemoval follows deleted images: S3 has deleted the upload, and the remove
 * pipeline (started by S3's delete event) drops the document a few seconds later.
 * It polls GET /images/{id} until 404, then searches again, so that the result
 * leaves the grid only once it has really left the index.
 */
function useRemoval(api: Api, reload: () => void) {
  const [message, setMessage] = useState("");
  const live = useRef(true);
  useEffect(
    () => () => {
      live.current = false;
    },
    [],
  );
  const follow = async (doc: ImageDoc) => {
    const name = baseName(doc.key);
    setMessage(`Deleted ${name}; removing it from the index…`);
    const deadline = Date.now() + REMOVAL_WAIT_MS;
    for (;;) {
      if (!live.current) return;
      let gone = false;
      try {
        if (api.getImage) await api.getImage(doc.id);
      } catch (e) {
        gone = e instanceof ApiError && e.status === 404;
        if (!gone) {
          setMessage(`Deleted ${name}, but checking the index failed: ${(e as Error).message}`);
          return;
        }
      }
      if (gone || !api.getImage) break;
      if (Date.now() > deadline) {
        setMessage(`Deleted ${name}; the index still has it after ${REMOVAL_WAIT_MS / 1000} s: see the remove pipeline's executions.`);
        return;
      }
      await new Promise((r) => setTimeout(r, 1000));
    }
    if (!live.current) return;
    setMessage(`Deleted ${name}.`);
    reload();
  };
  return { message, follow };
}

/**
 * DeleteImage asks before deleting the upload (through S3, so that the remove
 * pipeline runs). Everyone sees it; the API refuses all but operators, in words.
 */
function DeleteImage({ api, doc, onDeleted }: { api: Api; doc: ImageDoc; onDeleted: (doc: ImageDoc) => void }) {
  const [asking, setAsking] = useState(false);
  const [busy, setBusy] = useState(false);
  const [err, setErr] = useState<unknown>();
  useEffect(() => {
    setAsking(false);
    setErr(undefined);
  }, [doc.id]);
  if (!api.deleteImage) return null;
  const del = async () => {
    setBusy(true);
    setErr(undefined);
    try {
      await api.deleteImage!(doc.key);
      onDeleted(doc);
    } catch (e) {
      setErr(e);
      setAsking(false);
    } finally {
      setBusy(false);
    }
  };
  return (
    <div class="detail-delete">
      {asking ? (
        <p role="group" aria-label="Confirm the delete">
          Delete <code>{doc.key}</code>? Its thumbnail, preview and search entry go too.{" "}
          <button type="button" disabled={busy} onClick={del} data-testid="detail-delete-confirm">
            {busy ? "Deleting…" : "Delete"}
          </button>{" "}
          <button type="button" disabled={busy} onClick={() => setAsking(false)} data-testid="detail-delete-cancel">
            Cancel
          </button>
        </p>
      ) : (
        <button type="button" onClick={() => setAsking(true)} data-testid="detail-delete">
          Delete…
        </button>
      )}
      <ErrorBox error={err} />
    </div>
  );
}

function Detail({ api, doc, onClose, onDeleted, onFilter, onPrev, onNext }: DetailProps & { api: Api; doc: ImageDoc }) {
  const ref = useRef<HTMLDialogElement>(null);
  const closeRef = useRef(onClose);
  closeRef.current = onClose;
  useEffect(() => {
    const d = ref.current!;
    if (!d.open) d.showModal();
    const close = () => closeRef.current();
    d.addEventListener("close", close);
    return () => d.removeEventListener("close", close);
  }, []);
  const onKey = (e: KeyboardEvent) => {
    if (e.key === "ArrowRight" && onNext) onNext();
    if (e.key === "ArrowLeft" && onPrev) onPrev();
  };
  const camera = cameraName(doc.camera);
  const summary = exifSummary(doc.exif);
  const loc = doc.location;
  const exif = Object.entries(doc.exif ?? {}).sort(([a], [b]) => a.localeCompare(b));
  return (
    <dialog ref={ref} class="detail" aria-labelledby="detail-title" data-id={doc.id} onKeyDown={onKey} onClick={(e) => e.target === ref.current && ref.current?.close()}>
      <div class="detail-body">
        <header>
          <h2 id="detail-title">{baseName(doc.key)}</h2>
          <div class="detail-nav">
            <button type="button" onClick={onPrev} disabled={!onPrev} aria-label="Previous image" data-testid="detail-prev">
              ←
            </button>
            <button type="button" onClick={onNext} disabled={!onNext} aria-label="Next image" data-testid="detail-next">
              →
            </button>
            <button type="button" onClick={() => ref.current?.close()} aria-label="Close">
              ✕
            </button>
          </div>
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
              <dd>
                {camera && doc.camera?.model ? (
                  <button type="button" class="chip" data-testid="camera-chip" data-camera={doc.camera.model} onClick={() => onFilter({ camera: doc.camera?.model })} title="Images from this camera">
                    {camera}
                  </button>
                ) : (
                  camera || "—"
                )}
              </dd>
              {summary && (
                <>
                  <dt>Exposure</dt>
                  <dd class="exif-summary" data-testid="exif-summary">
                    {summary}
                  </dd>
                </>
              )}
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
              {doc.executionArn && (
                <>
                  <a href={href(["executions", doc.executionArn])} data-testid="detail-execution">
                    The execution that indexed it
                  </a>
                  {" · "}
                </>
              )}
              <a href={href(["executions"], { key: doc.key })}>All executions for this image</a>
              {doc.labelsFrom && <span class="muted"> · labels copied from an earlier upload of the same bytes</span>}
            </p>
            <DeleteImage api={api} doc={doc} onDeleted={onDeleted} />
            <h3>Labels</h3>
            {doc.labels?.length ? (
              <ul class="labels">
                {doc.labels.map((l) => (
                  <li>
                    <button type="button" class="chip" data-testid="label-chip" data-label={l.name} onClick={() => onFilter({ label: l.name })} title={`Images labelled ${l.name}`}>
                      {l.name}
                    </button>
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
                    <td>{exifValue(k, v)}</td>
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
