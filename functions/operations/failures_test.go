package operations

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"

	"github.com/imagepipe/imagepipe/functions/apiproxy"
	"github.com/imagepipe/imagepipe/functions/redrive/redrivetest"
)

func post(resource, body string) events.APIGatewayProxyRequest {
	return events.APIGatewayProxyRequest{HTTPMethod: "POST", Resource: resource, Path: resource, Body: body}
}

// GET /failures lists the queue and leaves every message in it, visible.
func TestFailuresPeekConsumesNothing(t *testing.T) {
	w := newWorld(t)
	ex := redrivetest.ExecutionArn(pipelineArn, "e1")
	permanent := true
	a := w.queue.Send(redrivetest.FailureBody("NotAnImageError", s3Event("upload/a.txt"), ex, &permanent))
	b := w.queue.Send("not json at all")
	for range 2 { // a second look sees the same
		st, body := call(t, w.h, get("/failures", nil))
		got := decode[FailureList](t, body)
		if st != 200 || len(got.Messages) != 2 || !got.Complete || got.ApproximateNumberOfMessages != 2 {
			t.Fatalf("status %d: %s", st, body)
		}
		m := got.Messages[0]
		var f struct {
			Error        string `json:"error"`
			ExecutionArn string `json:"executionArn"`
			Permanent    bool   `json:"permanent"`
		}
		if m.MessageID != a || json.Unmarshal(m.Body, &f) != nil || f.Error != "NotAnImageError" || f.ExecutionArn != ex || !f.Permanent || m.SentTimestamp != 1717243200000 {
			t.Errorf("first message: %+v", m)
		}
		if got.Messages[1].MessageID != b || string(got.Messages[1].Body) != `"not json at all"` {
			t.Errorf("second message: %s", got.Messages[1].Body)
		}
		if v := w.queue.Visible(); v != 2 {
			t.Fatalf("%d of 2 messages visible after the peek", v)
		}
	}
	if len(w.queue.IDs()) != 2 {
		t.Errorf("messages consumed: %v", w.queue.IDs())
	}
}

func TestFailuresPeekIsBounded(t *testing.T) {
	w := newWorld(t)
	for i := range PeekMax + 5 {
		w.queue.Send(fmt.Sprintf(`{"error":"TransientError","n":%d}`, i))
	}
	st, body := call(t, w.h, get("/failures", nil))
	got := decode[FailureList](t, body)
	seen := map[string]bool{}
	for _, m := range got.Messages {
		seen[m.MessageID] = true
	}
	if st != 200 || len(got.Messages) != PeekMax || len(seen) != PeekMax || got.Complete || got.ApproximateNumberOfMessages != PeekMax+5 {
		t.Errorf("status %d, %d messages (%d distinct), complete %v", st, len(got.Messages), len(seen), got.Complete)
	}
	if v := w.queue.Visible(); v != PeekMax+5 {
		t.Errorf("%d of %d visible after the peek", v, PeekMax+5)
	}
}

// A message the peek cannot hand back is hidden for PeekHideSeconds at most; the
// answer is still the list.
func TestFailuresPeekHandBackFails(t *testing.T) {
	w := newWorld(t)
	w.queue.Send(`{"error":"TransientError"}`)
	w.queue.ChangeVisibilityErr = fmt.Errorf("AccessDenied")
	st, body := call(t, w.h, get("/failures", nil))
	if st != 200 || len(decode[FailureList](t, body).Messages) != 1 {
		t.Fatalf("status %d: %s", st, body)
	}
	w.queue.ChangeVisibilityErr = nil
	if w.queue.Visible() != 0 {
		t.Fatal("the fake ignored the error")
	}
	w.clock.Advance(PeekHideSeconds * time.Second)
	if w.queue.Visible() != 1 {
		t.Errorf("still hidden %d s after the peek", PeekHideSeconds)
	}
}

