// Runtime configuration: one build, one code path. /config.json — written beside the
// app by the CDK app in AWS, served by the twin locally — names the stack's pools,
// API and bucket; on the twin it also names the edge as every service's endpoint.

export interface AwsConfig {
  mode: "aws";
  region: string;
  identityPoolId: string;
  userPoolId?: string;
  userPoolClientId?: string;
  apiUrl: string;
  bucket: string;
  stateMachineArn?: string;
  /** the load-tester Lambda's name (the stack's LoadTesterFunctionName output). */
  loadTesterFunction?: string;
  /** one endpoint for every AWS service (the twin's edge); absent in AWS. */
  endpoint?: string;
  /** the twin's operator account, signed in at start (never written by the CDK app). */
  operator?: { username: string; password: string };
}

export type Config = AwsConfig;

export class ConfigError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "ConfigError";
  }
}

function str(o: Record<string, unknown>, k: string, required: boolean): string | undefined {
  const v = o[k];
  if (v === undefined || v === null || v === "") {
    if (required) throw new ConfigError(`config.json: "${k}" is required in this mode`);
    return undefined;
  }
  if (typeof v !== "string") throw new ConfigError(`config.json: "${k}" must be a string`);
  return v;
}

const regionRe = /^[a-z]{2}(-[a-z]+)+-\d+$/;

/** parseConfig validates the decoded config.json and fills defaults. */
export function parseConfig(raw: unknown): Config {
  if (typeof raw !== "object" || raw === null || Array.isArray(raw)) {
    throw new ConfigError("config.json must hold a JSON object");
  }
  const o = raw as Record<string, unknown>;
  const mode = o.mode ?? "aws";
  if (mode !== "aws") throw new ConfigError(`config.json: unknown mode ${JSON.stringify(mode)} (want "aws")`);
  const region = str(o, "region", true)!;
  if (!regionRe.test(region)) throw new ConfigError(`config.json: "${region}" is not an AWS region`);
  const identityPoolId = str(o, "identityPoolId", true)!;
  if (!identityPoolId.startsWith(region + ":")) {
    throw new ConfigError(`config.json: identityPoolId must be "${region}:<uuid>"`);
  }
  const apiUrl = str(o, "apiUrl", true)!.replace(/\/+$/, "");
  try {
    const u = new URL(apiUrl);
    if (u.protocol !== "https:" && u.protocol !== "http:") throw new Error();
  } catch {
    throw new ConfigError(`config.json: apiUrl "${apiUrl}" is not an http(s) URL`);
  }
  return {
    mode: "aws",
    region,
    identityPoolId,
    userPoolId: str(o, "userPoolId", false),
    userPoolClientId: str(o, "userPoolClientId", false),
    apiUrl,
    bucket: str(o, "bucket", true)!,
    stateMachineArn: str(o, "stateMachineArn", false),
    loadTesterFunction: str(o, "loadTesterFunction", false),
    endpoint: httpUrl(o, "endpoint"),
    operator: operator(o.operator),
  };
}

function httpUrl(o: Record<string, unknown>, k: string): string | undefined {
  const v = str(o, k, false)?.replace(/\/+$/, "");
  if (v === undefined) return undefined;
  try {
    const u = new URL(v);
    if (u.protocol !== "https:" && u.protocol !== "http:") throw new Error();
  } catch {
    throw new ConfigError(`config.json: ${k} "${v}" is not an http(s) URL`);
  }
  return v;
}

function operator(v: unknown): AwsConfig["operator"] {
  if (v === undefined || v === null) return undefined;
  const o = v as Record<string, unknown>;
  if (typeof o !== "object" || typeof o.username !== "string" || typeof o.password !== "string") {
    throw new ConfigError('config.json: "operator" must be {"username", "password"}');
  }
  return { username: o.username, password: o.password };
}

/** loadConfig fetches and parses /config.json relative to the page. */
export async function loadConfig(fetchFn: typeof fetch = fetch): Promise<Config> {
  let res: Response;
  try {
    res = await fetchFn("config.json", { cache: "no-store" });
  } catch (e) {
    throw new ConfigError(`could not fetch config.json: ${(e as Error).message}`);
  }
  if (res.status === 404) throw new ConfigError("config.json is missing: serve the app from the twin (make run) or deploy it with the stack (cdk deploy)");
  if (!res.ok) throw new ConfigError(`config.json: HTTP ${res.status}`);
  let body: unknown;
  try {
    body = await res.json();
  } catch {
    throw new ConfigError("config.json is not valid JSON");
  }
  return parseConfig(body);
}
