package asl

import (
	"context"
	"encoding/json"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/lambda"
)

const fn = "arn:aws:lambda:us-east-1:123456789012:function:"

func mustParse(t *testing.T, def string) *StateMachine {
	t.Helper()
	sm, err := Parse([]byte(def))
	if err != nil {
		t.Fatalf("parse: %v", err)
	}
	return sm
}

func TestParseReportsEveryProblem(t *testing.T) {
	_, err := Parse([]byte(`{"StartAt":"A","States":{
		"A":{"Type":"Task","Resource":"x","Next":"Nowhere","End":true,
			"Retry":[{"ErrorEquals":["States.ALL","Other"]},{"ErrorEquals":["X"]}],
			"Catch":[{"ErrorEquals":["States.ALL"],"Next":"B"},{"ErrorEquals":["Y"],"Next":"B"}]},
		"B":{"Type":"Pass","End":true,"Bogus":1},
		"C":{"Type":"Pass","End":true},
		"D":{"Type":"Wait","Seconds":1,"SecondsPath":"$.x","End":true},
		"E":{"Type":"Choice","Choices":[{"Variable":"$.x","StringEquals":1}]},
		"F":{"Type":"Pass","ResultPath":"$.a[*]","End":true},
		"G":{"Type":"Pass","Parameters":{"x.$":"States.Nope(1)"},"End":true}}}`))
	var ve *ValidationError
	if !errors.As(err, &ve) {
		t.Fatalf("want *ValidationError, got %v", err)
	}
	all := strings.Join(ve.Problems, "\n")
	for _, want := range []string{
		"Next and End are mutually exclusive", `state "Nowhere" does not exist`, "States.ALL must appear alone",
		"States.ALL must be in the last", "unsupported fields Bogus", "/States/C: not reachable",
		"exactly one of Seconds", "/Choices[0]/Next: missing", "/StringEquals: must be a string",
		"is not a reference path", `unknown function "States.Nope"`,
	} {
		if !strings.Contains(all, want) {
			t.Errorf("missing problem %q in:\n%s", want, all)
		}
	}
}

// TypedError's Go type name is the error name Step Functions shows.
type TypedError struct{}

func (*TypedError) Error() string { return "typed <failure>" }

func TestLambdaInvokeHistoryAndErrors(t *testing.T) {
	sm := mustParse(t, `{"StartAt":"T","States":{"T":{"Type":"Task","Resource":"arn:aws:states:::lambda:invoke",
		"Parameters":{"FunctionName":"`+fn+`f","Payload.$":"$"},"OutputPath":"$.Payload","End":true}}}`)
	var events []HistoryEvent
	ok := Functions{"f": lambda.NewHandler(func(ctx context.Context, in map[string]int) (map[string]int, error) {
		return map[string]int{"n": in["n"] + 1}, nil
	})}
	out, err := sm.Run(context.Background(), []byte(`{"n":1}`), Options{Invoker: ok, Clock: newFakeClock(),
		OnEvent: func(e HistoryEvent) { events = append(events, e) }})
	if err != nil || string(out) != `{"n":2}` {
		t.Fatalf("out %s err %v", out, err)
	}
	var types []string
	for i, e := range events {
		types = append(types, e.Type)
		wantPrev := int64(i)
		if e.Type == "TaskStateEntered" {
			wantPrev = 0 // AWS: the first state's previous event is 0, not ExecutionStarted
		}
		if e.ID != int64(i+1) || e.PreviousEventID != wantPrev {
			t.Errorf("event %d ids %d/%d", i, e.ID, e.PreviousEventID)
		}
	}
	if got := strings.Join(types, ","); got != "ExecutionStarted,TaskStateEntered,TaskScheduled,TaskStarted,TaskSucceeded,TaskStateExited,ExecutionSucceeded" {
		t.Fatalf("events %s", got)
	}
	b, _ := json.Marshal(events[2])
	for _, want := range []string{`"timestamp":1714564800.000`, `"type":"TaskScheduled"`, `"resourceType":"lambda"`, `"resource":"invoke"`, `"region":"us-east-1"`, `"parameters":"{\"FunctionName\":`} {
		if !strings.Contains(string(b), want) {
			t.Errorf("TaskScheduled JSON %s lacks %s", b, want)
		}
	}
	var back HistoryEvent
	if err := json.Unmarshal(b, &back); err != nil || back.Type != "TaskScheduled" || !back.Timestamp.Equal(events[2].Timestamp) {
		t.Errorf("round trip: %+v %v", back, err)
	}

	bad := Functions{fn + "f": lambda.NewHandler(func(context.Context) error { return &TypedError{} })}
	_, err = sm.Run(context.Background(), []byte(`{}`), Options{Invoker: bad, Clock: newFakeClock()})
	var ee *ExecutionError
	if !errors.As(err, &ee) || ee.Name != "TypedError" || ee.Cause != `{"errorMessage":"typed \u003cfailure\u003e","errorType":"TypedError"}` {
		t.Fatalf("err %#v", err)
	}
	panicky := Functions{"f": lambda.NewHandler(func(context.Context) error { panic("boom") })}
	_, err = sm.Run(context.Background(), []byte(`{}`), Options{Invoker: panicky, Clock: newFakeClock()})
	if !errors.As(err, &ee) || ee.Name != "string" {
		t.Fatalf("panic err %#v", err)
	}
}

