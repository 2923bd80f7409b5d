// Package removedocument is the RemoveDocument step of "Object Deleted" events: it
// removes the search document, the thumbnail and the preview.
package removedocument

import (
	"context"

	"github.com/imagepipe/imagepipe/functions/objects"
	"github.com/imagepipe/imagepipe/functions/pipeline"
	"github.com/imagepipe/imagepipe/functions/searchindex"
)

// Outcomes of a removal.
const (
	OutcomeDeleted      = "deleted"       // the document and derived objects are gone
	OutcomeAbsent       = "absent"        // no document; derived objects removed anyway
	OutcomeSkippedNewer = "skipped-newer" // the indexed document is a newer upload
)

// Result is what remove-document returns.
type Result struct {
	ID      string   `json:"id"`
	Outcome string   `json:"outcome"`
	Removed []string `json:"removed,omitempty"` // keys deleted from the bucket
	// Promoted is the id of the copy (same bytes) that is now the original, when
	// the removed document had been the original of a group.
	Promoted string `json:"promoted,omitempty"`
}

// Handler removes what the pipeline derived from a deleted object.
type Handler struct {
	Index searchindex.Index
	Store objects.Store
	// ThumbnailBucket holds thumbnails and previews; "" means the event's bucket.
	ThumbnailBucket string
}

// Handle is idempotent: a second delete event finds nothing and succeeds. A delete
// event older (by sequencer) than the indexed document leaves that newer upload
// alone. The check and the delete are two calls: a re-upload indexed between them
// can still be removed, and its next event (or a redrive) restores it.
func (h Handler) Handle(ctx context.Context, ev pipeline.ObjectEvent) (Result, error) {
	if err := ev.Validate(); err != nil {
		return Result{}, err
	}
	key, err := ev.Key() // S3 URL-encodes the key in its events
	if err != nil {
		return Result{}, err
	}
	bucket := ev.Detail.Bucket.Name
	id := pipeline.DocumentID(bucket, key)
	res := Result{ID: id, Outcome: OutcomeAbsent}
	d, found, err := h.Index.Get(ctx, id)
	if err != nil {
		return Result{}, err
	}
	thumb, preview := pipeline.ThumbnailKey(key), pipeline.PreviewKey(key)
	if found {
		if pipeline.CompareSequencers(d.Sequencer, ev.Detail.Object.Sequencer) > 0 {
			return Result{ID: id, Outcome: OutcomeSkippedNewer}, nil
		}
		if d.Thumbnail != "" {
			thumb = d.Thumbnail
		}
		if d.Preview != "" {
			preview = d.Preview
		}
		res.Outcome = OutcomeDeleted
	}
	// Derived objects first, so that a failure leaves the document (and a retry
	// finds it again) rather than orphaned thumbnails.
	tb := h.ThumbnailBucket
	if tb == "" {
		tb = bucket
	}
	for _, k := range []string{thumb, preview} {
		if err := h.Store.Delete(ctx, tb, k); err != nil {
			return Result{}, err
		}
		res.Removed = append(res.Removed, k)
	}
	if !found {
		return res, nil
	}
	// Copies of the same bytes: the earliest remaining one becomes the original and
	// the others point at it, before the delete (so that a crash after the delete
	// cannot leave copies pointing at nothing, hidden from search) and again after it
	// (a concurrent index-document may have seen this document still there).
	if d.ContentHash != "" {
		orig, _, err := searchindex.Reconcile(ctx, h.Index, d.ContentHash, id)
		if err != nil {
			return Result{}, err
		}
		if d.DuplicateOf == "" {
			res.Promoted = orig
		}
	}
	if err := h.Index.Delete(ctx, id); err != nil {
		return Result{}, err
	}
	if d.ContentHash != "" {
		if _, _, err := searchindex.Reconcile(ctx, h.Index, d.ContentHash, id); err != nil {
			return Result{}, err
		}
	}
	return res, nil
}
