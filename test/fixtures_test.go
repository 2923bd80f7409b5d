package test

import (
	"image"
	"image/color"
	"testing"

	"github.com/imagepipe/imagepipe/functions/imaging/imagingtest"
)

// photo draws a w×h test image: a gradient with a red block in the top-left corner, so
// that orientation can be checked on the thumbnail.
func photo(w, h int, seed uint8) *image.RGBA {
	img := image.NewRGBA(image.Rect(0, 0, w, h))
	for y := 0; y < h; y++ {
		for x := 0; x < w; x++ {
			c := color.RGBA{uint8(x * 255 / w), uint8(y * 255 / h), 128 + seed, 255}
			if x < w/4 && y < h/4 {
				c = color.RGBA{230, 20, 20, 255}
			}
			img.Set(x, y, c)
		}
	}
	return img
}

type exifFacts struct {
	Make, Model, DateTimeOriginal string
	Orientation                   uint16
	Lat, Lon                      float64 // signed degrees; both zero means no GPS
}

// jpegWithEXIF encodes img as JPEG with an APP1 EXIF block holding facts, built by
// the one EXIF builder the tests share (functions/imaging/imagingtest).
func jpegWithEXIF(t *testing.T, img image.Image, f exifFacts) []byte {
	t.Helper()
	e := imagingtest.EXIF{Make: f.Make, Model: f.Model, Orientation: int(f.Orientation), DateTimeOriginal: f.DateTimeOriginal,
		GPS: f.Lat != 0 || f.Lon != 0, Lat: f.Lat, Lon: f.Lon}
	return imagingtest.WithEXIF(imagingtest.JPEG(img, 90), e.TIFF())
}

// orientedRedCorner reports which corner of a decoded thumbnail is red:
// "top-left", "top-right", "bottom-left" or "bottom-right".
func orientedRedCorner(img image.Image) string {
	b := img.Bounds()
	w, h := b.Dx(), b.Dy()
	red := func(x, y int) bool {
		r, g, bl, _ := img.At(b.Min.X+x, b.Min.Y+y).RGBA()
		return r>>8 > 180 && g>>8 < 90 && bl>>8 < 90
	}
	dx, dy := w/10, h/10
	switch {
	case red(dx, dy):
		return "top-left"
	case red(w-1-dx, dy):
		return "top-right"
	case red(dx, h-1-dy):
		return "bottom-left"
	case red(w-1-dx, h-1-dy):
		return "bottom-right"
	}
	return "none"
}
