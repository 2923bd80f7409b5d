import { describe, expect, it } from "vitest";
import { buildKey, encodeKey, safeName, uniqueId } from "../src/keys";

describe("buildKey", () => {
  const now = new Date("2024-03-05T23:30:00Z");
  it("puts date and id before the name, under upload/", () => {
    expect(buildKey("IMG_0200.JPG", now, "0123456789abcdef")).toBe("upload/2024/03/05/0123456789abcdef-IMG_0200.JPG");
  });
  it("uses UTC for the date", () => {
    expect(buildKey("a.jpg", new Date("2024-12-31T23:59:59-05:00"), "x")).toBe("upload/2025/01/01/x-a.jpg");
  });
  it("gives two uploads of the same name different keys", () => {
    expect(buildKey("a.jpg", now)).not.toBe(buildKey("a.jpg", now));
  });
  it("never leaves upload/ whatever the name", () => {
    for (const n of ["../../etc/passwd", "/abs/x.png", "..", "a/../../b.jpg", "C:\\photos\\x.jpg", "", "   "]) {
      const k = buildKey(n, now, "id");
      expect(k.startsWith("upload/2024/03/05/id-")).toBe(true);
      expect(k.split("/")).toHaveLength(5);
      expect(k).not.toContain("..");
    }
  });
});

describe("safeName", () => {
  it.each([
    ["Café au lait.jpg", "Cafe-au-lait.jpg"],
    ["photo (1).jpeg", "photo-1-.jpeg"],
    ["..hidden", "hidden"],
    ["日本.png", "png"],
    ["", "file"],
    ["a?b#c%d.jpg", "a-b-c-d.jpg"],
  ])("%j → %j", (input, want) => {
    expect(safeName(input)).toBe(want);
  });
  it("keeps the extension when it shortens a long name", () => {
    const s = safeName("x".repeat(300) + ".heic");
    expect(s.length).toBe(100);
    expect(s.endsWith(".heic")).toBe(true);
  });
});

describe("uniqueId and encodeKey", () => {
  it("is 16 hex characters", () => {
    expect(uniqueId()).toMatch(/^[0-9a-f]{16}$/);
    expect(uniqueId((b) => b.fill(255))).toBe("ffffffffffffffff");
  });
  it("escapes segments but keeps slashes", () => {
    expect(encodeKey("upload/2024/a b+c.jpg")).toBe("upload/2024/a%20b%2Bc.jpg");
  });
});
