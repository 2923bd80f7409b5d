import type { HistoryEvent } from "../history";

export interface Label {
  name: string;
  confidence: number;
  parents?: string[];
}

export interface ImageDoc {
  id: string;
  bucket: string;
  key: string;
  thumbnail?: string;
  preview?: string;
  etag?: string;
  size?: number;
  format?: string;
  width?: number;
  height?: number;
  orientation?: number;
  colorspace?: string;
  takenAt?: string;
  camera?: { make?: string; model?: string };
  location?: { lat: number; lon: number };
  exif?: Record<string, string>;
  labels?: Label[];
  duplicateOf?: string;
  /** the execution that made this document ($$.Execution.Id). */
  executionArn?: string;
  /** the document whose Rekognition call produced these labels, when they were copied. */
  labelsFrom?: string;
  /** Other keys holding the same bytes (search folds duplicates into their original). */
  alsoKeys?: string[];
  exifError?: string;
  uploadedAt?: string;
  processedAt?: string;
  thumbnailUrl?: string;
  previewUrl?: string;
}

export interface SearchResult {
  total: number;
  images: ImageDoc[];
}

export interface ExecutionItem {
  executionArn: string;
  name: string;
  status: string;
  startDate?: unknown;
  stopDate?: unknown;
  stateMachineArn?: string;
  key?: string;
}

export interface ExecutionDetail {
  execution: {
    executionArn: string;
    name?: string;
    status: string;
    startDate?: unknown;
    stopDate?: unknown;
    input?: string;
    output?: string;
    error?: string;
    cause?: string;
    redriveCount?: number;
    stateMachineArn?: string;
  };
  definition: unknown;
  history: HistoryEvent[];
}

export interface FailureMessage {
  messageId: string;
  sentTimestamp?: unknown;
  receiveCount?: number;
  body: { error?: string; cause?: string; state?: string; input?: unknown; executionArn?: string; permanent?: boolean } | string;
}

/** RedriveReport is what the redrive function answers (queue mode). */
export interface RedriveReport {
  started: number;
  existing?: number;
  failed: number;
  discarded?: number;
  permanent?: number;
  parked?: number;
  messages?: { messageId: string; action?: string; error?: string; key?: string; redriveCount?: number }[];
}

export interface RedriveRequest {
  messageIds?: string[];
  includePermanent?: boolean;
}

export interface LoadStatus {
  running: boolean;
  sent: number;
  indexed: number;
  failed: number;
  p50Ms?: number;
  p95Ms?: number;
  /** when the run was started (ms since epoch) and how long it uploads, for progress by time. */
  startedAt?: number;
  durationMs?: number;
  /** the run second by second, once the load tester answered. */
  timeline?: LoadSecond[];
}

/** LoadSecond is one second of a load run (functions/loadgen Second). */
export interface LoadSecond {
  t: number;
  sent: number;
  failed: number;
  uploadP50Ms: number;
  uploadMaxMs: number;
}

export interface ListExecutionsParams {
  status?: string;
  key?: string;
  maxResults?: number;
  nextToken?: string;
}

