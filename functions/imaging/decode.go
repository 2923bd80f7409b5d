package imaging

import (
	"bytes"
	"errors"
	"fmt"
	"image"
	"image/gif"
	"image/jpeg"
	"image/png"
	"io"

	"golang.org/x/image/bmp"
	"golang.org/x/image/tiff"
	"golang.org/x/image/webp"

	"github.com/imagepipe/imagepipe/functions/imaging/jpegscale"
	"github.com/imagepipe/imagepipe/functions/pipeline"
)

// decoder pairs one format's config and pixel decoders; dispatch is by sniffed
// format, never by the image package's global registry.
type decoder struct {
	config func(io.Reader) (image.Config, error)
	decode func(io.Reader) (image.Image, error)
}

func decoderFor(format string) (decoder, bool) {
	switch format {
	case JPEG:
		return decoder{jpeg.DecodeConfig, jpeg.Decode}, true
	case PNG:
		return decoder{png.DecodeConfig, png.Decode}, true
	case GIF:
		return decoder{gif.DecodeConfig, gif.Decode}, true
	case WebP:
		return decoder{webp.DecodeConfig, webp.Decode}, true
	case TIFF:
		// Hide io.ReaderAt from the TIFF decoder: it then reads through its own
		// growing buffer, bounded by the data, instead of allocating whatever a
		// corrupt strip byte count claims.
		return decoder{
			func(r io.Reader) (image.Config, error) { return tiff.DecodeConfig(struct{ io.Reader }{r}) },
			func(r io.Reader) (image.Image, error) { return tiff.Decode(struct{ io.Reader }{r}) },
		}, true
	case BMP:
		return decoder{bmp.DecodeConfig, bmp.Decode}, true
	}
	return decoder{}, false
}

// DecodeConfig sniffs r's format and reads its declared dimensions without decoding
// pixels, then checks them against lim. r should be capped by the caller.
func DecodeConfig(r io.Reader, lim Limits) (image.Config, string, error) {
	head := make([]byte, SniffLen)
	n, err := io.ReadFull(r, head)
	if err != nil && !errors.Is(err, io.ErrUnexpectedEOF) && !errors.Is(err, io.EOF) {
		return image.Config{}, "", &pipeline.TransientError{Op: "read image", Err: err}
	}
	head = head[:n]
	format, err := Sniff(head)
	if err != nil {
		return image.Config{}, "", err
	}
	cfg, err := configOf(format, io.MultiReader(bytes.NewReader(head), r))
	if err != nil {
		return image.Config{}, format, err
	}
	return cfg, format, lim.CheckDimensions(format, cfg.Width, cfg.Height)
}

func configOf(format string, r io.Reader) (cfg image.Config, err error) {
	dec, ok := decoderFor(format)
	if !ok {
		return cfg, &pipeline.UnsupportedFormatError{Format: format}
	}
	defer func() {
		if p := recover(); p != nil {
			err = &pipeline.CorruptImageError{Format: format, Err: fmt.Errorf("decoder panic: %v", p)}
		}
	}()
	cfg, err = dec.config(r)
	if err != nil {
		return cfg, classify(format, "read header", err)
	}
	return cfg, nil
}

// DecodeBytes decodes one image held in memory: sniff, check lim against the declared
// size, then decode pixels, never panicking. minSide is the smallest longer side the
// caller needs; a decoder that can shrink on load (JPEG DCT scaling) may return an
// image that small, otherwise the full image comes back. The image is not oriented.
func DecodeBytes(data []byte, lim Limits, minSide int) (image.Image, string, error) {
	lim = lim.orDefault()
	if err := lim.CheckBytes(int64(len(data))); err != nil {
		return nil, "", err
	}
	format, err := Sniff(data[:min(len(data), SniffLen)])
	if err != nil {
		return nil, "", err
	}
	cfg, err := configOf(format, bytes.NewReader(data))
	if err != nil {
		return nil, format, err
	}
	if err := lim.CheckDimensions(format, cfg.Width, cfg.Height); err != nil {
		return nil, format, err
	}
	img, err := decodePixels(format, data, minSide)
	if err != nil {
		return nil, format, err
	}
	return img, format, nil
}

func decodePixels(format string, data []byte, minSide int) (img image.Image, err error) {
	if format == JPEG && minSide > 0 {
		// Decode in the DCT domain at the largest reduction that still covers
		// minSide; on any error the standard decoder has the last word (and names
		// the error).
		if img, _, err := jpegscale.DecodeBytes(data, minSide); err == nil {
			return img, nil
		}
	}
	dec, _ := decoderFor(format)
	defer func() {
		if p := recover(); p != nil {
			img, err = nil, &pipeline.CorruptImageError{Format: format, Err: fmt.Errorf("decoder panic: %v", p)}
		}
	}()
	img, err = dec.decode(bytes.NewReader(data))
	if err != nil {
		return nil, classify(format, "decode", err)
	}
	if b := img.Bounds(); b.Dx() <= 0 || b.Dy() <= 0 {
		return nil, &pipeline.CorruptImageError{Format: format, Err: errors.New("decoded an empty image")}
	}
	return img, nil
}

// classify maps a decoder error to the pipeline's error types: a feature the decoder
// lacks is an unsupported format, everything else (including truncation) is corrupt.
func classify(format, op string, err error) error {
	var (
		je jpeg.UnsupportedError
		pe png.UnsupportedError
		te tiff.UnsupportedError
	)
	if errors.As(err, &je) || errors.As(err, &pe) || errors.As(err, &te) || errors.Is(err, bmp.ErrUnsupported) {
		return &pipeline.UnsupportedFormatError{Format: fmt.Sprintf("%s (%v)", format, err)}
	}
	if errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, io.EOF) {
		return &pipeline.CorruptImageError{Format: format, Err: fmt.Errorf("%s: truncated: %w", op, err)}
	}
	return &pipeline.CorruptImageError{Format: format, Err: fmt.Errorf("%s: %w", op, err)}
}
