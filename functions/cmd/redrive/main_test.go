package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/lambda"
	sfntypes "github.com/aws/aws-sdk-go-v2/service/sfn/types"

	"github.com/imagepipe/imagepipe/functions/pipeline"
	"github.com/imagepipe/imagepipe/functions/redrive"
	"github.com/imagepipe/imagepipe/functions/redrive/redrivetest"
)

const (
	pipelineArn = "arn:aws:states:us-east-1:000000000000:stateMachine:ImagePipe-Pipeline"
	removeArn   = "arn:aws:states:us-east-1:000000000000:stateMachine:ImagePipe-Remove"
)

type fixture struct {
	clock *redrivetest.Clock
	q     *redrivetest.Queue
	sfn   *redrivetest.SFN
}

func newFixture() *fixture {
	c := redrivetest.NewClock()
	return &fixture{clock: c, q: redrivetest.NewQueue(c), sfn: redrivetest.NewSFN()}
}

func (f *fixture) handler(mode string) lambda.Handler {
	h := handler{
		r: &redrive.Redriver{
			SQS: f.q, SFN: f.sfn, QueueURL: "https://sqs/failures", PipelineArn: pipelineArn, RemoveArn: removeArn,
			Logger: slog.New(slog.NewJSONHandler(io.Discard, nil)), Now: f.clock.Now,
		},
		defaultMode: mode,
	}
	return lambda.NewHandler(h.handle)
}

// fail queues the failure message of a run that failed with errName, as the state
// machine writes it, and makes the redriven runs fail the same way at once.
func (f *fixture) fail(key, errName string) string {
	perm := redrive.IsPermanentError(errName)
	id := f.q.Send(redrivetest.FailureBody(errName, redrivetest.Event(pipeline.DetailTypeCreated, key), redrivetest.ExecutionArn(pipelineArn, "s3-"+key[len("upload/"):]), &perm))
	f.sfn.OnStart = func(e redrivetest.Execution) {
		f.sfn.Finish(e.Arn, sfntypes.ExecutionStatusFailed, errName)
		f.q.Send(redrivetest.FailureBody(errName, e.Input, e.Arn, &perm))
	}
	f.clock.Advance(time.Millisecond)
	return id
}

func invoke(t *testing.T, h lambda.Handler, in string) map[string]any {
	t.Helper()
	out, err := h.Invoke(context.Background(), []byte(in))
	if err != nil {
		t.Fatalf("invoke %s: %v", in, err)
	}
	var m map[string]any
	if err := json.Unmarshal(out, &m); err != nil {
		t.Fatalf("output %s: %v", out, err)
	}
	return m
}

// The API's call, {"mode":"queue"}, on five files that can never succeed: it returns
// at once, starts nothing, and says so in the documented output.
func TestQueueContractPermanent(t *testing.T) {
	f := newFixture()
	for i := 0; i < 5; i++ {
		f.fail(fmt.Sprintf("upload/%d.txt", i), pipeline.ErrNameNotAnImage)
	}
	h := f.handler(ModeQueue)
	out, err := h.Invoke(context.Background(), []byte(`{"mode":"queue"}`))
	if err != nil {
		t.Fatal(err)
	}
	var got Output
	if err := json.Unmarshal(out, &got); err != nil {
		t.Fatal(err)
	}
	if got.Mode != ModeQueue || got.Started != 0 || got.Permanent != 5 || !got.Complete || len(got.Messages) != 5 || got.SentBefore != f.clock.Now().UnixMilli() {
		t.Fatalf("output %s", out)
	}
	first := got.Messages[0]
	if first.MessageID == "" || first.Action != redrive.ActionPermanent || first.Key != "upload/0.txt" || first.Error != pipeline.ErrNameNotAnImage {
		t.Errorf("first outcome %+v", first)
	}
	if len(f.sfn.Started()) != 0 || f.q.Visible() != 5 {
		t.Errorf("%d executions, %d visible", len(f.sfn.Started()), f.q.Visible())
	}
	// Every field of the contract is present, by its JSON name.
	m := invoke(t, h, `{}`)
	for _, k := range []string{"mode", "started", "existing", "failed", "discarded", "permanent", "parked", "newer", "complete", "sentBefore", "elapsedMs", "messages"} {
		if _, ok := m[k]; !ok {
			t.Errorf("output lacks %q: %v", k, m)
		}
	}
	// Forced: each starts once; the failures they write are not taken in the same call.
	m = invoke(t, h, `{"includePermanent":true}`)
	if m["started"] != 5.0 || m["newer"] != 5.0 || len(f.sfn.Started()) != 5 {
		t.Errorf("includePermanent: %v, %d executions", m, len(f.sfn.Started()))
	}
}

