// Command presign-upload is the upload API Lambda: POST /uploads {"name", "size",
// "contentType"} → a presigned S3 POST for a new key under the caller's own
// upload/<Cognito identity id>/ prefix (package api, PresignUpload).
//
// Environment: IMAGES_BUCKET (required), MAX_OBJECT_BYTES (the pipeline's limit,
// default 50 MiB: the same variable and default as the pipeline functions),
// ALLOWED_ORIGIN (default *), S3_USE_PATH_STYLE.
package main

import (
	"context"
	"strconv"

	"github.com/aws/aws-lambda-go/lambda"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/imagepipe/imagepipe/functions/api"
	"github.com/imagepipe/imagepipe/functions/lambdaenv"
	"github.com/imagepipe/imagepipe/functions/pipeline"
)

func main() {
	lambdaenv.Setup()
	maxBytes, err := strconv.ParseInt(lambdaenv.String("MAX_OBJECT_BYTES", strconv.Itoa(pipeline.MaxUploadBytes)), 10, 64)
	if err != nil || maxBytes < 1 {
		lambdaenv.Fail("MAX_OBJECT_BYTES must be a whole number of bytes, at least 1")
	}
	client := lambdaenv.S3(lambdaenv.AWSConfig(context.Background()))
	lambda.Start(api.PresignUpload{
		Presigner:   s3.NewPresignClient(client),
		Bucket:      lambdaenv.Required("IMAGES_BUCKET"),
		MaxBytes:    maxBytes,
		AllowOrigin: lambdaenv.String("ALLOWED_ORIGIN", "*"),
	}.Handle)
}
