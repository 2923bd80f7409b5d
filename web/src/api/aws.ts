// AWS mode: Cognito identity-pool credentials, SigV4-signed API Gateway calls,
// presigned S3 uploads, Step Functions reads, the load-tester Lambda. Imported lazily (main.tsx) so the
// local bundle never carries the SDK.

import { fromCognitoIdentityPool } from "@aws-sdk/credential-provider-cognito-identity";
import {
  SFNClient,
  ListExecutionsCommand,
  DescribeExecutionCommand,
  GetExecutionHistoryCommand,
  DescribeStateMachineForExecutionCommand,
  RedriveExecutionCommand,
  StopExecutionCommand,
  type ExecutionStatus,
  type HistoryEvent as SfnEvent,
} from "@aws-sdk/client-sfn";
import type { AwsConfig } from "../config";
import type { HistoryEvent } from "../history";
import { presign, signRequest, type Credentials } from "./signing";
import {
  ApiError,
  errorFromResponse,
  eventKey,
  NotAvailable,
  xhrPut,
  type Api,
  type ExecutionDetail,
  type ExecutionItem,
  type ListExecutionsParams,
  type LoadStatus,
  type RedriveReport,
  type RedriveRequest,
  type SearchResult,
} from "./types";

const TOKEN_KEY = "imagepipe.idToken";

export interface Auth {
  user(): string | undefined;
  signIn(username: string, password: string): Promise<void>;
  /** Signs up with the email as the user name (the pool signs in by email). */
  signUp(email: string, password: string): Promise<void>;
  confirm(username: string, code: string): Promise<void>;
  signOut(): void;
}

function isDenied(e: unknown): boolean {
  const n = (e as { name?: string })?.name ?? "";
  return /AccessDenied|UnauthorizedOperation|NotAuthorized/.test(n);
}

export class AwsApi implements Api {
  readonly mode = "aws" as const;
  private creds?: Promise<Credentials>;
  private sfn?: SFNClient;
  private load?: LoadRun;
  readonly auth?: Auth;

  constructor(private readonly cfg: AwsConfig) {
    if (cfg.userPoolId && cfg.userPoolClientId) this.auth = new UserPoolAuth(cfg, () => this.resetCredentials());
  }

  private logins(): Record<string, string> | undefined {
    const token = sessionStorage.getItem(TOKEN_KEY);
    if (!token || !this.cfg.userPoolId) return undefined;
    return { [`cognito-idp.${this.cfg.region}.amazonaws.com/${this.cfg.userPoolId}`]: token };
  }

  private resetCredentials() {
    this.creds = undefined;
    this.sfn = undefined;
  }

  private provider() {
    return fromCognitoIdentityPool({
      identityPoolId: this.cfg.identityPoolId,
      logins: this.logins(),
      clientConfig: { region: this.cfg.region },
    });
  }

