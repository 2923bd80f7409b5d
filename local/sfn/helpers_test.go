package sfn

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/imagepipe/imagepipe/local/asl"
)

// fakeEngine runs executions with fn, emitting asl-style events numbered from 1.
type fakeEngine struct {
	fn func(ctx context.Context, spec runSpec) (string, error)

	mu    sync.Mutex
	runs  map[string]int // execution ARN → times run
	valid func(def string) error
}

func (f *fakeEngine) validate(def string) error {
	if f.valid != nil {
		return f.valid(def)
	}
	return nil
}

func (f *fakeEngine) run(ctx context.Context, spec runSpec, emit func(asl.HistoryEvent)) (string, []byte, error) {
	f.mu.Lock()
	if f.runs == nil {
		f.runs = map[string]int{}
	}
	f.runs[spec.Execution.ARN]++
	f.mu.Unlock()
	now := time.Unix(1700000000, 0)
	base := spec.Execution.RunStart // the engine numbers from the run's first event
	emit(asl.HistoryEvent{Timestamp: now, Type: asl.EventExecutionStarted, ID: base, ExecutionStartedEventDetails: &asl.ExecutionStartedEventDetails{Input: spec.Input}})
	emit(asl.HistoryEvent{Timestamp: now, Type: "PassStateEntered", ID: base + 1, PreviousEventID: base, StateEnteredEventDetails: &asl.StateEnteredEventDetails{Name: "P", Input: spec.Input}})
	out, err := "{}", error(nil)
	if f.fn != nil {
		out, err = f.fn(ctx, spec)
	}
	if ctx.Err() != nil {
		return "", nil, ctx.Err()
	}
	if err != nil {
		return "", nil, err
	}
	emit(asl.HistoryEvent{Timestamp: now, Type: "PassStateExited", ID: base + 2, PreviousEventID: base + 1, StateExitedEventDetails: &asl.StateExitedEventDetails{Name: "P", Output: out}})
	emit(asl.HistoryEvent{Timestamp: now, Type: asl.EventExecutionSucceeded, ID: base + 3, PreviousEventID: base + 2, ExecutionSucceededEventDetails: &asl.ExecutionSucceededEventDetails{Output: out}})
	return out, nil, nil
}

// eventJSON builds a stored history event of any type, for tests that fill the store.
func eventJSON(ts time.Time, typ string, id, prev int64, detailsKey string, details any) []byte {
	b, _ := json.Marshal(map[string]any{"timestamp": epoch(ts), "type": typ, "id": id, "previousEventId": prev, detailsKey: details})
	return b
}

func (f *fakeEngine) count(arn string) int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.runs[arn]
}

func quietLogger() *slog.Logger { return slog.New(slog.NewJSONHandler(io.Discard, nil)) }

// openTest opens a service on path with eng and a state machine "sm".
func openTest(t *testing.T, path string, eng engine, workers int) *Service {
	t.Helper()
	svc, err := Open(path, Options{Workers: workers, Logger: quietLogger(), engine: eng})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := svc.CreateStateMachine("sm", `{"StartAt":"P","States":{"P":{"Type":"Pass","End":true}}}`, "arn:aws:iam::000000000000:role/r"); err != nil {
		t.Fatal(err)
	}
	return svc
}

func testPath(t *testing.T) string { return filepath.Join(t.TempDir(), "sfn.db") }

func closeNow(t *testing.T, svc *Service) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := svc.Close(ctx); err != nil {
		t.Fatal(err)
	}
}

func waitCtx(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	t.Cleanup(cancel)
	return ctx
}

// history returns the stored events of arn as maps.
func history(t *testing.T, svc *Service, arn string) []map[string]any {
	t.Helper()
	var out []map[string]any
	err := svc.st.view(func(tx *txn) error {
		list, _ := tx.events(arn, 1, false, 1<<20)
		for _, raw := range list {
			var m map[string]any
			if err := json.Unmarshal(raw, &m); err != nil {
				return err
			}
			out = append(out, m)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func eventTypes(evs []map[string]any) string {
	s := ""
	for i, e := range evs {
		if i > 0 {
			s += ","
		}
		s += fmt.Sprintf("%v:%v<%v", e["type"], e["id"], e["previousEventId"])
	}
	return s
}
