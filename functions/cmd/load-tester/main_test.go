package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"image/jpeg"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/lambda"
	"github.com/aws/aws-lambda-go/lambdacontext"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/imagepipe/imagepipe/functions/loadgen"
)

// fakeS3 is a path-style S3 that stores PUTs and refuses keys containing deny.
type fakeS3 struct {
	deny    string
	mu      sync.Mutex
	objects map[string][]byte // bucket/key → body
	types   map[string]string
}

func (f *fakeS3) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	path := strings.TrimPrefix(r.URL.Path, "/")
	if r.Method != http.MethodPut {
		http.Error(w, "unexpected "+r.Method, http.StatusMethodNotAllowed)
		return
	}
	body, _ := io.ReadAll(r.Body)
	if f.deny != "" && strings.Contains(path, f.deny) {
		w.Header().Set("Content-Type", "application/xml")
		w.WriteHeader(http.StatusForbidden)
		io.WriteString(w, `<Error><Code>AccessDenied</Code><Message>Access Denied</Message></Error>`)
		return
	}
	f.mu.Lock()
	f.objects[path] = body
	f.types[path] = r.Header.Get("Content-Type")
	f.mu.Unlock()
	w.Header().Set("ETag", `"abc"`)
}

func newHandler(t *testing.T, deny string) (*fakeS3, lambda.Handler) {
	t.Helper()
	f := &fakeS3{deny: deny, objects: map[string][]byte{}, types: map[string]string{}}
	srv := httptest.NewServer(f)
	t.Cleanup(srv.Close)
	client := s3.New(s3.Options{
		BaseEndpoint: aws.String(srv.URL),
		UsePathStyle: true,
		Region:       "us-east-1",
		Credentials:  credentials.NewStaticCredentialsProvider("AKID", "secret", ""),
	})
	h := handler{uploader: loadgen.S3Uploader{Client: client}, bucket: "images", reserve: reserve, margin: margin,
		log: slog.New(slog.NewJSONHandler(io.Discard, nil))}
	return f, lambda.NewHandler(h.handle)
}

// invocation is a context like the runtime's: a request id and a deadline.
func invocation(t *testing.T, requestID string, timeout time.Duration) context.Context {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	t.Cleanup(cancel)
	return lambdacontext.NewContext(ctx, &lambdacontext.LambdaContext{AwsRequestID: requestID})
}

func TestUploadsAtRate(t *testing.T) {
	f, h := newHandler(t, "")
	raw, err := h.Invoke(invocation(t, "req-1", time.Minute), []byte(`{"rate": 40, "duration": "200ms", "size": "small"}`))
	if err != nil {
		t.Fatal(err)
	}
	var out Output
	if err := json.Unmarshal(raw, &out); err != nil {
		t.Fatalf("%v: %s", err, raw)
	}
	if out.RunID != "req-1" || out.Prefix != "upload/load/req-1/" || out.Bucket != "images" || out.Size != "small" {
		t.Errorf("identity: %s", raw)
	}
	if out.Planned != 8 || out.Sent != 8 || out.Failed != 0 || !out.Complete {
		t.Errorf("counts: %s", raw)
	}
	if out.UploadP50Ms <= 0 || out.UploadP50Ms > out.UploadP95Ms || out.UploadP95Ms > out.UploadMaxMs || out.ElapsedMs <= 0 {
		t.Errorf("durations: %s", raw)
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if len(f.objects) != 8 {
		t.Fatalf("S3 holds %d objects, want 8", len(f.objects))
	}
	seen := map[string]bool{}
	for path, body := range f.objects {
		if !strings.HasPrefix(path, "images/upload/load/req-1/") || !strings.HasSuffix(path, ".jpg") {
			t.Errorf("object at %s", path)
		}
		if f.types[path] != "image/jpeg" {
			t.Errorf("%s: Content-Type %q", path, f.types[path])
		}
		cfg, err := jpeg.DecodeConfig(bytes.NewReader(body))
		if err != nil || cfg.Width != 1024 || cfg.Height != 768 {
			t.Errorf("%s: not a 1024x768 JPEG: %v %+v", path, err, cfg)
		}
		if seen[string(body)] {
			t.Errorf("%s: same bytes as another upload", path)
		}
		seen[string(body)] = true
	}
}

func TestRefusedUploadsAreCounted(t *testing.T) {
	_, h := newHandler(t, "000001.jpg")
	raw, err := h.Invoke(invocation(t, "req-2", time.Minute), []byte(`{"rate": 30, "duration": "100ms"}`))
	if err != nil {
		t.Fatal(err)
	}
	var out Output
	_ = json.Unmarshal(raw, &out)
	if out.Planned != 3 || out.Sent != 2 || out.Failed != 1 || len(out.Errors) != 1 || !strings.Contains(out.Errors[0], "AccessDenied") {
		t.Errorf("report: %s", raw)
	}
}

func TestBadInput(t *testing.T) {
	_, h := newHandler(t, "")
	for _, payload := range []string{
		`{"rate": 0, "duration": "30s"}`,
		`{"rate": -1, "duration": "30s"}`,
		`{"rate": 101, "duration": "30s"}`,
		`{"rate": 21, "duration": "30s", "size": "12mp"}`,
		`{"rate": 5, "duration": "1h"}`,
		`{"rate": 5, "duration": "0s"}`,
		`{"rate": 5, "duration": "soon"}`,
		`{"rate": 5, "duration": "30s", "size": "huge"}`,
		`{"rate": 5}`,
		`{"rate": 5, "duration": "4m"}`, // longer than this invocation's time
	} {
		_, err := h.Invoke(invocation(t, "req-3", time.Minute), []byte(payload))
		var ie *InputError
		if !errors.As(err, &ie) {
			t.Errorf("%s: err = %v, want *InputError", payload, err)
		}
	}
}

// blocked never answers an upload before the context ends.
type blocked struct{}

func (blocked) Put(ctx context.Context, _, _ string, _ []byte, _ string) error {
	<-ctx.Done()
	return ctx.Err()
}

func TestStopsBeforeTheDeadline(t *testing.T) {
	h := handler{uploader: blocked{}, bucket: "images", reserve: 0, margin: time.Second,
		log: slog.New(slog.NewJSONHandler(io.Discard, nil)), body: func(int) []byte { return []byte{0xFF, 0xD8} }}
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
	defer cancel()
	out, err := h.handle(ctx, Input{Rate: 5, Duration: "1s"})
	if err != nil {
		t.Fatalf("want a partial report, got %v", err)
	}
	if out.Complete || out.Planned != 5 || out.Sent != 0 || out.Failed == 0 {
		t.Errorf("report = %+v", out)
	}
	if ctx.Err() != nil {
		t.Error("the handler answered after the invocation's deadline")
	}
}
