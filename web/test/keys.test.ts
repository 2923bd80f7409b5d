import { describe, expect, it } from "vitest";
import { documentId, encodeKey } from "../src/keys";

describe("encodeKey", () => {
  it("escapes segments but keeps slashes", () => {
    expect(encodeKey("upload/2024/a b+c.jpg")).toBe("upload/2024/a%20b%2Bc.jpg");
  });
});

describe("documentId", () => {
  it("is the hex SHA-256 of bucket/key, as index-document computes it", async () => {
    // printf 'images/upload/a b.jpg' | sha256sum
    expect(await documentId("images", "upload/a b.jpg")).toBe("e8f61fd6becb5399d7f6828241b468cce397cde5cd94521a531e6783d3c4bb6f");
  });
});
