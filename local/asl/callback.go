package asl

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"strings"
	"sync"
	"time"
)

// Callback tasks (".waitForTaskToken"): the Task calls its integration with
// $$.Task.Token in its Parameters, records TaskSubmitted, then waits until someone
// calls SendTaskSuccess, SendTaskFailure or SendTaskHeartbeat with the token
// (https://docs.aws.amazon.com/step-functions/latest/dg/connect-to-resource.html#connect-wait-token).

const waitForTaskToken = ".waitForTaskToken"

// TokenError is a SendTask* call the tokens cannot honour; Code is the Step
// Functions API error (InvalidToken, TaskDoesNotExist, TaskTimedOut, InvalidOutput).
type TokenError struct {
	Code    string
	Message string
}

func (e *TokenError) Error() string { return e.Code + ": " + e.Message }

// TaskTokens is the set of callback tasks waiting for their token. A service shares
// one between its executions and its SendTask* API.
type TaskTokens struct {
	mu      sync.Mutex
	waiting map[string]*tokenWait
	closed  map[string]bool // tokens of tasks that ended: their callers get TaskTimedOut
}

type tokenWait struct {
	done      chan tokenOutcome // buffered: the first outcome wins
	heartbeat chan struct{}
}

type tokenOutcome struct {
	output any
	err    *stateError
}

// NewTaskTokens returns an empty set.
func NewTaskTokens() *TaskTokens {
	return &TaskTokens{waiting: map[string]*tokenWait{}, closed: map[string]bool{}}
}

// newTaskToken is an opaque token, as long and as random as AWS's.
func newTaskToken() string {
	var b [96]byte
	_, _ = rand.Read(b[:]) // crypto/rand.Read never fails
	return base64.RawURLEncoding.EncodeToString(b[:])
}

func (t *TaskTokens) register(token string) *tokenWait {
	w := &tokenWait{done: make(chan tokenOutcome, 1), heartbeat: make(chan struct{}, 1)}
	t.mu.Lock()
	defer t.mu.Unlock()
	t.waiting[token] = w
	return w
}

func (t *TaskTokens) release(token string) {
	t.mu.Lock()
	defer t.mu.Unlock()
	delete(t.waiting, token)
	t.closed[token] = true
}

func (t *TaskTokens) find(token string) (*tokenWait, error) {
	if len(token) < 1 || len(token) > 2048 {
		return nil, &TokenError{Code: "InvalidToken", Message: "Invalid Token: the token must be 1 to 2048 characters"}
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	if w := t.waiting[token]; w != nil {
		return w, nil
	}
	if t.closed[token] {
		return nil, &TokenError{Code: "TaskTimedOut", Message: "Task Timed Out: the task of this token has ended"}
	}
	return nil, &TokenError{Code: "TaskDoesNotExist", Message: "Task Does Not Exist: no task is waiting for this token"}
}

func (w *tokenWait) finish(o tokenOutcome) {
	select {
	case w.done <- o:
	default: // an outcome was given already; AWS keeps the first
	}
}

// Success completes the task of token with output (JSON).
func (t *TaskTokens) Success(token string, output []byte) error {
	v, err := decodeJSON(output)
	if err != nil {
		return &TokenError{Code: "InvalidOutput", Message: "Invalid Output: " + err.Error()}
	}
	w, err := t.find(token)
	if err != nil {
		return err
	}
	w.finish(tokenOutcome{output: v})
	return nil
}

// Failure fails the task of token with an error name and cause.
func (t *TaskTokens) Failure(token, errName, cause string) error {
	w, err := t.find(token)
	if err != nil {
		return err
	}
	w.finish(tokenOutcome{err: &stateError{name: errName, cause: cause}})
	return nil
}

// Heartbeat restarts the task's HeartbeatSeconds.
func (t *TaskTokens) Heartbeat(token string) error {
	w, err := t.find(token)
	if err != nil {
		return err
	}
	select {
	case w.heartbeat <- struct{}{}:
	default:
	}
	return nil
}

// callback is a Task's token, when its resource waits for one.
type callback struct {
	token     string
	tokens    *TaskTokens
	heartbeat time.Duration
}

// await waits for the token's outcome, failing with States.Timeout when heartbeats
// stop (recorded AWS history: a heartbeat timeout is TaskTimedOut with States.Timeout,
// LS timeouts/test_heartbeats.snapshot.json::test_heartbeat_timeout).
func (c *callback) await(ctx context.Context, w *tokenWait) (any, error) {
	var beat <-chan time.Time
	var timer *time.Timer
	if c.heartbeat > 0 {
		timer = time.NewTimer(c.heartbeat)
		defer timer.Stop()
		beat = timer.C
	}
	for {
		select {
		case o := <-w.done:
			if o.err != nil {
				return nil, o.err
			}
			return o.output, nil
		case <-w.heartbeat:
			if timer != nil {
				timer.Reset(c.heartbeat)
			}
		case <-beat:
			return nil, &stateError{name: ErrTimeout}
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	}
}

// awaitUntil is await bounded by the Task's TimeoutSeconds, which counts from the
// task's start (deadline; timeout 0: none).
func (c *callback) awaitUntil(ctx context.Context, w *tokenWait, timeout time.Duration, deadline time.Time) (any, error) {
	if timeout <= 0 {
		return c.await(ctx, w)
	}
	tctx, cancel := context.WithDeadline(ctx, deadline)
	defer cancel()
	out, err := c.await(tctx, w)
	if err != nil && ctx.Err() == nil && tctx.Err() != nil {
		return nil, &stateError{name: ErrTimeout}
	}
	return out, err
}

// baseResource is the integration a callback resource calls.
func baseResource(resource string) (string, bool) {
	return strings.CutSuffix(resource, waitForTaskToken)
}
