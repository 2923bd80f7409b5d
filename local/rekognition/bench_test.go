package rekognition_test

import (
	"testing"

	"github.com/aws/aws-sdk-go-v2/service/rekognition"

	"github.com/imagepipe/imagepipe/functions/imaging/imagingtest"
)

// One DetectLabels of a 12 MP, quality-90 grainy photo (~4.7 MB) from S3, through
// the SDK and HTTP: the twin's work per uploaded photo. Compare with
// functions/labels BenchmarkDetectGrainy12MP, the labeler alone.
func BenchmarkDetectLabelsS3Object12MP(b *testing.B) {
	ts := newTwin(b, nil)
	data := imagingtest.JPEG(imagingtest.Grainy(4000, 3000), 90)
	ts.s3.Add("images", "upload/photo.jpg", data)
	in := &rekognition.DetectLabelsInput{Image: s3Image("images", "upload/photo.jpg")}
	b.SetBytes(int64(len(data)))
	b.ResetTimer()
	for b.Loop() {
		if _, err := ts.detect(in); err != nil {
			b.Fatal(err)
		}
	}
}
