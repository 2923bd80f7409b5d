// The upload list: files checked before upload (refused with the reason), sent a few
// at a time, each cancellable and retryable, and followed to its execution and its
// search document. It lives beside the Api for the page's lifetime, so it survives
// going to another page and back; uploads in flight go on meanwhile.

import { NotAvailable, type Api } from "./api/types";
import { documentId } from "./keys";
import { refusal } from "./sniff";

export type UploadState = "checking" | "refused" | "queued" | "uploading" | "uploaded" | "failed" | "cancelled";

export interface Upload {
  id: number;
  file: File;
  /** the key the stack chose (POST /uploads); "" until then. */
  key: string;
  /** progress is the fraction of the file sent, 0..1. */
  progress: number;
  state: UploadState;
  error?: string;
  uploadedAt?: number;
  execArn?: string;
  execStatus?: string;
  /** docId is the search document's id, once the image is searchable. */
  docId?: string;
  lookupGaveUp?: boolean;
  /** when to look for the execution next, and how many looks so far. */
  nextLookAt?: number;
  looks?: number;
}

export const TERMINAL = new Set(["SUCCEEDED", "FAILED", "TIMED_OUT", "ABORTED"]);
/** How long to look for the execution an upload started before saying so. */
export const FIND_DEADLINE_MS = 60_000;

/** lookDelay backs off 1 s, 1.5 s, 2.25 s… up to 5 s: 20 uploads do not poll 20 times a second. */
export function lookDelay(looks: number): number {
  return Math.min(5000, 1000 * 1.5 ** looks);
}

export class Uploads {
  private items: Upload[] = [];
  private readonly listeners = new Set<(xs: Upload[]) => void>();
  private readonly queue: number[] = [];
  private readonly aborts = new Map<number, AbortController>();
  private active = 0;
  private nextId = 1;
  private looking = false;

  constructor(
    private readonly api: Api,
    private readonly parallel = 3,
    private readonly now: () => number = Date.now,
  ) {}

  get list(): Upload[] {
    return this.items;
  }

  subscribe(l: (xs: Upload[]) => void): () => void {
    this.listeners.add(l);
    return () => this.listeners.delete(l);
  }

  private set(f: (xs: Upload[]) => Upload[]) {
    this.items = f(this.items);
    for (const l of this.listeners) l(this.items);
  }

  private patch(id: number, p: Partial<Upload>) {
    this.set((xs) => xs.map((x) => (x.id === id ? { ...x, ...p } : x)));
  }

  private get(id: number): Upload | undefined {
    return this.items.find((x) => x.id === id);
  }

  /** add checks each file (refusing what the pipeline cannot read) and queues the rest. */
  async add(files: File[]): Promise<void> {
    const fresh = files.map<Upload>((file) => ({ id: this.nextId++, file, key: "", progress: 0, state: "checking" }));
    if (!fresh.length) return;
    this.set((xs) => [...fresh, ...xs]);
    await Promise.all(
      fresh.map(async (it) => {
        const why = await refusal(it.file).catch((e: Error) => `could not read the file: ${e.message}`);
        if (this.get(it.id)?.state !== "checking") return; // cancelled meanwhile
        if (why) {
          this.patch(it.id, { state: "refused", error: why });
          return;
        }
        this.patch(it.id, { state: "queued" });
        this.queue.push(it.id);
      }),
    );
    this.pump();
  }

  /** cancel stops a queued or running upload; its row stays, to be retried. */
  cancel(id: number) {
    const it = this.get(id);
    if (!it || !["checking", "queued", "uploading"].includes(it.state)) return;
    const q = this.queue.indexOf(id);
    if (q >= 0) this.queue.splice(q, 1);
    this.aborts.get(id)?.abort();
    this.patch(id, { state: "cancelled", progress: 0, error: undefined });
  }

