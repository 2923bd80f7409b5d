// Package detectlabels is the DetectLabels step: the event in, the image's labels out.
package detectlabels

import (
	"context"

	"github.com/imagepipe/imagepipe/functions/labels"
	"github.com/imagepipe/imagepipe/functions/pipeline"
)

// Handler labels the object an "Object Created" event names.
type Handler struct {
	Labeler labels.Labeler
}

// Handle returns typed errors unwrapped: their type names are the state machine's
// error names.
func (h Handler) Handle(ctx context.Context, ev pipeline.ObjectEvent) (pipeline.Labels, error) {
	if err := ev.Validate(); err != nil {
		return pipeline.Labels{}, err
	}
	out, err := h.Labeler.Detect(ctx, ev.Detail.Bucket.Name, ev.Detail.Object.Key)
	if err != nil {
		return pipeline.Labels{}, err
	}
	if out.Labels == nil {
		out.Labels = []pipeline.Label{}
	}
	return out, nil
}
