import { describe, expect, it } from "vitest";
import { accessDenied } from "../src/components/common";
import { ApiError } from "../src/api/types";

describe("accessDenied", () => {
  it("tells AWS refusals apart from other errors", () => {
    expect(accessDenied({ name: "AccessDeniedException", $metadata: { httpStatusCode: 400 } })).toBe(true);
    expect(accessDenied({ name: "NotAuthorizedException" })).toBe(true);
    expect(accessDenied(new ApiError("search failed (HTTP 403)", 403))).toBe(true);
    expect(accessDenied(new ApiError("search failed (HTTP 500)", 500))).toBe(false);
    expect(accessDenied(new Error("network down"))).toBe(false);
    expect(accessDenied(undefined)).toBe(false);
  });
});
