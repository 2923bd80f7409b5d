package loadgen

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"image/jpeg"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/imagepipe/imagepipe/functions/pipeline"
)

// fakeTwin is an S3 endpoint (path-style PUT) plus the web API: a document becomes
// visible on the second look-up after its upload, and keys containing failKey land
// in the failure queue instead.
type fakeTwin struct {
	failKey string

	mu      sync.Mutex
	objects map[string][]byte // bucket/key → body
	looks   map[string]int    // document id → look-ups
	ids     map[string]string // document id → key
}

func newFakeTwin(failKey string) *fakeTwin {
	return &fakeTwin{failKey: failKey, objects: map[string][]byte{}, looks: map[string]int{}, ids: map[string]string{}}
}

func (f *fakeTwin) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	f.mu.Lock()
	defer f.mu.Unlock()
	switch {
	case r.Method == http.MethodPut:
		path := strings.TrimPrefix(r.URL.Path, "/")
		bucket, key, _ := strings.Cut(path, "/")
		body, _ := io.ReadAll(r.Body)
		f.objects[path] = body
		f.ids[pipeline.DocumentID(bucket, key)] = key
		w.Header().Set("ETag", `"x"`)
	case r.URL.Path == "/api/failures":
		var msgs []map[string]any
		for path := range f.objects {
			bucket, key, _ := strings.Cut(path, "/")
			if f.failKey != "" && strings.Contains(key, f.failKey) {
				ev := pipeline.ObjectEvent{}
				ev.Detail.Bucket.Name, ev.Detail.Object.Key = bucket, key
				body, _ := json.Marshal(map[string]any{"error": "UnsupportedImageError", "cause": "{}", "state": "ExtractMetadata", "input": ev})
				// Half as a JSON string, as an SQS body is, half as the object.
				var raw json.RawMessage = body
				if len(msgs)%2 == 0 {
					raw, _ = json.Marshal(string(body))
				}
				msgs = append(msgs, map[string]any{"messageId": key, "body": raw})
			}
		}
		_ = json.NewEncoder(w).Encode(map[string]any{"messages": msgs})
	case strings.HasPrefix(r.URL.Path, "/api/images/"):
		id := strings.TrimPrefix(r.URL.Path, "/api/images/")
		key, ok := f.ids[id]
		f.looks[id]++
		if !ok || f.looks[id] < 2 || strings.Contains(key, f.failKey) && f.failKey != "" {
			http.Error(w, `{"error":"no document"}`, http.StatusNotFound)
			return
		}
		_ = json.NewEncoder(w).Encode(map[string]string{"id": id, "key": key})
	default:
		http.Error(w, "unexpected "+r.Method+" "+r.URL.Path, http.StatusBadRequest)
	}
}

func s3Client(endpoint string) *s3.Client {
	return s3.New(s3.Options{
		BaseEndpoint: aws.String(endpoint),
		UsePathStyle: true,
		Region:       "us-east-1",
		Credentials:  credentials.NewStaticCredentialsProvider("test", "test", ""),
	})
}

func TestRunAgainstFakeTwin(t *testing.T) {
	fake := newFakeTwin("000003")
	srv := httptest.NewServer(fake)
	defer srv.Close()
	var (
		mu    sync.Mutex
		calls int
		last  Stats
	)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	rep, err := Run(ctx, Config{
		Uploader:    S3Uploader{Client: s3Client(srv.URL)},
		Checker:     APIChecker{BaseURL: srv.URL + "/api"},
		Prefix:      "upload/test/",
		Rate:        500,
		Count:       12,
		Concurrency: 3,
		Poll:        time.Millisecond,
		Body:        func(i int) []byte { return []byte{byte(i)} },
	}, func(s Stats) { mu.Lock(); calls++; last = s; mu.Unlock() })
	if err != nil {
		t.Fatal(err)
	}
	if rep.Planned != 12 || rep.Sent != 12 || rep.Indexed != 11 || rep.Failed != 1 || rep.TimedOut != 0 || rep.UploadFailed != 0 {
		t.Errorf("report = %+v", rep)
	}
	if len(fake.objects) != 12 {
		t.Errorf("fake S3 holds %d objects, want 12", len(fake.objects))
	}
	if _, ok := fake.objects["images/upload/test/000011.jpg"]; !ok {
		t.Errorf("keys: want images/upload/test/000011.jpg among %v", fake.objects)
	}
	if rep.P50 <= 0 || rep.P50 > rep.P95 || rep.P95 > rep.P99 || rep.P99 > rep.Max || rep.Throughput <= 0 {
		t.Errorf("latencies out of order: %+v", rep)
	}
	if len(rep.Errors) != 1 || !strings.Contains(rep.Errors[0], "UnsupportedImageError in ExtractMetadata") {
		t.Errorf("errors = %q", rep.Errors)
	}
	mu.Lock()
	defer mu.Unlock()
	if calls == 0 || !last.Done || last.Indexed != 11 {
		t.Errorf("progress: %d calls, last %+v", calls, last)
	}
}

// never finishes anything.
type never struct{}

func (never) Poll(context.Context, string, []string) (map[string]Outcome, error) { return nil, nil }

type memUploader struct {
	mu   sync.Mutex
	keys []string
	fail error
}

func (m *memUploader) Put(_ context.Context, _, key string, _ []byte, _ string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.fail != nil {
		return m.fail
	}
	m.keys = append(m.keys, key)
	return nil
}

