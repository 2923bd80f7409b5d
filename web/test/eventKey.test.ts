import { describe, expect, it } from "vitest";
import { eventKey } from "../src/api/types";

describe("eventKey", () => {
  it("decodes keys as S3 encodes them in events", () => {
    expect(eventKey("upload/red+flower.jpg")).toBe("upload/red flower.jpg");
    expect(eventKey("upload/a%2Bb.jpg")).toBe("upload/a+b.jpg");
    expect(eventKey("upload/100%25+sure.jpg")).toBe("upload/100% sure.jpg");
    expect(eventKey("upload/year%3D2025/%E5%86%99%E7%9C%9F.jpg")).toBe("upload/year=2025/写真.jpg");
  });
  it("keeps what it cannot decode, and undefined", () => {
    expect(eventKey("upload/100%.jpg")).toBe("upload/100%.jpg");
    expect(eventKey(undefined)).toBeUndefined();
  });
});
