// Grid thumbnails sharp at any pixel density: the pipeline writes an 80 px thumbnail
// and a 640 px preview (each fitting a square box), so srcset offers both with their
// real widths and the browser picks what the cell and the screen need.

import type { ImageDoc } from "./api/types";

export const THUMB_BOX = 80;
export const PREVIEW_BOX = 640;

/** fittedWidth is the width of an image scaled down (never up) to fit a box×box square. */
export function fittedWidth(doc: Pick<ImageDoc, "width" | "height" | "orientation">, box: number): number {
  let w = doc.width ?? 0;
  let h = doc.height ?? 0;
  if (doc.orientation && doc.orientation >= 5 && doc.orientation <= 8) [w, h] = [h, w];
  if (!w || !h) return box;
  const scale = Math.min(1, box / Math.max(w, h));
  return Math.max(1, Math.round(w * scale));
}

/** thumbSrcset is the srcset of a grid image ("" when there is no preview). */
export function thumbSrcset(doc: ImageDoc): string {
  if (!doc.previewUrl) return "";
  const parts: string[] = [];
  const tw = fittedWidth(doc, THUMB_BOX);
  const pw = fittedWidth(doc, PREVIEW_BOX);
  if (doc.thumbnailUrl && tw < pw) parts.push(`${doc.thumbnailUrl} ${tw}w`);
  parts.push(`${doc.previewUrl} ${pw}w`);
  return parts.join(", ");
}

/** GRID_SIZES matches the grid's CSS: cells of 110–200 px on phones, 150–220 px wider. */
export const GRID_SIZES = "(max-width: 760px) 50vw, 220px";
