// The web app's one code path, the same in AWS and on the local twin: Cognito
// identity-pool credentials, SigV4-signed calls to the stack's API Gateway stage
// (search, executions and the failure queue — Step Functions allows no CORS, so the
// browser never calls it directly), presigned S3 URLs, and the load-tester Lambda.
// On the twin, config.json names the twin's edge as every service's endpoint.

import { fromCognitoIdentityPool } from "@aws-sdk/credential-provider-cognito-identity";
import type { AwsConfig } from "../config";
import { presign, signRequest, type Credentials } from "./signing";
import {
  ApiError,
  errorFromResponse,
  NotAvailable,
  xhrSend,
  type Api,
  type ExecutionDetail,
  type ExecutionItem,
  type FailureMessage,
  type ImageDoc,
  type ListExecutionsParams,
  type LoadSecond,
  type LoadStatus,
  type RedriveReport,
  type RedriveRequest,
  type SearchResult,
} from "./types";

const TOKEN_KEY = "imagepipe.idToken";
/** Set when the person signed out on the twin: the operator sign-in is not repeated. */
const SIGNED_OUT_KEY = "imagepipe.signedOut";

export interface Auth {
  user(): string | undefined;
  signIn(username: string, password: string): Promise<void>;
  /** Signs up with the email as the user name (the pool signs in by email). */
  signUp(email: string, password: string): Promise<void>;
  confirm(username: string, code: string): Promise<void>;
  signOut(): void;
  /** subscribe hears every sign-in and sign-out (the twin's operator signs in at start). */
  subscribe(listener: () => void): () => void;
}

function isDenied(e: unknown): boolean {
  const n = (e as { name?: string })?.name ?? "";
  return /AccessDenied|UnauthorizedOperation|NotAuthorized/.test(n);
}

export class AwsApi implements Api {
  readonly mode = "aws" as const;
  private creds?: Promise<Credentials>;
  private load?: LoadRun;
  readonly auth?: Auth;
  /** On the twin: the operator sign-in, done once before the first call. */
  private ready: Promise<void> = Promise.resolve();

  private readonly fetchFn: typeof fetch;
  private readonly credentialsFn?: () => Promise<Credentials>;

  /** deps replace the network and the identity pool in tests. */
  constructor(
    private readonly cfg: AwsConfig,
    deps: { fetch?: typeof fetch; credentials?: () => Promise<Credentials> } = {},
  ) {
    this.fetchFn = deps.fetch ?? ((...a) => fetch(...a));
    this.credentialsFn = deps.credentials;
    if (cfg.userPoolId && cfg.userPoolClientId) this.auth = new UserPoolAuth(cfg, () => this.resetCredentials());
    const op = cfg.operator;
    if (op && this.auth && !this.auth.user() && !sessionStorage.getItem(SIGNED_OUT_KEY)) {
      this.ready = this.auth.signIn(op.username, op.password).catch((e: Error) => {
        console.warn(`operator sign-in failed: ${e.message}`);
      });
    }
  }

  get bucket(): string {
    return this.cfg.bucket;
  }

  /** where tells where this page talks to: the twin (its edge endpoint) or AWS. */
  get where(): string {
    return this.cfg.endpoint ? "local twin" : "AWS";
  }

  private logins(): Record<string, string> | undefined {
    const token = sessionStorage.getItem(TOKEN_KEY);
    if (!token || !this.cfg.userPoolId) return undefined;
    return { [`cognito-idp.${this.cfg.region}.amazonaws.com/${this.cfg.userPoolId}`]: token };
  }

  private resetCredentials() {
    this.creds = undefined;
  }

  private provider() {
    return fromCognitoIdentityPool({
      identityPoolId: this.cfg.identityPoolId,
      logins: this.logins(),
      clientConfig: { region: this.cfg.region, endpoint: this.cfg.endpoint },
    });
  }

