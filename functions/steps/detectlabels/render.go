package detectlabels

import (
	"bytes"
	"context"
	"fmt"
	"image"
	"image/draw"
	"image/jpeg"
	"math"

	"github.com/imagepipe/imagepipe/functions/imaging"
	_ "github.com/imagepipe/imagepipe/functions/imaging/heifwasm" // HEIC and AVIF are rendered to JPEG here
	"github.com/imagepipe/imagepipe/functions/labels"
	"github.com/imagepipe/imagepipe/functions/metadata"
)

// RenderSide is the longest side of a rendering. Rekognition states its smallest
// detectable face for a 1920×1080 image and asks proportionally larger faces of
// larger images: it looks at about this many pixels, so a larger rendering would
// add bytes, not labels.
const RenderSide = 1920

// renderQualities are the JPEG qualities tried in turn until the rendering fits
// Rekognition's inline limit; the first one nearly always does.
var renderQualities = []int{imaging.JPEGQuality, 70, 50}

// Render makes the JPEG Rekognition labels when it cannot read the original data: a
// decode at the reduced size the rendering needs, turned upright by the EXIF
// orientation (as Rekognition turns a JPEG), transparent pixels on white. Its sides
// are within Rekognition's limits: see renderSize; a shape too long to reach
// labels.MinSide without passing labels.MaxSide gets a white border up to it. It is
// at most labels.MaxInlineBytes.
//
// The decoded image holds its share of the process's decoding budget until Render
// returns.
func Render(ctx context.Context, data []byte, lim imaging.Limits) ([]byte, error) {
	md, err := metadata.ExtractBytes(data, lim)
	if err != nil {
		return nil, err
	}
	tw, th := renderSize(md.Width, md.Height)
	decoded, err := imaging.Decode(ctx, data, lim, max(tw, th))
	if err != nil {
		return nil, err
	}
	defer decoded.Release()
	img := decoded.Image
	// Resize first, orient after: the same pixels, with the shuffling done small.
	m := pad(imaging.Orient(imaging.Resize(img, tw, th), md.Orientation), labels.MinSide)
	return encodeWithin(m, labels.MaxInlineBytes)
}

// renderSize is the size, in the stored orientation, of the rendering of a w×h
// image: at most RenderSide on the longer side (a smaller image keeps its size),
// and enlarged where the shorter side would be under labels.MinSide, as far as
// labels.MaxSide allows. Enlarging adds no detail, but Rekognition scales every
// image to its own working size anyway: a small image loses nothing by it.
func renderSize(w, h int) (int, int) {
	long, short := float64(max(w, h)), float64(min(w, h))
	s := min(1, RenderSide/long)
	if short*s < labels.MinSide {
		s = min(labels.MinSide/short, labels.MaxSide/long)
	}
	scale := func(v int) int { return max(1, int(math.Round(float64(v)*s))) }
	return scale(w), scale(h)
}

// pad centres m on white so that neither side is under side.
func pad(m *image.RGBA, side int) *image.RGBA {
	b := m.Bounds()
	w, h := max(b.Dx(), side), max(b.Dy(), side)
	if w == b.Dx() && h == b.Dy() {
		return m
	}
	dst := image.NewRGBA(image.Rect(0, 0, w, h))
	draw.Draw(dst, dst.Bounds(), image.White, image.Point{}, draw.Src)
	at := image.Pt((w-b.Dx())/2, (h-b.Dy())/2)
	draw.Draw(dst, image.Rectangle{Min: at, Max: at.Add(b.Size())}, m, b.Min, draw.Src)
	return dst
}

// encodeWithin encodes m as a JPEG of at most limit bytes, lowering the quality if
// it must.
func encodeWithin(m image.Image, limit int) ([]byte, error) {
	n := 0
	for _, q := range renderQualities {
		var buf bytes.Buffer
		if err := jpeg.Encode(&buf, m, &jpeg.Options{Quality: q}); err != nil {
			return nil, fmt.Errorf("encode rendering: %w", err)
		}
		if buf.Len() <= limit {
			return buf.Bytes(), nil
		}
		n = buf.Len()
	}
	return nil, fmt.Errorf("rendering is %d bytes at quality %d, over rekognition's %d", n, renderQualities[len(renderQualities)-1], limit)
}
