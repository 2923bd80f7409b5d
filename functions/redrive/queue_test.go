package redrive_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"slices"
	"testing"
	"time"

	sfntypes "github.com/aws/aws-sdk-go-v2/service/sfn/types"

	"github.com/imagepipe/imagepipe/functions/pipeline"
	"github.com/imagepipe/imagepipe/functions/redrive"
	"github.com/imagepipe/imagepipe/functions/redrive/redrivetest"
)

const (
	pipelineArn = "arn:aws:states:us-east-1:000000000000:stateMachine:ImagePipe-Pipeline"
	removeArn   = "arn:aws:states:us-east-1:000000000000:stateMachine:ImagePipe-Remove"
)

// world is a failure queue, Step Functions and a Redriver on one fake clock.
type world struct {
	clock *redrivetest.Clock
	q     *redrivetest.Queue
	sfn   *redrivetest.SFN
	r     *redrive.Redriver
}

func newWorld(t *testing.T) *world {
	t.Helper()
	c := redrivetest.NewClock()
	w := &world{clock: c, q: redrivetest.NewQueue(c), sfn: redrivetest.NewSFN()}
	w.r = &redrive.Redriver{
		SQS: w.q, SFN: w.sfn, QueueURL: "https://sqs.us-east-1.amazonaws.com/000000000000/ImagePipe-FailureQueue",
		PipelineArn: pipelineArn, RemoveArn: removeArn, Now: c.Now,
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil)),
	}
	return w
}

// fail writes the failure message of a failed execution, as the state machine does
// (the verdict on the error included); count is the execution's redrive count.
func (w *world) fail(key, errName string, count int) string {
	name := fmt.Sprintf("0f0e%028d", len(w.q.IDs())) // an S3-started execution's name
	if count > 0 {
		name = redrive.ExecutionName("earlier-"+key, count)
	}
	perm := redrive.IsPermanentError(errName)
	body := redrivetest.FailureBody(errName, redrivetest.Event(pipeline.DetailTypeCreated, key), redrivetest.ExecutionArn(pipelineArn, name), &perm)
	w.clock.Advance(time.Millisecond)
	id := w.q.Send(body)
	w.clock.Advance(time.Millisecond)
	return id
}

// failAtOnce makes every execution started from now on fail at once with errName and
// write its failure message: the pipeline's behaviour with a file that is not an image.
func (w *world) failAtOnce(errName string) {
	w.sfn.OnStart = func(e redrivetest.Execution) {
		w.sfn.Finish(e.Arn, sfntypes.ExecutionStatusFailed, errName)
		perm := redrive.IsPermanentError(errName)
		w.q.Send(redrivetest.FailureBody(errName, e.Input, e.Arn, &perm))
	}
}

func (w *world) run(t *testing.T, opt redrive.Options) redrive.Report {
	t.Helper()
	rep, err := w.r.FromQueue(context.Background(), opt)
	if err != nil {
		t.Fatalf("FromQueue: %v (report %+v)", err, rep)
	}
	return rep
}

// The runaway case: five files that can never succeed. Redrive answers at once, starts
// nothing, and leaves the five messages visible; forced, it starts each once and does
// not pick up the five new messages its executions wrote.
func TestRedrivePermanentFailuresStartsNoneUnlessForced(t *testing.T) {
	w := newWorld(t)
	w.failAtOnce(pipeline.ErrNameNotAnImage)
	for i := 0; i < 5; i++ {
		w.fail(fmt.Sprintf("upload/notes-%d.txt", i), pipeline.ErrNameNotAnImage, 0)
	}
	rep := w.run(t, redrive.Options{})
	if rep.Started != 0 || rep.Permanent != 5 || !rep.Complete || len(w.sfn.Started()) != 0 {
		t.Fatalf("report %+v, %d executions: want none started, 5 permanent, complete", rep, len(w.sfn.Started()))
	}
	if w.q.Visible() != 5 {
		t.Errorf("%d messages visible after the run, want the 5 left (released, not hidden)", w.q.Visible())
	}
	if w.q.Receives > 3 {
		t.Errorf("%d receives for 5 messages", w.q.Receives)
	}
	for _, o := range rep.Messages {
		if o.Action != redrive.ActionPermanent || o.Error != pipeline.ErrNameNotAnImage || o.Key == "" {
			t.Errorf("outcome %+v", o)
		}
	}

	rep = w.run(t, redrive.Options{IncludePermanent: true})
	if rep.Started != 5 || rep.Newer != 5 || !rep.Complete {
		t.Fatalf("forced: %+v: want 5 started, the 5 failures they wrote seen and left", rep)
	}
	started := w.sfn.Started()
	if len(started) != 5 {
		t.Fatalf("forced: %d executions, want 5 (each message once)", len(started))
	}
	for _, e := range started {
		if e.StateMachineArn != pipelineArn || redrive.RedriveCountOf(e.Arn) != 1 {
			t.Errorf("execution %s of %s: want the pipeline, redrive count 1", e.Arn, e.StateMachineArn)
		}
	}
	// The queue now holds the five messages the redriven executions wrote, count 1.
	if bodies := w.q.Bodies(); len(bodies) != 5 {
		t.Fatalf("%d messages after the forced run, want the 5 new ones", len(bodies))
	} else {
		for id, b := range bodies {
			s, err := redrive.Summarize(b)
			if err != nil || s.RedriveCount != 1 || !s.Permanent || s.Parked {
				t.Errorf("%s: %+v %v, want permanent, count 1", id, s, err)
			}
		}
	}
}

