// Package makethumbnail is the make-thumbnail step: it reads the uploaded object
// (any format the pipeline accepts, HEIC and AVIF included), turns it upright by its
// EXIF orientation (a HEIF's irot and imir), fits it into a small square and writes a
// metadata-free JPEG under thumbnail/ (and optionally a larger one under preview/).
// Render is shared with `imagepipe thumbnail`.
package makethumbnail

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"image"

	"github.com/imagepipe/imagepipe/functions/imaging"
	_ "github.com/imagepipe/imagepipe/functions/imaging/heifwasm" // phone photos (HEIC, AVIF) have pixels here
	"github.com/imagepipe/imagepipe/functions/metadata"
	"github.com/imagepipe/imagepipe/functions/pipeline"
)

// Defaults for Handler.Size and Handler.PreviewSize.
const (
	DefaultSize        = 80
	DefaultPreviewSize = 640
)

// Headers of the written images: keys are derived from the upload key and rewritten
// on change, and a browser may cache them for good.
const (
	ContentType  = "image/jpeg"
	CacheControl = "public, max-age=31536000, immutable"
)

// Store is the part of objects.Store the step uses.
type Store interface {
	ReadAll(ctx context.Context, bucket, key string, max int64) ([]byte, error)
	Put(ctx context.Context, bucket, key string, body []byte, contentType, cacheControl string) error
}

// Handler is the make-thumbnail Lambda.
type Handler struct {
	Store       Store
	Limits      imaging.Limits
	Size        int // thumbnail box; 0 means DefaultSize
	PreviewSize int // preview box; 0 disables the preview
}

// Image is one rendered JPEG.
type Image struct {
	JPEG          []byte
	Width, Height int
}

// Rendering is what Render makes from one original.
type Rendering struct {
	Thumbnail     Image
	Preview       *Image // nil when disabled
	ContentSHA256 string // hex SHA-256 of the original bytes
}

// Render makes the thumbnail (size) and, when previewSize > 0, the preview from the
// original bytes. It is deterministic: the same bytes give the same JPEGs. The
// decoded image holds its share of the process's decoding budget until Render
// returns (waiting, under ctx, while other images hold the rest).
func Render(ctx context.Context, data []byte, lim imaging.Limits, size, previewSize int) (Rendering, error) {
	if size <= 0 {
		size = DefaultSize
	}
	md, err := metadata.ExtractBytes(data, lim)
	if err != nil {
		return Rendering{}, err
	}
	// The thumbnail is made from the preview when there is one (already small and
	// upright, and at least twice the thumbnail's size so the filter still has
	// detail to work with); otherwise from a decode at the smallest scale it allows.
	fromPreview := previewSize >= 2*size
	need := size
	if fromPreview {
		need = previewSize
	}
	decoded, err := imaging.Decode(ctx, data, lim, need)
	if err != nil {
		return Rendering{}, err
	}
	defer decoded.Release()
	img := decoded.Image
	sum := sha256.Sum256(data)
	out := Rendering{ContentSHA256: hex.EncodeToString(sum[:])}
	// Sizes come from the original's dimensions, so they do not depend on how much
	// the decoder shrank. Fit first, orient after: the same result, with the pixel
	// shuffling done small.
	upright := func(box int) *image.RGBA {
		tw, th := imaging.FitSize(md.Width, md.Height, box)
		return imaging.Orient(imaging.Resize(img, tw, th), md.Orientation)
	}
	if previewSize > 0 {
		pm := upright(previewSize)
		p, err := encode(pm)
		if err != nil {
			return Rendering{}, err
		}
		out.Preview = &p
		if fromPreview {
			tw, th := imaging.FitSize(md.Width, md.Height, size)
			tw, th = imaging.OrientedSize(tw, th, md.Orientation)
			if out.Thumbnail, err = encode(imaging.Resize(pm, tw, th)); err != nil {
				return Rendering{}, err
			}
			return out, nil
		}
	}
	if out.Thumbnail, err = encode(upright(size)); err != nil {
		return Rendering{}, err
	}
	return out, nil
}

func encode(m *image.RGBA) (Image, error) {
	b, err := imaging.EncodeJPEG(m)
	if err != nil {
		return Image{}, err
	}
	return Image{JPEG: b, Width: m.Bounds().Dx(), Height: m.Bounds().Dy()}, nil
}

// Handle renders the object named by an "Object Created" event and writes the
// results. Rerunning it rewrites the same bytes under the same keys.
func (h Handler) Handle(ctx context.Context, ev pipeline.ObjectEvent) (pipeline.Thumbnail, error) {
	if err := ev.Validate(); err != nil {
		return pipeline.Thumbnail{}, err
	}
	lim := h.Limits
	if lim == (imaging.Limits{}) {
		lim = imaging.DefaultLimits
	}
	key, err := ev.Key() // S3 URL-encodes the key in its events
	if err != nil {
		return pipeline.Thumbnail{}, err
	}
	bucket := ev.Detail.Bucket.Name
	if err := lim.CheckBytes(ev.Detail.Object.Size); err != nil {
		return pipeline.Thumbnail{}, err
	}
	data, err := h.Store.ReadAll(ctx, bucket, key, lim.MaxBytes)
	if err != nil {
		return pipeline.Thumbnail{}, err
	}
	r, err := Render(ctx, data, lim, h.Size, h.PreviewSize)
	if err != nil {
		return pipeline.Thumbnail{}, err
	}
	out := pipeline.Thumbnail{
		Bucket:        bucket,
		Key:           pipeline.ThumbnailKey(key),
		Width:         r.Thumbnail.Width,
		Height:        r.Thumbnail.Height,
		ContentSHA256: r.ContentSHA256,
	}
	if err := h.Store.Put(ctx, bucket, out.Key, r.Thumbnail.JPEG, ContentType, CacheControl); err != nil {
		return pipeline.Thumbnail{}, err
	}
	if r.Preview != nil {
		out.PreviewKey = pipeline.PreviewKey(key)
		out.PreviewWidth, out.PreviewHeight = r.Preview.Width, r.Preview.Height
		if err := h.Store.Put(ctx, bucket, out.PreviewKey, r.Preview.JPEG, ContentType, CacheControl); err != nil {
			return pipeline.Thumbnail{}, err
		}
	}
	return out, nil
}
