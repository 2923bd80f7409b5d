package sfn

import (
	"context"
	"encoding/json"
	"strings"
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
	if got, want := eventTypes(evs), "ExecutionStarted:1<0,WaitStateEntered:2<1,ExecutionAborted:3<2"; got != want {
		t.Fatalf("history\n got %s\nwant %s", got, want)
	}
	if ex, _ := svc.WaitFor(ctx, ex.ARN); ex.Status != StatusAborted || ex.Error != "Manual" {
		t.Fatalf("%+v", ex)
	}
}
