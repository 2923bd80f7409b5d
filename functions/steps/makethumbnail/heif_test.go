package makethumbnail_test

import (
	"bytes"
	"context"
	"image"
	"image/color"
	"os"
	"path/filepath"
	"testing"

	"github.com/gen2brain/avif"
	"github.com/gen2brain/heic"

	"github.com/imagepipe/imagepipe/functions/imaging"
	"github.com/imagepipe/imagepipe/functions/imaging/imagingtest"
	"github.com/imagepipe/imagepipe/functions/steps/makethumbnail"
)

// TestHEICMatchesLibheif: the corpus's iPhone photo (a grid of 48 tiles turned by
// irot) and a single-image HEIF, rendered tile by tile and reduced on the way, look
// like libheif's own whole decode (which applies irot itself) fitted to the same
// size. Skipped without the corpus: no HEIC encoder is at hand to make one.
func TestHEICMatchesLibheif(t *testing.T) {
	dir := filepath.Join(corpus(t), "heic")
	for _, name := range []string{"mobile/iphone_13_pro_max.HEIC", "samplefilehub.heif"} {
		data, err := os.ReadFile(filepath.Join(dir, name))
		if err != nil {
			t.Fatal(err)
		}
		r, err := makethumbnail.Render(context.Background(), data, imaging.DefaultLimits, 80, 640)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		ref, err := heic.Decode(bytes.NewReader(data))
		if err != nil {
			t.Fatal(err)
		}
		// The thumbnail is resampled from the preview, the reference from the whole
		// image: at 80 pixels the two paths differ more than at 640.
		for _, c := range []struct {
			got     makethumbnail.Image
			minPSNR float64
		}{{r.Thumbnail, 25}, {*r.Preview, 30}} {
			want := imaging.Fit(ref, max(c.got.Width, c.got.Height))
			m := decode(t, c.got.JPEG)
			psnr := imagingtest.PSNR(m, want)
			upsideDown := imagingtest.PSNR(m, imaging.Orient(want, 3))
			t.Logf("%s: %dx%d, PSNR %.1f dB against libheif's decode (%.1f dB turned 180°)", name, c.got.Width, c.got.Height, psnr, upsideDown)
			if m.Bounds().Size() != want.Bounds().Size() || psnr < c.minPSNR || psnr-upsideDown < 5 {
				t.Errorf("%s: %v against %v, PSNR %.1f dB (%.1f turned)", name, m.Bounds().Size(), want.Bounds().Size(), psnr, upsideDown)
			}
		}
	}
}

// TestAVIF renders an AVIF made here (gen2brain/avif encodes too): its corners keep
// their colours.
func TestAVIF(t *testing.T) {
	red, green, blue, black := color.RGBA{220, 20, 20, 255}, color.RGBA{20, 200, 20, 255}, color.RGBA{20, 20, 220, 255}, color.RGBA{0, 0, 0, 255}
	var buf bytes.Buffer
	if err := avif.Encode(&buf, imagingtest.Corners(400, 200, red, green, blue, black), avif.Options{Quality: 90, Speed: 10}); err != nil {
		t.Fatal(err)
	}
	if f, err := imaging.Sniff(buf.Bytes()); f != imaging.AVIF || err != nil {
		t.Fatalf("sniffed %q, %v", f, err)
	}
	r, err := makethumbnail.Render(context.Background(), buf.Bytes(), imaging.DefaultLimits, 80, 0)
	if err != nil {
		t.Fatal(err)
	}
	m := decode(t, r.Thumbnail.JPEG)
	if m.Bounds().Size() != image.Pt(80, 40) {
		t.Fatalf("size %v", m.Bounds().Size())
	}
	for _, c := range []struct {
		x, y int
		want color.RGBA
	}{{3, 3, red}, {76, 3, green}, {3, 36, blue}, {76, 36, black}} {
		r, g, b, _ := m.At(c.x, c.y).RGBA()
		got := color.RGBA{uint8(r >> 8), uint8(g >> 8), uint8(b >> 8), 255}
		if d := max(diff(got.R, c.want.R), diff(got.G, c.want.G), diff(got.B, c.want.B)); d > 24 {
			t.Errorf("(%d,%d) = %v, want %v", c.x, c.y, got, c.want)
		}
	}
}

func diff(a, b uint8) int {
	if a > b {
		return int(a - b)
	}
	return int(b - a)
}
