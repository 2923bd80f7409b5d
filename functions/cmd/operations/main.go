// Command operations is the operators' API Lambda (API Gateway proxy integration):
// the executions of the pipeline and remove state machines, and the failure queue.
// Package operations holds the routes and their JSON; the stack lets only the
// operators group's role invoke them.
//
// Environment: PIPELINE_STATE_MACHINE_ARN, FAILURE_QUEUE_URL and
// REDRIVE_FUNCTION_NAME (required), IMAGES_BUCKET (POST /images/delete), REMOVE_STATE_MACHINE_ARN, REDRIVE_STATE_MACHINE_ARN, ALLOWED_ORIGIN
// (default *).
package main

import (
	"context"
	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"

	"github.com/aws/aws-lambda-go/lambda"
	lambdasdk "github.com/aws/aws-sdk-go-v2/service/lambda"
	"github.com/aws/aws-sdk-go-v2/service/sfn"
	"github.com/aws/aws-sdk-go-v2/service/sqs"

	"github.com/imagepipe/imagepipe/functions/lambdaenv"
	"github.com/imagepipe/imagepipe/functions/operations"
)

func main() {
	lambdaenv.Setup()
	cfg := lambdaenv.AWSConfig(context.Background()) // honours AWS_ENDPOINT_URL
	lambda.Start(operations.Handler{
		SFN: operations.SDKStepFunctions{Client: sfn.NewFromConfig(cfg, func(o *sfn.Options) {
			o.HTTPClient = operations.WholeBodies(awshttp.NewBuildableClient().GetTransport())
		})},
		Queue:           sqs.NewFromConfig(cfg),
		Lambda:          lambdasdk.NewFromConfig(cfg),
		S3:              lambdaenv.S3(cfg),
		Bucket:          lambdaenv.String("IMAGES_BUCKET", ""),
		QueueURL:        lambdaenv.Required("FAILURE_QUEUE_URL"),
		RedriveFunction: lambdaenv.Required("REDRIVE_FUNCTION_NAME"),
		PipelineArn:     lambdaenv.Required("PIPELINE_STATE_MACHINE_ARN"),
		RemoveArn:       lambdaenv.String("REMOVE_STATE_MACHINE_ARN", ""),
		RedriveJobArn:   lambdaenv.String("REDRIVE_STATE_MACHINE_ARN", ""),
		AllowOrigin:     lambdaenv.String("ALLOWED_ORIGIN", "*"),
	}.Handle)
}