func TestRunDeadlineCountsStragglers(t *testing.T) {
	rep, err := Run(context.Background(), Config{
		Uploader: &memUploader{}, Checker: never{}, Count: 3, Poll: time.Millisecond, Wait: 20 * time.Millisecond,
		Body: func(int) []byte { return []byte("x") },
	}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if rep.Sent != 3 || rep.TimedOut != 3 || rep.Indexed != 0 || !rep.Done {
		t.Errorf("report = %+v", rep)
	}
}

func TestRunUploadFailures(t *testing.T) {
	rep, err := Run(context.Background(), Config{
		Uploader: &memUploader{fail: errors.New("denied")}, Checker: never{}, Count: 4, Poll: time.Millisecond,
		Body: func(int) []byte { return []byte("x") },
	}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if rep.UploadFailed != 4 || rep.Sent != 0 || len(rep.Errors) != 4 || !strings.Contains(rep.Errors[0], "denied") {
		t.Errorf("report = %+v", rep)
	}
}

// An upload-only run (no Checker, as the load-tester Lambda runs it) ends once every
// upload is answered and reports the PUT durations.
func TestRunUploadOnly(t *testing.T) {
	up := &memUploader{}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	rep, err := Run(ctx, Config{
		Uploader: up, Count: 5, Rate: 1000, Poll: time.Millisecond, Prefix: "upload/load/r1/",
		Body: func(int) []byte { return []byte("x") },
	}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if rep.Sent != 5 || rep.Indexed != 0 || rep.Pending != 0 || rep.TimedOut != 0 || !rep.Done {
		t.Errorf("report = %+v", rep)
	}
	if rep.UploadMax < rep.UploadP50 || rep.UploadP99 < rep.UploadP50 {
		t.Errorf("upload percentiles out of order: %+v", rep)
	}
	up.mu.Lock()
	n := len(up.keys)
	up.mu.Unlock()
	if n != 5 {
		t.Errorf("%d uploads, want 5", n)
	}
}

func TestRunCancelled(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	up := &memUploader{}
	rep, err := Run(ctx, Config{
		Uploader: up, Checker: never{}, Rate: 0.001, Count: 5, Poll: time.Millisecond,
		Body: func(int) []byte { return []byte("x") },
	}, func(s Stats) {
		if s.Sent == 1 {
			cancel() // the second upload is due in 1000 s
		}
	})
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("err = %v, want context.Canceled", err)
	}
	if rep.Sent != 1 {
		t.Errorf("report = %+v", rep)
	}
}

func TestConfigErrors(t *testing.T) {
	for _, c := range []Config{
		{},
		{Uploader: &memUploader{}, Checker: never{}},
		{Checker: never{}, Count: 1},
		{Uploader: &memUploader{}, Checker: never{}, Count: 1, Size: "huge"},
	} {
		if _, err := Run(context.Background(), c, nil); !errors.Is(err, ErrConfig) {
			t.Errorf("%+v: err = %v, want ErrConfig", c, err)
		}
	}
}

func TestPercentile(t *testing.T) {
	var d []time.Duration
	for i := 1; i <= 100; i++ {
		d = append(d, time.Duration(i)*time.Millisecond)
	}
	for p, want := range map[float64]time.Duration{50: 50 * time.Millisecond, 95: 95 * time.Millisecond, 99: 99 * time.Millisecond, 100: 100 * time.Millisecond, 0: time.Millisecond} {
		if got := Percentile(d, p); got != want {
			t.Errorf("p%v = %v, want %v", p, got, want)
		}
	}
	if Percentile(nil, 50) != 0 {
		t.Error("empty percentile not 0")
	}
}

func TestSampleJPEGAndNonce(t *testing.T) {
	a, err := SampleJPEG(1, 320, 240, 90)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := SampleJPEG(1, 320, 240, 90)
	c, _ := SampleJPEG(2, 320, 240, 90)
	if !bytes.Equal(a, b) || bytes.Equal(a, c) {
		t.Error("same seed should give the same bytes, another seed other bytes")
	}
	n1, n2 := WithNonce(a, 1), WithNonce(a, 2)
	if bytes.Equal(n1, n2) {
		t.Error("nonces did not change the bytes")
	}
	img, err := jpeg.Decode(bytes.NewReader(n1))
	if err != nil {
		t.Fatalf("JPEG with nonce does not decode: %v", err)
	}
	if img.Bounds().Dx() != 320 || img.Bounds().Dy() != 240 {
		t.Errorf("bounds %v", img.Bounds())
	}
	// Texture and edges: a photo-like image is far from flat.
	rgba := Photo(3, 64, 48)
	seen := map[uint8]bool{}
	for _, v := range rgba.Pix {
		seen[v] = true
	}
	if len(seen) < 64 {
		t.Errorf("only %d distinct channel values", len(seen))
	}
}

func FuzzParseFailure(f *testing.F) {
	f.Add([]byte(`{"error":"E","state":"S","input":{"detail":{"bucket":{"name":"images"},"object":{"key":"upload/a.jpg"}}}}`))
	f.Add([]byte(`"{\"input\":{\"detail\":{\"object\":{\"key\":\"k\"}}}}"`))
	f.Add([]byte(`null`))
	f.Fuzz(func(t *testing.T, raw []byte) {
		b, ok := parseFailure(raw)
		if ok && b.Input.Detail.Object.Key == "" {
			t.Error("ok without a key")
		}
	})
}