// Transient failures are started once each; what their executions write during the run
// is not picked up, even when SQS's clock is behind ours (the executions check).
func TestRedriveTransientStartsEachOnceNotItsOwnFailures(t *testing.T) {
	for _, skew := range []time.Duration{0, -time.Minute} {
		t.Run(fmt.Sprintf("skew%v", skew), func(t *testing.T) {
			w := newWorld(t)
			w.sfn.OnStart = func(e redrivetest.Execution) {
				w.sfn.Finish(e.Arn, sfntypes.ExecutionStatusFailed, pipeline.ErrNameTransient)
				perm := false
				w.q.SendAt(redrivetest.FailureBody(pipeline.ErrNameTransient, e.Input, e.Arn, &perm), w.clock.Now().Add(skew))
			}
			for i := 0; i < 5; i++ {
				w.fail(fmt.Sprintf("upload/%d.jpg", i), pipeline.ErrNameTransient, 0)
			}
			rep := w.run(t, redrive.Options{})
			if rep.Started != 5 || rep.Newer != 5 || rep.Failed != 0 || !rep.Complete {
				t.Fatalf("report %+v: want 5 started, their 5 new failures left as newer", rep)
			}
			if n := len(w.sfn.Started()); n != 5 {
				t.Fatalf("%d executions, want 5", n)
			}
			if w.q.Visible() != 5 {
				t.Errorf("%d visible, want the 5 new messages", w.q.Visible())
			}
		})
	}
}

// A failure redriven Ceiling times is parked: left in the queue, never started by a
// whole-queue redrive; a redrive naming it starts it.
func TestRedriveCeilingParks(t *testing.T) {
	w := newWorld(t)
	w.failAtOnce(pipeline.ErrNameTransient)
	for i := 0; i < 3; i++ {
		w.fail(fmt.Sprintf("upload/%d.jpg", i), pipeline.ErrNameTransient, 0)
	}
	for round := 1; round <= redrive.DefaultCeiling; round++ {
		w.clock.Advance(time.Second)
		if rep := w.run(t, redrive.Options{}); rep.Started != 3 {
			t.Fatalf("round %d: %+v", round, rep)
		}
	}
	w.clock.Advance(time.Second)
	rep := w.run(t, redrive.Options{})
	if rep.Started != 0 || rep.Parked != 3 || !rep.Complete {
		t.Fatalf("at the ceiling: %+v, want 3 parked", rep)
	}
	if n := len(w.sfn.Started()); n != 3*redrive.DefaultCeiling {
		t.Errorf("%d executions in all, want %d", n, 3*redrive.DefaultCeiling)
	}
	for _, b := range w.q.Bodies() {
		if s, _ := redrive.Summarize(b); !s.Parked || s.RedriveCount != redrive.DefaultCeiling {
			t.Errorf("summary %+v, want parked at %d", s, redrive.DefaultCeiling)
		}
	}
	// A lower ceiling parks sooner; naming a parked message starts it.
	id := w.q.IDs()[0]
	rep = w.run(t, redrive.Options{MessageIDs: []string{id}})
	if rep.Started != 1 || !rep.Complete || len(rep.Messages) != 1 || rep.Messages[0].RedriveCount != redrive.DefaultCeiling {
		t.Fatalf("by id: %+v", rep)
	}
	if got := redrive.RedriveCountOf(rep.Messages[0].ExecutionArn); got != redrive.DefaultCeiling+1 {
		t.Errorf("started %s: count %d, want %d", rep.Messages[0].ExecutionArn, got, redrive.DefaultCeiling+1)
	}
}

