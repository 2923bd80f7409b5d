// Package imaging decodes images safely: it sniffs the format, checks Limits before
// any pixel is decoded, works out from the header what the decode will hold in
// memory and reserves that from the process's decoding budget (see Decode and
// Budget), caps what it reads, and turns decoder panics and failures into the
// pipeline's typed errors. It also orients, resizes and encodes.
package imaging

import (
	"fmt"
	"image"
	"io"

	"github.com/imagepipe/imagepipe/functions/pipeline"
)

// Limits bound what the pipeline accepts; checked before decoding pixels.
type Limits struct {
	MaxBytes  int64 // largest object accepted
	MaxPixels int64 // width*height
	MaxSide   int   // longest side
	// MaxDecodedBytes bounds what decoding one image may hold (see Decode); 0
	// leaves only the process budget, which bounds every image together.
	MaxDecodedBytes int64
}

// DefaultLimits fit a 1 GB Lambda decoding a large phone or DSLR photo.
var DefaultLimits = Limits{MaxBytes: pipeline.MaxUploadBytes, MaxPixels: 100_000_000, MaxSide: 20_000}

// orDefault fills zero fields from DefaultLimits, so a zero Limits is safe.
func (l Limits) orDefault() Limits {
	if l.MaxBytes <= 0 {
		l.MaxBytes = DefaultLimits.MaxBytes
	}
	if l.MaxPixels <= 0 {
		l.MaxPixels = DefaultLimits.MaxPixels
	}
	if l.MaxSide <= 0 {
		l.MaxSide = DefaultLimits.MaxSide
	}
	return l
}

// CheckBytes reports an object larger than MaxBytes.
func (l Limits) CheckBytes(n int64) error {
	l = l.orDefault()
	if n > l.MaxBytes {
		return &pipeline.ImageTooLargeError{What: "bytes", Value: n, Limit: l.MaxBytes}
	}
	return nil
}

// CheckDimensions reports an image whose declared size is over MaxSide or MaxPixels
// (a decompression bomb), or that has no pixels.
func (l Limits) CheckDimensions(format string, w, h int) error {
	l = l.orDefault()
	if w <= 0 || h <= 0 {
		return &pipeline.CorruptImageError{Format: format, Err: fmt.Errorf("declared size %dx%d", w, h)}
	}
	if side := max(w, h); side > l.MaxSide {
		return &pipeline.ImageTooLargeError{What: "side", Value: int64(side), Limit: int64(l.MaxSide)}
	}
	if px := int64(w) * int64(h); px > l.MaxPixels {
		return &pipeline.ImageTooLargeError{What: "pixels", Value: px, Limit: l.MaxPixels}
	}
	return nil
}

// CheckDecodedBytes reports a decode that would hold more than MaxDecodedBytes.
func (l Limits) CheckDecodedBytes(n int64) error {
	if l.MaxDecodedBytes > 0 && n > l.MaxDecodedBytes {
		return &pipeline.ImageTooLargeError{What: "decoded bytes", Value: n, Limit: l.MaxDecodedBytes}
	}
	return nil
}

// DecodeReduced decodes r, checking lim first, into an image whose longer side is at
// least minSide where the source allows it (the decoder may shrink on load). It
// returns typed pipeline errors. The image is not oriented.
func DecodeReduced(r io.Reader, lim Limits, minSide int) (image.Image, string, error) {
	lim = lim.orDefault()
	data, err := io.ReadAll(io.LimitReader(r, lim.MaxBytes+1))
	if err != nil {
		return nil, "", &pipeline.TransientError{Op: "read image", Err: err}
	}
	if err := lim.CheckBytes(int64(len(data))); err != nil {
		return nil, "", err
	}
	return DecodeBytes(data, lim, minSide)
}
