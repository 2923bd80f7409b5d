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

// callLog counts invocations per function and fails the functions named in failing,
// once the others have succeeded (waitFor of them), so that the failure aborts no
// sibling branch.
type callLog struct {
	mu      sync.Mutex
	calls   map[string]int
	failing map[string]bool
	waitFor int
	done    chan struct{}
}

func (c *callLog) handler(name string) lambda.Handler {
	return lambda.NewHandler(func(ctx context.Context, in json.RawMessage) (json.RawMessage, error) {
		c.mu.Lock()
		c.calls[name]++
		failing := c.failing[name]
		c.mu.Unlock()
		if failing {
			for range c.waitFor {
				select {
				case <-c.done:
				case <-ctx.Done():
					return nil, ctx.Err()
				}
			}
			return nil, &TypedError{}
		}
		if c.done != nil {
			c.done <- struct{}{}
		}
		return json.RawMessage(`"` + name + `"`), nil
	})
}

func (c *callLog) functions(names ...string) Functions {
	f := Functions{}
	for _, n := range names {
		f[n] = c.handler(n)
	}
	return f
}

// redrive runs def until it fails, then "fixes" the failing functions and redrives
// from the checkpoint (through JSON, as a service stores it). It returns the second
// run's output and events.
func redrive(t *testing.T, def, input string, log *callLog, fns Functions) (string, []HistoryEvent) {
	t.Helper()
	sm := mustParse(t, def)
	_, err := sm.Run(context.Background(), []byte(input), Options{Invoker: fns, Clock: newFakeClock()})
	cp := CheckpointOf(err)
	if cp == nil {
		t.Fatalf("first run: %v, no checkpoint", err)
	}
	b, _ := json.Marshal(cp)
	var back Checkpoint
	if err := json.Unmarshal(b, &back); err != nil {
		t.Fatal(err)
	}
	log.mu.Lock()
	log.failing = map[string]bool{}
	for k := range log.calls {
		delete(log.calls, k)
	}
	log.done = nil
	log.mu.Unlock()
	var evs []HistoryEvent
	var mu sync.Mutex
	out, err := sm.Run(context.Background(), []byte(input), Options{Invoker: fns, Clock: newFakeClock(), Redrive: &back,
		Context: ExecutionContext{Execution: ExecutionInfo{RedriveCount: 1, RedriveTime: time.Date(2024, 5, 2, 0, 0, 0, 0, time.UTC)}},
		OnEvent: func(e HistoryEvent) { mu.Lock(); evs = append(evs, e); mu.Unlock() }})
	if err != nil {
		t.Fatalf("redrive: %v (checkpoint %s)", err, b)
	}
	return string(out), evs
}

func TestRedriveResumesAtTheFailedState(t *testing.T) {
	log := &callLog{calls: map[string]int{}, failing: map[string]bool{"b": true}}
	out, evs := redrive(t, `{"StartAt":"A","States":{
		"A":{"Type":"Task","Resource":"`+fn+`a","ResultPath":"$.a","Next":"B"},
		"B":{"Type":"Task","Resource":"`+fn+`b","ResultPath":"$.b","Retry":[{"ErrorEquals":["States.ALL"],"MaxAttempts":1}],"Next":"C"},
		"C":{"Type":"Pass","Parameters":{"a.$":"$.a","b.$":"$.b","redrives.$":"$$.Execution.RedriveCount","at.$":"$$.Execution.RedriveTime"},"End":true}}}`,
		`{}`, log, log.functions("a", "b"))
	if log.calls["a"] != 0 || log.calls["b"] != 1 {
		t.Fatalf("calls after redrive %v: the successful step must not run again", log.calls)
	}
	if out != `{"a":"a","b":"b","redrives":1,"at":"2024-05-02T00:00:00.000Z"}` {
		t.Fatalf("output %s", out)
	}
	if evs[0].Type != EventExecutionRedriven || evs[0].ExecutionRedrivenEventDetails.RedriveCount != 1 ||
		evs[1].Type != "TaskStateEntered" || evs[1].StateEnteredEventDetails.Name != "B" {
		t.Fatalf("redriven history starts %s %s", evs[0].Type, evs[1].Type)
	}
}

func TestRedriveParallelRunsOnlyTheFailedBranch(t *testing.T) {
	log := &callLog{calls: map[string]int{}, failing: map[string]bool{"two": true}, waitFor: 2, done: make(chan struct{}, 2)}
	branch := func(n string) string {
		return `{"StartAt":"` + n + `","States":{"` + n + `":{"Type":"Task","Resource":"` + fn + n + `","End":true}}}`
	}
	out, evs := redrive(t, `{"StartAt":"P","States":{"P":{"Type":"Parallel","Branches":[`+branch("one")+`,`+branch("two")+`,`+branch("three")+`],"End":true}}}`,
		`{}`, log, log.functions("one", "two", "three"))
	if log.calls["one"] != 0 || log.calls["three"] != 0 || log.calls["two"] != 1 {
		t.Fatalf("calls after redrive %v", log.calls)
	}
	if out != `["one","two","three"]` {
		t.Fatalf("output %s", out)
	}
	entered := 0
	for _, e := range evs {
		if e.Type == "TaskStateEntered" {
			entered++
		}
	}
	if entered != 1 {
		t.Fatalf("%d Task states entered in the redrive", entered)
	}
}