// Per-message redrive and discard touch only the named messages; ids the queue does
// not hold are reported.
func TestRedriveAndDiscardByMessageID(t *testing.T) {
	w := newWorld(t)
	w.failAtOnce(pipeline.ErrNameNotAnImage)
	var ids []string
	for i := 0; i < 6; i++ {
		ids = append(ids, w.fail(fmt.Sprintf("upload/%d.txt", i), pipeline.ErrNameNotAnImage, 0))
	}
	rep := w.run(t, redrive.Options{MessageIDs: []string{ids[1], "no-such-id"}, Discard: []string{ids[2], ids[3]}})
	if rep.Started != 1 || rep.Discarded != 2 || rep.Permanent != 0 || !slices.Equal(rep.NotFound, []string{"no-such-id"}) || !rep.Complete {
		t.Fatalf("report %+v", rep)
	}
	started := w.sfn.Started()
	if len(started) != 1 || started[0].Name != redrive.ExecutionName(ids[1], 1) {
		t.Fatalf("executions %+v, want one for %s", started, ids[1])
	}
	bodies := w.q.Bodies()
	for _, gone := range ids[1:4] {
		if _, ok := bodies[gone]; ok {
			t.Errorf("%s still queued", gone)
		}
	}
	for _, kept := range []string{ids[0], ids[4], ids[5]} {
		if _, ok := bodies[kept]; !ok {
			t.Errorf("%s was not asked for and is gone", kept)
		}
	}
	if len(bodies) != 4 || w.q.Visible() != 4 { // 3 untouched + the new failure of the redriven one
		t.Errorf("%d messages (%d visible), want 4", len(bodies), w.q.Visible())
	}
	// Asking again for a message already redriven: not found, nothing started.
	rep = w.run(t, redrive.Options{MessageIDs: []string{ids[1]}})
	if rep.Started != 0 || len(rep.NotFound) != 1 || len(w.sfn.Started()) != 1 {
		t.Errorf("again: %+v", rep)
	}
}

// The time budget stops a run part-way; a follow-up with the same SentBefore continues
// with the snapshot's other messages, and never with what the first run produced.
func TestRedriveTimeBudgetAndContinue(t *testing.T) {
	w := newWorld(t)
	w.sfn.OnStart = func(e redrivetest.Execution) {
		w.clock.Advance(time.Second) // each start takes a second
		perm := false
		w.q.Send(redrivetest.FailureBody(pipeline.ErrNameTransient, e.Input, e.Arn, &perm))
	}
	for i := 0; i < 10; i++ {
		w.fail(fmt.Sprintf("upload/%d.jpg", i), pipeline.ErrNameTransient, 0)
	}
	opt := redrive.Options{MaxDuration: 3 * time.Second}
	rep := w.run(t, opt)
	if rep.Started != 3 || rep.Complete {
		t.Fatalf("first run %+v: want 3 started within 3 s, incomplete", rep)
	}
	if rep.ElapsedMS != 3000 {
		t.Errorf("elapsed %d ms", rep.ElapsedMS)
	}
	if w.q.Visible() != 10 { // 7 old released at once + 3 new
		t.Errorf("%d visible between runs, want 10", w.q.Visible())
	}
	opt.SentBefore = time.UnixMilli(rep.SentBefore)
	total := rep.Started
	for i := 0; i < 5 && !rep.Complete; i++ {
		rep = w.run(t, opt)
		total += rep.Started
	}
	if !rep.Complete || total != 10 || len(w.sfn.Started()) != 10 {
		t.Fatalf("after follow-ups: last %+v, %d started, %d executions; want each of the 10 once", rep, total, len(w.sfn.Started()))
	}
	for _, e := range w.sfn.Started() {
		if redrive.RedriveCountOf(e.Name) != 1 {
			t.Errorf("%s: a message written during the runs was redriven", e.Name)
		}
	}
}

