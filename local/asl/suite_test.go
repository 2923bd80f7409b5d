package asl

import (
	"context"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/aws/aws-lambda-go/lambda"
	"github.com/aws/aws-lambda-go/lambda/messages"
)

// suiteFile is one definition of testdata/ with its runs.
type suiteFile struct {
	Definition json.RawMessage `json:"definition"`
	Cases      []suiteCase     `json:"cases"`
}

type suiteCase struct {
	Input  json.RawMessage `json:"input"`
	Output json.RawMessage `json:"output,omitempty"`
	Error  string          `json:"error,omitempty"`
	Cause  *string         `json:"cause,omitempty"`
}

func loadSuite(t testing.TB) map[string]suiteFile {
	t.Helper()
	files, err := filepath.Glob("testdata/*.json")
	if err != nil || len(files) == 0 {
		t.Fatalf("no suite in testdata: %v", err)
	}
	out := map[string]suiteFile{}
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		var s suiteFile
		if err := json.Unmarshal(b, &s); err != nil {
			t.Fatalf("%s: %v", f, err)
		}
		out[strings.TrimSuffix(filepath.Base(f), ".json")] = s
	}
	return out
}

// CustomError is a typed handler error: Step Functions sees its type name.
type CustomError struct{ Msg string }

func (e *CustomError) Error() string { return e.Msg }

// suiteFunctions are the Go halves of the handler pairs (difftest/handlers.js has
// the JavaScript halves): echo, add, fail (error name from the input), flaky
// (fails with TransientError `failures` times per execution, then succeeds).
func suiteFunctions() Functions {
	var mu sync.Mutex
	calls := 0
	type failIn struct {
		ErrorName string `json:"errorName"`
		Message   string `json:"message"`
	}
	return Functions{
		"echo": lambda.NewHandler(func(_ context.Context, in json.RawMessage) (json.RawMessage, error) { return in, nil }),
		"add": lambda.NewHandler(func(_ context.Context, in struct{ A, B float64 }) (float64, error) {
			return in.A + in.B, nil
		}),
		"fail": lambda.NewHandler(func(_ context.Context, in failIn) (any, error) {
			if in.ErrorName == "CustomError" {
				return nil, &CustomError{Msg: in.Message}
			}
			return nil, messages.InvokeResponse_Error{Type: in.ErrorName, Message: in.Message}
		}),
		"flaky": lambda.NewHandler(func(_ context.Context, in struct{ Failures int }) (map[string]int, error) {
			mu.Lock()
			defer mu.Unlock()
			calls++
			if calls <= in.Failures {
				return nil, messages.InvokeResponse_Error{Type: "TransientError", Message: "try again"}
			}
			return map[string]int{"attempts": calls}, nil
		}),
	}
}

func TestSuite(t *testing.T) {
	for name, s := range loadSuite(t) {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			sm, err := Parse(s.Definition)
			if err != nil {
				t.Fatalf("parse: %v", err)
			}
			for i, c := range s.Cases {
				out, err := sm.Run(context.Background(), c.Input, Options{Invoker: suiteFunctions(), Clock: newFakeClock()})
				if c.Error != "" {
					var ee *ExecutionError
					if !errors.As(err, &ee) || ee.Name != c.Error {
						t.Errorf("case %d: want error %s, got %v (output %s)", i, c.Error, err, out)
						continue
					}
					if c.Cause != nil && ee.Cause != *c.Cause {
						t.Errorf("case %d: cause %q, want %q", i, ee.Cause, *c.Cause)
					}
					continue
				}
				if err != nil {
					t.Errorf("case %d: %v", i, err)
					continue
				}
				if !sameJSON(t, out, c.Output) {
					t.Errorf("case %d: output %s, want %s", i, out, c.Output)
				}
			}
		})
	}
}

func sameJSON(t testing.TB, a, b []byte) bool {
	t.Helper()
	x, err1 := decodeJSON(a)
	y, err2 := decodeJSON(b)
	return err1 == nil && err2 == nil && jsonEqual(x, y)
}
