// EXIF in words, as photo apps show it: "f/7.1 · 1/160 s · ISO 100 · 135 mm".

/** cameraName drops the make when the model already starts with it ("Canon Canon EOS 40D"). */
export function cameraName(camera: { make?: string; model?: string } | undefined): string {
  const make = camera?.make?.trim() ?? "";
  const model = camera?.model?.trim() ?? "";
  if (!make) return model;
  if (!model) return make;
  // NIKON CORPORATION / NIKON D750: the first word is the brand.
  const brand = make.split(/\s+/)[0].toLowerCase();
  if (model.toLowerCase().startsWith(brand)) return model;
  return `${make} ${model}`;
}

function num(v: string | undefined): number | undefined {
  if (v === undefined) return undefined;
  const first = v.split(",")[0].trim();
  const m = /^(-?\d+(?:\.\d+)?)\s*\/\s*(\d+(?:\.\d+)?)$/.exec(first);
  const n = m ? Number(m[1]) / Number(m[2]) : Number(first);
  return first !== "" && isFinite(n) ? n : undefined;
}

function trim(n: number, digits = 1): string {
  return String(Number(n.toFixed(digits)));
}

/** exposureText shows 0.00625 as "1/160 s" and 2 as "2 s". */
export function exposureText(v: string | undefined): string | undefined {
  const n = num(v);
  if (n === undefined || n <= 0) return undefined;
  if (n >= 0.3) return `${trim(n)} s`;
  return `1/${Math.round(1 / n)} s`;
}

/** exifSummary is the aperture, exposure, ISO and focal length a photographer reads. */
export function exifSummary(exif: Record<string, string> | undefined): string {
  if (!exif) return "";
  const parts: string[] = [];
  const f = num(exif.FNumber);
  if (f) parts.push(`f/${trim(f)}`);
  const t = exposureText(exif.ExposureTime);
  if (t) parts.push(t);
  const iso = num(exif.ISOSpeedRatings ?? exif.PhotographicSensitivity);
  if (iso) parts.push(`ISO ${Math.round(iso)}`);
  const fl = num(exif.FocalLength);
  if (fl) parts.push(`${trim(fl)} mm`);
  return parts.join(" · ");
}

/** flashText reads the Flash tag's bits (bit 0: fired; bits 3–4: mode 3 is auto). */
export function flashText(v: string | undefined): string | undefined {
  const n = num(v);
  if (n === undefined) return undefined;
  const fired = (n & 1) === 1;
  const auto = ((n >> 3) & 3) === 3;
  const off = ((n >> 3) & 3) === 2;
  if (n & 0x20) return "no flash";
  return `${fired ? "fired" : "did not fire"}${auto ? " (auto)" : off ? " (off)" : ""}`;
}

const READABLE: Record<string, (v: string) => string | undefined> = {
  Flash: flashText,
  ExposureTime: exposureText,
  FNumber: (v) => (num(v) ? `f/${trim(num(v)!)}` : undefined),
  FocalLength: (v) => (num(v) ? `${trim(num(v)!)} mm` : undefined),
  FocalLengthIn35mmFilm: (v) => (num(v) ? `${trim(num(v)!)} mm` : undefined),
  ExposureBiasValue: (v) => (num(v) !== undefined ? `${num(v)! > 0 ? "+" : ""}${trim(num(v)!)} EV` : undefined),
  ExposureProgram: (v) => ["not defined", "manual", "program", "aperture priority", "shutter priority", "creative", "action", "portrait", "landscape"][num(v) ?? -1],
  MeteringMode: (v) => ({ 0: "unknown", 1: "average", 2: "centre-weighted", 3: "spot", 4: "multi-spot", 5: "pattern", 6: "partial" })[num(v) ?? -1],
  WhiteBalance: (v) => ["auto", "manual"][num(v) ?? -1],
};

/** exifValue shows one tag in words where its code has a meaning, else as stored. */
export function exifValue(tag: string, v: string): string {
  return READABLE[tag]?.(v) ?? v;
}
