// SigV4 through aws4fetch (a maintained signer), never by hand. Kept apart from the
// SDK clients so that tests can pin the clock and credentials.

import { AwsV4Signer } from "aws4fetch";
import { encodeKey } from "../keys";

export interface Credentials {
  accessKeyId: string;
  secretAccessKey: string;
  sessionToken?: string;
  expiration?: Date;
}

export interface SignInput {
  url: string;
  method?: string;
  headers?: Record<string, string>;
  body?: string;
}

/** amzDate formats a clock reading as SigV4's YYYYMMDDTHHMMSSZ. */
export function amzDate(d: Date): string {
  return d.toISOString().replace(/[:-]|\.\d{3}/g, "");
}

/** signRequest returns the headers to send for an execute-api (or other) call. */
export async function signRequest(
  req: SignInput,
  creds: Credentials,
  region: string,
  service = "execute-api",
  now: Date = new Date(),
): Promise<{ url: string; method: string; headers: Headers }> {
  const signer = new AwsV4Signer({
    url: req.url,
    method: req.method ?? "GET",
    headers: req.headers,
    body: req.body,
    accessKeyId: creds.accessKeyId,
    secretAccessKey: creds.secretAccessKey,
    sessionToken: creds.sessionToken,
    region,
    service,
    datetime: amzDate(now),
  });
  const s = await signer.sign();
  return { url: s.url.toString(), method: s.method, headers: s.headers };
}

/**
 * s3Url is the URL of an object: virtual-hosted in AWS, path-style under an endpoint
 * (the twin's edge), as the SDKs address a custom endpoint.
 */
export function s3Url(bucket: string, region: string, key: string, endpoint?: string): string {
  if (endpoint) return `${endpoint.replace(/\/+$/, "")}/${bucket}/${encodeKey(key)}`;
  return `https://${bucket}.s3.${region}.amazonaws.com/${encodeKey(key)}`;
}

/** presign returns a query-signed S3 URL (GET for thumbnails, PUT for uploads). */
export async function presign(
  method: "GET" | "PUT",
  bucket: string,
  key: string,
  creds: Credentials,
  region: string,
  endpoint?: string,
  expiresSeconds = 900,
  now: Date = new Date(),
): Promise<string> {
  const u = new URL(s3Url(bucket, region, key, endpoint));
  u.searchParams.set("X-Amz-Expires", String(expiresSeconds));
  const signer = new AwsV4Signer({
    url: u.toString(),
    method,
    accessKeyId: creds.accessKeyId,
    secretAccessKey: creds.secretAccessKey,
    sessionToken: creds.sessionToken,
    region,
    service: "s3",
    signQuery: true,
    datetime: amzDate(now),
  });
  const s = await signer.sign();
  return s.url.toString();
}
