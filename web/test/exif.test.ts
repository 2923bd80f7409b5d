import { describe, expect, it } from "vitest";
import { cameraName, exifSummary, exifValue, exposureText, flashText } from "../src/exif";

describe("cameraName", () => {
  it("does not repeat the make", () => {
    expect(cameraName({ make: "Canon", model: "Canon EOS 40D" })).toBe("Canon EOS 40D");
    expect(cameraName({ make: "NIKON CORPORATION", model: "NIKON D750" })).toBe("NIKON D750");
    expect(cameraName({ make: "Apple", model: "iPhone 12" })).toBe("Apple iPhone 12");
    expect(cameraName({ make: "Fujifilm" })).toBe("Fujifilm");
    expect(cameraName(undefined)).toBe("");
  });
});

describe("exifSummary", () => {
  it("reads like a photo app", () => {
    expect(exifSummary({ FNumber: "7.1", ExposureTime: "1/160", ISOSpeedRatings: "100", FocalLength: "135" })).toBe("f/7.1 · 1/160 s · ISO 100 · 135 mm");
    expect(exifSummary({ FNumber: "71/10", ExposureTime: "0.00625" })).toBe("f/7.1 · 1/160 s");
    expect(exifSummary({ ExposureTime: "2" })).toBe("2 s");
    expect(exifSummary({})).toBe("");
    expect(exposureText("garbage")).toBeUndefined();
  });
  it("puts codes in words", () => {
    expect(flashText("9")).toBe("fired");
    expect(flashText("16")).toBe("did not fire (off)");
    expect(flashText("25")).toBe("fired (auto)");
    expect(exifValue("Flash", "0")).toBe("did not fire");
    expect(exifValue("MeteringMode", "5")).toBe("pattern");
    expect(exifValue("ExposureBiasValue", "-1/3")).toBe("-0.3 EV");
    expect(exifValue("Model", "X")).toBe("X");
  });
});
