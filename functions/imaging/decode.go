package imaging

import (
	"bytes"
	"context"
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
	if IsHEIF(format) {
		return heifConfig(format, r)
	}
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

// Decoded is a decoded image and its share of the process budget (ProcessBudget):
// the memory it and its resizing may hold. Release gives the share back; the
// caller must not keep the image past it.
type Decoded struct {
	Image  image.Image
	Format string
	Cost   int64 // bytes reserved
	once   func()
}

// Release returns the image's share of the budget. It may be called more than once.
func (d *Decoded) Release() {
	if d != nil && d.once != nil {
		d.once()
	}
}

// Decode decodes one image held in memory: sniff, check lim against the declared
// size, work out from the header what decoding and resizing for minSide will hold
// (pixels × bytes per pixel, per format and bit depth), refuse it when that is over
// lim.MaxDecodedBytes or the whole process budget, wait for that much of the budget,
// then decode. minSide is the smallest longer side the caller needs; a decoder
// that can shrink on load (JPEG DCT scaling, HEIC tiles) may return an image that
// small, otherwise the full image comes back. The image is not oriented. It never
// panics; errors are the pipeline's types, and the result names the format even
// then when it was recognised.
func Decode(ctx context.Context, data []byte, lim Limits, minSide int) (*Decoded, error) {
	format, p, err := planBytes(data, lim, minSide)
	if err != nil {
		return &Decoded{Format: format}, err
	}
	release, err := ProcessBudget().reserve(ctx, p.bytes)
	if err != nil {
		return &Decoded{Format: format}, err
	}
	img, err := safeDecode(format, p.decode, data)
	if err != nil {
		release()
		return &Decoded{Format: format}, err
	}
	return &Decoded{Image: img, Format: format, Cost: p.bytes, once: release}, nil
}

// Cost is what Decode(data, lim, minSide) would reserve, from the headers alone.
func Cost(data []byte, lim Limits, minSide int) (int64, string, error) {
	format, p, err := planBytes(data, lim, minSide)
	return p.bytes, format, err
}

// planBytes checks data against lim and plans its decode.
func planBytes(data []byte, lim Limits, minSide int) (string, plan, error) {
	lim = lim.orDefault()
	if err := lim.CheckBytes(int64(len(data))); err != nil {
		return "", plan{}, err
	}
	format, err := Sniff(data[:min(len(data), SniffLen)])
	if err != nil {
		return "", plan{}, err
	}
	cfg, err := configOf(format, bytes.NewReader(data))
	if err != nil {
		return format, plan{}, err
	}
	if err := lim.CheckDimensions(format, cfg.Width, cfg.Height); err != nil {
		return format, plan{}, err
	}
	p, err := planFor(format, data, cfg, minSide)
	if err != nil {
		return format, plan{}, err
	}
	p.bytes += decodeOverhead
	return format, p, lim.CheckDecodedBytes(p.bytes)
}

// decodeOverhead is what any decode holds beyond its pixels: readers, tables,
// the decoder's state.
const decodeOverhead = 1 << 20

// DecodeBytes is Decode for a caller that does not keep the image long: the budget
// is held while decoding only.
func DecodeBytes(data []byte, lim Limits, minSide int) (image.Image, string, error) {
	d, err := Decode(context.Background(), data, lim, minSide)
	d.Release()
	return d.Image, d.Format, err
}

// safeDecode runs a decoder, turning a panic into a corrupt image and an empty
// result into one.
func safeDecode(format string, dec func([]byte) (image.Image, error), data []byte) (img image.Image, err error) {
	defer func() {
		if p := recover(); p != nil {
			img, err = nil, &pipeline.CorruptImageError{Format: format, Err: fmt.Errorf("decoder panic: %v", p)}
		}
	}()
	if img, err = dec(data); err != nil {
		return nil, err
	}
	if b := img.Bounds(); b.Dx() <= 0 || b.Dy() <= 0 {
		return nil, &pipeline.CorruptImageError{Format: format, Err: errors.New("decoded an empty image")}
	}
	return img, nil
}

// stdDecode runs one of the standard decoders over data.
func stdDecode(format string, dec decoder, data []byte) (image.Image, error) {
	img, err := dec.decode(bytes.NewReader(data))
	if err != nil {
		return nil, classify(format, "decode", err)
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
		return unsupported(format, err)
	}
	return corrupt(format, op, err)
}

func unsupported(format string, err error) error {
	return &pipeline.UnsupportedFormatError{Format: fmt.Sprintf("%s (%v)", format, err)}
}

func corrupt(format, op string, err error) error {
	if errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, io.EOF) {
		return &pipeline.CorruptImageError{Format: format, Err: fmt.Errorf("%s: truncated: %w", op, err)}
	}
	return &pipeline.CorruptImageError{Format: format, Err: fmt.Errorf("%s: %w", op, err)}
}
