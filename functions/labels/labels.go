// Package labels says what is in an image: the Amazon Rekognition adapter that
// detect-labels uses (in AWS and against the twin alike), Rekognition's image
// limits, and the local labeler behind the twin's Rekognition, which measures the
// pixels (colours, brightness, contrast, shape) and claims nothing it cannot measure.
package labels

import "math"

// Defaults as in the original workshop.
const (
	DefaultMaxLabels     = 10
	DefaultMinConfidence = 70
)

// round1 rounds a confidence to one decimal, so that JSON stays short and stable.
func round1(v float64) float64 { return math.Round(v*10) / 10 }
