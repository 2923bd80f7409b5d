// Package labels says what is in an image: Amazon Rekognition in AWS, and a local
// labeler for the twin that measures the pixels (colours, brightness, contrast,
// shape) and claims nothing it cannot measure.
package labels

import (
	"context"
	"math"

	"github.com/imagepipe/imagepipe/functions/pipeline"
)

// Labeler detects the labels of the object bucket/key.
type Labeler interface {
	Detect(ctx context.Context, bucket, key string) (pipeline.Labels, error)
}

// Defaults as in the original workshop.
const (
	DefaultMaxLabels     = 10
	DefaultMinConfidence = 70
)

// round1 rounds a confidence to one decimal, so that JSON stays short and stable.
func round1(v float64) float64 { return math.Round(v*10) / 10 }
