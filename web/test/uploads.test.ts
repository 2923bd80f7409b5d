import { describe, expect, it } from "vitest";
import { refusal, sniff, MAX_UPLOAD_BYTES } from "../src/sniff";
import { Uploads, lookDelay } from "../src/uploads";
import type { Api } from "../src/api/types";

const bytes = (s: string | number[]) => (typeof s === "string" ? new Uint8Array([...s].map((c) => c.charCodeAt(0))) : new Uint8Array(s));

describe("sniff", () => {
  it("names what the pipeline reads by its first bytes", () => {
    expect(sniff(bytes([0xff, 0xd8, 0xff, 0xe0]))).toBe("jpeg");
    expect(sniff(bytes("\x89PNG\r\n\x1a\n"))).toBe("png");
    expect(sniff(bytes("GIF89a"))).toBe("gif");
    expect(sniff(bytes("RIFF\0\0\0\0WEBPVP8 "))).toBe("webp");
    expect(sniff(bytes("MM\0*"))).toBe("tiff");
    expect(sniff(bytes("BM" + "\0".repeat(12)))).toBe("bmp");
    expect(sniff(bytes("\0\0\0\x18ftypheic\0\0\0\0mif1heic"))).toBe("heic");
    expect(sniff(bytes("\0\0\0\x1cftypavif\0\0\0\0avifmif1miaf"))).toBe("avif");
    expect(sniff(bytes("\0\0\0\x18ftypmif1\0\0\0\0mif1miaf"))).toBe("heif");
  });
  it("refuses what it does not know", () => {
    expect(sniff(bytes("hello, world"))).toBeUndefined();
    expect(sniff(bytes("\0\0\0\x18ftypisom\0\0\0\0isomiso2"))).toBeUndefined(); // an MP4
    expect(sniff(new Uint8Array())).toBeUndefined();
  });
});

describe("refusal", () => {
  it("gives the reason: empty, too large, not an image", async () => {
    expect(await refusal(new Blob([]))).toMatch(/empty/);
    const big = { size: MAX_UPLOAD_BYTES + 1, slice: () => new Blob([bytes([0xff, 0xd8, 0xff])]) } as unknown as Blob;
    expect(await refusal(big)).toMatch(/50 MiB/);
    expect(await refusal(new Blob(["notes"]))).toMatch(/not an image/);
    expect(await refusal(new Blob([bytes([0xff, 0xd8, 0xff, 0xe0, 1, 2])]))).toBeUndefined();
  });
});

/** fakeApi's uploads wait until the test settles them (or the signal aborts them). */
function fakeApi() {
  const pending: { name: string; resolve: (k: { key: string }) => void; reject: (e: Error) => void; signal?: AbortSignal }[] = [];
  const api = {
    bucket: "b",
    upload: (file: File, _p: (f: number) => void, signal?: AbortSignal) =>
      new Promise<{ key: string }>((resolve, reject) => {
        signal?.addEventListener("abort", () => reject(new DOMException("upload cancelled", "AbortError")));
        pending.push({ name: file.name, resolve, reject, signal });
      }),
  } as unknown as Api;
  return { api, pending };
}

const jpeg = (name: string) => new File([bytes([0xff, 0xd8, 0xff, 0xe0, 0, 0])], name, { type: "image/jpeg" });
const flush = () => new Promise((r) => setTimeout(r, 0));

describe("Uploads", () => {
  it("refuses before sending, sends a few at a time, cancels and retries", async () => {
    const { api, pending } = fakeApi();
    const u = new Uploads(api, 2);
    await u.add([jpeg("a.jpg"), jpeg("b.jpg"), jpeg("c.jpg"), new File(["text"], "notes.txt")]);
    const st = () => Object.fromEntries(u.list.map((x) => [x.file.name, x.state]));
    expect(st()).toEqual({ "a.jpg": "uploading", "b.jpg": "uploading", "c.jpg": "queued", "notes.txt": "refused" });
    expect(pending.map((p) => p.name)).toEqual(["a.jpg", "b.jpg"]);

    const a = u.list.find((x) => x.file.name === "a.jpg")!;
    u.cancel(a.id);
    expect(pending[0].signal?.aborted).toBe(true);
    await flush();
    expect(st()["a.jpg"]).toBe("cancelled");
    expect(st()["c.jpg"]).toBe("uploading"); // the freed slot went to the next file

    pending[1].reject(new Error("Upload to S3 failed: HTTP 500"));
    await flush();
    expect(u.list.find((x) => x.file.name === "b.jpg")?.error).toMatch(/HTTP 500/);
    u.retry(a.id);
    await flush();
    expect(st()["a.jpg"]).toBe("uploading");
    pending[3].resolve({ key: "upload/x/a.jpg" });
    await flush();
    expect(u.list.find((x) => x.file.name === "a.jpg")).toMatchObject({ state: "uploaded", key: "upload/x/a.jpg", progress: 1 });
    expect(u.totals()).toMatchObject({ uploaded: 1, count: 3 });
  });

  it("backs off its lookups up to 5 s", () => {
    expect([0, 1, 2, 10].map(lookDelay)).toEqual([1000, 1500, 2250, 5000]);
  });
});
