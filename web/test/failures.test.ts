import { describe, expect, it } from "vitest";
import { actionText, bodyOf, causeText, keyOf, reportText } from "../src/failures";
import { fittedWidth, thumbSrcset } from "../src/thumbs";

describe("failure messages", () => {
  it("reads the body, its key and the Lambda cause", () => {
    const body = JSON.stringify({
      error: "NotAnImage",
      cause: '{"errorMessage":"not a JPEG"}',
      input: JSON.stringify({ detail: { object: { key: "upload/a+b.jpg" } } }),
      executionArn: "arn:x",
      permanent: true,
    });
    const b = bodyOf({ messageId: "m", body });
    expect(b.permanent).toBe(true);
    expect(b.executionArn).toBe("arn:x");
    expect(keyOf(b.input)).toBe("upload/a b.jpg");
    expect(causeText(b.cause)).toBe("not a JPEG");
    expect(bodyOf({ messageId: "m", body: "plain" })).toEqual({ cause: "plain" });
  });

  it("says what a redrive did", () => {
    expect(reportText({ started: 1, failed: 0, messages: [{ messageId: "m", action: "started" }] })).toBe("Redrive: started 1 execution.");
    expect(reportText({ started: 0, failed: 1, permanent: 2, messages: [{ messageId: "m", action: "failed", error: "throttled", key: "k" }] })).toBe(
      "Redrive: 2 permanent failures left (redriving cannot fix them); 1 message could not be redriven. k: throttled",
    );
    expect(reportText({ started: 0, failed: 0, discarded: 1, messages: [{ messageId: "m", action: "discarded", error: "CorruptImageError" }] }, "Discard")).toBe(
      "Discard: discarded 1 message.",
    );
    expect(reportText({ started: 0, failed: 0 })).toBe("Redrive: nothing to do.");
    expect(actionText("parked")).toMatch(/parked/);
  });
});

describe("grid srcset", () => {
  it("offers the thumbnail and the preview at their real widths", () => {
    expect(fittedWidth({ width: 4000, height: 3000 }, 640)).toBe(640);
    expect(fittedWidth({ width: 3000, height: 4000 }, 640)).toBe(480);
    expect(fittedWidth({ width: 4000, height: 3000, orientation: 6 }, 80)).toBe(60);
    expect(fittedWidth({ width: 300, height: 200 }, 640)).toBe(300);
    expect(fittedWidth({}, 80)).toBe(80);
    expect(thumbSrcset({ id: "i", bucket: "b", key: "k", width: 800, height: 500, thumbnailUrl: "/t", previewUrl: "/p" })).toBe("/t 80w, /p 640w");
    expect(thumbSrcset({ id: "i", bucket: "b", key: "k", thumbnailUrl: "/t" })).toBe("");
  });
});
