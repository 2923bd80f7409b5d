package rekognition_test

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"image/color"
	"testing"

	"github.com/aws/aws-lambda-go/lambda"

	"github.com/imagepipe/imagepipe/functions/imaging"
	"github.com/imagepipe/imagepipe/functions/imaging/imagingtest"
	"github.com/imagepipe/imagepipe/functions/labels"
	"github.com/imagepipe/imagepipe/functions/objects"
	"github.com/imagepipe/imagepipe/functions/pipeline"
	"github.com/imagepipe/imagepipe/functions/steps/detectlabels"
)

// The detect-labels step, with the real Rekognition adapter, against the twin's
// Rekognition: what Rekognition reads goes as an S3 object, anything else as a
// rendering the twin accepts, and every upload gets labels.
func TestDetectLabelsStepAgainstTwin(t *testing.T) {
	ts := newTwin(t, nil)
	h := lambda.NewHandler(detectlabels.Handler{
		Store:   objects.Store{S3: ts.s3},
		Labeler: labels.Rekognition{Client: ts.client},
		Limits:  imaging.DefaultLimits,
	}.Handle)
	photo := imagingtest.Photo(300, 200)
	tests := []struct {
		name, key string
		body      []byte
		from      string
	}{
		{"jpeg", "upload/a.jpg", imagingtest.JPEG(photo, 90), pipeline.LabelledOriginal},
		{"png", "upload/p.png", imagingtest.Encode(t, "png", photo), pipeline.LabelledOriginal},
		{"gif", "upload/g.gif", imagingtest.Encode(t, "gif", photo), pipeline.LabelledRendering},
		{"tiff", "upload/t.tiff", imagingtest.Encode(t, "tiff", photo), pipeline.LabelledRendering},
		{"bmp", "upload/b.bmp", imagingtest.Encode(t, "bmp", photo), pipeline.LabelledRendering},
		{"webp", "upload/w.webp", webpSolid(300, 200, color.NRGBA{200, 30, 30, 255}), pipeline.LabelledRendering},
		{"png under 80 pixels", "upload/icon.png", imagingtest.Encode(t, "png", imagingtest.Photo(40, 30)), pipeline.LabelledRendering},
		{"jpeg over 10000 pixels", "upload/wide.jpg", imagingtest.JPEG(imagingtest.Photo(10001, 100), 80), pipeline.LabelledRendering},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			ts.s3.Add("images", tc.key, tc.body)
			raw, err := h.Invoke(context.Background(), event(t, "images", tc.key, len(tc.body)))
			if err != nil {
				t.Fatal(err)
			}
			var out pipeline.Labels
			if err := json.Unmarshal(raw, &out); err != nil {
				t.Fatal(err)
			}
			if out.LabelledFrom != tc.from || len(out.Labels) == 0 || out.Source != "rekognition" {
				t.Errorf("output %s, want labels from the %s", raw, tc.from)
			}
			img, _ := ts.rec.last(t).body["Image"].(map[string]any)
			switch tc.from {
			case pipeline.LabelledOriginal:
				s3o, _ := img["S3Object"].(map[string]any)
				if img["Bytes"] != nil || s3o["Bucket"] != "images" || s3o["Name"] != tc.key {
					t.Errorf("request Image = %v, want the S3 object", img)
				}
			default:
				b64, _ := img["Bytes"].(string)
				jpg, err := base64.StdEncoding.DecodeString(b64)
				if err != nil || img["S3Object"] != nil {
					t.Fatalf("request Image = %.80v, want bytes alone (%v)", img, err)
				}
				if f, _ := imaging.Sniff(jpg); f != imaging.JPEG || len(jpg) > labels.MaxInlineBytes {
					t.Errorf("sent %d bytes of %q, want a JPEG within Rekognition's limit", len(jpg), f)
				}
			}
		})
	}
}

// event is an "Object Created" event for bucket/key (keys here need no URL encoding).
func event(t *testing.T, bucket, key string, size int) []byte {
	t.Helper()
	ev := map[string]any{
		"version": "0", "id": "17793124-05d4-b198-2fde-7ededc63b103", "detail-type": "Object Created",
		"source": "aws.s3", "account": "000000000000", "time": "2024-05-01T12:00:00Z", "region": "us-east-1",
		"resources": []string{"arn:aws:s3:::" + bucket},
		"detail": map[string]any{
			"version": "0", "bucket": map[string]any{"name": bucket},
			"object": map[string]any{"key": key, "size": size, "etag": "b1946ac92492d2347c6235b4d2611184", "sequencer": "00617F08299329D189"},
		},
	}
	b, err := json.Marshal(ev)
	if err != nil {
		t.Fatal(err)
	}
	return b
}
