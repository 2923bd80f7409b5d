package asl

import (
	"context"
	"errors"
	"strings"
	"sync"
	"testing"
)

// tokenQueue hands every message body (holding a task token) to a channel.
type tokenQueue struct{ bodies chan string }

func (q tokenQueue) SendMessage(_ context.Context, _, body string) (string, error) {
	q.bodies <- body
	return "m-1", nil
}

func callbackRun(t *testing.T, def string, answer func(tokens *TaskTokens, token string)) ([]byte, []string, error) {
	t.Helper()
	q := tokenQueue{bodies: make(chan string, 1)}
	tokens := NewTaskTokens()
	var mu sync.Mutex
	var types []string
	go func() {
		body := <-q.bodies
		v, _ := decodeJSON([]byte(body))
		tok, _ := v.(*object).get("token")
		answer(tokens, tok.(string))
	}()
	out, err := mustParse(t, def).Run(context.Background(), []byte(`{"n":1}`), Options{Queue: q, TaskTokens: tokens, Clock: newFakeClock(),
		OnEvent: func(e HistoryEvent) { mu.Lock(); types = append(types, e.Type); mu.Unlock() }})
	return out, types, err
}

const callbackDef = `{"StartAt":"Ask","States":{"Ask":{"Type":"Task","Resource":"arn:aws:states:::sqs:sendMessage.waitForTaskToken",
	"Parameters":{"QueueUrl":"q","MessageBody":{"token.$":"$$.Task.Token","n.$":"$.n"}},HEARTBEAT"End":true}}}`

func TestCallbackSuccess(t *testing.T) {
	out, types, err := callbackRun(t, strings.Replace(callbackDef, "HEARTBEAT", "", 1), func(tokens *TaskTokens, token string) {
		if err := tokens.Success(token, []byte(`{"ok":true}`)); err != nil {
			t.Error(err)
		}
	})
	if err != nil || string(out) != `{"ok":true}` {
		t.Fatalf("out %s err %v", out, err)
	}
	if got := strings.Join(types, ","); got != "ExecutionStarted,TaskStateEntered,TaskScheduled,TaskStarted,TaskSubmitted,TaskSucceeded,TaskStateExited,ExecutionSucceeded" {
		t.Fatalf("events %s", got)
	}
}

func TestCallbackFailure(t *testing.T) {
	lateErr := make(chan error, 1)
	_, _, err := callbackRun(t, strings.Replace(callbackDef, "HEARTBEAT", "", 1), func(tokens *TaskTokens, token string) {
		_ = tokens.Failure(token, "Rejected", "no")
		lateErr <- tokens.Success("never-issued", []byte(`{}`))
	})
	late := <-lateErr
	var ee *ExecutionError
	if !errors.As(err, &ee) || ee.Name != "Rejected" || ee.Cause != "no" {
		t.Fatalf("err %v", err)
	}
	var te *TokenError
	if !errors.As(late, &te) || te.Code != "TaskDoesNotExist" {
		t.Fatalf("unknown token: %v", late)
	}
}

// A task whose heartbeats stop times out with States.Timeout (recorded AWS history).
func TestCallbackHeartbeatTimeout(t *testing.T) {
	_, types, err := callbackRun(t, strings.Replace(callbackDef, "HEARTBEAT", `"HeartbeatSeconds":1,`, 1), func(tokens *TaskTokens, token string) {
		_ = tokens.Heartbeat(token)
	})
	var ee *ExecutionError
	if !errors.As(err, &ee) || ee.Name != ErrTimeout || !strings.Contains(strings.Join(types, ","), "TaskSubmitted,TaskTimedOut,ExecutionFailed") {
		t.Fatalf("err %v events %v", err, types)
	}
}
