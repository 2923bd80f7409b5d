// Command extract-metadata is the Lambda that reads an uploaded image's facts
// (package extractmetadata). Environment: MAX_OBJECT_BYTES, MAX_PIXELS, MAX_SIDE,
// MAX_DECODED_BYTES, DECODE_BUDGET_BYTES (optional; the collector's soft limit
// follows AWS_LAMBDA_FUNCTION_MEMORY_SIZE), FAULT_MODE (see package faults). The
// bucket comes with each event.
package main

import (
	"context"
	"log/slog"
	"math/rand/v2"
	"os"

	"github.com/aws/aws-lambda-go/lambda"

	"github.com/imagepipe/imagepipe/functions/faults"
	"github.com/imagepipe/imagepipe/functions/imaging"
	"github.com/imagepipe/imagepipe/functions/lambdaenv"
	"github.com/imagepipe/imagepipe/functions/objects"
	"github.com/imagepipe/imagepipe/functions/rejected"
	"github.com/imagepipe/imagepipe/functions/steps/extractmetadata"
)

func main() {
	lambdaenv.Setup()
	mode := faults.FromEnv("extract-metadata")
	lim, err := imaging.LimitsFromEnv(os.Getenv)
	if err != nil {
		lambdaenv.Fail("configuration", "error", err.Error())
	}
	mem, err := imaging.MemoryFromEnv(os.Getenv) // AWS_LAMBDA_FUNCTION_MEMORY_SIZE
	if err != nil {
		lambdaenv.Fail("configuration", "error", err.Error())
	}
	mem.Apply()
	cfg := lambdaenv.AWSConfig(context.Background()) // honours AWS_ENDPOINT_URL(_S3)
	client := lambdaenv.S3(cfg)
	h := extractmetadata.Handler{Store: objects.Store{S3: client}, Limits: lim}
	slog.Info("starting", "function", "extract-metadata", "maxBytes", lim.MaxBytes, "maxPixels", lim.MaxPixels, "decodeBudget", mem.Budget)
	// An upload refused for good is tagged for the bucket's lifecycle rule.
	lambda.Start(faults.Wrap("extract-metadata", mode, rand.Float64, rejected.Wrap(client, h.Handle)))
}
