package labels

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/rekognition"

	"github.com/imagepipe/imagepipe/functions/pipeline"
)

type recorded struct {
	target, auth string
	body         map[string]any
}

// fakeRekognition answers each X-Amz-Target with a canned status and body, and
// records the requests.
type fakeRekognition struct {
	mu      sync.Mutex
	reqs    []recorded
	answers map[string]struct {
		status int
		body   string
	}
}

func (f *fakeRekognition) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	b, _ := io.ReadAll(r.Body)
	var body map[string]any
	_ = json.Unmarshal(b, &body)
	target := strings.TrimPrefix(r.Header.Get("X-Amz-Target"), "RekognitionService.")
	f.mu.Lock()
	f.reqs = append(f.reqs, recorded{target: target, auth: r.Header.Get("Authorization"), body: body})
	a, ok := f.answers[target]
	f.mu.Unlock()
	if !ok {
		a.status, a.body = 400, `{"__type":"InvalidParameterException","message":"unexpected"}`
	}
	w.Header().Set("Content-Type", "application/x-amz-json-1.1")
	w.WriteHeader(a.status)
	io.WriteString(w, a.body)
}

func (f *fakeRekognition) answer(target string, status int, body string) {
	if f.answers == nil {
		f.answers = map[string]struct {
			status int
			body   string
		}{}
	}
	f.answers[target] = struct {
		status int
		body   string
	}{status, body}
}

func newClient(url string) *rekognition.Client {
	return rekognition.NewFromConfig(aws.Config{
		Region:      "eu-west-1",
		Credentials: credentials.NewStaticCredentialsProvider("AKIDEXAMPLE", "secret", ""),
		Retryer:     func() aws.Retryer { return aws.NopRetryer{} },
	}, func(o *rekognition.Options) { o.BaseEndpoint = aws.String(url) })
}

const labelsAnswer = `{"LabelModelVersion":"3.0","Labels":[
 {"Name":"Building","Confidence":88.04,"Parents":[]},
 {"Name":"Lighthouse","Confidence":97.123,"Parents":[{"Name":"Tower"},{"Name":"Building"}]}]}`

func TestRekognitionDetectLabels(t *testing.T) {
	fake := &fakeRekognition{}
	fake.answer("DetectLabels", 200, labelsAnswer)
	fake.answer("DetectModerationLabels", 200, `{"ModerationLabels":[{"Name":"Violence","ParentName":"","Confidence":75.5}]}`)
	fake.answer("DetectText", 200, `{"TextDetections":[
	 {"DetectedText":"KEEP OUT","Type":"LINE","Confidence":99.1},
	 {"DetectedText":"KEEP","Type":"WORD","Confidence":99.1},
	 {"DetectedText":"blur","Type":"LINE","Confidence":20}]}`)
	srv := httptest.NewServer(fake)
	defer srv.Close()

	r := Rekognition{Client: newClient(srv.URL), Moderation: true, Text: true}
	got, err := r.DetectImage(context.Background(), Image{Bucket: "images", Key: "upload/a b.jpg"})
	if err != nil {
		t.Fatal(err)
	}
	if got.Source != "rekognition" || len(got.Labels) != 2 || got.Labels[0].Name != "Lighthouse" ||
		got.Labels[0].Confidence != 97.1 || strings.Join(got.Labels[0].Parents, ",") != "Tower,Building" {
		t.Errorf("labels = %+v", got.Labels)
	}
	if len(got.Moderation) != 1 || got.Moderation[0].Name != "Violence" || got.Moderation[0].Parents != nil {
		t.Errorf("moderation = %+v", got.Moderation)
	}
	if strings.Join(got.Text, "|") != "KEEP OUT" {
		t.Errorf("text = %q", got.Text)
	}
	if len(fake.reqs) != 3 {
		t.Fatalf("requests = %d, want 3", len(fake.reqs))
	}
	req := fake.reqs[0]
	if req.target != "DetectLabels" {
		t.Errorf("first target = %q", req.target)
	}
	if !strings.HasPrefix(req.auth, "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/") || !strings.Contains(req.auth, "/eu-west-1/rekognition/aws4_request") {
		t.Errorf("authorization = %q", req.auth)
	}
	if req.body["MaxLabels"] != float64(DefaultMaxLabels) || req.body["MinConfidence"] != float64(DefaultMinConfidence) {
		t.Errorf("body = %v", req.body)
	}
	s3o := req.body["Image"].(map[string]any)["S3Object"].(map[string]any)
	if s3o["Bucket"] != "images" || s3o["Name"] != "upload/a b.jpg" {
		t.Errorf("S3Object = %v", s3o)
	}
}

