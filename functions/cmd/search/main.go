// Command search is the search API Lambda (API Gateway proxy integration):
// GET /images?search=Q&from=&size= → {"total": N, "images": [document...]}, and
// GET /images/{id} → the document (404 when there is none).
//
// Environment: OPENSEARCH_ENDPOINT (required), OPENSEARCH_INDEX (default images),
// IMAGES_BUCKET (default: each document's bucket), ALLOWED_ORIGIN (default *),
// S3_USE_PATH_STYLE.
package main

import (
	"context"

	"github.com/imagepipe/imagepipe/functions/lambdaenv"

	"github.com/aws/aws-lambda-go/lambda"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/imagepipe/imagepipe/functions/api"
)

func main() {
	lambdaenv.Setup()
	cfg := lambdaenv.AWSConfig(context.Background())
	lambda.Start(api.Search{
		Index:           lambdaenv.SearchIndex(cfg),
		URLs:            api.Presigner{Client: s3.NewPresignClient(lambdaenv.S3(cfg))},
		ThumbnailBucket: lambdaenv.String("IMAGES_BUCKET", ""),
		AllowOrigin:     lambdaenv.String("ALLOWED_ORIGIN", "*"),
		PrivateFields:   lambdaenv.String("PRIVATE_FIELDS", api.PrivateFieldsSignedIn),
	}.Handle)
}
