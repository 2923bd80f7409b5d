package sfn

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/imagepipe/imagepipe/local/quota"
)

func openQuota(t *testing.T, o Options) *Service {
	t.Helper()
	o.Workers, o.Logger, o.engine = 4, quietLogger(), &fakeEngine{}
	svc, err := Open(testPath(t), o)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := svc.CreateStateMachine("sm", `{"StartAt":"P","States":{"P":{"Type":"Pass","End":true}}}`, "arn:aws:iam::000000000000:role/r"); err != nil {
		t.Fatal(err)
	}
	return svc
}

// StartExecution past its token bucket is ThrottlingException, and nothing is
// recorded for the refused start.
func TestStartExecutionThrottled(t *testing.T) {
	svc := openQuota(t, Options{StartExecutions: quota.NewBucket(2, 1.0/3600)})
	defer closeNow(t, svc)
	for i := range 2 {
		if _, err := svc.Start(context.Background(), StateMachineARN("sm"), fmt.Sprint("e", i), `{}`); err != nil {
			t.Fatalf("start %d within the bucket: %v", i, err)
		}
	}
	_, err := svc.Start(context.Background(), StateMachineARN("sm"), "over", `{}`)
	if !IsErrorType(err, "ThrottlingException") {
		t.Fatalf("start past the bucket: %v, want ThrottlingException", err)
	}
	if _, _, _, err := svc.Describe(context.Background(), ExecutionARN("sm", "over")); !IsErrorType(err, "ExecutionDoesNotExist") {
		t.Fatalf("the throttled start left an execution: %v", err)
	}
}

// Past the state-transition bucket executions wait for tokens rather than fail:
// four executions of one transition each at 20 a second after a burst of one take
// at least 3 × 50 ms, and all succeed.
func TestStateTransitionsWait(t *testing.T) {
	svc := openQuota(t, Options{Transitions: quota.NewBucket(1, 20)})
	defer closeNow(t, svc)
	start := time.Now()
	var arns []string
	for i := range 4 {
		ex, err := svc.Start(context.Background(), StateMachineARN("sm"), fmt.Sprint("e", i), `{}`)
		if err != nil {
			t.Fatal(err)
		}
		arns = append(arns, ex.ARN)
	}
	for _, arn := range arns {
		ex, err := svc.WaitFor(waitCtx(t), arn)
		if err != nil || ex.Status != StatusSucceeded {
			t.Fatalf("%s: %+v %v", arn, ex, err)
		}
	}
	if d := time.Since(start); d < 140*time.Millisecond {
		t.Fatalf("4 transitions took %v; the bucket allows one now and one every 50 ms", d)
	}
}