// MaxMessages bounds how many messages one run receives.
func TestRedriveMessageBudget(t *testing.T) {
	w := newWorld(t)
	for i := 0; i < 25; i++ {
		w.fail(fmt.Sprintf("upload/%d.jpg", i), pipeline.ErrNameTransient, 0)
	}
	rep := w.run(t, redrive.Options{MaxMessages: 12})
	if rep.Started != 12 || rep.Complete {
		t.Fatalf("%+v: want 12 started, incomplete", rep)
	}
	if w.q.Visible() != 13 {
		t.Errorf("%d visible, want the 13 others back", w.q.Visible())
	}
	if rep = w.run(t, redrive.Options{}); rep.Started != 13 || !rep.Complete {
		t.Errorf("second run %+v", rep)
	}
}

// Deletes go to the remove state machine; unreadable bodies stay and are counted; a
// message whose execution exists (a run interrupted between start and delete) is
// deleted without a second execution; messages from before the executionArn and
// permanent fields are classified by their error name.
func TestRedriveRoutingAndIdempotence(t *testing.T) {
	w := newWorld(t)
	del := w.q.Send(redrivetest.FailureBody(pipeline.ErrNameTransient, redrivetest.Event(pipeline.DetailTypeDeleted, "upload/gone.jpg"), "", nil))
	old := w.q.Send(redrivetest.FailureBody(pipeline.ErrNameCorrupt, redrivetest.Event(pipeline.DetailTypeCreated, "upload/bad.jpg"), "", nil))
	w.q.Send("not json")
	w.q.Send(`{"error":"X","input":{}}`)
	again := w.fail("upload/a.jpg", pipeline.ErrNameTransient, 0)
	w.sfn.Add(redrivetest.Execution{StateMachineArn: pipelineArn, Name: redrive.ExecutionName(again, 1), Status: sfntypes.ExecutionStatusRunning})
	w.clock.Advance(time.Second)

	rep := w.run(t, redrive.Options{})
	if rep.Started != 1 || rep.Existing != 1 || rep.Failed != 2 || rep.Permanent != 1 || !rep.Complete {
		t.Fatalf("report %+v", rep)
	}
	started := w.sfn.Started()
	if len(started) != 2 || started[1].StateMachineArn != removeArn || started[1].Name != redrive.ExecutionName(del, 1) {
		t.Fatalf("executions %+v: want the delete redriven on the remove state machine", started)
	}
	bodies := w.q.Bodies()
	if _, ok := bodies[old]; !ok || len(bodies) != 3 {
		t.Errorf("left %v: want the old-format permanent one and the two unreadable", bodies)
	}
}

// A start that fails leaves the message; a queue that cannot be read is an error.
func TestRedriveStartFailureKeepsMessage(t *testing.T) {
	w := newWorld(t)
	w.fail("upload/a.jpg", pipeline.ErrNameTransient, 0)
	w.clock.Advance(time.Second)
	w.sfn.StartErr = errors.New("ServiceUnavailable")
	rep := w.run(t, redrive.Options{})
	if rep.Failed != 1 || rep.Started != 0 || len(w.q.Bodies()) != 1 || w.q.Visible() != 1 {
		t.Fatalf("%+v: a message must stay (visible) until its execution started", rep)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := w.r.FromQueue(ctx, redrive.Options{}); !errors.Is(err, context.Canceled) {
		t.Errorf("cancelled: %v", err)
	}
}

// Without sqs:ChangeMessageVisibility the messages left stay hidden until their
// visibility timeout (the budget plus 30 s), and the report says how many.
func TestRedriveReleaseFailureIsReported(t *testing.T) {
	w := newWorld(t)
	for i := 0; i < 3; i++ {
		w.fail(fmt.Sprintf("upload/%d.txt", i), pipeline.ErrNameCorrupt, 0)
	}
	w.q.ChangeVisibilityErr = errors.New("AccessDenied")
	rep := w.run(t, redrive.Options{})
	if rep.Permanent != 3 || rep.Hidden != 3 || w.q.Visible() != 0 {
		t.Fatalf("%+v, %d visible", rep, w.q.Visible())
	}
	w.clock.Advance(redrive.DefaultMaxDuration + 30*time.Second)
	if w.q.Visible() != 3 {
		t.Errorf("%d visible after the visibility timeout, want 3", w.q.Visible())
	}
}
