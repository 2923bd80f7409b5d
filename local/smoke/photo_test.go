package smoke

import (
	"bytes"
	"context"
	"errors"
	"image/jpeg"
	"strings"
	"testing"
	"time"

	"github.com/imagepipe/imagepipe/functions/imaging"
	"github.com/imagepipe/imagepipe/functions/metadata"
	"github.com/imagepipe/imagepipe/functions/pipeline"
	"github.com/imagepipe/imagepipe/functions/steps/makethumbnail"
)

// The photo carries what the checks expect, read by extract-metadata's own code.
func TestPhotoCarriesTheFacts(t *testing.T) {
	md, err := metadata.ExtractBytes(Photo("run1"), imaging.DefaultLimits)
	if err != nil {
		t.Fatal(err)
	}
	d := pipeline.Document{Bucket: "images", Format: md.Format, Width: md.Width, Height: md.Height, Orientation: md.Orientation,
		TakenAt: md.TakenAt, Camera: md.Camera, Location: md.Location, Thumbnail: pipeline.ThumbnailKey("upload/smoke/run1/photo.jpg"),
		Labels: []pipeline.Label{{Name: "Gray"}}}
	if bad := VerifyDocument(d, "images", "upload/smoke/run1/photo.jpg"); len(bad) > 0 {
		t.Fatalf("the photo's own metadata fails the document check: %v", bad)
	}
	if bytes.Equal(Photo("run1"), Photo("run2")) {
		t.Error("two runs upload the same bytes: the index would fold the second into the first")
	}
}

// make-thumbnail's own rendering passes both checks; the stored pixels, unrotated,
// fail both with a line that says what is wrong.
func TestThumbnailChecksOnRealRendering(t *testing.T) {
	r, err := makethumbnail.Render(context.Background(), Photo("run1"), imaging.DefaultLimits, 80, 640)
	if err != nil {
		t.Fatal(err)
	}
	m, err := jpeg.Decode(bytes.NewReader(r.Thumbnail.JPEG))
	if err != nil {
		t.Fatal(err)
	}
	if msg := VerifyThumbnailSize(m); msg != "" {
		t.Errorf("size: %s", msg)
	}
	if msg := VerifyOrientation(m); msg != "" {
		t.Errorf("orientation: %s", msg)
	}
	stored, err := jpeg.Decode(bytes.NewReader(Photo("run1")))
	if err != nil {
		t.Fatal(err)
	}
	raw := imaging.Resize(stored, 40, 80)
	if msg := VerifyThumbnailSize(raw); msg != "40×80, want 80×40" {
		t.Errorf("unrotated size: %q", msg)
	}
	if msg := VerifyOrientation(raw); !strings.HasPrefix(msg, "red corner at top-left, want top-right") {
		t.Errorf("unrotated: %q", msg)
	}
	// Rotated the wrong way (orientation 8's turn), the size is right but not the corners.
	wrong := imaging.Orient(imaging.Resize(stored, 40, 80), 8)
	if msg := VerifyOrientation(wrong); !strings.HasPrefix(msg, "red corner at bottom-left, want top-right") {
		t.Errorf("turned the wrong way: %q", msg)
	}
}

func TestCorruptIsRefusedAsCorrupt(t *testing.T) {
	_, err := metadata.ExtractBytes(Corrupt("run1"), imaging.DefaultLimits)
	var ce *pipeline.CorruptImageError
	if !errors.As(err, &ce) {
		t.Fatalf("extract-metadata on the corrupt file: %v, want a CorruptImageError", err)
	}
	_, err = makethumbnail.Render(context.Background(), Corrupt("run1"), imaging.DefaultLimits, 80, 640)
	if !errors.As(err, &ce) {
		t.Fatalf("make-thumbnail on the corrupt file: %v, want a CorruptImageError", err)
	}
}

func TestRunIDIsOneWord(t *testing.T) {
	id := NewRunID(fixedTime)
	if len(id) != len("20240517t093000")+6 || strings.IndexFunc(id, func(r rune) bool { return !(r >= 'a' && r <= 'z' || r >= '0' && r <= '9') }) >= 0 {
		t.Errorf("run id %q: want lower-case letters and digits only", id)
	}
}

var fixedTime = mustTime("2024-05-17T09:30:00Z")

func mustTime(s string) (t time.Time) {
	t, err := time.Parse(time.RFC3339, s)
	if err != nil {
		panic(err)
	}
	return t
}
