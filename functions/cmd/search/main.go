// Command search is the search API Lambda (API Gateway proxy integration):
// GET /images?search=Q&from=&size= → {"total": N, "images": [document...]}.
//
// Environment: OPENSEARCH_ENDPOINT (required), OPENSEARCH_INDEX (default images),
// IMAGES_BUCKET (default: each document's bucket), ALLOWED_ORIGIN (default *),
// S3_USE_PATH_STYLE.
package main

import (
	"context"
	"log/slog"
	"os"

	"github.com/aws/aws-lambda-go/lambda"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/imagepipe/imagepipe/functions/api"
	"github.com/imagepipe/imagepipe/functions/searchindex"
)

func main() {
	slog.SetDefault(slog.New(slog.NewJSONHandler(os.Stderr, nil)))
	endpoint := env("OPENSEARCH_ENDPOINT", "", true)
	cfg := awsConfig(context.Background())
	c, err := searchindex.NewOpenSearchClient(endpoint, cfg, nil)
	if err != nil {
		fail("opensearch client", "error", err.Error())
	}
	pathStyle := env("S3_USE_PATH_STYLE", "false", false) == "true"
	s3c := s3.NewFromConfig(cfg, func(o *s3.Options) { o.UsePathStyle = pathStyle || cfg.BaseEndpoint != nil })
	lambda.Start(api.Search{
		Index:           &searchindex.OpenSearch{Client: c, Name: env("OPENSEARCH_INDEX", "images", false)},
		URLs:            api.Presigner{Client: s3.NewPresignClient(s3c)},
		ThumbnailBucket: env("IMAGES_BUCKET", "", false),
		AllowOrigin:     env("ALLOWED_ORIGIN", "*", false),
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
