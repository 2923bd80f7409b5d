// Command remove-document is the RemoveDocument Lambda of "Object Deleted" events:
// it removes the search document, the thumbnail and the preview.
//
// Environment: OPENSEARCH_ENDPOINT (required), OPENSEARCH_INDEX (default images),
// IMAGES_BUCKET (default: the event's bucket), S3_USE_PATH_STYLE, FAULT_MODE (see
// package faults).
package main

import (
	"context"
	"math/rand/v2"

	"github.com/imagepipe/imagepipe/functions/lambdaenv"

	"github.com/aws/aws-lambda-go/lambda"

	"github.com/imagepipe/imagepipe/functions/faults"
	"github.com/imagepipe/imagepipe/functions/objects"
	"github.com/imagepipe/imagepipe/functions/steps/removedocument"
)

func main() {
	lambdaenv.Setup()
	mode := faults.FromEnv("remove-document")
	cfg := lambdaenv.AWSConfig(context.Background())
	h := removedocument.Handler{
		Index:           lambdaenv.SearchIndex(cfg),
		Store:           objects.Store{S3: lambdaenv.S3(cfg)},
		ThumbnailBucket: lambdaenv.String("IMAGES_BUCKET", ""),
	}
	lambda.Start(faults.Wrap("remove-document", mode, rand.Float64, h.Handle))
}
