// Command index-document is the IndexDocument Lambda: it merges the branch results
// into the search document and upserts it in Amazon OpenSearch.
//
// Environment: OPENSEARCH_ENDPOINT (required, https://...), OPENSEARCH_INDEX (default images),
// FAULT_MODE (see package faults).
package main

import (
	"context"
	"math/rand/v2"

	"github.com/imagepipe/imagepipe/functions/lambdaenv"

	"github.com/aws/aws-lambda-go/lambda"

	"github.com/imagepipe/imagepipe/functions/faults"
	"github.com/imagepipe/imagepipe/functions/steps/indexdocument"
)

func main() {
	lambdaenv.Setup()
	mode := faults.FromEnv("index-document")
	ix := lambdaenv.SearchIndex(lambdaenv.AWSConfig(context.Background()))
	lambda.Start(faults.Wrap("index-document", mode, rand.Float64, indexdocument.Handler{Index: ix}.Handle))
}
