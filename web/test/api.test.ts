import { describe, expect, it } from "vitest";
import { AwsApi } from "../src/api/aws";
import type { AwsConfig } from "../src/config";
import { ApiError, NotAvailable } from "../src/api/types";

type Call = { url: string; init?: RequestInit };

function stub(status: number, body: unknown, calls: Call[] = []) {
  const f = async (url: string, init?: RequestInit) => {
    calls.push({ url, init });
    return new Response(typeof body === "string" ? body : JSON.stringify(body), { status, statusText: status === 200 ? "OK" : "Error" });
  };
  return f as unknown as typeof fetch;
}

const cfg: AwsConfig = {
  mode: "aws",
  region: "us-east-1",
  identityPoolId: "us-east-1:00000000-0000-0000-0000-000000000000",
  apiUrl: "http://127.0.0.1:8080/api",
  bucket: "images",
  endpoint: "http://127.0.0.1:4566",
};
const creds = async () => ({ accessKeyId: "ASIATEST", secretAccessKey: "secret", sessionToken: "token" });

function api(f: typeof fetch) {
  return new AwsApi(cfg, { fetch: f, credentials: creds });
}

function header(c: Call, name: string): string | null {
  return new Headers(c.init?.headers).get(name);
}

describe("AwsApi", () => {
  it("signs every API call for execute-api and builds the contract's paths", async () => {
    const calls: Call[] = [];
    const a = api(stub(200, { total: 0, images: [], executions: [] }, calls));
    await a.search("red car", 24, 24);
    await a.listExecutions({ status: "FAILED", key: "upload/2024/01/01/x-a b.jpg", maxResults: 5 });
    await a.describeExecution("arn:aws:states:us-east-1:0:execution:sm:n/1");
    expect(calls.map((c) => c.url)).toEqual([
      "http://127.0.0.1:8080/api/images?search=red+car&from=24&size=24",
      "http://127.0.0.1:8080/api/executions?status=FAILED&key=upload%2F2024%2F01%2F01%2Fx-a+b.jpg&maxResults=5",
      "http://127.0.0.1:8080/api/executions/arn%3Aaws%3Astates%3Aus-east-1%3A0%3Aexecution%3Asm%3An%2F1",
    ]);
    for (const c of calls) {
      expect(header(c, "authorization")).toMatch(/^AWS4-HMAC-SHA256 Credential=ASIATEST\/\d{8}\/us-east-1\/execute-api\/aws4_request/);
      expect(header(c, "x-amz-security-token")).toBe("token");
    }
  });

  it("turns error answers into words with the status", async () => {
    await expect(api(stub(400, { message: "search: query too long" })).search("x", 0, 1)).rejects.toThrow("Search failed: search: query too long (HTTP 400)");
    await expect(api(stub(502, "bad gateway")).ping()).rejects.toThrow("Ping failed: bad gateway (HTTP 502)");
  });

  it("says when the API does not answer", async () => {
    const down = (async () => {
      throw new TypeError("Failed to fetch");
    }) as unknown as typeof fetch;
    const err = (await api(down)
      .ping()
      .catch((e: Error) => e)) as Error;
    expect(err).toBeInstanceOf(ApiError);
    expect(err.message).toBe("Ping failed: the API did not answer (Failed to fetch)");
  });

  it("tells a guest that operator pages are for operators", async () => {
    const denied = stub(403, { Message: "User: arn:aws:sts::0:assumed-role/Guest/CognitoIdentityCredentials is not authorized" });
    await expect(api(denied).listFailures()).rejects.toBeInstanceOf(NotAvailable);
    await expect(api(denied).listExecutions({})).rejects.toThrow(/for operators/);
  });

  it("redrives and discards named messages as JSON", async () => {
    const calls: Call[] = [];
    const a = api(stub(200, { started: 1, failed: 0, messages: [] }, calls));
    await a.redrive({ messageIds: ["m1"], includePermanent: true });
    await a.discard(["m2"]);
    await a.redrive();
    expect(calls.map((c) => [c.url, c.init?.method, header(c, "content-type"), c.init?.body])).toEqual([
      ["http://127.0.0.1:8080/api/failures/redrive", "POST", "application/json", '{"messageIds":["m1"],"includePermanent":true}'],
      ["http://127.0.0.1:8080/api/failures/discard", "POST", "application/json", '{"messageIds":["m2"]}'],
      ["http://127.0.0.1:8080/api/failures/redrive", "POST", "application/json", "{}"],
    ]);
  });

  it("deletes an image by key, and tells a non-operator it is for operators", async () => {
    const calls: Call[] = [];
    const r = await api(stub(202, { key: "upload/a b.jpg", deleted: true }, calls)).deleteImage("upload/a b.jpg");
    expect(r).toEqual({ key: "upload/a b.jpg", deleted: true });
    expect(calls.map((c) => [c.url, c.init?.method, c.init?.body])).toEqual([["http://127.0.0.1:8080/api/images/delete", "POST", '{"key":"upload/a b.jpg"}']]);
    const denied = stub(403, { Message: "User: arn:aws:sts::0:assumed-role/UserRole/CognitoIdentityCredentials is not authorized" });
    await expect(api(denied).deleteImage("upload/a.jpg")).rejects.toThrow("Deleting an image is for operators: sign in as an operator.");
    await expect(api(stub(400, { error: 'key: "thumbnail/a.jpg" is not an upload' })).deleteImage("thumbnail/a.jpg")).rejects.toThrow(/not an upload \(HTTP 400\)/);
  });

  it("presigns thumbnails path-style on the twin's endpoint", async () => {
    const a = api(stub(200, { total: 1, images: [{ id: "x", bucket: "images", key: "upload/a b.jpg", thumbnail: "thumbnail/a b.jpg" }] }));
    const r = await a.search("", 0, 1);
    const u = new URL(r.images[0].thumbnailUrl!);
    expect(u.origin + u.pathname).toBe("http://127.0.0.1:4566/images/thumbnail/a%20b.jpg");
    expect(u.searchParams.get("X-Amz-Credential")).toMatch(/\/us-east-1\/s3\/aws4_request$/);
    expect(a.consoleUrl("arn:x")).toBeUndefined();
  });
});
