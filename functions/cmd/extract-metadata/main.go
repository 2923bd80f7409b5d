// Command extract-metadata is the Lambda that reads an uploaded image's facts
// (package extractmetadata). Environment: MAX_OBJECT_BYTES, MAX_PIXELS, MAX_SIDE
// (optional), FAULT_MODE (see package faults). The bucket comes with each event.
package main

import (
	"context"
	"log/slog"
	"math/rand/v2"
	"os"

	"github.com/aws/aws-lambda-go/lambda"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/imagepipe/imagepipe/functions/faults"
	"github.com/imagepipe/imagepipe/functions/imaging"
	"github.com/imagepipe/imagepipe/functions/objects"
	"github.com/imagepipe/imagepipe/functions/steps/extractmetadata"
)

func main() {
	slog.SetDefault(slog.New(slog.NewJSONHandler(os.Stderr, nil)))
	mode := faults.FromEnv("extract-metadata")
	lim, err := imaging.LimitsFromEnv(os.Getenv)
	if err != nil {
		fatal("configuration", err)
	}
	// LoadDefaultConfig honours AWS_ENDPOINT_URL(_S3), as every SDK does.
	cfg, err := config.LoadDefaultConfig(context.Background())
	if err != nil {
		fatal("aws configuration", err)
	}
	// Path-style addressing when pointed at a local endpoint (the twin speaks path-style).
	client := s3.NewFromConfig(cfg, func(o *s3.Options) { o.UsePathStyle = cfg.BaseEndpoint != nil })
	h := extractmetadata.Handler{Store: objects.Store{S3: client}, Limits: lim}
	slog.Info("starting", "function", "extract-metadata", "maxBytes", lim.MaxBytes, "maxPixels", lim.MaxPixels)
	lambda.Start(faults.Wrap("extract-metadata", mode, rand.Float64, h.Handle))
}

func fatal(msg string, err error) {
	slog.Error(msg, "error", err.Error())
	os.Exit(1)
}
