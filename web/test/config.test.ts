import { describe, expect, it } from "vitest";
import { ConfigError, loadConfig, parseConfig } from "../src/config";

const aws = {
  mode: "aws",
  region: "eu-central-1",
  identityPoolId: "eu-central-1:1b2c3d4e-0000-4000-8000-123456789abc",
  userPoolId: "eu-central-1_AbCdEf",
  userPoolClientId: "client",
  apiUrl: "https://abc.execute-api.eu-central-1.amazonaws.com/prod/",
  bucket: "imagepipe-images",
  stateMachineArn: "arn:aws:states:eu-central-1:123456789012:stateMachine:pipeline",
};

describe("parseConfig", () => {
  it("reads the twin's endpoint and operator", () => {
    const c = parseConfig({ ...aws, mode: undefined, endpoint: "http://127.0.0.1:4566/", operator: { username: "op@x.invalid", password: "pw" } });
    expect(c).toMatchObject({ mode: "aws", endpoint: "http://127.0.0.1:4566", operator: { username: "op@x.invalid", password: "pw" } });
  });

  it("reads AWS mode", () => {
    const c = parseConfig(aws);
    expect(c).toMatchObject({ mode: "aws", region: "eu-central-1", apiUrl: "https://abc.execute-api.eu-central-1.amazonaws.com/prod", bucket: "imagepipe-images" });
  });

  it("keeps the user pool optional", () => {
    const { userPoolId, userPoolClientId, ...rest } = aws;
    const c = parseConfig(rest);
    expect(c.userPoolId).toBeFalsy();
  });

  it.each([
    [null, /JSON object/],
    [[], /JSON object/],
    [{ mode: "gcp" }, /unknown mode/],
    [{ ...aws, region: undefined }, /"region" is required/],
    [{ ...aws, region: "mars" }, /not an AWS region/],
    [{ ...aws, identityPoolId: "us-east-1:x" }, /identityPoolId/],
    [{ ...aws, apiUrl: "ftp://x" }, /not an http/],
    [{ ...aws, bucket: 7 }, /must be a string/],
    [{ ...aws, bucket: "" }, /"bucket" is required/],
    [{ mode: "local", apiBase: "/api" }, /unknown mode/],
    [{ ...aws, endpoint: "file:///x" }, /not an http/],
    [{ ...aws, operator: "admin" }, /"operator" must be/],
  ])("rejects %j", (raw, msg) => {
    expect(() => parseConfig(raw)).toThrow(ConfigError);
    expect(() => parseConfig(raw)).toThrow(msg);
  });
});

describe("loadConfig", () => {
  const respond = (status: number, body: string) => (async () => new Response(body, { status })) as unknown as typeof fetch;
  it("says where to get config.json when it is missing", async () => {
    await expect(loadConfig(respond(404, ""))).rejects.toThrow(/config.json is missing/);
  });
  it("says so in words when config.json is broken", async () => {
    await expect(loadConfig(respond(200, "{nope"))).rejects.toThrow("config.json is not valid JSON");
    await expect(loadConfig(respond(500, ""))).rejects.toThrow("HTTP 500");
    const down = (async () => {
      throw new TypeError("Failed to fetch");
    }) as unknown as typeof fetch;
    await expect(loadConfig(down)).rejects.toThrow("could not fetch config.json: Failed to fetch");
  });
  it("parses what the server sends", async () => {
    expect(await loadConfig(respond(200, JSON.stringify(aws)))).toMatchObject({ mode: "aws", bucket: "imagepipe-images" });
  });
});
