// Object keys for uploads: upload/YYYY/MM/DD/<unique-id>-<safe name>, so two files
// with the same name never overwrite each other and keys sort by day.

const MAX_NAME = 100;

/** safeName keeps letters, digits, dot, dash and underscore; everything else becomes "-". */
export function safeName(name: string): string {
  const base = name.split(/[\\/]/).pop() ?? "";
  let s = base
    .normalize("NFKD")
    .replace(/[\u0300-\u036f]/g, "")
    .replace(/[^A-Za-z0-9._-]+/g, "-")
    .replace(/-{2,}/g, "-")
    .replace(/^[-.]+/, "")
    .replace(/-+$/, "");
  if (s.length > MAX_NAME) {
    const dot = s.lastIndexOf(".");
    const ext = dot > 0 && s.length - dot <= 10 ? s.slice(dot) : "";
    s = s.slice(0, MAX_NAME - ext.length) + ext;
  }
  return s || "file";
}

function pad(n: number): string {
  return n < 10 ? "0" + n : String(n);
}

/** uniqueId is 16 hex characters from the platform's CSPRNG. */
export function uniqueId(rand: (b: Uint8Array<ArrayBuffer>) => Uint8Array = (b) => crypto.getRandomValues(b)): string {
  const b = rand(new Uint8Array(8));
  return Array.from(b, (x) => x.toString(16).padStart(2, "0")).join("");
}

/** buildKey names an upload; the date is UTC so keys agree across time zones. */
export function buildKey(fileName: string, now: Date = new Date(), id: string = uniqueId()): string {
  const d = `${now.getUTCFullYear()}/${pad(now.getUTCMonth() + 1)}/${pad(now.getUTCDate())}`;
  return `upload/${d}/${id}-${safeName(fileName)}`;
}

/** encodeKey escapes each path segment but keeps the slashes, as S3 paths do. */
export function encodeKey(key: string): string {
  return key.split("/").map(encodeURIComponent).join("/");
}
