// Package lambdaenv is what every Lambda main does first: read its configuration from
// the environment, failing fast (an init error, exit status 1, a JSON log line saying
// why) on a missing or malformed variable, and load the AWS configuration once.
package lambdaenv

import (
	"context"
	"log/slog"
	"os"
	"strconv"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/imagepipe/imagepipe/functions/searchindex"
)

// Setup makes slog write JSON to stderr, where Lambda sends it to CloudWatch Logs.
func Setup() {
	slog.SetDefault(slog.New(slog.NewJSONHandler(os.Stderr, nil)))
}

// String reads a variable, or def when it is unset or empty.
func String(name, def string) string {
	if v := os.Getenv(name); v != "" {
		return v
	}
	return def
}

// Required reads a variable that must be set.
func Required(name string) string {
	v := os.Getenv(name)
	if v == "" {
		Fail("missing required environment variable " + name)
	}
	return v
}

// Bool reads true/false (default false).
func Bool(name string) bool {
	b, err := strconv.ParseBool(String(name, "false"))
	if err != nil {
		Fail(name + " must be true or false")
	}
	return b
}

// Fail logs why the function cannot start and exits: Lambda reports an init error.
func Fail(msg string, args ...any) {
	slog.Error(msg, args...)
	os.Exit(1)
}

// AWSConfig loads the ordinary AWS configuration (the execution role; AWS_ENDPOINT_URL
// and AWS_ENDPOINT_URL_<SERVICE> where set).
func AWSConfig(ctx context.Context) aws.Config {
	cfg, err := config.LoadDefaultConfig(ctx)
	if err != nil {
		Fail("load AWS configuration", "error", err.Error())
	}
	return cfg
}

// SearchIndex is the OpenSearch index named by OPENSEARCH_ENDPOINT (required) and
// OPENSEARCH_INDEX (default images), SigV4-signed with cfg's credentials.
func SearchIndex(cfg aws.Config) *searchindex.OpenSearch {
	c, err := searchindex.NewOpenSearchClient(Required("OPENSEARCH_ENDPOINT"), cfg, nil)
	if err != nil {
		Fail("opensearch client", "error", err.Error())
	}
	idx := &searchindex.OpenSearch{Client: c, Name: String("OPENSEARCH_INDEX", "images")}
	if v := os.Getenv("OPENSEARCH_REPLICAS"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 0 {
			Fail("OPENSEARCH_REPLICAS must be a whole number of at least 0", "value", v)
		}
		idx.Replicas = &n
	}
	return idx
}

// S3 is an S3 client; path-style addressing when S3_USE_PATH_STYLE=true or an endpoint
// is configured (the twin and other local endpoints speak path-style).
func S3(cfg aws.Config) *s3.Client {
	pathStyle := Bool("S3_USE_PATH_STYLE") || cfg.BaseEndpoint != nil
	return s3.NewFromConfig(cfg, func(o *s3.Options) { o.UsePathStyle = pathStyle })
}
