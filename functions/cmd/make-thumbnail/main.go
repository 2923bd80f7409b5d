// Command make-thumbnail is the Lambda that writes an uploaded image's thumbnail and
// preview (package makethumbnail). Environment: THUMBNAIL_SIZE (default 80),
// PREVIEW_SIZE (default 640, 0 disables), MAX_OBJECT_BYTES, MAX_PIXELS, MAX_SIDE,
// MAX_DECODED_BYTES, DECODE_BUDGET_BYTES (optional; the decoding budget follows
// AWS_LAMBDA_FUNCTION_MEMORY_SIZE), FAULT_MODE (see package faults). The bucket
// comes with each event.
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
	"github.com/imagepipe/imagepipe/functions/steps/makethumbnail"
)

func main() {
	lambdaenv.Setup()
	mode := faults.FromEnv("make-thumbnail")
	lim, err := imaging.LimitsFromEnv(os.Getenv)
	if err != nil {
		lambdaenv.Fail("configuration", "error", err.Error())
	}
	mem, err := imaging.MemoryFromEnv(os.Getenv) // AWS_LAMBDA_FUNCTION_MEMORY_SIZE
	if err != nil {
		lambdaenv.Fail("configuration", "error", err.Error())
	}
	mem.Apply()
	size, err := imaging.EnvInt(os.Getenv, "THUMBNAIL_SIZE", makethumbnail.DefaultSize)
	if err != nil {
		lambdaenv.Fail("configuration", "error", err.Error())
	}
	preview, err := imaging.EnvInt(os.Getenv, "PREVIEW_SIZE", makethumbnail.DefaultPreviewSize)
	if err != nil {
		lambdaenv.Fail("configuration", "error", err.Error())
	}
	if size > 4096 || preview > 4096 {
		lambdaenv.Fail("configuration", "error", errTooBig.Error())
	}
	cfg := lambdaenv.AWSConfig(context.Background()) // honours AWS_ENDPOINT_URL(_S3)
	client := lambdaenv.S3(cfg)
	h := makethumbnail.Handler{
		Store:       objects.Store{S3: client},
		Limits:      lim,
		Size:        int(size),
		PreviewSize: int(preview),
	}
	slog.Info("starting", "function", "make-thumbnail", "size", h.Size, "previewSize", h.PreviewSize, "decodeBudget", mem.Budget)
	// An upload refused for good is tagged for the bucket's lifecycle rule.
	lambda.Start(faults.Wrap("make-thumbnail", mode, rand.Float64, rejected.Wrap(client, h.Handle)))
}

type configError string

func (e configError) Error() string { return string(e) }

const errTooBig = configError("THUMBNAIL_SIZE and PREVIEW_SIZE must be at most 4096")
