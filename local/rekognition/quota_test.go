package rekognition_test

import (
	"context"
	"net/http/httptest"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/rekognition"

	"github.com/imagepipe/imagepipe/functions/imaging"
	"github.com/imagepipe/imagepipe/functions/imaging/imagingtest"
	"github.com/imagepipe/imagepipe/local/quota"
	twin "github.com/imagepipe/imagepipe/local/rekognition"
)

// Past the TPS quota Rekognition answers ProvisionedThroughputExceededException,
// which the SDK's retryer classifies as a throttle.
func TestDetectLabelsOverTPS(t *testing.T) {
	s3 := imagingtest.NewFakeS3()
	// A bucket of 2 that refills once an hour: the third call in the test is over.
	svc := twin.New(twin.Options{Objects: objectStore{s3: s3}, Limits: imaging.DefaultLimits, TPS: quota.NewBucket(2, 1.0/3600)})
	srv := httptest.NewServer(svc.Handler())
	t.Cleanup(srv.Close)
	client := rekognition.NewFromConfig(aws.Config{
		Region:      "us-east-1",
		Credentials: credentials.NewStaticCredentialsProvider("test", "test", ""),
		Retryer:     func() aws.Retryer { return aws.NopRetryer{} },
	}, func(o *rekognition.Options) { o.BaseEndpoint = aws.String(srv.URL) })
	in := &rekognition.DetectLabelsInput{Image: bytesImage(imagingtest.JPEG(imagingtest.Photo(300, 200), 90))}
	for i := range 2 {
		if _, err := client.DetectLabels(context.Background(), in); err != nil {
			t.Fatalf("call %d within the quota: %v", i+1, err)
		}
	}
	_, err := client.DetectLabels(context.Background(), in)
	if msg := wantCode(t, err, "ProvisionedThroughputExceededException"); msg == "" {
		t.Error("no message")
	}
}