func TestRetryBackoffThroughClock(t *testing.T) {
	sm := mustParse(t, `{"StartAt":"T","States":{"T":{"Type":"Task","Resource":"`+fn+`f",
		"Retry":[{"ErrorEquals":["TypedError"],"IntervalSeconds":2,"MaxAttempts":4,"BackoffRate":3,"MaxDelaySeconds":10}],"End":true}}}`)
	calls := 0
	h := Functions{"f": lambda.NewHandler(func(context.Context) (string, error) {
		calls++
		return "", &TypedError{}
	})}
	clock := newFakeClock()
	_, err := sm.Run(context.Background(), []byte(`{}`), Options{Invoker: h, Clock: clock})
	var ee *ExecutionError
	if !errors.As(err, &ee) || ee.Name != "TypedError" || calls != 5 {
		t.Fatalf("err %v calls %d", err, calls)
	}
	want := []time.Duration{2 * time.Second, 6 * time.Second, 10 * time.Second, 10 * time.Second}
	if got := clock.Sleeps(); len(got) != len(want) || got[0] != want[0] || got[1] != want[1] || got[2] != want[2] || got[3] != want[3] {
		t.Fatalf("sleeps %v, want %v", got, want)
	}
	// FULL jitter scales each delay by Rand.
	sm = mustParse(t, `{"StartAt":"T","States":{"T":{"Type":"Task","Resource":"`+fn+`f",
		"Retry":[{"ErrorEquals":["States.ALL"],"IntervalSeconds":4,"MaxAttempts":1,"JitterStrategy":"FULL"}],"End":true}}}`)
	clock = newFakeClock()
	_, _ = sm.Run(context.Background(), []byte(`{}`), Options{Invoker: h, Clock: clock, Rand: func() float64 { return 0.25 }})
	if got := clock.Sleeps(); len(got) != 1 || got[0] != time.Second {
		t.Fatalf("jittered sleeps %v", got)
	}
}

func TestRuntimeErrorsAreNotCaught(t *testing.T) {
	sm := mustParse(t, `{"StartAt":"T","States":{"T":{"Type":"Task","Resource":"`+fn+`echo","OutputPath":"$.missing",
		"Retry":[{"ErrorEquals":["States.ALL"]}],"Catch":[{"ErrorEquals":["States.ALL"],"Next":"C"}],"End":true},"C":{"Type":"Succeed"}}}`)
	_, err := sm.Run(context.Background(), []byte(`{}`), Options{Invoker: suiteFunctions(), Clock: newFakeClock()})
	var ee *ExecutionError
	if !errors.As(err, &ee) || ee.Name != ErrRuntime || !strings.Contains(ee.Cause, "Invalid path '$.missing'") {
		t.Fatalf("err %v", err)
	}
}

