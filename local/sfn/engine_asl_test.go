package sfn

import (
	"context"
	"encoding/json"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/lambda"
	"github.com/imagepipe/imagepipe/local/asl"
)

type notAnImage struct{}

func (*notAnImage) Error() string { return "not an image" }

const parallelDef = `{
  "StartAt": "Both",
  "States": {
    "Both": {
      "Type": "Parallel",
      "Branches": [
        {"StartAt": "Up", "States": {"Up": {"Type": "Task", "Resource": "arn:aws:states:::lambda:invoke",
          "Parameters": {"FunctionName": "upper", "Payload.$": "$"}, "OutputPath": "$.Payload", "End": true}}},
        {"StartAt": "Len", "States": {"Len": {"Type": "Task", "Resource": "arn:aws:states:::lambda:invoke",
          "Parameters": {"FunctionName": "length", "Payload.$": "$"}, "OutputPath": "$.Payload", "End": true}}}
      ],
      "Next": "Done"
    },
    "Done": {"Type": "Pass", "Parameters": {"upper.$": "$[0]", "length.$": "$[1]", "name.$": "$$.Execution.Name"}, "End": true}
  }
}`

// TestRealEngine runs definitions on local/asl through the service: output, error
// names as AWS reports them, and a history whose ids are contiguous.
func TestRealEngine(t *testing.T) {
	type in struct {
		S string `json:"s"`
	}
	fns := asl.Functions{
		"upper": lambda.NewHandler(func(ctx context.Context, v in) (string, error) {
			if v.S == "bad" {
				return "", &notAnImage{}
			}
			return strings.ToUpper(v.S), nil
		}),
		"length": lambda.NewHandler(func(ctx context.Context, v in) (int, error) { return len(v.S), nil }),
	}
	svc, err := Open(testPath(t), Options{Workers: 2, Invoker: fns, Logger: quietLogger()})
	if err != nil {
		t.Fatal(err)
	}
	defer closeNow(t, svc)
	ctx := waitCtx(t)
	if _, err := svc.CreateStateMachine("broken", `{"StartAt":"Nowhere","States":{}}`, ""); !IsErrorType(err, "InvalidDefinition") {
		t.Fatalf("invalid definition accepted: %v", err)
	}
	arn, err := svc.CreateStateMachine("par", parallelDef, "arn:aws:iam::000000000000:role/sfn")
	if err != nil {
		t.Fatal(err)
	}
	ok, err := svc.Start(ctx, arn, "good", `{"s":"abc"}`)
	if err != nil {
		t.Fatal(err)
	}
	bad, err := svc.Start(ctx, arn, "bad", `{"s":"bad"}`)
	if err != nil {
		t.Fatal(err)
	}
	done, err := svc.WaitFor(ctx, ok.ARN)
	if err != nil || done.Status != StatusSucceeded {
		t.Fatalf("%+v %v", done, err)
	}
	_, _, out, _ := svc.Describe(ctx, ok.ARN)
	var got map[string]any
	if err := json.Unmarshal([]byte(out), &got); err != nil || got["upper"] != "ABC" || got["length"] != 3.0 || got["name"] != "good" {
		t.Fatalf("output %s", out)
	}
	evs := history(t, svc, ok.ARN)
	for i, e := range evs {
		if e["id"] != float64(i+1) {
			t.Fatalf("event %d has id %v: %s", i, e["id"], eventTypes(evs))
		}
	}
	if evs[0]["type"] != "ExecutionStarted" || evs[len(evs)-1]["type"] != "ExecutionSucceeded" || len(evs) < 10 {
		t.Fatalf("history %s", eventTypes(evs))
	}
	started := 0
	for _, e := range evs {
		if e["type"] == "ExecutionStarted" {
			started++
		}
	}
	if started != 1 {
		t.Fatalf("%d ExecutionStarted events", started)
	}

	failed, err := svc.WaitFor(ctx, bad.ARN)
	if err != nil || failed.Status != StatusFailed || failed.Error != "notAnImage" || !strings.Contains(failed.Cause, "errorMessage") {
		t.Fatalf("%+v %v", failed, err)
	}
}

