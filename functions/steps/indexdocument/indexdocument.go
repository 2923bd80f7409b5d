// Package indexdocument is the IndexDocument step: it merges the event and the three
// branch results into the search document and upserts it.
package indexdocument

import (
	"context"
	"time"

	"github.com/imagepipe/imagepipe/functions/pipeline"
	"github.com/imagepipe/imagepipe/functions/searchindex"
)

// Handler writes one document per image.
type Handler struct {
	Index searchindex.Index
	Now   func() time.Time // nil: time.Now
}

// Handle upserts the document; an input older (by sequencer) than the indexed
// document is skipped, reported as "skipped-older".
//
// Duplicates (the same bytes under another key, by contentSha256): the document
// uploaded later (then the larger id) gets duplicateOf = the earliest one's id. It is
// computed before the write, so a duplicate is never shown as its own image; after
// the write the whole group is reconciled, so that concurrent runs, an earlier upload
// indexed late, and a key re-uploaded with other bytes all converge. Re-running the
// same input gives the same document.
func (h Handler) Handle(ctx context.Context, in pipeline.IndexInput) (pipeline.IndexResult, error) {
	if err := in.Event.Validate(); err != nil {
		return pipeline.IndexResult{}, err
	}
	now := time.Now
	if h.Now != nil {
		now = h.Now
	}
	d := pipeline.NewDocument(in, now())
	prev, hadPrev, err := h.Index.Get(ctx, d.ID)
	if err != nil {
		return pipeline.IndexResult{}, err
	}
	// The key held other bytes before: the group it leaves needs an original that is
	// not d, both before the write (a crash after it would forget the old hash) and
	// after it (a concurrent reconciler may still have seen the old d).
	leaving := hadPrev && prev.ContentHash != "" && prev.ContentHash != d.ContentHash &&
		pipeline.CompareSequencers(prev.Sequencer, d.Sequencer) <= 0
	if leaving {
		if _, _, err := searchindex.Reconcile(ctx, h.Index, prev.ContentHash, d.ID); err != nil {
			return pipeline.IndexResult{}, err
		}
	}
	if d.ContentHash != "" {
		group, err := h.Index.FindByContentHash(ctx, d.ContentHash)
		if err != nil {
			return pipeline.IndexResult{}, err
		}
		d.DuplicateOf = searchindex.DuplicateOf(d, group)
	}
	outcome, err := h.Index.Upsert(ctx, d)
	if err != nil {
		return pipeline.IndexResult{}, err
	}
	if outcome == searchindex.OutcomeSkippedOlder {
		return pipeline.IndexResult{ID: d.ID, Outcome: outcome}, nil
	}
	res := pipeline.IndexResult{ID: d.ID, Outcome: outcome, DuplicateOf: d.DuplicateOf}
	if d.ContentHash != "" {
		// Reconcile may decide otherwise (a concurrent earlier upload): report what it stored.
		orig, _, err := searchindex.Reconcile(ctx, h.Index, d.ContentHash)
		if err != nil {
			return pipeline.IndexResult{}, err
		}
		if res.DuplicateOf = orig; orig == d.ID {
			res.DuplicateOf = ""
		}
	}
	if leaving {
		if _, _, err := searchindex.Reconcile(ctx, h.Index, prev.ContentHash); err != nil {
			return pipeline.IndexResult{}, err
		}
	}
	return res, nil
}