// Item 10: a resource the engine does not run is rejected when the definition is
// created, naming the resource.
func TestUnsupportedResourcesRejected(t *testing.T) {
	for _, r := range []string{"arn:aws:states:::dynamodb:putItem", "arn:aws:states:::lambda:invoke.sync", "arn:aws:states:::aws-sdk:s3:getObject",
		"arn:aws:states:us-east-1:123456789012:activity:a", fn + "f.waitForTaskToken"} {
		_, err := Parse([]byte(`{"StartAt":"T","States":{"T":{"Type":"Task","Resource":"` + r + `","End":true}}}`))
		if err == nil || !strings.Contains(err.Error(), r) || !strings.Contains(err.Error(), "not supported") {
			t.Errorf("%s: %v", r, err)
		}
	}
	for _, r := range []string{"arn:aws:states:::lambda:invoke.waitForTaskToken", "arn:aws:states:::sqs:sendMessage.waitForTaskToken"} {
		if _, err := Parse([]byte(`{"StartAt":"T","States":{"T":{"Type":"Task","Resource":"` + r + `","End":true}}}`)); err != nil {
			t.Errorf("%s: %v", r, err)
		}
	}
}

func TestMaxTransitionsAndCancel(t *testing.T) {
	sm := mustParse(t, `{"StartAt":"A","States":{"A":{"Type":"Pass","Next":"B"},"B":{"Type":"Wait","Seconds":1,"Next":"A"}}}`)
	_, err := sm.Run(context.Background(), []byte(`{}`), Options{Clock: newFakeClock(), MaxTransitions: 50})
	var ee *ExecutionError
	if !errors.As(err, &ee) || ee.Name != ErrRuntime {
		t.Fatalf("err %v", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	var last HistoryEvent
	_, err = sm.Run(ctx, []byte(`{}`), Options{Clock: newFakeClock(), OnEvent: func(e HistoryEvent) { last = e }})
	if !errors.Is(err, context.Canceled) || last.Type != EventExecutionAborted {
		t.Fatalf("err %v last %s", err, last.Type)
	}
}

func TestTaskTimeout(t *testing.T) {
	sm := mustParse(t, `{"StartAt":"T","States":{"T":{"Type":"Task","Resource":"`+fn+`slow","TimeoutSeconds":1,
		"Catch":[{"ErrorEquals":["States.Timeout"],"Next":"C"}],"End":true},"C":{"Type":"Pass","OutputPath":"$.Error","End":true}}}`)
	h := Functions{"slow": lambda.NewHandler(func(ctx context.Context) (string, error) {
		<-ctx.Done() // the engine's deadline ends the call, as Lambda's would
		return "", ctx.Err()
	})}
	out, err := sm.Run(context.Background(), []byte(`{}`), Options{Invoker: h, Clock: newFakeClock()})
	if err != nil || string(out) != `"States.Timeout"` {
		t.Fatalf("out %s err %v", out, err)
	}
}

type memQueue struct {
	mu     sync.Mutex
	bodies []string
}

func (q *memQueue) SendMessage(_ context.Context, url, body string) (string, error) {
	q.mu.Lock()
	defer q.mu.Unlock()
	q.bodies = append(q.bodies, url+" "+body)
	return "msg-1", nil
}

func TestCatchToSQSThenFail(t *testing.T) {
	sm := mustParse(t, `{"StartAt":"T","States":{
		"T":{"Type":"Task","Resource":"`+fn+`f","Catch":[{"ErrorEquals":["States.ALL"],"ResultPath":"$.error","Next":"Q"}],"End":true},
		"Q":{"Type":"Task","Resource":"arn:aws:states:::sqs:sendMessage","Parameters":{"QueueUrl":"http://q/failures",
			"MessageBody":{"error.$":"$.error.Error","cause.$":"$.error.Cause","state":"T","input.$":"$$.Execution.Input"}},"ResultPath":"$.sent","Next":"F"},
		"F":{"Type":"Fail","Error":"PipelineFailed","CausePath":"$.sent.MessageId"}}}`)
	q := &memQueue{}
	h := Functions{"f": lambda.NewHandler(func(context.Context) error { return &TypedError{} })}
	_, err := sm.Run(context.Background(), []byte(`{"k":"v"}`), Options{Invoker: h, Queue: q, Clock: newFakeClock()})
	var ee *ExecutionError
	if !errors.As(err, &ee) || ee.Name != "PipelineFailed" || ee.Cause != "msg-1" {
		t.Fatalf("err %v", err)
	}
	// The body keeps the definition's member order, as AWS's does.
	if len(q.bodies) != 1 || q.bodies[0] != `http://q/failures {"error":"TypedError","cause":"{\"errorMessage\":\"typed \\u003cfailure\\u003e\",\"errorType\":\"TypedError\"}","state":"T","input":{"k":"v"}}` {
		t.Fatalf("bodies %q", q.bodies)
	}
}

func TestParallelAndMapHistory(t *testing.T) {
	sm := mustParse(t, `{"StartAt":"P","States":{"P":{"Type":"Parallel","Branches":[
		{"StartAt":"M","States":{"M":{"Type":"Map","MaxConcurrency":1,"ItemProcessor":{"StartAt":"I","States":{"I":{"Type":"Pass","End":true}}},"End":true}}},
		{"StartAt":"W","States":{"W":{"Type":"Wait","Seconds":5,"End":true}}}],"End":true}}}`)
	var mu sync.Mutex
	byID := map[int64]HistoryEvent{}
	var order []string
	out, err := sm.Run(context.Background(), []byte(`[1,2]`), Options{Clock: newFakeClock(), OnEvent: func(e HistoryEvent) {
		mu.Lock()
		defer mu.Unlock()
		byID[e.ID] = e
		order = append(order, e.Type)
	}})
	if err != nil || string(out) != `[[1,2],[1,2]]` {
		t.Fatalf("out %s err %v", out, err)
	}
	count := map[string]int{}
	for _, ty := range order {
		count[ty]++
	}
	for ty, n := range map[string]int{"ParallelStateStarted": 1, "ParallelStateSucceeded": 1, "MapStateStarted": 1,
		"MapIterationStarted": 2, "MapIterationSucceeded": 2, "PassStateEntered": 2, "WaitStateExited": 1} {
		if count[ty] != n {
			t.Errorf("%s: %d events, want %d (%v)", ty, count[ty], n, order)
		}
	}
	for id, e := range byID {
		if e.PreviousEventID >= id || (e.PreviousEventID > 0 && byID[e.PreviousEventID].Type == "") || (e.PreviousEventID == 0 && id > 2) {
			t.Errorf("event %d (%s) has previous %d", id, e.Type, e.PreviousEventID)
		}
	}
}

func TestFunctionsLookup(t *testing.T) {
	h := lambda.NewHandler(func() (string, error) { return "ok", nil })
	f := Functions{"arn:aws:lambda:us-east-1:1:function:extract-metadata": h}
	for _, name := range []string{"extract-metadata", "arn:aws:lambda:us-east-1:1:function:extract-metadata:$LATEST", "1:extract-metadata"} {
		if out, err := f.Invoke(context.Background(), name, []byte(`{}`)); err != nil || string(out) != `"ok"` {
			t.Errorf("%s: %s %v", name, out, err)
		}
	}
	_, err := f.Invoke(context.Background(), "other", nil)
	var te *TaskError
	if !errors.As(err, &te) || te.Name != "Lambda.ResourceNotFoundException" {
		t.Errorf("unknown function: %v", err)
	}
}
