package detectlabels

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"image"
	"image/png"
	"io"
	"os"
	"testing"

	"github.com/aws/aws-lambda-go/lambda"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"

	"github.com/imagepipe/imagepipe/functions/labels"
	"github.com/imagepipe/imagepipe/functions/objects"
	"github.com/imagepipe/imagepipe/functions/pipeline"
)

func fixture(t *testing.T, name string) []byte {
	t.Helper()
	b, err := os.ReadFile("../../testdata/" + name)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

type stubLabeler struct {
	bucket, key string
	out         pipeline.Labels
	err         error
}

func (s *stubLabeler) Detect(_ context.Context, bucket, key string) (pipeline.Labels, error) {
	s.bucket, s.key = bucket, key
	return s.out, s.err
}

func TestHandleContract(t *testing.T) {
	stub := &stubLabeler{out: pipeline.Labels{Labels: []pipeline.Label{{Name: "Lighthouse", Confidence: 97.1, Parents: []string{"Tower"}}}, Source: "rekognition"}}
	out, err := lambda.NewHandler(Handler{Labeler: stub}.Handle).Invoke(context.Background(), fixture(t, "detect-labels-event.json"))
	if err != nil {
		t.Fatal(err)
	}
	if stub.bucket != "images" || stub.key != "upload/2024/red.png" {
		t.Errorf("labeler asked for %s/%s", stub.bucket, stub.key)
	}
	want := `{"labels":[{"name":"Lighthouse","confidence":97.1,"parents":["Tower"]}],"source":"rekognition"}`
	if string(out) != want {
		t.Errorf("output\n got %s\nwant %s", out, want)
	}
}

func TestHandleErrors(t *testing.T) {
	h := lambda.NewHandler(Handler{Labeler: &stubLabeler{}}.Handle)
	_, err := h.Invoke(context.Background(), fixture(t, "detect-labels-bad-event.json"))
	if err == nil || pipeline.ErrorName(err) != pipeline.ErrNameInvalidEvent {
		t.Errorf("bad event: %v (%s)", err, pipeline.ErrorName(err))
	}
	for _, e := range []error{
		&pipeline.ThrottledError{Service: "rekognition", Err: errors.New("slow")},
		&pipeline.NotAnImageError{Reason: "x"},
	} {
		h := lambda.NewHandler(Handler{Labeler: &stubLabeler{err: e}}.Handle)
		_, err := h.Invoke(context.Background(), fixture(t, "detect-labels-event.json"))
		if err == nil || pipeline.ErrorName(err) != pipeline.ErrorName(e) {
			t.Errorf("want %s, got %v (%s)", pipeline.ErrorName(e), err, pipeline.ErrorName(err))
		}
	}
}

type oneObject struct{ body []byte }

func (o oneObject) GetObject(_ context.Context, in *s3.GetObjectInput, _ ...func(*s3.Options)) (*s3.GetObjectOutput, error) {
	if aws.ToString(in.Key) != "upload/2024/red.png" {
		return nil, &types.NoSuchKey{}
	}
	return &s3.GetObjectOutput{Body: io.NopCloser(bytes.NewReader(o.body)), ContentLength: aws.Int64(int64(len(o.body)))}, nil
}
func (oneObject) PutObject(context.Context, *s3.PutObjectInput, ...func(*s3.Options)) (*s3.PutObjectOutput, error) {
	return nil, errors.New("read only")
}
func (oneObject) DeleteObject(context.Context, *s3.DeleteObjectInput, ...func(*s3.Options)) (*s3.DeleteObjectOutput, error) {
	return nil, errors.New("read only")
}

func TestHandleLocalLabeler(t *testing.T) {
	img := image.NewRGBA(image.Rect(0, 0, 120, 60))
	for i := range img.Pix {
		if i%4 == 0 || i%4 == 3 {
			img.Pix[i] = 255 // opaque red
		}
	}
	var buf bytes.Buffer
	if err := png.Encode(&buf, img); err != nil {
		t.Fatal(err)
	}
	h := Handler{Labeler: labels.Local{Store: objects.Store{S3: oneObject{buf.Bytes()}}}}
	out, err := lambda.NewHandler(h.Handle).Invoke(context.Background(), fixture(t, "detect-labels-event.json"))
	if err != nil {
		t.Fatal(err)
	}
	var got pipeline.Labels
	if err := json.Unmarshal(out, &got); err != nil {
		t.Fatal(err)
	}
	names := map[string]bool{}
	for _, l := range got.Labels {
		names[l.Name] = true
	}
	if got.Source != "local" || !names["Red"] || !names["Landscape"] {
		t.Errorf("local labels: %s", out)
	}
}
