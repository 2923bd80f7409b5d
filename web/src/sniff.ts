// What the pipeline can read, checked in the browser before a byte is uploaded: the
// same magic numbers as functions/imaging/sniff.go (never the file name), and the
// pipeline's size limit (MAX_OBJECT_BYTES, 50 MiB; POST /uploads signs it into the
// policy). A file refused here would otherwise upload and then fail its execution.

/** MAX_UPLOAD_BYTES is the pipeline's object size limit. */
export const MAX_UPLOAD_BYTES = 50 * 1024 * 1024;

/** SNIFF_LEN is how many leading bytes sniff needs (imaging.SniffLen). */
export const SNIFF_LEN = 32;

const startsWith = (b: Uint8Array, s: string | number[]) => {
  const want = typeof s === "string" ? [...s].map((c) => c.charCodeAt(0)) : s;
  return b.length >= want.length && want.every((v, i) => b[i] === v);
};
const ascii = (b: Uint8Array, from: number, to: number) => String.fromCharCode(...b.subarray(from, to));

/** sniff names the image format of a file's first bytes, or undefined when the pipeline cannot read it. */
export function sniff(head: Uint8Array): string | undefined {
  if (startsWith(head, [0xff, 0xd8, 0xff])) return "jpeg";
  if (startsWith(head, "\x89PNG\r\n\x1a\n")) return "png";
  if (startsWith(head, "GIF87a") || startsWith(head, "GIF89a")) return "gif";
  if (head.length >= 12 && ascii(head, 0, 4) === "RIFF" && ascii(head, 8, 12) === "WEBP") return "webp";
  if (startsWith(head, "II*\x00") || startsWith(head, "MM\x00*")) return "tiff";
  if (head.length >= 14 && ascii(head, 0, 2) === "BM") return "bmp";
  return isoBrand(head);
}

/** isoBrand reads a HEIF-family ftyp box's brands, as imaging.isoBrand does. */
function isoBrand(head: Uint8Array): string | undefined {
  if (head.length < 12 || ascii(head, 4, 8) !== "ftyp") return undefined;
  let size = ((head[0] << 24) | (head[1] << 16) | (head[2] << 8) | head[3]) >>> 0;
  if (size < 16 || size > head.length) size = head.length;
  const brands = [ascii(head, 8, 12)];
  for (let i = 16; i + 4 <= size; i += 4) brands.push(ascii(head, i, i + 4));
  if (brands.some((b) => b === "avif" || b === "avis")) return "avif";
  if (brands.some((b) => ["heic", "heix", "heim", "heis", "hevc", "hevx"].includes(b))) return "heic";
  if (brands.some((b) => b === "mif1" || b === "msf1")) return "heif";
  return undefined;
}

/** refusal says why the pipeline could not take this file, or undefined when it can. */
export async function refusal(file: Blob): Promise<string | undefined> {
  if (file.size === 0) return "the file is empty";
  if (file.size > MAX_UPLOAD_BYTES) return `larger than the pipeline's limit of 50 MiB (${(file.size / 1024 / 1024).toFixed(1)} MiB)`;
  const head = new Uint8Array(await file.slice(0, SNIFF_LEN).arrayBuffer());
  if (!sniff(head)) return "not an image the pipeline reads (JPEG, PNG, GIF, WebP, TIFF, BMP, HEIC/HEIF, AVIF)";
  return undefined;
}
