package asl

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"sync"
	"testing"

	"github.com/imagepipe/imagepipe/statemachine"
)

// The redrive job (statemachine/redrive.asl.json) on this engine, with a fake redrive
// Lambda that answers scripted rounds: the round loop, the snapshot carried from the
// first round, the summed output, the round ceiling, input checks and retries.

// roundFake is the redrive Lambda: answer(n, payload) is round n's report (n from 1).
type roundFake struct {
	mu       sync.Mutex
	payloads []map[string]any
	answer   func(n int, payload map[string]any) (map[string]any, error)
}

func (f *roundFake) Invoke(_ context.Context, arn string, payload []byte) ([]byte, error) {
	if arn != "redrive" {
		return nil, &TaskError{Name: "Lambda.ResourceNotFoundException", Cause: arn}
	}
	var p map[string]any
	if err := json.Unmarshal(payload, &p); err != nil {
		return nil, err
	}
	f.mu.Lock()
	f.payloads = append(f.payloads, p)
	n := len(f.payloads)
	f.mu.Unlock()
	out, err := f.answer(n, p)
	if err != nil {
		return nil, err
	}
	return json.Marshal(out)
}

func (f *roundFake) calls() []map[string]any {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]map[string]any(nil), f.payloads...)
}

func redriveJob(t *testing.T) *StateMachine {
	t.Helper()
	def, err := statemachine.Substitute(statemachine.Redrive(), map[string]string{statemachine.VarRedriveFunctionArn: "redrive"})
	if err != nil {
		t.Fatal(err)
	}
	sm, err := Parse(def)
	if err != nil {
		t.Fatalf("parse redrive.asl.json: %v", err)
	}
	return sm
}

// report is one round's answer, as functions/cmd/redrive writes it.
func report(started, permanent int, complete bool, messages ...map[string]any) map[string]any {
	r := map[string]any{"mode": "queue", "started": started, "existing": 0, "failed": 0, "discarded": 0,
		"permanent": permanent, "parked": 0, "newer": 0, "complete": complete, "sentBefore": 1717243200000, "elapsedMs": 1000}
	if len(messages) > 0 {
		r["messages"] = messages
	}
	return r
}

func runJob(t *testing.T, f *roundFake, input string) (map[string]any, error) {
	t.Helper()
	out, err := redriveJob(t).Run(context.Background(), []byte(input), Options{Invoker: f, Clock: newFakeClock(), Rand: func() float64 { return 0.5 }})
	if err != nil {
		return nil, err
	}
	var m map[string]any
	if err := json.Unmarshal(out, &m); err != nil {
		t.Fatalf("output %s: %v", out, err)
	}
	return m, nil
}

// Three rounds: the first fixes the snapshot, the next two continue from it; the
// output sums what was done and takes what is left from the last round.
func TestRedriveJobRoundsSumFromOneSnapshot(t *testing.T) {
	f := &roundFake{answer: func(n int, _ map[string]any) (map[string]any, error) {
		r := report(2, 7, n == 3, map[string]any{"messageId": fmt.Sprintf("m%d", n), "action": "started"})
		if n == 3 {
			r["permanent"] = 5
		}
		return r, nil
	}}
	out, err := runJob(t, f, `{}`)
	if err != nil {
		t.Fatal(err)
	}
	calls := f.calls()
	if len(calls) != 3 {
		t.Fatalf("%d rounds, want 3", len(calls))
	}
	if calls[0]["sentBefore"] != 0.0 || calls[1]["sentBefore"] != 1717243200000.0 || calls[2]["sentBefore"] != 1717243200000.0 {
		t.Errorf("sentBefore per round: %v, %v, %v; want 0 then the first round's snapshot", calls[0]["sentBefore"], calls[1]["sentBefore"], calls[2]["sentBefore"])
	}
	for i, c := range calls {
		if c["mode"] != "queue" || c["includePermanent"] != false || c["maxSeconds"] != float64(statemachine.RedriveRoundSeconds) || c["messageIds"] != nil {
			t.Errorf("round %d payload %v", i+1, c)
		}
	}
	if out["started"] != 6.0 || out["permanent"] != 5.0 || out["rounds"] != 3.0 || out["complete"] != true || out["elapsedMs"] != 3000.0 {
		t.Errorf("output %v: want started 6 (summed), permanent 5 (last round), rounds 3", out)
	}
	if msgs, _ := out["messages"].([]any); len(msgs) != 3 {
		t.Errorf("messages %v, want the three started outcomes", out["messages"])
	}
}