  /** credentials are cached until five minutes before they expire. */
  private async credentials(): Promise<Credentials> {
    await this.ready;
    if (this.creds) {
      const c = await this.creds.catch(() => undefined);
      if (c && (!c.expiration || c.expiration.getTime() - Date.now() > 300_000)) return c;
    }
    this.creds = (this.credentialsFn ?? this.provider())().catch((e: Error) => {
      this.creds = undefined;
      throw new ApiError(`Could not get AWS credentials from the identity pool: ${e.message}`, 0);
    });
    return this.creds;
  }

  private async call<T>(method: string, path: string, what: string, body?: unknown): Promise<T> {
    const creds = await this.credentials();
    const payload = body === undefined ? undefined : JSON.stringify(body);
    const headers: Record<string, string> = { Accept: "application/json" };
    if (payload) headers["Content-Type"] = "application/json";
    const s = await signRequest({ url: this.cfg.apiUrl + path, method, headers, body: payload }, creds, this.cfg.region);
    let res: Response;
    try {
      res = await this.fetchFn(s.url, { method: s.method, headers: s.headers, body: payload });
    } catch (e) {
      throw new ApiError(`${what} failed: the API did not answer (${(e as Error).message})`, 0);
    }
    if (!res.ok) throw await errorFromResponse(res, what);
    return (await res.json()) as T;
  }

  async search(q: string, from: number, size: number, params: Record<string, string> = {}): Promise<SearchResult> {
    const p = new URLSearchParams({ search: q, from: String(from), size: String(size), ...params });
    const r = await this.call<SearchResult>("GET", `/images?${p}`, "Search");
    const creds = await this.credentials();
    // Thumbnails are private objects: presign a short-lived GET for each.
    await Promise.all(
      r.images.map(async (d) => {
        const bucket = d.bucket || this.cfg.bucket;
        await this.presignDoc(d, bucket, creds);
      }),
    );
    return r;
  }

  /** Thumbnails and previews are private objects: a short-lived presigned GET each. */
  private async presignDoc(d: ImageDoc, bucket: string, creds: Credentials) {
    if (d.thumbnail && !d.thumbnailUrl) d.thumbnailUrl = await presign("GET", bucket, d.thumbnail, creds, this.cfg.region, this.cfg.endpoint);
    if (d.preview && !d.previewUrl) d.previewUrl = await presign("GET", bucket, d.preview, creds, this.cfg.region, this.cfg.endpoint);
  }

  async getImage(id: string): Promise<ImageDoc> {
    const d = await this.call<ImageDoc>("GET", `/images/${encodeURIComponent(id)}`, "Loading the image");
    await this.presignDoc(d, d.bucket || this.cfg.bucket, await this.credentials());
    return d;
  }

  ping(): Promise<{ count: number }> {
    return this.call("GET", "/ping", "Ping");
  }

