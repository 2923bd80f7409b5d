package labels

import (
	"context"
	"errors"
	"fmt"
	"net"
	"sort"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/rekognition"
	"github.com/aws/aws-sdk-go-v2/service/rekognition/types"
	smithy "github.com/aws/smithy-go"
	smithyhttp "github.com/aws/smithy-go/transport/http"

	"github.com/imagepipe/imagepipe/functions/pipeline"
)

// RekognitionAPI is the part of *rekognition.Client the labeler uses.
type RekognitionAPI interface {
	DetectLabels(ctx context.Context, in *rekognition.DetectLabelsInput, opts ...func(*rekognition.Options)) (*rekognition.DetectLabelsOutput, error)
	DetectModerationLabels(ctx context.Context, in *rekognition.DetectModerationLabelsInput, opts ...func(*rekognition.Options)) (*rekognition.DetectModerationLabelsOutput, error)
	DetectText(ctx context.Context, in *rekognition.DetectTextInput, opts ...func(*rekognition.Options)) (*rekognition.DetectTextOutput, error)
}

// Rekognition labels an image with Amazon Rekognition: an S3 object, which
// Rekognition reads itself, or image bytes sent with the request.
type Rekognition struct {
	Client        RekognitionAPI
	MaxLabels     int32   // 0 means DefaultMaxLabels
	MinConfidence float32 // 0 means DefaultMinConfidence
	Moderation    bool    // also call DetectModerationLabels
	Text          bool    // also call DetectText
}

// Image is what Rekognition labels: the S3 object Bucket/Key, or, when Bytes is set,
// those bytes (a JPEG or PNG of at most MaxInlineBytes). Bucket and Key name the
// original either way, for error messages.
type Image struct {
	Bucket, Key string
	Bytes       []byte
}

// api is the request's Image: a fresh value per call, as the SDK may keep it.
func (i Image) api() *types.Image {
	if i.Bytes != nil {
		return &types.Image{Bytes: i.Bytes}
	}
	return &types.Image{S3Object: &types.S3Object{Bucket: aws.String(i.Bucket), Name: aws.String(i.Key)}}
}

// DetectImage labels im (and, when asked, finds its moderation labels and text).
func (r Rekognition) DetectImage(ctx context.Context, im Image) (pipeline.Labels, error) {
	bucket, key := im.Bucket, im.Key
	maxLabels, minConf := r.MaxLabels, r.MinConfidence
	if maxLabels <= 0 {
		maxLabels = DefaultMaxLabels
	}
	if minConf <= 0 {
		minConf = DefaultMinConfidence
	}
	img := im.api
	out, err := r.Client.DetectLabels(ctx, &rekognition.DetectLabelsInput{
		Image:         img(),
		MaxLabels:     aws.Int32(maxLabels),
		MinConfidence: aws.Float32(minConf),
	})
	if err != nil {
		return pipeline.Labels{}, classify("DetectLabels", bucket, key, err)
	}
	res := pipeline.Labels{Labels: []pipeline.Label{}, Source: "rekognition"}
	for _, l := range out.Labels {
		lbl := pipeline.Label{Name: aws.ToString(l.Name), Confidence: round1(float64(aws.ToFloat32(l.Confidence)))}
		for _, p := range l.Parents {
			lbl.Parents = append(lbl.Parents, aws.ToString(p.Name))
		}
		res.Labels = append(res.Labels, lbl)
	}
	if r.Moderation {
		mo, err := r.Client.DetectModerationLabels(ctx, &rekognition.DetectModerationLabelsInput{
			Image: img(), MinConfidence: aws.Float32(minConf),
		})
		if err != nil {
			return pipeline.Labels{}, classify("DetectModerationLabels", bucket, key, err)
		}
		for _, l := range mo.ModerationLabels {
			lbl := pipeline.Label{Name: aws.ToString(l.Name), Confidence: round1(float64(aws.ToFloat32(l.Confidence)))}
			if p := aws.ToString(l.ParentName); p != "" {
				lbl.Parents = []string{p}
			}
			res.Moderation = append(res.Moderation, lbl)
		}
	}
	if r.Text {
		to, err := r.Client.DetectText(ctx, &rekognition.DetectTextInput{Image: img()})
		if err != nil {
			return pipeline.Labels{}, classify("DetectText", bucket, key, err)
		}
		// Lines only: words repeat what the lines already say.
		for _, t := range to.TextDetections {
			if t.Type == types.TextTypesLine && aws.ToFloat32(t.Confidence) >= minConf {
				res.Text = append(res.Text, aws.ToString(t.DetectedText))
			}
		}
	}
	sort.SliceStable(res.Labels, func(i, j int) bool { return res.Labels[i].Confidence > res.Labels[j].Confidence })
	return res, nil
}

// classify maps Rekognition errors to the pipeline's typed errors, so that the state
// machine retries throttling and gives up at once on a file Rekognition cannot read.
func classify(op, bucket, key string, err error) error {
	var ae smithy.APIError
	if errors.As(err, &ae) {
		switch ae.ErrorCode() {
		case "ThrottlingException", "ProvisionedThroughputExceededException", "LimitExceededException":
			return &pipeline.ThrottledError{Service: "rekognition", Err: err}
		case "InternalServerError", "ServiceUnavailableException":
			return &pipeline.TransientError{Op: "rekognition " + op, Err: err}
		case "InvalidImageFormatException":
			return &pipeline.NotAnImageError{Reason: "rekognition: " + ae.ErrorMessage()}
		case "ImageTooLargeException":
			// Rekognition does not say the size; its documented S3 image limit is 15 MB.
			return &pipeline.ImageTooLargeError{What: "bytes (size unknown; rekognition: " + ae.ErrorMessage() + ")", Value: -1, Limit: 15 << 20}
		case "InvalidS3ObjectException":
			return &pipeline.ObjectNotFoundError{Bucket: bucket, Key: key}
		}
	}
	var re *smithyhttp.ResponseError
	if errors.As(err, &re) && (re.HTTPStatusCode() >= 500 || re.HTTPStatusCode() == 429) {
		if re.HTTPStatusCode() == 429 {
			return &pipeline.ThrottledError{Service: "rekognition", Err: err}
		}
		return &pipeline.TransientError{Op: "rekognition " + op, Err: err}
	}
	var ne net.Error
	if errors.As(err, &ne) || errors.Is(err, context.DeadlineExceeded) {
		return &pipeline.TransientError{Op: "rekognition " + op, Err: err}
	}
	return fmt.Errorf("rekognition %s s3://%s/%s: %w", op, bucket, key, err)
}
