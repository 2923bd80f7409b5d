package main

import (
	"bytes"
	"context"
	"encoding/json"
	"github.com/imagepipe/imagepipe/local/cli"
	"image/jpeg"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"github.com/imagepipe/imagepipe/functions/loadgen"
	"github.com/imagepipe/imagepipe/functions/pipeline"
)

// fakeLoadTwin takes path-style PUTs and serves each uploaded JPEG's document at
// once; it checks every upload decodes.
type fakeLoadTwin struct {
	t      *testing.T
	mu     sync.Mutex
	docs   map[string]bool
	bodies map[string]bool // distinct bodies seen
}

func (f *fakeLoadTwin) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	f.mu.Lock()
	defer f.mu.Unlock()
	switch {
	case r.Method == http.MethodPut:
		bucket, key, _ := strings.Cut(strings.TrimPrefix(r.URL.Path, "/"), "/")
		body, _ := io.ReadAll(r.Body)
		if _, err := jpeg.DecodeConfig(bytes.NewReader(body)); err != nil {
			f.t.Errorf("upload %s is not a JPEG: %v", key, err)
		}
		f.bodies[string(body)] = true
		f.docs[pipeline.DocumentID(bucket, key)] = true
	case r.URL.Path == "/api/failures":
		io.WriteString(w, `{"messages":[]}`)
	case strings.HasPrefix(r.URL.Path, "/api/images/"):
		if !f.docs[strings.TrimPrefix(r.URL.Path, "/api/images/")] {
			http.NotFound(w, r)
			return
		}
		io.WriteString(w, `{}`)
	default:
		http.Error(w, "unexpected", http.StatusBadRequest)
	}
}

func TestLoadCommandAgainstFakeTwin(t *testing.T) {
	t.Setenv("AWS_ACCESS_KEY_ID", "test")
	t.Setenv("AWS_SECRET_ACCESS_KEY", "test")
	t.Setenv("AWS_REGION", "us-east-1")
	fake := &fakeLoadTwin{t: t, docs: map[string]bool{}, bodies: map[string]bool{}}
	srv := httptest.NewServer(fake)
	defer srv.Close()
	var out, errOut bytes.Buffer
	args := []string{"--endpoint", srv.URL, "--api", srv.URL + "/api", "--size", "small", "--count", "3", "--rate", "1000", "--poll", "1ms", "--json"}
	if err := load(context.Background(), args, &out, &errOut); err != nil {
		t.Fatalf("%v\n%s", err, errOut.String())
	}
	var rep loadgen.Report
	if err := json.Unmarshal(out.Bytes(), &rep); err != nil {
		t.Fatalf("%v: %s", err, out.String())
	}
	if rep.Sent != 3 || rep.Indexed != 3 || rep.Failed != 0 || !strings.HasPrefix(rep.Prefix, "upload/load/") {
		t.Errorf("report = %+v", rep)
	}
	if len(fake.bodies) != 3 {
		t.Errorf("%d distinct bodies, want 3", len(fake.bodies))
	}
	if !strings.Contains(errOut.String(), "indexed 3") {
		t.Errorf("no progress line: %q", errOut.String())
	}
}

func TestLoadCommandUsage(t *testing.T) {
	var out, errOut bytes.Buffer
	if err := load(context.Background(), []string{"--rate", "0"}, &out, &errOut); err != cli.ErrUsage {
		t.Errorf("err = %v, want usage", err)
	}
	t.Setenv("AWS_REGION", "us-east-1")
	if err := load(context.Background(), []string{"--count", "1"}, &out, &errOut); err == nil || !strings.Contains(err.Error(), "--state-machine") {
		t.Errorf("AWS without a state machine: err = %v", err)
	}
}

func TestWriteLoadReport(t *testing.T) {
	var buf bytes.Buffer
	writeLoadReport(&buf, loadgen.Report{Stats: loadgen.Stats{Planned: 10, Sent: 10, Indexed: 9, Failed: 1}, P50: 120, P95: 300, P99: 410, Throughput: 4.5, Errors: []string{"k: E in S"}})
	for _, want := range []string{"sent         10 of 10", "indexed      9", "p95 300 ms", "4.50 images/s", "error        k: E in S"} {
		if !strings.Contains(buf.String(), want) {
			t.Errorf("report lacks %q:\n%s", want, buf.String())
		}
	}
	if got := progressLine(loadgen.Stats{Planned: 10, Indexed: 5, Sent: 6}); !strings.HasPrefix(got, "[###############...............]") {
		t.Errorf("progress = %q", got)
	}
}
