// Command remove-document is the RemoveDocument Lambda of "Object Deleted" events:
// it removes the search document, the thumbnail and the preview.
//
// Environment: OPENSEARCH_ENDPOINT (required), OPENSEARCH_INDEX (default images),
// IMAGES_BUCKET (default: the event's bucket), S3_USE_PATH_STYLE, FAULT_MODE (see
// package faults).
package main

import (
	"context"
	"log/slog"
	"math/rand/v2"
	"os"

	"github.com/aws/aws-lambda-go/lambda"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/imagepipe/imagepipe/functions/faults"
	"github.com/imagepipe/imagepipe/functions/objects"
	"github.com/imagepipe/imagepipe/functions/searchindex"
	"github.com/imagepipe/imagepipe/functions/steps/removedocument"
)

func main() {
	slog.SetDefault(slog.New(slog.NewJSONHandler(os.Stderr, nil)))
	mode := faults.FromEnv("remove-document")
	endpoint := env("OPENSEARCH_ENDPOINT", "", true)
	cfg := awsConfig(context.Background())
	c, err := searchindex.NewOpenSearchClient(endpoint, cfg, nil)
	if err != nil {
		fail("opensearch client", "error", err.Error())
	}
	pathStyle := env("S3_USE_PATH_STYLE", "false", false) == "true"
	h := removedocument.Handler{
		Index:           &searchindex.OpenSearch{Client: c, Name: env("OPENSEARCH_INDEX", "images", false)},
		Store:           objects.Store{S3: s3.NewFromConfig(cfg, func(o *s3.Options) { o.UsePathStyle = pathStyle || cfg.BaseEndpoint != nil })},
		ThumbnailBucket: env("IMAGES_BUCKET", "", false),
	}
	lambda.Start(faults.Wrap("remove-document", mode, rand.Float64, h.Handle))
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
