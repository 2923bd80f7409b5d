// The local twin's /api/ endpoints (see DESIGN.md and the web/API contract).

import { encodeKey } from "../keys";
import {
  ApiError,
  errorFromResponse,
  NotAvailable,
  xhrPut,
  type Api,
  type ExecutionDetail,
  type ExecutionItem,
  type FailureMessage,
  type ImageDoc,
  type ListExecutionsParams,
  type LoadStatus,
  type RedriveReport,
  type RedriveRequest,
  type SearchResult,
} from "./types";

export class LocalApi implements Api {
  readonly mode = "local" as const;
  constructor(
    private readonly base: string,
    private readonly fetchFn: typeof fetch = (...a) => fetch(...a),
  ) {}

  private async get<T>(path: string, what: string): Promise<T> {
    let res: Response;
    try {
      res = await this.fetchFn(this.base + path, { headers: { Accept: "application/json" } });
    } catch (e) {
      throw new ApiError(`${what} failed: the server did not answer (${(e as Error).message})`, 0);
    }
    if (!res.ok) throw await errorFromResponse(res, what);
    return (await res.json()) as T;
  }

  private async post<T>(path: string, body: unknown, what: string): Promise<T> {
    let res: Response;
    try {
      res = await this.fetchFn(this.base + path, {
        method: "POST",
        headers: { "Content-Type": "application/json", Accept: "application/json" },
        body: JSON.stringify(body ?? {}),
      });
    } catch (e) {
      throw new ApiError(`${what} failed: the server did not answer (${(e as Error).message})`, 0);
    }
    if (!res.ok) throw await errorFromResponse(res, what);
    return (await res.json()) as T;
  }

  search(q: string, from: number, size: number): Promise<SearchResult> {
    const p = new URLSearchParams({ search: q, from: String(from), size: String(size) });
    return this.get<SearchResult>(`/images?${p}`, "Search");
  }

  getImage(id: string): Promise<ImageDoc> {
    return this.get<ImageDoc>(`/images/${encodeURIComponent(id)}`, "Loading the image");
  }

  ping(): Promise<{ count: number }> {
    return this.get("/ping", "Ping");
  }

  async upload(file: File, key: string, onProgress: (f: number) => void, signal?: AbortSignal) {
    const url = `${this.base}/objects/${encodeKey(key)}`;
    const r = await xhrPut(url, file, { "Content-Type": file.type || "application/octet-stream" }, onProgress, signal);
    if (r.status < 200 || r.status >= 300) {
      let msg = r.text;
      try {
        msg = JSON.parse(r.text).error ?? msg;
      } catch {
        /* plain text */
      }
      throw new ApiError(`Upload failed: ${msg || "HTTP " + r.status} (HTTP ${r.status})`, r.status);
    }
    let etag = r.etag ?? undefined;
    try {
      const j = JSON.parse(r.text);
      etag = j.etag ?? etag;
      key = j.key ?? key;
    } catch {
      /* an empty body is fine */
    }
    onProgress(1);
    return { key, etag };
  }

  listExecutions(p: ListExecutionsParams): Promise<{ executions: ExecutionItem[]; nextToken?: string }> {
    const q = new URLSearchParams();
    if (p.status) q.set("status", p.status);
    if (p.key) q.set("key", p.key);
    if (p.maxResults) q.set("maxResults", String(p.maxResults));
    if (p.nextToken) q.set("nextToken", p.nextToken);
    return this.get(`/executions?${q}`, "Listing executions");
  }

  describeExecution(arn: string): Promise<ExecutionDetail> {
    return this.get(`/executions/${encodeURIComponent(arn)}`, "Loading the execution");
  }

  async redriveExecution(arn: string): Promise<void> {
    await this.post(`/executions/${encodeURIComponent(arn)}/redrive`, {}, "Redriving the execution");
  }

  async stopExecution(arn: string): Promise<void> {
    await this.post(`/executions/${encodeURIComponent(arn)}/stop`, {}, "Stopping the execution");
  }

  listFailures(): Promise<{ messages: FailureMessage[] }> {
    return this.get("/failures", "Reading the failure queue");
  }

  redrive(req: RedriveRequest = {}): Promise<RedriveReport> {
    return this.post("/failures/redrive", req, "Redrive");
  }

  discard(messageIds: string[]): Promise<RedriveReport> {
    return this.post("/failures/discard", { messageIds }, "Discard");
  }

  async startLoad(rate: number, duration: string): Promise<{ id: string }> {
    try {
      return await this.post("/load", { rate, duration }, "Starting the load test");
    } catch (e) {
      if (e instanceof ApiError && (e.status === 404 || e.status === 405)) {
        throw new NotAvailable("This twin has no load tester yet (POST /api/load answered 404). Use `imagepipe load` instead.");
      }
      throw e;
    }
  }

  async loadStatus(): Promise<LoadStatus> {
    try {
      return await this.get<LoadStatus>("/load", "Reading load-test progress");
    } catch (e) {
      if (e instanceof ApiError && (e.status === 404 || e.status === 405)) {
        throw new NotAvailable("This twin has no load tester yet (GET /api/load answered 404).");
      }
      throw e;
    }
  }
}
