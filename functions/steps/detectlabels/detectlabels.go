// Package detectlabels is the DetectLabels step: the event in, the image's labels
// out. Rekognition reads a JPEG or PNG original within its limits straight from S3;
// for any other image the pipeline accepts (GIF, WebP, TIFF, BMP, HEIC, AVIF, or
// an original too large or too small for Rekognition) it labels a JPEG rendering
// sent with the request (Render). The output says which was labelled.
//
// Rekognition is paid per image, so labels already computed for the same bytes are
// copied instead (Known): see copyKnown.
package detectlabels

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"

	"github.com/imagepipe/imagepipe/functions/imaging"
	"github.com/imagepipe/imagepipe/functions/labels"
	"github.com/imagepipe/imagepipe/functions/pipeline"
)

// HeadSize is the first range read: enough for the format and dimensions of nearly
// every image. When it is not, the whole object is read.
const HeadSize = 128 << 10

// Store is the part of objects.Store the step uses.
type Store interface {
	ReadRange(ctx context.Context, bucket, key string, off, n int64) ([]byte, int64, error)
	ReadAll(ctx context.Context, bucket, key string, max int64) ([]byte, error)
	SHA256(ctx context.Context, bucket, key string, max int64) (string, error)
}

// Known finds documents already indexed for an object's ETag and size: the part of
// searchindex.Index the step uses.
type Known interface {
	FindByObject(ctx context.Context, etag string, size int64) ([]pipeline.Document, error)
}

// Labeler is the part of labels.Rekognition the step uses.
type Labeler interface {
	DetectImage(ctx context.Context, img labels.Image) (pipeline.Labels, error)
}

// Handler labels the object an "Object Created" event names.
type Handler struct {
	Store   Store
	Labeler Labeler
	Limits  imaging.Limits // zero means imaging.DefaultLimits
	// Known, when set, is asked for labels of the same bytes before Rekognition
	// is. Leave it nil when the labeler returns more than a document keeps
	// (moderation labels, text).
	Known Known
}

// Handle returns typed errors unwrapped: their type names are the state machine's
// error names.
func (h Handler) Handle(ctx context.Context, ev pipeline.ObjectEvent) (pipeline.Labels, error) {
	if err := ev.Validate(); err != nil {
		return pipeline.Labels{}, err
	}
	lim := h.Limits
	if lim == (imaging.Limits{}) {
		lim = imaging.DefaultLimits
	}
	key, err := ev.Key() // S3 URL-encodes the key in its events
	if err != nil {
		return pipeline.Labels{}, err
	}
	bucket := ev.Detail.Bucket.Name
	if err := lim.CheckBytes(ev.Detail.Object.Size); err != nil {
		return pipeline.Labels{}, err
	}
	if out, ok, err := h.copyKnown(ctx, ev, bucket, key, lim); err != nil || ok {
		return out, err
	}
	o, err := h.inspect(ctx, bucket, key, lim)
	if err != nil {
		return pipeline.Labels{}, err
	}
	img, from := labels.Image{Bucket: bucket, Key: key}, pipeline.LabelledOriginal
	if o.refusal != "" {
		if img.Bytes, err = Render(ctx, o.data, lim); err != nil {
			return pipeline.Labels{}, err
		}
		from = pipeline.LabelledRendering
		slog.InfoContext(ctx, "labelling a rendering", "bucket", bucket, "key", key,
			"reason", o.refusal, "renderingBytes", len(img.Bytes))
	}
	out, err := h.Labeler.DetectImage(ctx, img)
	var notImage *pipeline.NotAnImageError
	if errors.As(err, &notImage) && from == pipeline.LabelledOriginal {
		// The header is a JPEG or PNG Rekognition reads, so its refusal means the
		// data past the header is damaged: the error extract-metadata and
		// make-thumbnail report for the same file.
		return pipeline.Labels{}, &pipeline.CorruptImageError{Format: o.format, Err: err}
	}
	if err != nil {
		return pipeline.Labels{}, err
	}
	if out.Labels == nil {
		out.Labels = []pipeline.Label{}
	}
	out.LabelledFrom = from
	return out, nil
}

