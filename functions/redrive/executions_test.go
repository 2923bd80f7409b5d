package redrive_test

import (
	"context"
	"testing"
	"time"

	sfntypes "github.com/aws/aws-sdk-go-v2/service/sfn/types"

	"github.com/imagepipe/imagepipe/functions/pipeline"
	"github.com/imagepipe/imagepipe/functions/redrive"
	"github.com/imagepipe/imagepipe/functions/redrive/redrivetest"
)

// RedriveExecution resumes the executions that timed out or were stopped, not those
// that failed (their errors were caught into the failure queue, and a redrive would
// re-run only the Fail state), and skips those at the ceiling; a second run finds
// nothing left to do.
func TestFailedExecutions(t *testing.T) {
	w := newWorld(t)
	add := func(name, sm string, status sfntypes.ExecutionStatus, errName string, count int) {
		w.sfn.Add(redrivetest.Execution{StateMachineArn: sm, Name: name, Status: status, Error: errName, RedriveCount: count})
	}
	add("transient", pipelineArn, sfntypes.ExecutionStatusFailed, pipeline.ErrNameTransient, 0)
	add("not-an-image", pipelineArn, sfntypes.ExecutionStatusFailed, pipeline.ErrNameNotAnImage, 0)
	add("timed-out", pipelineArn, sfntypes.ExecutionStatusTimedOut, "States.Timeout", 1)
	add("tired", pipelineArn, sfntypes.ExecutionStatusTimedOut, "States.Timeout", redrive.DefaultCeiling)
	add("remove", removeArn, sfntypes.ExecutionStatusAborted, "", 0)
	add("fine", pipelineArn, sfntypes.ExecutionStatusSucceeded, "", 0)
	ctx := context.Background()

	rep, err := w.r.FailedExecutions(ctx, redrive.Options{})
	if err != nil || rep.Started != 2 || rep.Parked != 1 || !rep.Complete {
		t.Fatalf("%+v %v: want 2 redriven (timed-out, remove), 1 parked", rep, err)
	}
	for _, arn := range w.sfn.Redriven {
		if arn == redrivetest.ExecutionArn(pipelineArn, "transient") || arn == redrivetest.ExecutionArn(pipelineArn, "not-an-image") {
			t.Errorf("a FAILED execution was redriven: %s", arn)
		}
	}
	if rep, _ = w.r.FailedExecutions(ctx, redrive.Options{}); rep.Started != 0 {
		t.Errorf("again: %+v", rep)
	}
}

func TestFailedExecutionsBounded(t *testing.T) {
	w := newWorld(t)
	for _, n := range []string{"a", "b", "c", "d"} {
		w.sfn.Add(redrivetest.Execution{StateMachineArn: pipelineArn, Name: n, Status: sfntypes.ExecutionStatusTimedOut})
	}
	rep, err := w.r.FailedExecutions(context.Background(), redrive.Options{MaxMessages: 3})
	if err != nil || rep.Started != 3 || rep.Complete {
		t.Fatalf("count bound: %+v %v", rep, err)
	}
	w = newWorld(t)
	for _, n := range []string{"a", "b", "c", "d"} {
		w.sfn.Add(redrivetest.Execution{StateMachineArn: pipelineArn, Name: n, Status: sfntypes.ExecutionStatusTimedOut})
	}
	w.r.Now = func() time.Time { w.clock.Advance(time.Second); return w.clock.Now() } // each look takes a second
	if rep, _ = w.r.FailedExecutions(context.Background(), redrive.Options{MaxDuration: 2500 * time.Millisecond}); rep.Started != 2 || rep.Complete {
		t.Errorf("time bound: %+v", rep)
	}
}