func TestRekognitionConfigAndNoExtras(t *testing.T) {
	fake := &fakeRekognition{}
	fake.answer("DetectLabels", 200, `{"Labels":[]}`)
	srv := httptest.NewServer(fake)
	defer srv.Close()
	got, err := Rekognition{Client: newClient(srv.URL), MaxLabels: 5, MinConfidence: 55.5}.DetectImage(context.Background(), Image{Bucket: "b", Key: "upload/k"})
	if err != nil {
		t.Fatal(err)
	}
	if got.Labels == nil || len(got.Labels) != 0 {
		t.Errorf("want empty non-nil labels, got %#v", got.Labels)
	}
	if len(fake.reqs) != 1 || fake.reqs[0].body["MaxLabels"] != 5.0 || fake.reqs[0].body["MinConfidence"] != 55.5 {
		t.Errorf("requests = %+v", fake.reqs)
	}
}

func TestRekognitionErrors(t *testing.T) {
	tests := []struct {
		status int
		body   string
		want   any
	}{
		{400, `{"__type":"ThrottlingException","message":"slow down"}`, &pipeline.ThrottledError{}},
		{400, `{"__type":"ProvisionedThroughputExceededException","message":"x"}`, &pipeline.ThrottledError{}},
		{400, `{"__type":"LimitExceededException","message":"x"}`, &pipeline.ThrottledError{}},
		{500, `{"__type":"InternalServerError","message":"x"}`, &pipeline.TransientError{}},
		{503, `{}`, &pipeline.TransientError{}},
		{400, `{"__type":"InvalidImageFormatException","message":"Request has invalid image format"}`, &pipeline.NotAnImageError{}},
		{400, `{"__type":"ImageTooLargeException","message":"Image size is too large"}`, &pipeline.ImageTooLargeError{}},
		{400, `{"__type":"InvalidS3ObjectException","message":"Unable to get object metadata from S3"}`, &pipeline.ObjectNotFoundError{}},
		{400, `{"__type":"AccessDeniedException","message":"no"}`, nil},
	}
	for _, tc := range tests {
		fake := &fakeRekognition{}
		fake.answer("DetectLabels", tc.status, tc.body)
		srv := httptest.NewServer(fake)
		_, err := Rekognition{Client: newClient(srv.URL)}.DetectImage(context.Background(), Image{Bucket: "b", Key: "upload/k"})
		srv.Close()
		if err == nil {
			t.Errorf("%s: no error", tc.body)
			continue
		}
		if tc.want == nil {
			var th *pipeline.ThrottledError
			var tr *pipeline.TransientError
			if errors.As(err, &th) || errors.As(err, &tr) {
				t.Errorf("%s: %v should not be retryable", tc.body, err)
			}
			continue
		}
		if fmtType(err) != fmtType(tc.want) {
			t.Errorf("%s: err %v is %T, want %T (unwrapped, the state machine's error name)", tc.body, err, err, tc.want)
		}
	}
}

func TestRekognitionDetectImageBytes(t *testing.T) {
	fake := &fakeRekognition{}
	fake.answer("DetectLabels", 200, labelsAnswer)
	srv := httptest.NewServer(fake)
	defer srv.Close()
	jpg := []byte("\xff\xd8\xff pretend jpeg")
	got, err := Rekognition{Client: newClient(srv.URL)}.DetectImage(context.Background(), Image{Bucket: "b", Key: "upload/k.gif", Bytes: jpg})
	if err != nil || len(got.Labels) != 2 {
		t.Fatalf("labels %+v, %v", got, err)
	}
	img := fake.reqs[0].body["Image"].(map[string]any)
	if img["S3Object"] != nil || img["Bytes"] != base64.StdEncoding.EncodeToString(jpg) {
		t.Errorf("Image = %v, want the bytes alone", img)
	}
}