// copyKnown returns the labels of an indexed document with the same bytes, if there
// is one, so that Rekognition is not paid twice for them.
//
// The lookup key is the event's ETag and size: free (no read), and for a single-part
// upload the ETag is the MD5 of the bytes. But it is not proof: a multipart ETag
// depends on the part sizes (the same bytes uploaded in other parts miss, which only
// costs a call), an SSE-KMS ETag is not a digest of the data, and MD5 collisions can
// be made on purpose (copying a harmless image's labels, moderation included, onto
// another). So a candidate counts only when the object's SHA-256, streamed from S3
// here, equals its contentSha256 (make-thumbnail's hash of the same bytes). That
// costs one GET on a probable duplicate instead of a DetectLabels call; a first upload
// costs one _search. Only documents labelled before (labelledFrom set) are
// candidates; a lookup that fails is logged and the image labelled anew, since
// saving money must not cost availability.
func (h Handler) copyKnown(ctx context.Context, ev pipeline.ObjectEvent, bucket, key string, lim imaging.Limits) (pipeline.Labels, bool, error) {
	etag, size := ev.Detail.Object.ETag, ev.Detail.Object.Size
	if h.Known == nil || etag == "" {
		return pipeline.Labels{}, false, nil
	}
	docs, err := h.Known.FindByObject(ctx, etag, size)
	if err != nil {
		slog.WarnContext(ctx, "looking up labels of the same bytes failed; labelling anew",
			"bucket", bucket, "key", key, "error", err.Error())
		return pipeline.Labels{}, false, nil
	}
	docs = slices.DeleteFunc(docs, func(d pipeline.Document) bool { return d.LabelledFrom == "" || d.ContentHash == "" })
	if len(docs) == 0 {
		return pipeline.Labels{}, false, nil
	}
	sum, err := h.Store.SHA256(ctx, bucket, key, lim.MaxBytes)
	if err != nil {
		return pipeline.Labels{}, false, err
	}
	for _, d := range docs {
		if d.ContentHash != sum {
			continue
		}
		// Point at the document whose own call made the labels, not at a copy.
		from := d.LabelsFrom
		if from == "" {
			from = d.ID
		}
		if from == pipeline.DocumentID(bucket, key) {
			from = "" // this document's own earlier labels (a re-run): not a copy
		}
		out := pipeline.Labels{Labels: d.Labels, Source: pipeline.SourceCopy, LabelledFrom: d.LabelledFrom, LabelsFrom: from}
		if out.Labels == nil {
			out.Labels = []pipeline.Label{}
		}
		slog.InfoContext(ctx, "labels copied; rekognition not called", "bucket", bucket, "key", key,
			"from", d.ID, "contentSha256", sum)
		return out, true, nil
	}
	return pipeline.Labels{}, false, nil
}

// original is what the step learnt of the object: why Rekognition would refuse it
// ("" if it would not), and its bytes when they were read.
type original struct {
	refusal string
	format  string
	data    []byte
}

// inspect reads the object's head, and all of it when the head does not hold the
// format and dimensions or when a rendering is needed. Errors are the pipeline's
// types, as the other branches report them for the same file.
func (h Handler) inspect(ctx context.Context, bucket, key string, lim imaging.Limits) (original, error) {
	head, size, err := h.Store.ReadRange(ctx, bucket, key, 0, HeadSize)
	if err != nil {
		return original{}, err
	}
	// The object's real size wins over the event's: it may have been overwritten.
	if err := lim.CheckBytes(size); err != nil {
		return original{}, err
	}
	var o original
	whole := int64(len(head)) == size
	if whole {
		o.data = head
	}
	cfg, format, err := imaging.DecodeConfig(bytes.NewReader(head), lim)
	var corrupt *pipeline.CorruptImageError
	if errors.As(err, &corrupt) && !whole { // perhaps only cut short: a header past the head
		if o.data, err = h.Store.ReadAll(ctx, bucket, key, lim.MaxBytes); err != nil {
			return original{}, err
		}
		size = int64(len(o.data))
		cfg, format, err = imaging.DecodeConfig(bytes.NewReader(o.data), lim)
	}
	if err != nil {
		return original{}, err
	}
	o.format = format
	if o.refusal = Refusal(format, size, cfg.Width, cfg.Height); o.refusal != "" && o.data == nil {
		if o.data, err = h.Store.ReadAll(ctx, bucket, key, lim.MaxBytes); err != nil {
			return original{}, err
		}
	}
	return o, nil
}

// Refusal says why Rekognition would not label an original of format, size bytes
// and w×h pixels read from S3, or "" when it would.
func Refusal(format string, size int64, w, h int) string {
	switch {
	case !labels.RekognitionReads(format):
		return fmt.Sprintf("rekognition reads JPEG and PNG, not %s", format)
	case size > labels.MaxS3Bytes:
		return fmt.Sprintf("%d bytes, over rekognition's %d from S3", size, labels.MaxS3Bytes)
	case max(w, h) > labels.MaxSide:
		return fmt.Sprintf("%dx%d, over rekognition's %d pixels a side", w, h, labels.MaxSide)
	case min(w, h) < labels.MinSide:
		return fmt.Sprintf("%dx%d, under rekognition's %d pixels a side", w, h, labels.MinSide)
	}
	return ""
}
