package main

import (
	"bytes"
	"context"
	"encoding/json"
	"image/jpeg"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/imagepipe/imagepipe/functions/imaging/imagingtest"
	"github.com/imagepipe/imagepipe/functions/pipeline"
)

func TestInspect(t *testing.T) {
	dir := t.TempDir()
	good := filepath.Join(dir, "a.jpg")
	data := imagingtest.WithEXIF(imagingtest.JPEG(imagingtest.Photo(120, 90), 85), imagingtest.EXIF{Make: "Cam", Orientation: 8}.TIFF())
	if err := os.WriteFile(good, data, 0o644); err != nil {
		t.Fatal(err)
	}
	empty := filepath.Join(dir, "empty.jpg")
	os.WriteFile(empty, nil, 0o644)
	var out, errOut bytes.Buffer
	err := inspect(context.Background(), []string{empty, good, filepath.Join(dir, "missing.jpg"), dir}, &out, &errOut)
	if err == nil {
		t.Fatal("want a failure status when a file cannot be read")
	}
	var md struct {
		File string `json:"file"`
		pipeline.Metadata
	}
	if err := json.Unmarshal(out.Bytes(), &md); err != nil {
		t.Fatalf("stdout %q: %v", out.String(), err)
	}
	if md.File != good || md.Format != "jpeg" || md.Width != 120 || md.Orientation != 8 || md.Camera.Make != "Cam" {
		t.Errorf("got %+v", md)
	}
	lines := strings.Split(strings.TrimSpace(errOut.String()), "\n")
	if len(lines) != 3 || !strings.Contains(lines[0], "NotAnImageError") {
		t.Errorf("stderr %q", errOut.String())
	}
}

func TestThumbnailFlagsAnywhere(t *testing.T) {
	dir := t.TempDir()
	in, out := filepath.Join(dir, "in.jpg"), filepath.Join(dir, "out.jpg")
	os.WriteFile(in, imagingtest.JPEG(imagingtest.Photo(400, 200), 85), 0o644)
	for _, args := range [][]string{{in, out, "--size", "40"}, {"--size=40", in, out}, {in, "-size", "40", out}} {
		var errOut bytes.Buffer
		if err := thumbnail(context.Background(), args, &errOut); err != nil {
			t.Fatalf("%v: %v %s", args, err, errOut.String())
		}
		b, _ := os.ReadFile(out)
		m, err := jpeg.Decode(bytes.NewReader(b))
		if err != nil || m.Bounds().Dx() != 40 || m.Bounds().Dy() != 20 {
			t.Errorf("%v: %v %v", args, m.Bounds(), err)
		}
	}
	var errOut bytes.Buffer
	if err := thumbnail(context.Background(), []string{in}, &errOut); err == nil {
		t.Error("one argument accepted")
	}
	os.WriteFile(in, []byte("not an image"), 0o644)
	if err := thumbnail(context.Background(), []string{in, out}, &errOut); err == nil || !strings.Contains(err.Error(), "NotAnImageError") {
		t.Errorf("err = %v", err)
	}
}
