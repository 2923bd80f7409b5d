// Object keys in URLs, and the search document's id. Upload keys are chosen by the
// stack's POST /uploads (upload/<identity id>/<random>/<name>), never by the page.

/** encodeKey escapes each path segment but keeps the slashes, as S3 paths do. */
export function encodeKey(key: string): string {
  return key.split("/").map(encodeURIComponent).join("/");
}

/** documentId is the search document's id: hex SHA-256 of bucket + "/" + key (DESIGN.md). */
export async function documentId(bucket: string, key: string): Promise<string> {
  const sum = await crypto.subtle.digest("SHA-256", new TextEncoder().encode(`${bucket}/${key}`));
  return [...new Uint8Array(sum)].map((b) => b.toString(16).padStart(2, "0")).join("");
}