// blockingClock parks every Sleep until its context ends, announcing it first.
type blockingClock struct{ sleeping chan struct{} }

func (blockingClock) Now() time.Time { return time.Unix(1700000000, 0) }
func (c blockingClock) Sleep(ctx context.Context, d time.Duration) error {
	c.sleeping <- struct{}{}
	<-ctx.Done()
	return ctx.Err()
}

// TestRealEngineStopDuringWait stops an execution parked in a Wait state.
func TestRealEngineStopDuringWait(t *testing.T) {
	clock := blockingClock{make(chan struct{}, 1)}
	svc, err := Open(testPath(t), Options{Workers: 1, Clock: clock, Logger: quietLogger()})
	if err != nil {
		t.Fatal(err)
	}
	defer closeNow(t, svc)
	ctx := waitCtx(t)
	arn, err := svc.CreateStateMachine("waiter", `{"StartAt":"W","States":{"W":{"Type":"Wait","Seconds":86400,"End":true}}}`, "")
	if err != nil {
		t.Fatal(err)
	}
	ex, err := svc.Start(ctx, arn, "w", "{}")
	if err != nil {
		t.Fatal(err)
	}
	select {
	case <-clock.sleeping:
	case <-ctx.Done():
		t.Fatal("never entered the Wait state")
	}
	if _, err := svc.Stop(ctx, ex.ARN, "Manual", "test"); err != nil {
		t.Fatal(err)
	}
	evs := history(t, svc, ex.ARN)
	if got, want := eventTypes(evs), "ExecutionStarted:1<0,WaitStateEntered:2<0,ExecutionAborted:3<2"; got != want {
		t.Fatalf("history\n got %s\nwant %s", got, want)
	}
	if ex, _ := svc.WaitFor(ctx, ex.ARN); ex.Status != StatusAborted || ex.Error != "Manual" {
		t.Fatalf("%+v", ex)
	}
}

// jumpClock advances at once by every Sleep.
type jumpClock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *jumpClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *jumpClock) Sleep(ctx context.Context, d time.Duration) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
	return ctx.Err()
}

// TestRealEngineTimedOut: the definition's TimeoutSeconds ends the execution
// TIMED_OUT with an ExecutionTimedOut event and, as AWS describes it, no error.
func TestRealEngineTimedOut(t *testing.T) {
	svc, err := Open(testPath(t), Options{Workers: 1, Clock: &jumpClock{now: time.Unix(1700000000, 0)}, Logger: quietLogger()})
	if err != nil {
		t.Fatal(err)
	}
	defer closeNow(t, svc)
	ctx := waitCtx(t)
	arn, err := svc.CreateStateMachine("slow", `{"TimeoutSeconds":5,"StartAt":"W","States":{"W":{"Type":"Wait","Seconds":60,"End":true}}}`, "")
	if err != nil {
		t.Fatal(err)
	}
	ex, err := svc.Start(ctx, arn, "t", "{}")
	if err != nil {
		t.Fatal(err)
	}
	done, err := svc.WaitFor(ctx, ex.ARN)
	if err != nil || done.Status != StatusTimedOut || done.Error != "" || done.Cause != "" {
		t.Fatalf("%+v %v", done, err)
	}
	if got, want := eventTypes(history(t, svc, ex.ARN)), "ExecutionStarted:1<0,WaitStateEntered:2<0,ExecutionTimedOut:3<2"; got != want {
		t.Fatalf("history\n got %s\nwant %s", got, want)
	}
}