  /**
   * upload asks the stack for a presigned POST (POST /uploads: the key under this
   * identity's own prefix, the size limit in the signed policy), then posts the file
   * to S3 with it. A file the API refuses (empty, too large) fails before any byte
   * is sent, with the API's reason.
   */
  async upload(file: File, onProgress: (f: number) => void, signal?: AbortSignal) {
    const p = await this.call<{ url: string; fields: Record<string, string>; key: string }>("POST", "/uploads", "Preparing the upload", {
      name: file.name,
      size: file.size,
      contentType: file.type || "application/octet-stream",
    });
    const form = new FormData();
    for (const [k, v] of Object.entries(p.fields)) form.append(k, v);
    form.append("file", file); // S3 ignores form fields after the file
    const r = await xhrSend("POST", p.url, form, {}, onProgress, signal);
    if (r.status < 200 || r.status >= 300) {
      const m = /<Message>([^<]*)<\/Message>/.exec(r.text);
      throw new ApiError(`Upload to S3 failed: ${m?.[1] ?? "HTTP " + r.status} (HTTP ${r.status})`, r.status);
    }
    onProgress(1);
    return { key: p.key, etag: r.etag?.replace(/"/g, "") ?? undefined };
  }

  consoleUrl(arn: string): string | undefined {
    if (this.cfg.endpoint) return undefined; // the twin has no console
    return `https://${this.cfg.region}.console.aws.amazon.com/states/home?region=${this.cfg.region}#/v2/executions/details/${encodeURIComponent(arn)}`;
  }

  /** operatorsOnly turns the API's 403 for a route only operators may call into words. */
  private async operatorsOnly<T>(what: string, f: () => Promise<T>): Promise<T> {
    try {
      return await f();
    } catch (e) {
      if (e instanceof ApiError && e.status === 403) {
        throw new NotAvailable(`${what} is for operators: ${this.auth?.user() ? "your account is not in the operators group" : "sign in as an operator"}.`);
      }
      throw e;
    }
  }

  listExecutions(p: ListExecutionsParams): Promise<{ executions: ExecutionItem[]; nextToken?: string }> {
    const q = new URLSearchParams();
    if (p.status) q.set("status", p.status);
    if (p.key) q.set("key", p.key);
    if (p.maxResults) q.set("maxResults", String(p.maxResults));
    if (p.nextToken) q.set("nextToken", p.nextToken);
    return this.operatorsOnly("Listing executions", () => this.call("GET", `/executions?${q}`, "Listing executions"));
  }

  describeExecution(arn: string): Promise<ExecutionDetail> {
    return this.operatorsOnly("Loading the execution", () => this.call("GET", `/executions/${encodeURIComponent(arn)}`, "Loading the execution"));
  }

  async redriveExecution(arn: string): Promise<void> {
    await this.operatorsOnly("Redriving the execution", () => this.call("POST", `/executions/${encodeURIComponent(arn)}/redrive`, "Redriving the execution", {}));
  }

  async stopExecution(arn: string): Promise<void> {
    await this.operatorsOnly("Stopping the execution", () => this.call("POST", `/executions/${encodeURIComponent(arn)}/stop`, "Stopping the execution", {}));
  }

  deleteImage(key: string): Promise<{ key: string; deleted: boolean }> {
    return this.operatorsOnly("Deleting an image", () => this.call("POST", "/images/delete", "Deleting the image", { key }));
  }

  listFailures(): Promise<{ messages: FailureMessage[] }> {
    return this.operatorsOnly("Reading the failure queue", () => this.call("GET", "/failures", "Reading the failure queue"));
  }

  discard(messageIds: string[]): Promise<RedriveReport> {
    return this.operatorsOnly("Discarding", () => this.call("POST", "/failures/discard", "Discard", { messageIds }));
  }

  /**
   * redrive starts the redrive job (POST /failures/redrive answers at once with its
   * execution) and follows it through GET /executions/{arn} until it ends; progress
   * hears each round's report as it lands. The job's output is the report. A stack
   * without the job answers one bounded round instead, returned as it is.
   */
  async redrive(req: RedriveRequest = {}, progress?: (round: number, r: RedriveReport) => void): Promise<RedriveReport> {
    const start = await this.operatorsOnly("Redrive", () =>
      this.call<RedriveReport & { executionArn?: string }>("POST", "/failures/redrive", "Redrive", req),
    );
    if (!start.executionArn) return start;
    const deadline = Date.now() + JOB_FOLLOW_MS;
    let seen = 0;
    for (;;) {
      const d = await this.describeExecution(start.executionArn);
      const rounds = d.history.filter((e) => e.type === "TaskSucceeded");
      if (progress && rounds.length > seen) {
        seen = rounds.length;
        const last = rounds[rounds.length - 1] as { taskSucceededEventDetails?: { output?: string } };
        const out = parseJSON(last.taskSucceededEventDetails?.output) as { Payload?: RedriveReport } | undefined;
        if (out?.Payload) progress(seen, out.Payload);
      }
      const x = d.execution;
      if (x.status === "SUCCEEDED") return (parseJSON(x.output) ?? {}) as RedriveReport;
      if (x.status !== "RUNNING") throw new ApiError(`The redrive job ended ${x.status}: ${x.error ?? ""} ${x.cause ?? ""}`.trim(), 0);
      if (Date.now() > deadline) throw new ApiError(`The redrive job is still running after ${JOB_FOLLOW_MS / 60_000} minutes: see its execution`, 0);
      await new Promise((r) => setTimeout(r, 500));
    }
  }

  /**
   * startLoad invokes the load-tester Lambda (signed-in users only) and keeps the
   * invocation: the Lambda answers when its run ends, with what it sent. Meanwhile
   * loadStatus counts the documents indexed since the start (GET /ping).
   */
  async startLoad(rate: number, duration: string): Promise<{ id: string }> {
    const fn = this.loadTester();
    if (!this.auth?.user()) throw new ApiError("Sign in as an operator to run the load test: only operators may invoke the load tester.", 403);
    if (this.load && loadRunning(this.load, Date.now())) throw new ApiError("A load test is already running.", 409);
    const baseline = await this.ping().then(
      (p) => p.count,
      () => undefined,
    );
    const m = await import("@aws-sdk/client-lambda");
    // One attempt: a retried invocation would start a second run.
    const client = new m.LambdaClient({ region: this.cfg.region, endpoint: this.cfg.endpoint, credentials: () => this.credentials(), maxAttempts: 1 });
    const run: LoadRun = { id: `load-${Date.now()}`, started: Date.now(), durationMs: durationMs(duration), baseline };
    run.done = client
      .send(
        new m.InvokeCommand({
          FunctionName: fn,
          InvocationType: "RequestResponse",
          Payload: new TextEncoder().encode(JSON.stringify({ rate, duration, size: "small" })),
        }),
      )
      .then(
        (r) => {
          run.report = parseLoadReport(r.Payload, r.FunctionError);
        },
        (e: Error) => {
          run.error = isDenied(e)
            ? new ApiError("This identity may not invoke the load tester: it is for operators.", 403)
            : new ApiError(`Load test failed: ${e.message}`, 0);
        },
      )
      .catch((e: Error) => {
        run.error = e;
      })
      .finally(() => {
        run.finishedAt = Date.now();
      });
    this.load = run;
    return { id: run.id };
  }

  async loadStatus(): Promise<LoadStatus> {
    this.loadTester();
    const run = this.load;
    if (!run) return { running: false, sent: 0, indexed: 0, failed: 0 };
    if (run.error) {
      const e = run.error;
      run.error = undefined; // shown once; the page may start again
      run.finishedAt ??= Date.now();
      throw e;
    }
    if (run.baseline !== undefined && loadRunning(run, Date.now())) {
      const now = await this.ping().then(
        (p) => p.count,
        () => undefined,
      );
      if (now !== undefined) run.indexed = Math.max(0, now - run.baseline);
    }
    const r = run.report;
    const indexed = Math.min(run.indexed ?? 0, r?.sent ?? Infinity);
    return {
      running: loadRunning(run, Date.now()),
      sent: r?.sent ?? 0,
      indexed,
      failed: r?.failed ?? 0,
      p50Ms: r?.uploadP50Ms,
      p95Ms: r?.uploadP95Ms,
      startedAt: run.started,
      durationMs: run.durationMs,
      timeline: r?.timeline,
    };
  }

  private loadTester(): string {
    if (!this.cfg.loadTesterFunction) throw new NotAvailable("config.json names no loadTesterFunction: deploy the stack with the load tester, or run `imagepipe load`.");
    return this.cfg.loadTesterFunction;
  }
}

/** LoadReport is what the load-tester Lambda answers (functions/cmd/load-tester). */
export interface LoadReport {
  runId: string;
  prefix: string;
  planned: number;
  sent: number;
  failed: number;
  complete: boolean;
  elapsedMs: number;
  uploadP50Ms?: number;
  uploadP95Ms?: number;
  errors?: string[];
  timeline?: LoadSecond[];
}

interface LoadRun {
  id: string;
  started: number;
  durationMs: number;
  baseline?: number; // documents indexed when the run started
  indexed?: number;
  done?: Promise<void>;
  report?: LoadReport;
  error?: Error;
  finishedAt?: number;
}

/** durationMs reads a Go duration of the form the page accepts (500ms, 30s, 2m). */
export function durationMs(d: string): number {
  const m = /^(\d+)(ms|s|m)$/.exec(d.trim());
  if (!m) return 0;
  return Number(m[1]) * { ms: 1, s: 1000, m: 60_000 }[m[2] as "ms" | "s" | "m"];
}

/** How long the page follows a redrive job before it says so. */
const JOB_FOLLOW_MS = 10 * 60_000;

function parseJSON(s: string | undefined): unknown {
  if (!s) return undefined;
  try {
    return JSON.parse(s);
  } catch {
    return undefined;
  }
}

/** After the Lambda answers, the page follows the pipeline this long at most. */
const FOLLOW_MS = 120_000;

/** loadRunning: the Lambda has not answered, or the pipeline is still catching up. */
export function loadRunning(run: Pick<LoadRun, "report" | "error" | "finishedAt" | "indexed" | "baseline">, now: number): boolean {
  if (run.finishedAt === undefined) return true;
  if (!run.report || run.baseline === undefined) return false;
  return (run.indexed ?? 0) < run.report.sent && now - run.finishedAt < FOLLOW_MS;
}

/** parseLoadReport reads the Lambda's answer, or throws its error in words. */
export function parseLoadReport(payload: Uint8Array | undefined, functionError: string | undefined): LoadReport {
  const text = payload ? new TextDecoder().decode(payload) : "";
  let body: unknown;
  try {
    body = text ? JSON.parse(text) : undefined;
  } catch {
    body = undefined;
  }
  if (functionError) {
    const e = body as { errorMessage?: string; errorType?: string } | undefined;
    throw new ApiError(`Load test failed: ${e?.errorMessage ?? functionError}${e?.errorType ? ` (${e.errorType})` : ""}`, 0);
  }
  const r = body as Partial<LoadReport> | undefined;
  if (!r || typeof r.sent !== "number" || typeof r.failed !== "number") {
    throw new ApiError(`Load test failed: unexpected answer from the load tester: ${text.slice(0, 200)}`, 0);
  }
  return r as LoadReport;
}

class UserPoolAuth implements Auth {
  private readonly listeners = new Set<() => void>();

  constructor(
    private readonly cfg: AwsConfig,
    private readonly reset: () => void,
  ) {}

  subscribe(listener: () => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  private changed() {
    this.reset();
    for (const l of this.listeners) l();
  }

  private async idp() {
    const m = await import("@aws-sdk/client-cognito-identity-provider");
    return { m, c: new m.CognitoIdentityProviderClient({ region: this.cfg.region, endpoint: this.cfg.endpoint }) };
  }

  user(): string | undefined {
    return sessionStorage.getItem(TOKEN_KEY + ".user") ?? undefined;
  }

  async signIn(username: string, password: string) {
    const { m, c } = await this.idp();
    const r = await c.send(
      new m.InitiateAuthCommand({
        AuthFlow: "USER_PASSWORD_AUTH",
        ClientId: this.cfg.userPoolClientId,
        AuthParameters: { USERNAME: username, PASSWORD: password },
      }),
    );
    const token = r.AuthenticationResult?.IdToken;
    if (!token) throw new Error(r.ChallengeName ? `Sign-in needs a further step (${r.ChallengeName}) this page does not support.` : "Sign-in returned no token.");
    sessionStorage.setItem(TOKEN_KEY, token);
    sessionStorage.setItem(TOKEN_KEY + ".user", username);
    sessionStorage.removeItem(SIGNED_OUT_KEY);
    this.changed();
  }

  async signUp(email: string, password: string) {
    const { m, c } = await this.idp();
    await c.send(
      new m.SignUpCommand({
        ClientId: this.cfg.userPoolClientId,
        Username: email,
        Password: password,
        UserAttributes: [{ Name: "email", Value: email }],
      }),
    );
  }

  async confirm(username: string, code: string) {
    const { m, c } = await this.idp();
    await c.send(new m.ConfirmSignUpCommand({ ClientId: this.cfg.userPoolClientId, Username: username, ConfirmationCode: code }));
  }

  signOut() {
    sessionStorage.removeItem(TOKEN_KEY);
    sessionStorage.removeItem(TOKEN_KEY + ".user");
    sessionStorage.setItem(SIGNED_OUT_KEY, "1");
    this.changed();
  }
}