func TestRedriveMapRunsOnlyTheFailedIteration(t *testing.T) {
	log := &callLog{calls: map[string]int{}, failing: map[string]bool{"f1": true}, waitFor: 2, done: make(chan struct{}, 2)}
	fns := log.functions("f0", "f1", "f2")
	out, _ := redrive(t, `{"StartAt":"M","States":{"M":{"Type":"Map","ItemProcessor":{"StartAt":"Call","States":{
		"Call":{"Type":"Task","Resource":"arn:aws:states:::lambda:invoke","Parameters":{"FunctionName.$":"$"},"OutputPath":"$.Payload","End":true}}},"End":true}}}`,
		`["f0","f1","f2"]`, log, fns)
	if log.calls["f0"] != 0 || log.calls["f2"] != 0 || log.calls["f1"] != 1 {
		t.Fatalf("calls after redrive %v", log.calls)
	}
	if out != `["f0","f1","f2"]` {
		t.Fatalf("output %s", out)
	}
}

// A stopped or timed-out run has a checkpoint too: the state it was in.
func TestCheckpointOfStoppedAndTimedOutRuns(t *testing.T) {
	sm := mustParse(t, `{"TimeoutSeconds":10,"StartAt":"P","States":{"P":{"Type":"Pass","Next":"W"},"W":{"Type":"Wait","Seconds":60,"End":true}}}`)
	_, err := sm.Run(context.Background(), []byte(`{"k":1}`), Options{Clock: newFakeClock()})
	if cp := CheckpointOf(err); cp == nil || cp.State != "W" || string(cp.Input) != `{"k":1}` {
		t.Fatalf("timed out: %v %+v", err, cp)
	}
	ctx, cancel := context.WithCancel(context.Background())
	clock := blockedClock{entered: make(chan struct{})}
	go func() { <-clock.entered; cancel() }()
	_, err = mustParse(t, `{"StartAt":"W","States":{"W":{"Type":"Wait","Seconds":60,"End":true}}}`).Run(ctx, []byte(`{}`), Options{Clock: clock})
	var se *StoppedError
	if !errors.As(err, &se) || !errors.Is(err, context.Canceled) || se.Checkpoint == nil || se.Checkpoint.State != "W" {
		t.Fatalf("stopped: %v", err)
	}
	if !strings.Contains(se.Error(), "stopped") {
		t.Fatal(se.Error())
	}
}

// blockedClock parks Sleep until the context ends, announcing it.
type blockedClock struct{ entered chan struct{} }

func (blockedClock) Now() time.Time { return time.Date(2024, 5, 1, 0, 0, 0, 0, time.UTC) }
func (c blockedClock) Sleep(ctx context.Context, _ time.Duration) error {
	close(c.entered)
	<-ctx.Done()
	return ctx.Err()
}

// The pipeline's shape (every error caught, sent to the failure queue, then Fail):
// the only unsuccessful state is the Fail state, so a redrive runs nothing but it and
// fails again at once, on AWS as here. This is why the pipeline redrives caught
// failures from the queue, and RedriveExecution only TIMED_OUT and ABORTED
// executions (statemachine/doc.go).
func TestRedriveOfACaughtFailureRerunsOnlyTheFailState(t *testing.T) {
	log := &callLog{calls: map[string]int{}, failing: map[string]bool{"work": true}}
	q := &memQueue{}
	sm := mustParse(t, `{"StartAt":"Work","States":{
		"Work":{"Type":"Task","Resource":"`+fn+`work","Catch":[{"ErrorEquals":["States.ALL"],"ResultPath":"$.error","Next":"SendToFailureQueue"}],"End":true},
		"SendToFailureQueue":{"Type":"Task","Resource":"arn:aws:states:::sqs:sendMessage","Parameters":{"QueueUrl":"q","MessageBody.$":"$"},"ResultPath":null,"Next":"Failed"},
		"Failed":{"Type":"Fail","ErrorPath":"$.error.Error","CausePath":"$.error.Cause"}}}`)
	fns := log.functions("work")
	_, err := sm.Run(context.Background(), []byte(`{}`), Options{Invoker: fns, Queue: q, Clock: newFakeClock()})
	cp := CheckpointOf(err)
	if cp == nil || cp.State != "Failed" {
		t.Fatalf("checkpoint %+v", cp)
	}
	log.failing = map[string]bool{}
	_, err = sm.Run(context.Background(), []byte(`{}`), Options{Invoker: fns, Queue: q, Clock: newFakeClock(), Redrive: cp})
	var ee *ExecutionError
	if !errors.As(err, &ee) || ee.Name != "TypedError" || log.calls["work"] != 1 || len(q.bodies) != 1 {
		t.Fatalf("redrive: %v, calls %v, %d messages", err, log.calls, len(q.bodies))
	}
}