export interface Api {
  readonly mode: "aws";
  /** where this page talks to, in words ("local twin" or "AWS"). */
  readonly where?: string;
  /** the images bucket, where uploads go and documents point. */
  readonly bucket: string;
  /** search sends params (sort and filters, see searchFilters.ts) beside the words. */
  search(q: string, from: number, size: number, params?: Record<string, string>): Promise<SearchResult>;
  /** getImage reads one document by id, where the API offers it. */
  getImage?(id: string): Promise<ImageDoc>;
  ping(): Promise<{ count: number }>;
  /**
   * upload sends one file under a key the stack chooses (POST /uploads, then a
   * presigned S3 POST), reporting progress as a fraction 0..1; it answers the key.
   */
  upload(file: File, onProgress: (fraction: number) => void, signal?: AbortSignal): Promise<{ key: string; etag?: string }>;
  listExecutions(p: ListExecutionsParams): Promise<{ executions: ExecutionItem[]; nextToken?: string }>;
  describeExecution(arn: string): Promise<ExecutionDetail>;
  listFailures(): Promise<{ messages: FailureMessage[] }>;
  /** redrive starts the failed messages' work again (all, or the ones named). */
  redrive(req?: RedriveRequest, progress?: (round: number, r: RedriveReport) => void): Promise<RedriveReport>;
  /** discard deletes the named messages from the failure queue. */
  discard(messageIds: string[]): Promise<RedriveReport>;
  /** redriveExecution and stopExecution exist where the deployment offers them. */
  redriveExecution?(arn: string): Promise<void>;
  stopExecution?(arn: string): Promise<void>;
  /**
   * deleteImage deletes an upload from the bucket (operators only: POST
   * /images/delete); its document, thumbnail and preview go once the remove
   * pipeline, started by S3's delete event, has run.
   */
  deleteImage?(key: string): Promise<{ key: string; deleted: boolean }>;
  startLoad(rate: number, duration: string): Promise<{ id: string }>;
  loadStatus(): Promise<LoadStatus>;
  /** consoleUrl links to the AWS console for an execution, when there is one. */
  consoleUrl?(arn: string): string | undefined;
}

/** ApiError carries the HTTP status and the server's words. */
export class ApiError extends Error {
  constructor(
    message: string,
    readonly status: number,
  ) {
    super(message);
    this.name = "ApiError";
  }
}

/** NotAvailable says a feature does not exist in this deployment (e.g. a 404). */
export class NotAvailable extends Error {
  constructor(message: string) {
    super(message);
    this.name = "NotAvailable";
  }
}

/** errorFromResponse turns {"error": "..."} or any body into an ApiError in words. */
export async function errorFromResponse(res: Response, what: string): Promise<ApiError> {
  let text = "";
  try {
    text = await res.text();
  } catch {
    /* body unreadable: the status alone will do */
  }
  let msg = "";
  try {
    const j = JSON.parse(text);
    msg = j?.error ?? j?.message ?? j?.Message ?? "";
  } catch {
    msg = text.length < 300 ? text.trim() : "";
  }
  return new ApiError(`${what} failed: ${msg || res.statusText || "HTTP " + res.status} (HTTP ${res.status})`, res.status);
}

/** xhrSend uploads with progress events; fetch has no upload progress. */
export function xhrSend(
  method: "PUT" | "POST",
  url: string,
  body: Blob | FormData,
  headers: Record<string, string>,
  onProgress: (f: number) => void,
  signal?: AbortSignal,
): Promise<{ status: number; text: string; etag: string | null }> {
  return new Promise((resolve, reject) => {
    const xhr = new XMLHttpRequest();
    xhr.open(method, url);
    for (const [k, v] of Object.entries(headers)) xhr.setRequestHeader(k, v);
    xhr.upload.onprogress = (e) => {
      if (e.lengthComputable && e.total > 0) onProgress(e.loaded / e.total);
    };
    xhr.onload = () => resolve({ status: xhr.status, text: xhr.responseText, etag: xhr.getResponseHeader("ETag") });
    xhr.onerror = () => reject(new Error("network error while uploading"));
    xhr.onabort = () => reject(new DOMException("upload cancelled", "AbortError"));
    signal?.addEventListener("abort", () => xhr.abort());
    xhr.send(body);
  });
}

/**
 * The object key of an S3 event: S3 URL-encodes it as a form value ("red flower.jpg"
 * arrives as "red+flower.jpg"), so this decodes it to the key the object has.
 */
export function eventKey(key: string | undefined): string | undefined {
  if (key === undefined) return undefined;
  try {
    return decodeURIComponent(key.replace(/\+/g, " "));
  } catch {
    return key; // not encoded as S3 encodes: shown as sent
  }
}
