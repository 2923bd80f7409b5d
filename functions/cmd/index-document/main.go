// Command index-document is the IndexDocument Lambda: it merges the branch results
// into the search document and upserts it in Amazon OpenSearch.
//
// Environment: OPENSEARCH_ENDPOINT (required, https://...), OPENSEARCH_INDEX (default images),
// FAULT_MODE (see package faults).
package main

import (
	"context"
	"log/slog"
	"math/rand/v2"
	"os"

	"github.com/aws/aws-lambda-go/lambda"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/config"

	"github.com/imagepipe/imagepipe/functions/faults"
	"github.com/imagepipe/imagepipe/functions/searchindex"
	"github.com/imagepipe/imagepipe/functions/steps/indexdocument"
)

func main() {
	slog.SetDefault(slog.New(slog.NewJSONHandler(os.Stderr, nil)))
	mode := faults.FromEnv("index-document")
	endpoint := env("OPENSEARCH_ENDPOINT", "", true)
	c, err := searchindex.NewOpenSearchClient(endpoint, awsConfig(context.Background()), nil)
	if err != nil {
		fail("opensearch client", "error", err.Error())
	}
	ix := &searchindex.OpenSearch{Client: c, Name: env("OPENSEARCH_INDEX", "images", false)}
	lambda.Start(faults.Wrap("index-document", mode, rand.Float64, indexdocument.Handler{Index: ix}.Handle))
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
