import { describe, expect, it } from "vitest";
import { amzDate, presign, signRequest } from "../src/api/signing";

// The credentials and clock of AWS's published SigV4 test suite.
const creds = { accessKeyId: "AKIDEXAMPLE", secretAccessKey: "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY" };
const clock = new Date("2015-08-30T12:36:00Z");

describe("signRequest", () => {
  it("matches the SigV4 suite's get-vanilla vector", async () => {
    const s = await signRequest({ url: "https://example.amazonaws.com/" }, creds, "us-east-1", "service", clock);
    expect(s.headers.get("x-amz-date")).toBe("20150830T123600Z");
    expect(s.headers.get("authorization")).toBe(
      "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/service/aws4_request, SignedHeaders=host;x-amz-date, Signature=5fa00fa31553b73ebf1942676e86291e8372ff2a2260956d9b8aae1d763fbf31",
    );
  });

  it("scopes API Gateway calls to execute-api in the configured region", async () => {
    const s = await signRequest(
      { url: "https://abc123.execute-api.eu-west-1.amazonaws.com/prod/images?search=cat&from=0", headers: { Accept: "application/json" } },
      { ...creds, sessionToken: "TOKEN/with+chars=" },
      "eu-west-1",
      "execute-api",
      clock,
    );
    const auth = s.headers.get("authorization")!;
    expect(auth).toMatch(/^AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE\/20150830\/eu-west-1\/execute-api\/aws4_request, SignedHeaders=[a-z0-9;-]+, Signature=[0-9a-f]{64}$/);
    expect(auth).toContain("x-amz-security-token");
    expect(s.headers.get("x-amz-security-token")).toBe("TOKEN/with+chars=");
    expect(s.url).toBe("https://abc123.execute-api.eu-west-1.amazonaws.com/prod/images?search=cat&from=0");
  });

  it("signs the body: a different payload, a different signature", async () => {
    const sig = async (body: string) =>
      (await signRequest({ url: "https://x.execute-api.us-east-1.amazonaws.com/p/failures/redrive", method: "POST", body }, creds, "us-east-1", "execute-api", clock)).headers
        .get("authorization")!
        .split("Signature=")[1];
    expect(await sig("{}")).not.toBe(await sig('{"a":1}'));
    expect(await sig("{}")).toBe(await sig("{}"));
  });

  it("formats the clock as SigV4 wants", () => {
    expect(amzDate(new Date("2024-02-29T23:59:58.123Z"))).toBe("20240229T235958Z");
  });
});

describe("presign", () => {
  it("puts the S3 scope, expiry and token in the query", async () => {
    const u = new URL(await presign("PUT", "my-images", "upload/2024/01/02/ab-c d.jpg", { ...creds, sessionToken: "tok" }, "us-west-2", undefined, 900, clock));
    expect(u.host).toBe("my-images.s3.us-west-2.amazonaws.com");
    expect(u.pathname).toBe("/upload/2024/01/02/ab-c%20d.jpg");
    expect(u.searchParams.get("X-Amz-Credential")).toBe("AKIDEXAMPLE/20150830/us-west-2/s3/aws4_request");
    expect(u.searchParams.get("X-Amz-Expires")).toBe("900");
    expect(u.searchParams.get("X-Amz-Security-Token")).toBe("tok");
    expect(u.searchParams.get("X-Amz-Signature")).toMatch(/^[0-9a-f]{64}$/);
    const get = new URL(await presign("GET", "my-images", "upload/2024/01/02/ab-c d.jpg", creds, "us-west-2", undefined, 900, clock));
    expect(get.searchParams.get("X-Amz-Signature")).not.toBe(u.searchParams.get("X-Amz-Signature"));
  });
});