func TestQueueContractByID(t *testing.T) {
	f := newFixture()
	a := f.fail("upload/a.txt", pipeline.ErrNameNotAnImage)
	b := f.fail("upload/b.txt", pipeline.ErrNameNotAnImage)
	c := f.fail("upload/c.txt", pipeline.ErrNameNotAnImage)
	h := f.handler(ModeQueue)
	m := invoke(t, h, fmt.Sprintf(`{"mode":"queue","messageIds":[%q]}`, a))
	msgs, _ := m["messages"].([]any)
	if m["started"] != 1.0 || len(msgs) != 1 || msgs[0].(map[string]any)["executionArn"] != redrivetest.ExecutionArn(pipelineArn, redrive.ExecutionName(a, 1)) {
		t.Fatalf("redrive by id: %v", m)
	}
	m = invoke(t, h, fmt.Sprintf(`{"discard":[%q,"gone"]}`, b))
	if m["discarded"] != 1.0 || m["started"] != 0.0 || fmt.Sprint(m["notFound"]) != "[gone]" || m["complete"] != true {
		t.Fatalf("discard: %v", m)
	}
	bodies := f.q.Bodies()
	if _, ok := bodies[b]; ok || len(bodies) != 2 {
		t.Errorf("queue after discard: %v", bodies)
	}
	if _, ok := bodies[c]; !ok {
		t.Errorf("%s was not named and is gone", c)
	}
}

func TestExecutionsMode(t *testing.T) {
	f := newFixture()
	f.sfn.Add(redrivetest.Execution{StateMachineArn: pipelineArn, Name: "t", Status: sfntypes.ExecutionStatusTimedOut, Error: "States.Timeout"})
	f.sfn.Add(redrivetest.Execution{StateMachineArn: pipelineArn, Name: "p", Status: sfntypes.ExecutionStatusFailed, Error: pipeline.ErrNameCorrupt})
	m := invoke(t, f.handler(ModeQueue), `{"mode":"executions","detail-type":"Scheduled Event"}`)
	if m["mode"] != ModeExecutions || m["started"] != 1.0 {
		t.Errorf("executions: %v (want the timed-out one only)", m)
	}
	// REDRIVE_MODE=executions is the default.
	f.sfn.Finish(redrivetest.ExecutionArn(pipelineArn, "t"), sfntypes.ExecutionStatusTimedOut, "States.Timeout")
	if m := invoke(t, f.handler(ModeExecutions), `{}`); m["mode"] != ModeExecutions || m["started"] != 1.0 {
		t.Errorf("default executions: %v", m)
	}
}

func TestInputErrors(t *testing.T) {
	h := newFixture().handler(ModeQueue)
	for _, in := range []string{`{"mode":"everything"}`, `{"mode":"executions","messageIds":["m"]}`, `{"maxSeconds":-1}`, `{"maxOutcomes":-1}`,
		`{"action":"purge"}`, `{"action":"list","maxMessages":1001}`, `{"action":"list","maxMessages":-1}`, `{"action":"list","messageIds":["m"]}`} {
		_, err := h.Invoke(context.Background(), []byte(in))
		var ie *InputError
		if !errors.As(err, &ie) {
			t.Errorf("%s: %v, want an InputError", in, err)
		}
	}
}

// Near the Lambda's deadline the run reports at once, incomplete, and leaves the queue.
func TestRunNearTheDeadline(t *testing.T) {
	f := newFixture()
	f.fail("upload/a.jpg", pipeline.ErrNameTransient)
	ctx, cancel := context.WithDeadline(context.Background(), time.Now().Add(margin/2))
	defer cancel()
	out, err := f.handler(ModeQueue).Invoke(ctx, []byte(`{}`))
	var got Output
	if err != nil || json.Unmarshal(out, &got) != nil || got.Complete || got.Started != 0 || len(f.q.Bodies()) != 1 {
		t.Errorf("partial: %s %v", out, err)
	}
}