// TestRealEngineRedriveResumes: a redrive runs only the failed branch of a Parallel
// (its Lambda is invoked again, the succeeded ones' are not), keeps the others'
// results, and the history and DescribeExecution read as AWS's do.
func TestRealEngineRedriveResumes(t *testing.T) {
	var mu sync.Mutex
	calls := map[string]int{}
	broken := true
	step := func(name string) lambda.Handler {
		return lambda.NewHandler(func(ctx context.Context) (string, error) {
			mu.Lock()
			defer mu.Unlock()
			calls[name]++
			if name == "labels" && broken {
				return "", &notAnImage{}
			}
			return name + "-done", nil
		})
	}
	fns := asl.Functions{"meta": step("meta"), "labels": step("labels"), "index": step("index")}
	svc, err := Open(testPath(t), Options{Workers: 2, Invoker: fns, Logger: quietLogger()})
	if err != nil {
		t.Fatal(err)
	}
	defer closeNow(t, svc)
	ctx := waitCtx(t)
	task := func(n string) string {
		return `{"StartAt":"` + n + `","States":{"` + n + `":{"Type":"Task","Resource":"arn:aws:lambda:us-east-1:000000000000:function:` + n + `","End":true}}}`
	}
	// meta must finish before labels fails, or the failure aborts it (and a redrive
	// would rightly run it again): labels waits in a one-second Wait first.
	arn, err := svc.CreateStateMachine("redrive", `{"StartAt":"Both","States":{
		"Both":{"Type":"Parallel","Branches":[`+task("meta")+`,{"StartAt":"Pause","States":{"Pause":{"Type":"Wait","Seconds":1,"Next":"labels"},
			"labels":{"Type":"Task","Resource":"arn:aws:lambda:us-east-1:000000000000:function:labels","End":true}}}],"Next":"index"},
		"index":{"Type":"Task","Resource":"arn:aws:lambda:us-east-1:000000000000:function:index",
			"Parameters":{"meta.$":"$[0]","labels.$":"$[1]"},"ResultSelector":{"index.$":"$"},"End":true}}}`, "")
	if err != nil {
		t.Fatal(err)
	}
	ex, err := svc.Start(ctx, arn, "r", "{}")
	if err != nil {
		t.Fatal(err)
	}
	if done, err := svc.WaitFor(ctx, ex.ARN); err != nil || done.Status != StatusFailed {
		t.Fatalf("%+v %v", done, err)
	}
	mu.Lock()
	broken = false
	clear(calls)
	mu.Unlock()
	if _, err := svc.Redrive(ctx, ex.ARN); err != nil {
		t.Fatal(err)
	}
	done, err := svc.WaitFor(ctx, ex.ARN)
	if err != nil || done.Status != StatusSucceeded || done.RedriveCount != 1 {
		t.Fatalf("%+v %v", done, err)
	}
	mu.Lock()
	if calls["meta"] != 0 || calls["labels"] != 1 || calls["index"] != 1 {
		t.Errorf("calls in the redrive %v: only the failed branch and what follows may run", calls)
	}
	mu.Unlock()
	_, _, out, _ := svc.Describe(ctx, ex.ARN)
	if out != `{"index":"index-done"}` {
		t.Fatalf("output %s", out)
	}
	evs := history(t, svc, ex.ARN)
	var indexInput any
	for _, e := range evs {
		if d, ok := e["lambdaFunctionScheduledEventDetails"].(map[string]any); ok && strings.HasSuffix(d["resource"].(string), ":index") {
			indexInput = d["input"]
		}
	}
	if indexInput != `{"meta":"meta-done","labels":"labels-done"}` {
		t.Errorf("index got %v: the kept branch result must reach it", indexInput)
	}
	types := eventTypes(evs)
	if !strings.Contains(types, "ExecutionFailed") || !strings.Contains(types, "ExecutionRedriven") || strings.Count(types, "ExecutionStarted") != 1 {
		t.Fatalf("history %s", types)
	}
	if _, err := svc.Redrive(ctx, ex.ARN); !IsErrorType(err, "ExecutionNotRedrivable") {
		t.Fatalf("redrive of a succeeded execution: %v", err)
	}
}
