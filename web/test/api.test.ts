import { describe, expect, it } from "vitest";
import { LocalApi } from "../src/api/local";
import { ApiError, NotAvailable } from "../src/api/types";

type Call = { url: string; init?: RequestInit };

function stub(status: number, body: unknown, calls: Call[] = []) {
  const f = async (url: string, init?: RequestInit) => {
    calls.push({ url, init });
    return new Response(typeof body === "string" ? body : JSON.stringify(body), { status, statusText: status === 200 ? "OK" : "Error" });
  };
  return f as unknown as typeof fetch;
}

describe("LocalApi", () => {
  it("builds the search and executions queries of the contract", async () => {
    const calls: Call[] = [];
    const api = new LocalApi("/api", stub(200, { total: 0, images: [], executions: [] }, calls));
    await api.search("red car", 24, 24);
    await api.listExecutions({ status: "FAILED", key: "upload/2024/01/01/x-a b.jpg", maxResults: 5 });
    await api.describeExecution("arn:aws:states:us-east-1:0:execution:sm:n/1");
    expect(calls.map((c) => c.url)).toEqual([
      "/api/images?search=red+car&from=24&size=24",
      "/api/executions?status=FAILED&key=upload%2F2024%2F01%2F01%2Fx-a+b.jpg&maxResults=5",
      "/api/executions/arn%3Aaws%3Astates%3Aus-east-1%3A0%3Aexecution%3Asm%3An%2F1",
    ]);
  });

  it("turns {error} answers into words with the status", async () => {
    const api = new LocalApi("/api", stub(400, { error: "search: query too long" }));
    await expect(api.search("x", 0, 1)).rejects.toThrow("Search failed: search: query too long (HTTP 400)");
    const plain = new LocalApi("/api", stub(502, "bad gateway"));
    await expect(plain.ping()).rejects.toThrow("Ping failed: bad gateway (HTTP 502)");
  });

  it("says when the server does not answer", async () => {
    const down = (async () => {
      throw new TypeError("Failed to fetch");
    }) as unknown as typeof fetch;
    const err = await new LocalApi("/api", down).listFailures().catch((e) => e);
    expect(err).toBeInstanceOf(ApiError);
    expect(err.message).toBe("Reading the failure queue failed: the server did not answer (Failed to fetch)");
  });

  it("reports a missing load tester as not available, not as a failure", async () => {
    const api = new LocalApi("/api", stub(404, { error: "no route" }));
    await expect(api.loadStatus()).rejects.toBeInstanceOf(NotAvailable);
    await expect(api.startLoad(5, "30s")).rejects.toThrow(/no load tester/);
  });

  it("posts redrive and load requests as JSON", async () => {
    const calls: Call[] = [];
    const api = new LocalApi("/api", stub(200, { started: 2, failed: 0, id: "l1" }, calls));
    expect(await api.redrive()).toMatchObject({ started: 2 });
    await api.startLoad(10, "1m");
    expect(calls[1]).toMatchObject({ url: "/api/load", init: { method: "POST", body: '{"rate":10,"duration":"1m"}' } });
  });
});

describe("LocalApi failures", () => {
  it("redrives and discards named messages as JSON", async () => {
    const calls: Call[] = [];
    const api = new LocalApi("/api", stub(200, { started: 1, failed: 0, messages: [] }, calls));
    await api.redrive({ messageIds: ["m1"], includePermanent: true });
    await api.discard(["m2"]);
    await api.redrive();
    expect(calls.map((c) => [c.url, c.init?.method, (c.init?.headers as Record<string, string>)["Content-Type"], c.init?.body])).toEqual([
      ["/api/failures/redrive", "POST", "application/json", '{"messageIds":["m1"],"includePermanent":true}'],
      ["/api/failures/discard", "POST", "application/json", '{"messageIds":["m2"]}'],
      ["/api/failures/redrive", "POST", "application/json", "{}"],
    ]);
  });
});
