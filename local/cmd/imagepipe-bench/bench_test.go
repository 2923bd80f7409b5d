package main

import (
	"bytes"
	"context"
	"image/jpeg"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/imagepipe/imagepipe/functions/imaging"
	"github.com/imagepipe/imagepipe/functions/imaging/imagingtest"
	"github.com/imagepipe/imagepipe/functions/steps/makethumbnail"
	"github.com/imagepipe/imagepipe/functions/testkit"
)

func TestMedian(t *testing.T) {
	ms := time.Millisecond
	cases := []struct {
		in   []time.Duration
		want time.Duration
	}{
		{nil, 0},
		{[]time.Duration{5 * ms}, 5 * ms},
		{[]time.Duration{9 * ms, 1 * ms, 5 * ms}, 5 * ms},
		{[]time.Duration{4 * ms, 1 * ms, 3 * ms, 2 * ms}, 2500 * time.Microsecond},
	}
	for _, c := range cases {
		if got := Median(c.in); got != c.want {
			t.Errorf("Median(%v) = %v, want %v", c.in, got, c.want)
		}
	}
	s := Summarize([]Sample{{Wall: 3 * ms, CPU: 2 * ms, PeakKB: 10}, {Wall: 1 * ms, CPU: 1 * ms, PeakKB: 30}, {Wall: 2 * ms, CPU: 9 * ms, PeakKB: 20}})
	if s.Wall != 2*ms || s.CPU != 2*ms || s.PeakKB != 30 || s.Runs != 3 {
		t.Errorf("Summarize = %+v", s)
	}
}

func TestWriteTable(t *testing.T) {
	ms := time.Millisecond
	rows := []Row{
		{File: "a.jpg", Tool: OursTool, Summary: Summary{Runs: 5, Wall: 50 * ms, CPU: 40 * ms, PeakKB: 10240}},
		{File: "a.jpg", Tool: "convert", Summary: Summary{Runs: 5, Wall: 200 * ms, CPU: 160 * ms, PeakKB: 102400}},
		{File: "a.jpg", Tool: "gm convert", Err: "not installed"},
		{File: "b.jpg", Tool: "convert", Summary: Summary{Runs: 5, Wall: 100 * ms}},
	}
	var buf bytes.Buffer
	if err := WriteTable(&buf, rows); err != nil {
		t.Fatal(err)
	}
	out := buf.String()
	lines := strings.Split(strings.TrimSpace(out), "\n")
	if len(lines) != 6 { // header, 3 rows of a.jpg, a blank-ish separator, b.jpg
		t.Fatalf("%d lines:\n%s", len(lines), out)
	}
	for _, want := range []string{"ours/tool", "0.25", "100.0", "not installed"} {
		if !strings.Contains(out, want) {
			t.Errorf("table lacks %q:\n%s", want, out)
		}
	}
	// b.jpg has no row of ours: no ratio.
	if f := strings.Fields(lines[5]); len(f) < 5 || f[4] != "-" {
		t.Errorf("b.jpg row = %q, want ratio -", lines[5])
	}
}

func TestMeasureRealProcess(t *testing.T) {
	sh, err := exec.LookPath("sh")
	if err != nil {
		t.Skip("no sh")
	}
	s, err := Measure(context.Background(), []string{sh, "-c", "i=0; while [ $i -lt 2000 ]; do i=$((i+1)); done"}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if s.Wall <= 0 || s.PeakKB <= 0 {
		t.Errorf("sample = %+v: want wall time and peak RSS", s)
	}
	if _, err := Measure(context.Background(), []string{sh, "-c", "echo boom >&2; exit 3"}, nil); err == nil || !strings.Contains(err.Error(), "boom") {
		t.Errorf("failing command: err = %v, want its stderr", err)
	}
}

func TestBenchImagesTiny(t *testing.T) {
	for _, tool := range []string{"cjpeg", "jpegtran"} {
		if _, err := exec.LookPath(tool); err != nil {
			testkit.SkipUnlessCI(t, tool+" not installed (libjpeg-turbo-progs)")
		}
	}
	dir := t.TempDir()
	files, err := benchImages(context.Background(), dir, []string{"small"})
	if err != nil {
		t.Fatal(err)
	}
	if len(files) != 4 {
		t.Fatalf("files = %v", files)
	}
	for _, f := range files {
		out, err := exec.Command("djpeg", "-scale", "1/8", "-outfile", filepath.Join(dir, "x.ppm"), f).CombinedOutput()
		if err != nil {
			t.Errorf("%s does not decode: %v %s", f, err, out)
		}
	}
}

// TestHEICImagesTiny: heif-enc makes a HEIC of a generated photo, and the pipeline's
// own renderer reads it back as the same picture.
func TestHEICImagesTiny(t *testing.T) {
	for _, tool := range []string{"cjpeg", "jpegtran", "heif-enc"} {
		if _, err := exec.LookPath(tool); err != nil {
			testkit.SkipUnlessCI(t, tool+" not installed (make deps: libjpeg-turbo-progs, libheif-examples)")
		}
	}
	dir := t.TempDir()
	jpegs, err := benchImages(context.Background(), dir, []string{"small"})
	if err != nil {
		t.Fatal(err)
	}
	heics, err := heicImages(context.Background(), jpegs)
	if err != nil || len(heics) != 1 {
		t.Fatalf("heics = %v, %v", heics, err)
	}
	data, err := os.ReadFile(heics[0])
	if err != nil {
		t.Fatal(err)
	}
	jpg, err := os.ReadFile(jpegs[0])
	if err != nil {
		t.Fatal(err)
	}
	got, err := makethumbnail.Render(context.Background(), data, imaging.DefaultLimits, 80, 0)
	if err != nil {
		t.Fatal(err)
	}
	want, err := makethumbnail.Render(context.Background(), jpg, imaging.DefaultLimits, 80, 0)
	if err != nil {
		t.Fatal(err)
	}
	a, _ := jpeg.Decode(bytes.NewReader(got.Thumbnail.JPEG))
	b, _ := jpeg.Decode(bytes.NewReader(want.Thumbnail.JPEG))
	if psnr := imagingtest.PSNR(a, b); psnr < 30 {
		t.Errorf("the HEIC's thumbnail differs from the JPEG's: PSNR %.1f dB", psnr)
	}
}
