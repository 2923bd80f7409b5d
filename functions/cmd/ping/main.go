// Command ping is the ping API Lambda: GET /ping → {"count": N}.
//
// Environment: OPENSEARCH_ENDPOINT (required), OPENSEARCH_INDEX (default images),
// ALLOWED_ORIGIN (default *).
package main

import (
	"context"

	"github.com/imagepipe/imagepipe/functions/lambdaenv"

	"github.com/aws/aws-lambda-go/lambda"

	"github.com/imagepipe/imagepipe/functions/api"
)

func main() {
	lambdaenv.Setup()
	lambda.Start(api.Ping{
		Index:       lambdaenv.SearchIndex(lambdaenv.AWSConfig(context.Background())),
		AllowOrigin: lambdaenv.String("ALLOWED_ORIGIN", "*"),
	}.Handle)
}
