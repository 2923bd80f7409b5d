// Command ping is the ping API Lambda: GET /ping → {"count": N}.
//
// Environment: OPENSEARCH_ENDPOINT (required), OPENSEARCH_INDEX (default images),
// ALLOWED_ORIGIN (default *).
package main

import (
	"context"
	"log/slog"
	"os"

	"github.com/aws/aws-lambda-go/lambda"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/config"

	"github.com/imagepipe/imagepipe/functions/api"
	"github.com/imagepipe/imagepipe/functions/searchindex"
)

func main() {
	slog.SetDefault(slog.New(slog.NewJSONHandler(os.Stderr, nil)))
	endpoint := env("OPENSEARCH_ENDPOINT", "", true)
	c, err := searchindex.NewOpenSearchClient(endpoint, awsConfig(context.Background()), nil)
	if err != nil {
		fail("opensearch client", "error", err.Error())
	}
	lambda.Start(api.Ping{
		Index:       &searchindex.OpenSearch{Client: c, Name: env("OPENSEARCH_INDEX", "images", false)},
		AllowOrigin: env("ALLOWED_ORIGIN", "*", false),
	}.Handle)
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