func TestFailureActionsInvokeTheRedriveFunction(t *testing.T) {
	w := newWorld(t)
	for _, c := range []struct {
		resource, body, want string
	}{
		{"/failures/redrive", `{"messageIds":["m1","m2"],"includePermanent":true}`, `{"includePermanent":true,"messageIds":["m1","m2"],"mode":"queue","sentBefore":0}`},
		{"/failures/redrive", ``, `{"includePermanent":false,"messageIds":null,"mode":"queue","sentBefore":0}`},
		{"/failures/redrive", `{"sentBefore":1717243200000}`, `{"includePermanent":false,"messageIds":null,"mode":"queue","sentBefore":1717243200000}`},
		{"/failures/discard", `{"messageIds":["m3"]}`, `{"discard":["m3"],"mode":"queue"}`},
	} {
		w.lambda.payloads = nil
		st, body := call(t, w.h, post(c.resource, c.body))
		if st != 200 || body != w.lambda.answer || len(w.lambda.payloads) != 1 || w.lambda.payloads[0] != c.want {
			t.Errorf("%s %s: %d %s, invoked with %v, want %s", c.resource, c.body, st, body, w.lambda.payloads, c.want)
		}
	}
}

func TestFailureActionsRefused(t *testing.T) {
	w := newWorld(t)
	for _, c := range []struct{ resource, body string }{
		{"/failures/discard", ``},
		{"/failures/discard", `{"messageIds":[]}`},
		{"/failures/discard", `{"messageIds":["a"],"includePermanent":true}`},
		{"/failures/redrive", `{"ids":["a"]}`},
		{"/failures/redrive", `{"messageIds":[""]}`},
		{"/failures/redrive", `{"sentBefore":-1}`},
		{"/failures/redrive", `[1,2]`},
		{"/failures/redrive", `{"messageIds":["` + strings.Repeat("a", 101) + `"]}`},
	} {
		st, body := call(t, w.h, post(c.resource, c.body))
		if e := decode[apiproxy.ErrorBody](t, body); st != 400 || e.Error == "" {
			t.Errorf("%s %s: %d %s", c.resource, c.body, st, body)
		}
	}
	if len(w.lambda.payloads) != 0 {
		t.Errorf("invoked for refused requests: %v", w.lambda.payloads)
	}
}

func TestFailureActionFunctionErrors(t *testing.T) {
	w := newWorld(t)
	for _, c := range []struct {
		fnErr string
		want  int
		code  string
	}{
		{`{"errorMessage":"redrive input: messageIds and discard name queue messages","errorType":"InputError"}`, 400, "InputError"},
		{`{"errorMessage":"receive from queue: AccessDenied","errorType":"OperationError"}`, 502, "OperationError"},
		{`Task timed out after 300.00 seconds`, 502, "Unhandled"},
	} {
		w.lambda.functionError = c.fnErr
		st, body := call(t, w.h, post("/failures/redrive", `{}`))
		if e := decode[apiproxy.ErrorBody](t, body); st != c.want || e.Code != c.code || !strings.Contains(e.Error, "redrive function") {
			t.Errorf("%s: %d %s", c.fnErr, st, body)
		}
	}
}

// The peek holds messages only while it receives: it never waits on SQS with
// messages hidden (a redrive run meanwhile would find the queue empty), and stops at
// the count the queue gave; with a count that lags, one short receive more.
func TestFailuresPeekNeverWaitsHoldingMessages(t *testing.T) {
	for _, stale := range []int{0, 3} {
		w := newWorld(t)
		w.queue.log.staleCount = stale
		for i := range 25 {
			w.queue.Send(fmt.Sprintf(`{"error":"TransientError","n":%d}`, i))
		}
		st, body := call(t, w.h, get("/failures", nil))
		if got := decode[FailureList](t, body); st != 200 || len(got.Messages) != 25 || !got.Complete {
			t.Fatalf("stale %d: status %d, %d messages, complete %v", stale, st, len(got.Messages), got.Complete)
		}
		want := 3 // 10 + 10 + 5
		if stale > 0 {
			want = 4 // and one that comes back empty
		}
		if n := len(w.queue.log.receives); n != want {
			t.Errorf("stale %d: %d receives, want %d", stale, n, want)
		}
		for i, r := range w.queue.log.receives {
			if r.wait > 0 && r.hidden > 0 {
				t.Errorf("stale %d: receive %d waited %d s holding %d messages", stale, i, r.wait, r.hidden)
			}
		}
	}
}
