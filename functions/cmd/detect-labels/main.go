// Command detect-labels is the DetectLabels Lambda: Amazon Rekognition labels for the
// object an "Object Created" event names.
//
// Environment: MAX_LABELS (default 10), MIN_CONFIDENCE (default 70),
// DETECT_MODERATION and DETECT_TEXT (true/false, default false), LABELER
// ("rekognition", default, or "local": pixel statistics read through S3),
// S3_USE_PATH_STYLE (true for S3-compatible endpoints), FAULT_MODE (see package faults).
package main

import (
	"context"
	"math/rand/v2"
	"strconv"

	"github.com/imagepipe/imagepipe/functions/lambdaenv"

	"github.com/aws/aws-lambda-go/lambda"
	"github.com/aws/aws-sdk-go-v2/service/rekognition"

	"github.com/imagepipe/imagepipe/functions/faults"
	"github.com/imagepipe/imagepipe/functions/labels"
	"github.com/imagepipe/imagepipe/functions/objects"
	"github.com/imagepipe/imagepipe/functions/steps/detectlabels"
)

func main() {
	lambdaenv.Setup()
	mode := faults.FromEnv("detect-labels")
	ctx := context.Background()
	cfg := lambdaenv.AWSConfig(ctx)
	var l labels.Labeler
	switch kind := lambdaenv.String("LABELER", "rekognition"); kind {
	case "rekognition":
		maxLabels, err := strconv.ParseInt(lambdaenv.String("MAX_LABELS", "10"), 10, 32)
		if err != nil || maxLabels < 1 || maxLabels > 1000 {
			lambdaenv.Fail("MAX_LABELS must be an integer between 1 and 1000")
		}
		minConf, err := strconv.ParseFloat(lambdaenv.String("MIN_CONFIDENCE", "70"), 32)
		if err != nil || minConf < 0 || minConf > 100 {
			lambdaenv.Fail("MIN_CONFIDENCE must be a number between 0 and 100")
		}
		l = labels.Rekognition{
			Client:        rekognition.NewFromConfig(cfg),
			MaxLabels:     int32(maxLabels),
			MinConfidence: float32(minConf),
			Moderation:    lambdaenv.Bool("DETECT_MODERATION"),
			Text:          lambdaenv.Bool("DETECT_TEXT"),
		}
	case "local":
		l = labels.Local{Store: objects.Store{S3: lambdaenv.S3(cfg)}}
	default:
		lambdaenv.Fail("LABELER must be rekognition or local", "value", kind)
	}
	lambda.Start(faults.Wrap("detect-labels", mode, rand.Float64, detectlabels.Handler{Labeler: l}.Handle))
}
