// Package imaging decodes images safely: it sniffs the format, checks Limits before
// any pixel is decoded, and caps what it reads.
package imaging

import (
	"bytes"
	"fmt"
	"image"
	_ "image/gif"  // register GIF
	_ "image/jpeg" // register JPEG
	_ "image/png"  // register PNG
	"io"

	"github.com/imagepipe/imagepipe/functions/pipeline"
)

// Limits bound what the pipeline accepts; checked before decoding pixels.
type Limits struct {
	MaxBytes  int64 // largest object accepted
	MaxPixels int64 // width*height
	MaxSide   int   // longest side
}

// DefaultLimits fit a 1 GB Lambda decoding a large phone or DSLR photo.
var DefaultLimits = Limits{MaxBytes: 50 << 20, MaxPixels: 100_000_000, MaxSide: 20_000}

// DecodeReduced decodes r, checking lim first, into an image whose longer side is at
// least minSide where the source allows it (the decoder may shrink on load). It
// returns typed pipeline errors.
func DecodeReduced(r io.Reader, lim Limits, minSide int) (image.Image, string, error) {
	data, err := io.ReadAll(io.LimitReader(r, lim.MaxBytes+1))
	if err != nil {
		return nil, "", &pipeline.TransientError{Op: "read image", Err: err}
	}
	if int64(len(data)) > lim.MaxBytes {
		return nil, "", &pipeline.ImageTooLargeError{What: "bytes", Value: int64(len(data)), Limit: lim.MaxBytes}
	}
	if len(data) == 0 {
		return nil, "", &pipeline.NotAnImageError{Reason: "zero-byte object"}
	}
	cfg, format, err := image.DecodeConfig(bytes.NewReader(data))
	if err != nil {
		return nil, "", &pipeline.NotAnImageError{Reason: err.Error()}
	}
	if px := int64(cfg.Width) * int64(cfg.Height); px > lim.MaxPixels {
		return nil, format, &pipeline.ImageTooLargeError{What: "pixels", Value: px, Limit: lim.MaxPixels}
	}
	img, _, err := image.Decode(bytes.NewReader(data))
	if err != nil {
		return nil, format, &pipeline.CorruptImageError{Format: format, Err: fmt.Errorf("decode: %w", err)}
	}
	return img, format, nil
}
