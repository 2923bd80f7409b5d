package lambdart

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/lambda/messages"

	"github.com/imagepipe/imagepipe/local/asl"
)

// testBootstrap is the test function (testdata/fn) built for this machine.
var testBootstrap string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "lambdart-test")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	testBootstrap = filepath.Join(dir, "fn", "bootstrap")
	build := exec.Command("go", "build", "-tags", "lambda.norpc", "-o", testBootstrap, "./testdata/fn")
	build.Stdout, build.Stderr = os.Stderr, os.Stderr
	if err := build.Run(); err != nil {
		fmt.Fprintln(os.Stderr, "building the test bootstrap:", err)
		os.RemoveAll(dir)
		os.Exit(1)
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// recorder is a slog.Handler that keeps every record, for assertions on logs.
type recorder struct {
	mu      sync.Mutex
	records []slog.Record
}

func (h *recorder) Enabled(context.Context, slog.Level) bool { return true }
func (h *recorder) Handle(_ context.Context, r slog.Record) error {
	h.mu.Lock()
	h.records = append(h.records, r.Clone())
	h.mu.Unlock()
	return nil
}
func (h *recorder) WithAttrs([]slog.Attr) slog.Handler { return h }
func (h *recorder) WithGroup(string) slog.Handler      { return h }

// find returns the attributes of the records with message msg whose attribute key
// equals value.
func (h *recorder) find(msg, key, value string) []map[string]slog.Value {
	h.mu.Lock()
	defer h.mu.Unlock()
	var out []map[string]slog.Value
	for _, r := range h.records {
		if r.Message != msg {
			continue
		}
		attrs := map[string]slog.Value{"level": slog.StringValue(r.Level.String())}
		r.Attrs(func(a slog.Attr) bool {
			attrs[a.Key] = a.Value
			return true
		})
		if key == "" || attrs[key].String() == value {
			out = append(out, attrs)
		}
	}
	return out
}

// newService returns a Service logging into a recorder, closed when the test ends.
func newService(t *testing.T, opts Options, fns ...Function) (*Service, *recorder) {
	t.Helper()
	rec := &recorder{}
	opts.Logger = slog.New(rec)
	s := New(opts)
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if err := s.Close(ctx); err != nil {
			t.Errorf("Close: %v", err)
		}
	})
	if err := s.Deploy(fns); err != nil {
		t.Fatalf("Deploy: %v", err)
	}
	return s, rec
}

// testFunction is a function running the test bootstrap.
func testFunction(name string) Function {
	return Function{Name: name, Bootstrap: testBootstrap, Timeout: 10 * time.Second, MemoryMB: 256,
		Runtime: "provided.al2023", Handler: "bootstrap", Architecture: "arm64",
		Role: "arn:aws:iam::000000000000:role/" + name + "-role"}
}

// result is the test function's response.
type result struct {
	PID       int               `json:"pid"`
	RequestID string            `json:"requestId"`
	ARN       string            `json:"arn"`
	Deadline  int64             `json:"deadlineInMs"`
	Env       map[string]string `json:"env"`
	Cwd       string            `json:"cwd"`
	Event     json.RawMessage   `json:"event"`
}

func invoke(t *testing.T, s *Service, name, payload string) result {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	out, err := s.Invoke(ctx, name, []byte(payload))
	if err != nil {
		t.Fatalf("Invoke(%s, %s): %v", name, payload, err)
	}
	var r result
	if err := json.Unmarshal(out, &r); err != nil {
		t.Fatalf("response %s: %v", out, err)
	}
	return r
}

// invokeError invokes expecting a function error.
func invokeError(t *testing.T, s *Service, name, payload string) messages.InvokeResponse_Error {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	out, err := s.Invoke(ctx, name, []byte(payload))
	var fe messages.InvokeResponse_Error
	if !errors.As(err, &fe) {
		t.Fatalf("Invoke(%s, %s) = %s, %v; want a function error", name, payload, out, err)
	}
	return fe
}

// invokeTaskError invokes expecting a Lambda service error.
func invokeTaskError(t *testing.T, s *Service, name, payload string) *asl.TaskError {
	t.Helper()
	_, err := s.Invoke(context.Background(), name, []byte(payload))
	var te *asl.TaskError
	if !errors.As(err, &te) {
		t.Fatalf("Invoke(%s) error = %v; want *asl.TaskError", name, err)
	}
	return te
}

func processAlive(pid int) bool {
	// A reaped process is gone; Signal 0 checks existence.
	return syscall.Kill(pid, 0) == nil
}

// barrier is an HTTP endpoint that holds each request until released, so tests can
// keep invocations busy and count them.
type barrier struct {
	srv     *httptest.Server
	arrived chan struct{}
	release chan struct{}
	once    sync.Once
}

func newBarrier(t *testing.T) *barrier {
	b := &barrier{arrived: make(chan struct{}, 100), release: make(chan struct{})}
	b.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b.arrived <- struct{}{}
		select {
		case <-b.release:
		case <-r.Context().Done():
		}
	}))
	t.Cleanup(func() {
		b.open()
		b.srv.Close()
	})
	return b
}

func (b *barrier) open() { b.once.Do(func() { close(b.release) }) }

func (b *barrier) payload() string { return `{"mode":"barrier","url":"` + b.srv.URL + `"}` }

// await waits for n requests to arrive.
func (b *barrier) await(t *testing.T, n int) {
	t.Helper()
	deadline := time.After(20 * time.Second)
	for i := 0; i < n; i++ {
		select {
		case <-b.arrived:
		case <-deadline:
			t.Fatalf("only %d of %d invocations reached the barrier", i, n)
		}
	}
}
