// Command detect-labels is the DetectLabels Lambda: Amazon Rekognition labels for the
// object an "Object Created" event names (package detectlabels). Rekognition is
// reached through the ordinary AWS configuration: in AWS its regional endpoint, on
// the twin AWS_ENDPOINT_URL, the twin's edge, which serves DetectLabels with
// Rekognition's rules.
//
// Environment: MAX_LABELS (1-1000, default 10), MIN_CONFIDENCE (0-100, default 70),
// DETECT_MODERATION and DETECT_TEXT (true/false, default false), MAX_OBJECT_BYTES,
// MAX_PIXELS, MAX_SIDE, MAX_DECODED_BYTES, DECODE_BUDGET_BYTES (optional; the
// decoding budget follows AWS_LAMBDA_FUNCTION_MEMORY_SIZE), S3_USE_PATH_STYLE (true for S3-compatible
// endpoints), FAULT_MODE (see package faults), OPENSEARCH_ENDPOINT and
// OPENSEARCH_INDEX (optional: where to find labels already computed for the same
// bytes, copied instead of calling Rekognition; unused when DETECT_MODERATION or
// DETECT_TEXT is on, since the document keeps neither).
package main

import (
	"context"
	"errors"
	"math/rand/v2"
	"os"
	"strconv"

	"github.com/aws/aws-lambda-go/lambda"
	"github.com/aws/aws-sdk-go-v2/service/rekognition"

	"github.com/imagepipe/imagepipe/functions/faults"
	"github.com/imagepipe/imagepipe/functions/imaging"
	"github.com/imagepipe/imagepipe/functions/labels"
	"github.com/imagepipe/imagepipe/functions/lambdaenv"
	"github.com/imagepipe/imagepipe/functions/objects"
	"github.com/imagepipe/imagepipe/functions/steps/detectlabels"
)

func main() {
	lambdaenv.Setup()
	mode := faults.FromEnv("detect-labels")
	c, err := configFromEnv(os.Getenv)
	if err != nil {
		lambdaenv.Fail("configuration", "error", err.Error())
	}
	c.memory.Apply()
	cfg := lambdaenv.AWSConfig(context.Background())
	c.labeler.Client = rekognition.NewFromConfig(cfg)
	c.labeler.Moderation = lambdaenv.Bool("DETECT_MODERATION")
	c.labeler.Text = lambdaenv.Bool("DETECT_TEXT")
	h := detectlabels.Handler{Store: objects.Store{S3: lambdaenv.S3(cfg)}, Labeler: c.labeler, Limits: c.limits}
	if os.Getenv("OPENSEARCH_ENDPOINT") != "" && !c.labeler.Moderation && !c.labeler.Text {
		h.Known = lambdaenv.SearchIndex(cfg)
	}
	lambda.Start(faults.Wrap("detect-labels", mode, rand.Float64, h.Handle))
}

// config is what the environment says, before any client exists.
type config struct {
	labeler labels.Rekognition
	limits  imaging.Limits
	memory  imaging.Memory
}

// configFromEnv reads MAX_LABELS, MIN_CONFIDENCE and the imaging limits through getenv.
func configFromEnv(getenv func(string) string) (config, error) {
	lim, err := imaging.LimitsFromEnv(getenv)
	if err != nil {
		return config{}, err
	}
	mem, err := imaging.MemoryFromEnv(getenv)
	if err != nil {
		return config{}, err
	}
	maxLabels, err := imaging.EnvInt(getenv, "MAX_LABELS", labels.DefaultMaxLabels)
	if err != nil || maxLabels > 1000 {
		return config{}, errors.New("MAX_LABELS must be an integer between 1 and 1000")
	}
	minConf := float64(labels.DefaultMinConfidence)
	if s := getenv("MIN_CONFIDENCE"); s != "" {
		if minConf, err = strconv.ParseFloat(s, 32); err != nil || !(minConf >= 0 && minConf <= 100) {
			return config{}, errors.New("MIN_CONFIDENCE must be a number between 0 and 100")
		}
	}
	return config{
		labeler: labels.Rekognition{MaxLabels: int32(maxLabels), MinConfidence: float32(minConf)},
		limits:  lim,
		memory:  mem,
	}, nil
}
