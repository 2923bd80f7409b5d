// Command detect-labels is the DetectLabels Lambda: Amazon Rekognition labels for the
// object an "Object Created" event names.
//
// Environment: MAX_LABELS (default 10), MIN_CONFIDENCE (default 70),
// DETECT_MODERATION and DETECT_TEXT (true/false, default false), LABELER
// ("rekognition", default, or "local": pixel statistics read through S3),
// S3_USE_PATH_STYLE (true for S3-compatible endpoints), FAULT_MODE (see package faults).
package main

import (
	"context"
	"log/slog"
	"math/rand/v2"
	"os"
	"strconv"

	"github.com/aws/aws-lambda-go/lambda"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/rekognition"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/imagepipe/imagepipe/functions/faults"
	"github.com/imagepipe/imagepipe/functions/labels"
	"github.com/imagepipe/imagepipe/functions/objects"
	"github.com/imagepipe/imagepipe/functions/steps/detectlabels"
)

func main() {
	slog.SetDefault(slog.New(slog.NewJSONHandler(os.Stderr, nil)))
	mode := faults.FromEnv("detect-labels")
	ctx := context.Background()
	cfg := awsConfig(ctx)
	var l labels.Labeler
	switch kind := env("LABELER", "rekognition", false); kind {
	case "rekognition":
		maxLabels, err := strconv.ParseInt(env("MAX_LABELS", "10", false), 10, 32)
		if err != nil || maxLabels < 1 || maxLabels > 1000 {
			fail("MAX_LABELS must be an integer between 1 and 1000")
		}
		minConf, err := strconv.ParseFloat(env("MIN_CONFIDENCE", "70", false), 32)
		if err != nil || minConf < 0 || minConf > 100 {
			fail("MIN_CONFIDENCE must be a number between 0 and 100")
		}
		l = labels.Rekognition{
			Client:        rekognition.NewFromConfig(cfg),
			MaxLabels:     int32(maxLabels),
			MinConfidence: float32(minConf),
			Moderation:    boolEnv("DETECT_MODERATION"),
			Text:          boolEnv("DETECT_TEXT"),
		}
	case "local":
		pathStyle := boolEnv("S3_USE_PATH_STYLE")
		l = labels.Local{Store: objects.Store{S3: s3.NewFromConfig(cfg, func(o *s3.Options) { o.UsePathStyle = pathStyle || cfg.BaseEndpoint != nil })}}
	default:
		fail("LABELER must be rekognition or local", "value", kind)
	}
	lambda.Start(faults.Wrap("detect-labels", mode, rand.Float64, detectlabels.Handler{Labeler: l}.Handle))
}

func boolEnv(name string) bool {
	b, err := strconv.ParseBool(env(name, "false", false))
	if err != nil {
		fail(name + " must be true or false")
	}
	return b
}

// env reads a variable, failing fast (a Lambda init error) when a required one is missing.
func env(name, def string, required bool) string {
	v, ok := os.LookupEnv(name)
	if !ok || v == "" {
		if required {
			fail("missing required environment variable " + name)
		}
		return def
	}
	return v
}

func fail(msg string, args ...any) {
	slog.Error(msg, args...)
	os.Exit(1)
}

func awsConfig(ctx context.Context) aws.Config {
	cfg, err := config.LoadDefaultConfig(ctx)
	if err != nil {
		fail("load AWS configuration", "error", err.Error())
	}
	return cfg
}
