package test

import (
	"bytes"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/imagepipe/imagepipe/functions/imaging/imagingtest"
)

// rekognitionCalls is how many DetectLabels calls the twin's Rekognition has billed:
// it logs one line per answered call.
func (tw *Twin) rekognitionCalls() int {
	return strings.Count(tw.logs.String(), `"msg":"rekognition DetectLabels"`)
}

// The same bytes under a second key are not labelled again: detect-labels finds
// the first document by ETag and size, checks its contentSha256, and copies its
// labels; the twin's Rekognition answers one DetectLabels call for both. Other bytes
// are labelled (the counter counts).
func TestDuplicateBytesAreLabelledOnce(t *testing.T) {
	tw := startTwin(t)
	ctx := ctxT(t)
	put := func(key string, body []byte) {
		t.Helper()
		if _, err := tw.S3().PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String("images"), Key: aws.String(key),
			Body: bytes.NewReader(body), ContentType: aws.String("image/jpeg")}); err != nil {
			t.Fatalf("put %s: %v", key, err)
		}
	}
	body := imagingtest.JPEG(photo(320, 240, 7), 90)

	put("upload/dedupe/first.jpg", body)
	first := tw.documentByKey(t, "upload/dedupe/first.jpg", 60*time.Second)
	if len(first.Labels) == 0 || first.LabelsFrom != "" || first.ContentHash == "" {
		t.Fatalf("first document: labels %v, labelsFrom %q, contentSha256 %q", first.Labels, first.LabelsFrom, first.ContentHash)
	}
	if n := tw.rekognitionCalls(); n != 1 {
		t.Fatalf("after the first upload: %d DetectLabels calls, want 1", n)
	}

	put("upload/dedupe/copy of first.jpg", body)
	second := tw.documentByKey(t, "upload/dedupe/copy of first.jpg", 60*time.Second)
	if second.LabelsFrom != first.ID {
		t.Errorf("second document: labelsFrom %q, want the first's id %s", second.LabelsFrom, first.ID)
	}
	if !reflect.DeepEqual(second.Labels, first.Labels) || second.LabelledFrom != first.LabelledFrom {
		t.Errorf("second document's labels %v (%s), want the first's %v (%s)", second.Labels, second.LabelledFrom, first.Labels, first.LabelledFrom)
	}
	if second.DuplicateOf != first.ID {
		t.Errorf("second document: duplicateOf %q, want %s", second.DuplicateOf, first.ID)
	}
	if n := tw.rekognitionCalls(); n != 1 {
		t.Errorf("after the copy: %d DetectLabels calls, want still 1", n)
	}

	put("upload/dedupe/other.jpg", imagingtest.JPEG(photo(320, 240, 90), 90))
	other := tw.documentByKey(t, "upload/dedupe/other.jpg", 60*time.Second)
	if other.LabelsFrom != "" {
		t.Errorf("other bytes: labelsFrom %q, want none", other.LabelsFrom)
	}
	if n := tw.rekognitionCalls(); n != 2 {
		t.Errorf("after other bytes: %d DetectLabels calls, want 2", n)
	}
}
