// Package extractmetadata is the extract-metadata step: it reads the head of the
// uploaded object with ranged GETs (more ranges only when the metadata lies further
// in) and returns the image's facts (see package metadata).
package extractmetadata

import (
	"context"
	"io"

	"github.com/imagepipe/imagepipe/functions/imaging"
	"github.com/imagepipe/imagepipe/functions/metadata"
	"github.com/imagepipe/imagepipe/functions/pipeline"
)

// HeadSize is the first range read: enough for the EXIF and frame header of nearly
// every photo. BlockSize is the unit of any further read.
const (
	HeadSize  = 128 << 10
	BlockSize = 64 << 10
)

// Store is the part of objects.Store the step uses.
type Store interface {
	ReadRange(ctx context.Context, bucket, key string, off, n int64) ([]byte, int64, error)
}

// Handler is the extract-metadata Lambda.
type Handler struct {
	Store  Store
	Limits imaging.Limits
}

// Handle returns the metadata of the object named by an "Object Created" event.
func (h Handler) Handle(ctx context.Context, ev pipeline.ObjectEvent) (pipeline.Metadata, error) {
	if err := ev.Validate(); err != nil {
		return pipeline.Metadata{}, err
	}
	lim := h.Limits
	if lim == (imaging.Limits{}) {
		lim = imaging.DefaultLimits
	}
	key, err := ev.Key() // S3 URL-encodes the key in its events
	if err != nil {
		return pipeline.Metadata{}, err
	}
	bucket := ev.Detail.Bucket.Name
	if err := lim.CheckBytes(ev.Detail.Object.Size); err != nil {
		return pipeline.Metadata{}, err
	}
	head, size, err := h.Store.ReadRange(ctx, bucket, key, 0, HeadSize)
	if err != nil {
		return pipeline.Metadata{}, err
	}
	// The object's real size wins over the event's: it may have been overwritten.
	if err := lim.CheckBytes(size); err != nil {
		return pipeline.Metadata{}, err
	}
	r := &rangeReader{ctx: ctx, store: h.Store, bucket: bucket, key: key, size: size, head: head, blocks: map[int64][]byte{}}
	return metadata.Extract(r, size, lim)
}

// rangeReader is an io.ReaderAt over an S3 object: the head read up front, any other
// byte fetched in BlockSize ranges, each range fetched once.
type rangeReader struct {
	ctx         context.Context
	store       Store
	bucket, key string
	size        int64
	head        []byte
	blocks      map[int64][]byte
}

func (r *rangeReader) ReadAt(p []byte, off int64) (int, error) {
	n := 0
	for n < len(p) {
		pos := off + int64(n)
		if pos >= r.size {
			return n, io.EOF
		}
		if pos < int64(len(r.head)) {
			n += copy(p[n:], r.head[pos:])
			continue
		}
		start := pos - pos%BlockSize
		b, ok := r.blocks[start]
		if !ok {
			var err error
			if b, _, err = r.store.ReadRange(r.ctx, r.bucket, r.key, start, BlockSize); err != nil {
				return n, err
			}
			if len(b) == 0 {
				return n, io.EOF // the object shrank under us
			}
			r.blocks[start] = b
		}
		if pos-start >= int64(len(b)) {
			return n, io.EOF
		}
		n += copy(p[n:], b[pos-start:])
	}
	return n, nil
}