  /** credentials are cached until five minutes before they expire. */
  private async credentials(): Promise<Credentials> {
    if (this.creds) {
      const c = await this.creds.catch(() => undefined);
      if (c && (!c.expiration || c.expiration.getTime() - Date.now() > 300_000)) return c;
    }
    this.creds = this.provider()().catch((e: Error) => {
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
      res = await fetch(s.url, { method: s.method, headers: s.headers, body: payload });
    } catch (e) {
      throw new ApiError(`${what} failed: the API did not answer (${(e as Error).message})`, 0);
    }
    if (!res.ok) throw await errorFromResponse(res, what);
    return (await res.json()) as T;
  }

  async search(q: string, from: number, size: number): Promise<SearchResult> {
    const p = new URLSearchParams({ search: q, from: String(from), size: String(size) });
    const r = await this.call<SearchResult>("GET", `/images?${p}`, "Search");
    const creds = await this.credentials();
    // Thumbnails are private objects: presign a short-lived GET for each.
    await Promise.all(
      r.images.map(async (d) => {
        const bucket = d.bucket || this.cfg.bucket;
        if (d.thumbnail && !d.thumbnailUrl) d.thumbnailUrl = await presign("GET", bucket, d.thumbnail, creds, this.cfg.region);
        if (d.preview && !d.previewUrl) d.previewUrl = await presign("GET", bucket, d.preview, creds, this.cfg.region);
      }),
    );
    return r;
  }

  ping(): Promise<{ count: number }> {
    return this.call("GET", "/ping", "Ping");
  }

  async upload(file: File, key: string, onProgress: (f: number) => void, signal?: AbortSignal) {
    const creds = await this.credentials();
    const url = await presign("PUT", this.cfg.bucket, key, creds, this.cfg.region);
    const r = await xhrPut(url, file, { "Content-Type": file.type || "application/octet-stream" }, onProgress, signal);
    if (r.status < 200 || r.status >= 300) {
      const m = /<Message>([^<]*)<\/Message>/.exec(r.text);
      throw new ApiError(`Upload to S3 failed: ${m?.[1] ?? "HTTP " + r.status} (HTTP ${r.status})`, r.status);
    }
    onProgress(1);
    return { key, etag: r.etag ?? undefined };
  }

  private client(): SFNClient {
    this.sfn ??= new SFNClient({ region: this.cfg.region, credentials: () => this.credentials() });
    return this.sfn;
  }

  consoleUrl(arn: string): string {
    return `https://${this.cfg.region}.console.aws.amazon.com/states/home?region=${this.cfg.region}#/v2/executions/details/${encodeURIComponent(arn)}`;
  }

  private denied(what: string): NotAvailable {
    return new NotAvailable(`${what}: this identity may not read Step Functions. Open the Step Functions console instead.`);
  }

  async listExecutions(p: ListExecutionsParams): Promise<{ executions: ExecutionItem[]; nextToken?: string }> {
    if (!this.cfg.stateMachineArn) throw new NotAvailable("config.json names no stateMachineArn.");
    try {
      const r = await this.client().send(
        new ListExecutionsCommand({
          stateMachineArn: this.cfg.stateMachineArn,
          statusFilter: p.status ? (p.status as ExecutionStatus) : undefined,
          maxResults: p.key ? 25 : (p.maxResults ?? 50),
          nextToken: p.nextToken,
        }),
      );
      let items: ExecutionItem[] = (r.executions ?? []).map((e) => ({
        executionArn: e.executionArn!,
        name: e.name ?? "",
        status: e.status ?? "",
        startDate: e.startDate,
        stopDate: e.stopDate,
        stateMachineArn: e.stateMachineArn,
      }));
      if (p.key) {
        // Step Functions cannot filter by input: look at the newest few.
        const withKeys = await Promise.all(
          items.map(async (it) => {
            const d = await this.client().send(new DescribeExecutionCommand({ executionArn: it.executionArn }));
            try {
              it.key = eventKey(JSON.parse(d.input ?? "{}")?.detail?.object?.key);
            } catch {
              /* not an S3 event */
            }
            return it;
          }),
        );
        items = withKeys.filter((it) => it.key === p.key);
      }
      return { executions: items, nextToken: p.key ? undefined : r.nextToken };
    } catch (e) {
      if (isDenied(e)) throw this.denied("Listing executions");
      throw e;
    }
  }

  async describeExecution(arn: string): Promise<ExecutionDetail> {
    try {
      const c = this.client();
      const [d, sm] = await Promise.all([
        c.send(new DescribeExecutionCommand({ executionArn: arn })),
        c.send(new DescribeStateMachineForExecutionCommand({ executionArn: arn })),
      ]);
      const history: HistoryEvent[] = [];
      let nextToken: string | undefined;
      do {
        const h = await c.send(new GetExecutionHistoryCommand({ executionArn: arn, maxResults: 1000, nextToken }));
        history.push(...(h.events ?? []).map((e: SfnEvent) => ({ ...e, timestamp: e.timestamp, type: e.type ?? "", id: e.id ?? 0 }) as HistoryEvent));
        nextToken = h.nextToken;
      } while (nextToken && history.length < 10_000);
      return {
        execution: {
          executionArn: arn,
          name: d.name,
          status: d.status ?? "",
          startDate: d.startDate,
          stopDate: d.stopDate,
          input: d.input,
          output: d.output,
          error: d.error,
          cause: d.cause,
          redriveCount: d.redriveCount,
          stateMachineArn: d.stateMachineArn,
        },
        definition: sm.definition ?? "{}",
        history,
      };
    } catch (e) {
      if (isDenied(e)) throw this.denied("Loading the execution");
      throw e;
    }
  }

  async listFailures() {
    try {
      return await this.call<{ messages: [] }>("GET", "/failures", "Reading the failure queue");
    } catch (e) {
      if (e instanceof ApiError && (e.status === 403 || e.status === 404)) {
        throw new NotAvailable("The failure queue is not exposed to this identity: use `imagepipe redrive` or the SQS console.");
      }
      throw e;
    }
  }

  async discard(messageIds: string[]): Promise<RedriveReport> {
    try {
      return await this.call<RedriveReport>("POST", "/failures/discard", "Discard", { messageIds });
    } catch (e) {
      if (e instanceof ApiError && (e.status === 403 || e.status === 404)) {
        throw new NotAvailable("Discard is not exposed to this identity: use the SQS console.");
      }
      throw e;
    }
  }

  async redriveExecution(arn: string): Promise<void> {
    try {
      await this.client().send(new RedriveExecutionCommand({ executionArn: arn }));
    } catch (e) {
      if (isDenied(e)) throw this.denied("Redriving the execution");
      throw e;
    }
  }

  async stopExecution(arn: string): Promise<void> {
    try {
      await this.client().send(new StopExecutionCommand({ executionArn: arn, error: "StoppedFromWebApp" }));
    } catch (e) {
      if (isDenied(e)) throw this.denied("Stopping the execution");
      throw e;
    }
  }

  async redrive(req: RedriveRequest = {}): Promise<RedriveReport> {
    try {
      return await this.call<RedriveReport>("POST", "/failures/redrive", "Redrive", req);
    } catch (e) {
      if (e instanceof ApiError && (e.status === 403 || e.status === 404)) {
        throw new NotAvailable("Redrive is not exposed to this identity: run `imagepipe redrive`.");
      }
      throw e;
    }
  }

  /**
   * startLoad invokes the load-tester Lambda (signed-in users only) and keeps the
   * invocation: the Lambda answers when its run ends, with what it sent. Meanwhile
   * loadStatus counts the documents indexed since the start (GET /ping).
   */
  async startLoad(rate: number, duration: string): Promise<{ id: string }> {
    const fn = this.loadTester();
    if (!this.auth?.user()) throw new ApiError("Sign in to run the load test: only signed-in users may invoke the load tester.", 403);
    if (this.load && loadRunning(this.load, Date.now())) throw new ApiError("A load test is already running.", 409);
    const baseline = await this.ping().then(
      (p) => p.count,
      () => undefined,
    );
    const m = await import("@aws-sdk/client-lambda");
    // One attempt: a retried invocation would start a second run.
    const client = new m.LambdaClient({ region: this.cfg.region, credentials: () => this.credentials(), maxAttempts: 1 });
    const run: LoadRun = { id: `load-${Date.now()}`, started: Date.now(), baseline };
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
            ? new ApiError("This identity may not invoke the load tester: sign in again.", 403)
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
}

interface LoadRun {
  id: string;
  started: number;
  baseline?: number; // documents indexed when the run started
  indexed?: number;
  done?: Promise<void>;
  report?: LoadReport;
  error?: Error;
  finishedAt?: number;
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
  constructor(
    private readonly cfg: AwsConfig,
    private readonly changed: () => void,
  ) {}

  private async idp() {
    const m = await import("@aws-sdk/client-cognito-identity-provider");
    return { m, c: new m.CognitoIdentityProviderClient({ region: this.cfg.region }) };
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
    this.changed();
  }
}