// The budget asked for is kept; a follow-up with sentBefore continues.
func TestBudgetAndContinue(t *testing.T) {
	f := newFixture()
	for i := 0; i < 4; i++ {
		f.fail(fmt.Sprintf("upload/%d.jpg", i), pipeline.ErrNameTransient)
	}
	slow := f.sfn.OnStart
	f.sfn.OnStart = func(e redrivetest.Execution) { f.clock.Advance(time.Second); slow(e) }
	h := f.handler(ModeQueue)
	m := invoke(t, h, `{"maxSeconds":2}`)
	if m["started"] != 2.0 || m["complete"] != false {
		t.Fatalf("first call: %v", m)
	}
	m = invoke(t, h, fmt.Sprintf(`{"maxSeconds":2,"sentBefore":%.0f}`, m["sentBefore"]))
	if m["started"] != 2.0 || m["complete"] != false {
		t.Fatalf("second call: %v", m)
	}
	m = invoke(t, h, fmt.Sprintf(`{"maxSeconds":2,"sentBefore":%.0f}`, m["sentBefore"]))
	if m["started"] != 0.0 || m["complete"] != true || m["newer"] != 4.0 || len(f.sfn.Started()) != 4 {
		t.Fatalf("third call: %v, %d executions", m, len(f.sfn.Started()))
	}
}

// The list action reads the queue without consuming it: every message, its body as
// JSON (a body that is not JSON as a string), its sent time and receive count, then
// all of them visible again, and the whole queue's count.
func TestListContract(t *testing.T) {
	f := newFixture()
	a := f.fail("upload/a.txt", pipeline.ErrNameNotAnImage)
	f.fail("upload/b.jpg", pipeline.ErrNameTransient)
	junk := f.q.Send("not json")
	h := f.handler(ModeQueue)
	out, err := h.Invoke(context.Background(), []byte(`{"action":"list","maxMessages":100}`))
	if err != nil {
		t.Fatal(err)
	}
	var got redrive.Listing
	if err := json.Unmarshal(out, &got); err != nil {
		t.Fatal(err)
	}
	if got.ApproximateCount != 3 || len(got.Messages) != 3 {
		t.Fatalf("list: %s", out)
	}
	byID := map[string]redrive.ListedMessage{}
	for _, m := range got.Messages {
		byID[m.MessageID] = m
	}
	var body redrive.Failure
	if err := json.Unmarshal(byID[a].Body, &body); err != nil || body.Error != pipeline.ErrNameNotAnImage || byID[a].ReceiveCount != 1 || byID[a].SentTimestamp == 0 {
		t.Errorf("message %s: %+v (%v)", a, byID[a], err)
	}
	if string(byID[junk].Body) != `"not json"` {
		t.Errorf("a body that is not JSON: %s", byID[junk].Body)
	}
	if f.q.Visible() != 3 || len(f.sfn.Started()) != 0 {
		t.Errorf("after list: %d visible, %d executions; want 3 and none", f.q.Visible(), len(f.sfn.Started()))
	}
	// The contract's field names; a second list counts a second receive.
	m := invoke(t, h, `{"action":"list","maxMessages":2}`)
	msgs, _ := m["messages"].([]any)
	if m["approximateCount"] != 3.0 || len(msgs) != 2 {
		t.Fatalf("list of 2: %v", m)
	}
	first, _ := msgs[0].(map[string]any)
	for _, k := range []string{"messageId", "sentTimestamp", "receiveCount", "body"} {
		if _, ok := first[k]; !ok {
			t.Errorf("listed message lacks %q: %v", k, first)
		}
	}
	if first["receiveCount"] != 2.0 || f.q.Visible() != 3 {
		t.Errorf("second list: %v, %d visible", first, f.q.Visible())
	}
	// An empty queue is an empty list, not null.
	if m := invoke(t, newFixture().handler(ModeQueue), `{"action":"list"}`); fmt.Sprint(m["messages"]) != "[]" || m["approximateCount"] != 0.0 {
		t.Errorf("empty queue: %v", m)
	}
}

// maxOutcomes keeps a round's report small enough for Step Functions and says how many
// outcomes it left out.
func TestMaxOutcomes(t *testing.T) {
	f := newFixture()
	for i := 0; i < 5; i++ {
		f.fail(fmt.Sprintf("upload/%d.txt", i), pipeline.ErrNameNotAnImage)
	}
	m := invoke(t, f.handler(ModeQueue), `{"maxOutcomes":2}`)
	if msgs, _ := m["messages"].([]any); len(msgs) != 2 || m["outcomesOmitted"] != 3.0 || m["permanent"] != 5.0 {
		t.Errorf("maxOutcomes 2: %v", m)
	}
}
