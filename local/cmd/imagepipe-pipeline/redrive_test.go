package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	sfntypes "github.com/aws/aws-sdk-go-v2/service/sfn/types"

	"github.com/imagepipe/imagepipe/functions/pipeline"
	"github.com/imagepipe/imagepipe/functions/redrive"
	"github.com/imagepipe/imagepipe/functions/redrive/redrivetest"
	"github.com/imagepipe/imagepipe/local/cli"
)

const twinPipelineArn = "arn:aws:states:us-east-1:000000000000:stateMachine:" + pipelineStateMachine

type redriveWorld struct {
	clock *redrivetest.Clock
	q     *redrivetest.Queue
	sfn   *redrivetest.SFN
}

func newRedriveWorld(t *testing.T) *redriveWorld {
	t.Helper()
	t.Setenv("AWS_ACCESS_KEY_ID", "test")
	t.Setenv("AWS_SECRET_ACCESS_KEY", "test")
	t.Setenv("AWS_REGION", "us-east-1")
	c := redrivetest.NewClock()
	return &redriveWorld{clock: c, q: redrivetest.NewQueue(c), sfn: redrivetest.NewSFN()}
}

// fail queues a failure as the state machine writes it; redriven runs fail the same
// way at once and write a new message.
func (w *redriveWorld) fail(key, errName string) string {
	perm := redrive.IsPermanentError(errName)
	id := w.q.Send(redrivetest.FailureBody(errName, redrivetest.Event(pipeline.DetailTypeCreated, key), redrivetest.ExecutionArn(twinPipelineArn, "s3-run"), &perm))
	w.sfn.OnStart = func(e redrivetest.Execution) {
		w.sfn.Finish(e.Arn, sfntypes.ExecutionStatusFailed, errName)
		w.q.Send(redrivetest.FailureBody(errName, e.Input, e.Arn, &perm))
	}
	w.clock.Advance(time.Millisecond)
	return id
}

// run runs `imagepipe redrive --endpoint … ARGS` on the fakes; it returns the report
// (stdout) and the progress (stderr).
func (w *redriveWorld) run(t *testing.T, args ...string) (redrive.Report, string, error) {
	t.Helper()
	var stdout, stderr bytes.Buffer
	wire := func(_ aws.Config, r *redrive.Redriver) {
		if r.QueueURL != "http://127.0.0.1:4566/000000000000/"+failureQueue || r.PipelineArn != twinPipelineArn {
			t.Errorf("twin defaults: queue %s, pipeline %s", r.QueueURL, r.PipelineArn)
		}
		r.SQS, r.SFN, r.Now = w.q, w.sfn, w.clock.Now
	}
	err := redriveCmd(context.Background(), append([]string{"--endpoint", "http://127.0.0.1:4566"}, args...), &stdout, &stderr, wire)
	var rep redrive.Report
	if jerr := json.Unmarshal(stdout.Bytes(), &rep); jerr != nil && !errors.Is(err, cli.ErrUsage) {
		t.Fatalf("stdout %q: %v (err %v)", stdout.String(), jerr, err)
	}
	return rep, stderr.String(), err
}

// Five files that can never succeed: the command returns at once having started
// nothing, and tells how to run them anyway; --include-permanent starts each once.
func TestRedriveCommandLeavesPermanentFailures(t *testing.T) {
	w := newRedriveWorld(t)
	for i := 0; i < 5; i++ {
		w.fail(fmt.Sprintf("upload/%d.txt", i), pipeline.ErrNameNotAnImage)
	}
	start := time.Now()
	rep, progress, err := w.run(t)
	if err != nil || rep.Started != 0 || rep.Permanent != 5 || !rep.Complete || len(w.sfn.Started()) != 0 {
		t.Fatalf("%+v %v\n%s", rep, err, progress)
	}
	if d := time.Since(start); d > 2*time.Second {
		t.Errorf("took %v", d)
	}
	if strings.Count(progress, "--include-permanent") != 5 || !strings.Contains(progress, "5 permanent") {
		t.Errorf("progress:\n%s", progress)
	}
	rep, progress, err = w.run(t, "--include-permanent")
	if err != nil || rep.Started != 5 || rep.Newer != 5 || len(w.sfn.Started()) != 5 {
		t.Fatalf("forced: %+v %v\n%s", rep, err, progress)
	}
	if !strings.Contains(progress, "redrive 1/5") {
		t.Errorf("progress does not count redrives:\n%s", progress)
	}
}

func TestRedriveCommandByMessage(t *testing.T) {
	w := newRedriveWorld(t)
	a := w.fail("upload/a.txt", pipeline.ErrNameNotAnImage)
	b := w.fail("upload/b.txt", pipeline.ErrNameNotAnImage)
	c := w.fail("upload/c.txt", pipeline.ErrNameNotAnImage)
	rep, progress, err := w.run(t, "--message", a)
	if err != nil || rep.Started != 1 || len(w.sfn.Started()) != 1 || w.sfn.Started()[0].Name != redrive.ExecutionName(a, 1) {
		t.Fatalf("--message: %+v %v\n%s", rep, err, progress)
	}
	rep, progress, err = w.run(t, "--discard", b+",nope")
	if rep.Discarded != 1 || err == nil || !strings.Contains(err.Error(), "nope") {
		t.Fatalf("--discard: %+v %v\n%s", rep, err, progress)
	}
	bodies := w.q.Bodies()
	if _, ok := bodies[b]; ok {
		t.Error("discarded message still queued")
	}
	if _, ok := bodies[c]; !ok || len(bodies) != 2 {
		t.Errorf("queue %v: want c and a's new failure", bodies)
	}
	if _, _, err := w.run(t, "--executions", "--message", a); !errors.Is(err, cli.ErrUsage) {
		t.Errorf("--executions with --message: %v", err)
	}
}

// Bounded: --max stops the run and says how to continue; --sent-before continues.
func TestRedriveCommandBounded(t *testing.T) {
	w := newRedriveWorld(t)
	for i := 0; i < 6; i++ {
		w.fail(fmt.Sprintf("upload/%d.jpg", i), pipeline.ErrNameTransient)
	}
	rep, progress, err := w.run(t, "--max", "4")
	if err != nil || rep.Started != 4 || rep.Complete || !strings.Contains(progress, fmt.Sprintf("--sent-before %d", rep.SentBefore)) {
		t.Fatalf("%+v %v\n%s", rep, err, progress)
	}
	rep, progress, err = w.run(t, "--sent-before", fmt.Sprint(rep.SentBefore))
	if err != nil || rep.Started != 2 || rep.Newer != 4+2 || !rep.Complete || len(w.sfn.Started()) != 6 {
		t.Fatalf("continued: %+v %v\n%s", rep, err, progress)
	}
}