// A job that never gets through its snapshot stops at the ceiling with a clear error,
// having run exactly RedriveMaxRounds rounds.
func TestRedriveJobStopsAtTheRoundCeiling(t *testing.T) {
	f := &roundFake{answer: func(int, map[string]any) (map[string]any, error) { return report(0, 3, false), nil }}
	_, err := runJob(t, f, `{"includePermanent": true}`)
	var ee *ExecutionError
	if !errors.As(err, &ee) || ee.Name != statemachine.ErrRedriveRoundsExceeded {
		t.Fatalf("error %v, want %s", err, statemachine.ErrRedriveRoundsExceeded)
	}
	if n := len(f.calls()); n != statemachine.RedriveMaxRounds {
		t.Errorf("%d rounds, want the ceiling %d", n, statemachine.RedriveMaxRounds)
	}
	if f.calls()[0]["includePermanent"] != true {
		t.Errorf("includePermanent not passed: %v", f.calls()[0])
	}
	t.Logf("cause: %s", ee.Cause)
}

// With messageIds, a later round is asked only for the ids earlier rounds did not
// start or discard, and the output lists every outcome.
func TestRedriveJobMessageIDsAcrossRounds(t *testing.T) {
	f := &roundFake{answer: func(n int, p map[string]any) (map[string]any, error) {
		if n == 1 {
			return report(1, 0, false, map[string]any{"messageId": "a", "action": "started", "executionArn": "arn:x:a"}), nil
		}
		r := report(0, 0, true, map[string]any{"messageId": "b", "action": "discarded"})
		r["discarded"], r["notFound"] = 1, []string{"c"}
		return r, nil
	}}
	out, err := runJob(t, f, `{"messageIds": ["a", "b", "c"]}`)
	if err != nil {
		t.Fatal(err)
	}
	calls := f.calls()
	if len(calls) != 2 || !reflect.DeepEqual(calls[0]["messageIds"], []any{"a", "b", "c"}) || !reflect.DeepEqual(calls[1]["messageIds"], []any{"b", "c"}) {
		t.Fatalf("payloads %v, want all three ids, then b and c", calls)
	}
	if out["started"] != 1.0 || out["discarded"] != 1.0 || !reflect.DeepEqual(out["notFound"], []any{"c"}) {
		t.Errorf("output %v", out)
	}
	if msgs, _ := out["messages"].([]any); len(msgs) != 2 {
		t.Errorf("messages %v, want a's and b's outcomes", out["messages"])
	}
}

// One id still makes an array for the Lambda.
func TestRedriveJobOneMessageID(t *testing.T) {
	f := &roundFake{answer: func(int, map[string]any) (map[string]any, error) { return report(1, 0, true), nil }}
	if _, err := runJob(t, f, `{"messageIds": ["only"]}`); err != nil {
		t.Fatal(err)
	}
	if got := f.calls()[0]["messageIds"]; !reflect.DeepEqual(got, []any{"only"}) {
		t.Errorf("messageIds %#v, want [only]", got)
	}
}

// Inputs the job does not take fail before any round: an empty id list (the Lambda
// would take it for the whole queue), ids that are not strings, unknown fields.
func TestRedriveJobRefusesBadInput(t *testing.T) {
	for _, in := range []string{`{"messageIds": []}`, `{"messageIds": "a"}`, `{"messageIds": [1]}`, `{"discard": ["a"]}`,
		`{"includePermanent": "yes"}`, `[]`, `"x"`, `{"sentBefore": 5}`} {
		f := &roundFake{answer: func(int, map[string]any) (map[string]any, error) { return report(0, 0, true), nil }}
		_, err := runJob(t, f, in)
		var ee *ExecutionError
		if !errors.As(err, &ee) || ee.Name != statemachine.ErrRedriveInvalidInput {
			t.Errorf("input %s: error %v, want %s", in, err, statemachine.ErrRedriveInvalidInput)
		}
		if n := len(f.calls()); n != 0 {
			t.Errorf("input %s: %d rounds ran", in, n)
		}
	}
}

// Lambda throttling is retried with backoff; the round then counts once.
func TestRedriveJobRetriesThrottling(t *testing.T) {
	f := &roundFake{answer: func(n int, _ map[string]any) (map[string]any, error) {
		if n == 1 {
			return nil, &TaskError{Name: "Lambda.TooManyRequestsException", Cause: "Rate exceeded"}
		}
		return report(1, 0, true), nil
	}}
	out, err := runJob(t, f, `{}`)
	if err != nil {
		t.Fatal(err)
	}
	if n := len(f.calls()); n != 2 || out["rounds"] != 1.0 || out["started"] != 1.0 {
		t.Errorf("%d invocations, output %v; want 2 invocations, one round", n, out)
	}
}