  /** retry queues a failed or cancelled upload again, from the start. */
  retry(id: number) {
    const it = this.get(id);
    if (!it || (it.state !== "failed" && it.state !== "cancelled")) return;
    this.patch(id, { state: "queued", progress: 0, error: undefined, key: "" });
    this.queue.push(id);
    this.pump();
  }

  private pump() {
    while (this.active < this.parallel && this.queue.length) {
      const id = this.queue.shift()!;
      const it = this.get(id);
      if (!it || it.state !== "queued") continue;
      const ac = new AbortController();
      this.aborts.set(id, ac);
      this.active++;
      this.patch(id, { state: "uploading" });
      this.api
        .upload(it.file, (f) => !ac.signal.aborted && this.patch(id, { progress: f }), ac.signal)
        .then(
          (r) => {
            if (!ac.signal.aborted) this.patch(id, { state: "uploaded", progress: 1, key: r.key, uploadedAt: this.now(), nextLookAt: this.now(), looks: 0 });
          },
          (e: Error) => {
            if (!ac.signal.aborted) this.patch(id, { state: "failed", error: e.message });
          },
        )
        .finally(() => {
          this.aborts.delete(id);
          this.active--;
          this.pump();
        });
    }
  }

  /** watching: uploads whose execution is not yet known to have ended. */
  watching(): Upload[] {
    return this.items.filter((x) => x.state === "uploaded" && !x.lookupGaveUp && !(x.execStatus && TERMINAL.has(x.execStatus)));
  }

  /** look makes one round of lookups for the uploads that are due; rounds do not overlap. */
  async look(): Promise<void> {
    if (this.looking) return;
    this.looking = true;
    try {
      const now = this.now();
      await Promise.all(this.watching().filter((x) => (x.nextLookAt ?? 0) <= now).map((it) => this.lookOne(it)));
    } finally {
      this.looking = false;
    }
  }

  private async lookOne(it: Upload) {
    const looks = (it.looks ?? 0) + 1;
    const next = { looks, nextLookAt: this.now() + lookDelay(looks) };
    try {
      const e = await findExecution(this.api, it.key);
      if (e) this.patch(it.id, { ...next, execArn: e.arn, execStatus: e.status, docId: e.docId });
      else if (this.now() - (it.uploadedAt ?? 0) > FIND_DEADLINE_MS) this.patch(it.id, { lookupGaveUp: true });
      else this.patch(it.id, next);
    } catch (e) {
      this.patch(it.id, { lookupGaveUp: true, error: `could not follow the execution: ${(e as Error).message}` });
    }
  }

  /** totals: bytes sent of the bytes to send (refused files left out), and rows done. */
  totals(): { sent: number; bytes: number; uploaded: number; count: number } {
    let sent = 0;
    let bytes = 0;
    let uploaded = 0;
    let count = 0;
    for (const x of this.items) {
      if (x.state === "refused" || x.state === "cancelled") continue;
      count++;
      bytes += x.file.size;
      sent += x.file.size * x.progress;
      if (x.state === "uploaded") uploaded++;
    }
    return { sent, bytes, uploaded, count };
  }
}

/**
 * findExecution finds the execution an upload started: from its search document once
 * indexed (the document names its execution, and anyone may read it), else, for
 * operators, from the executions whose input names the key. A SUCCEEDED execution
 * has written the document, so the image is searchable by its id.
 */
export async function findExecution(api: Api, key: string): Promise<{ arn: string; status: string; docId?: string } | undefined> {
  const id = await documentId(api.bucket, key);
  if (api.getImage) {
    const doc = await api.getImage(id).catch(() => undefined);
    if (doc?.executionArn) return { arn: doc.executionArn, status: "SUCCEEDED", docId: doc.id || id };
  }
  let r;
  try {
    r = await api.listExecutions({ key, maxResults: 5 });
  } catch (e) {
    if (e instanceof NotAvailable) return undefined; // a guest: the document will tell
    throw e;
  }
  const e = r.executions[0];
  return e && { arn: e.executionArn, status: e.status, docId: e.status === "SUCCEEDED" ? id : undefined };
}
