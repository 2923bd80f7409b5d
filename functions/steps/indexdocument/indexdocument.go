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
func (h Handler) Handle(ctx context.Context, in pipeline.IndexInput) (pipeline.IndexResult, error) {
	if err := in.Event.Validate(); err != nil {
		return pipeline.IndexResult{}, err
	}
	now := time.Now
	if h.Now != nil {
		now = h.Now
	}
	d := pipeline.NewDocument(in, now())
	outcome, err := h.Index.Upsert(ctx, d)
	if err != nil {
		return pipeline.IndexResult{}, err
	}
	return pipeline.IndexResult{ID: d.ID, Outcome: outcome}, nil
}
