package asl

import (
	"context"
	"crypto/md5"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"strings"
	"time"

	"github.com/aws/aws-lambda-go/lambda/messages"
)

const (
	resourceLambdaInvoke = "arn:aws:states:::lambda:invoke"
	resourceSQSSend      = "arn:aws:states:::sqs:sendMessage"
)

// runTask runs one attempt of a Task state on its effective input.
func (e *execution) runTask(ctx context.Context, st *state, env *evalEnv, prev *int64) (any, error) {
	base, isCallback := baseResource(st.resource)
	var cb *callback
	if isCallback {
		cb = &callback{token: newTaskToken(), tokens: e.tokens()}
		c := env.ctx.(*object).clone()
		c.set("Task", objectOf("Token", cb.token))
		env.ctx = c
	}
	params, err := e.effectiveInput(st, env)
	if err != nil {
		return nil, err
	}
	tr := taskRun{params: params, callback: cb}
	if tr.timeout, err = st.taskTimeout(env); err != nil {
		return nil, err
	}
	if tr.heartbeat, err = st.heartbeat(env); err != nil {
		return nil, err
	}
	if cb != nil {
		cb.heartbeat = tr.heartbeat
	}
	switch {
	case base == resourceLambdaInvoke:
		tr.rtype, tr.res = "lambda", strings.TrimPrefix(st.resource, "arn:aws:states:::lambda:")
		return e.taskCall(ctx, prev, tr, e.mocked(st, func(ctx context.Context) (any, error) { return e.lambdaInvoke(ctx, params) }))
	case base == resourceSQSSend:
		tr.rtype, tr.res = "sqs", strings.TrimPrefix(st.resource, "arn:aws:states:::sqs:")
		return e.taskCall(ctx, prev, tr, e.mocked(st, func(ctx context.Context) (any, error) { return e.sqsSend(ctx, params) }))
	case isFunctionARN(st.resource):
		return e.lambdaDirect(ctx, st, prev, params, tr.seconds(), tr.timeout)
	}
	// Parse rejects other resources; a definition built otherwise still fails clearly.
	return nil, runtimeError("unsupported Task resource %q in state %q", st.resource, st.name)
}

// tokens is the run's callback token set (a private one when the caller gave none:
// its tasks can only time out).
func (e *execution) tokens() *TaskTokens {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.opts.TaskTokens == nil {
		e.opts.TaskTokens = NewTaskTokens()
	}
	return e.opts.TaskTokens
}

// taskRun is one attempt of an optimized-integration Task.
type taskRun struct {
	rtype, res         string // resourceType and resource, as the events name them
	params             any
	timeout, heartbeat time.Duration
	callback           *callback
}

// seconds is timeoutInSeconds for the events (nil: none).
func (tr taskRun) seconds() *int64 {
	if tr.timeout <= 0 {
		return nil
	}
	t := int64(tr.timeout / time.Second)
	return &t
}

// heartbeat is HeartbeatSeconds, or the value HeartbeatSecondsPath selects (0: none).
func (st *state) heartbeat(env *evalEnv) (time.Duration, error) {
	if st.heartbeatPath == nil {
		return time.Duration(st.heartbeatSeconds) * time.Second, nil
	}
	v, err := env.path(st.heartbeatPath)
	if err != nil {
		return 0, runtimeError("Invalid path '%s' : %s", st.heartbeatPath.raw, missingPathText(st.heartbeatPath, env.input))
	}
	n, ok := toInt(v)
	if !ok || n <= 0 || n > 99999999 {
		return 0, runtimeError("The HeartbeatSecondsPath field refers to value \"%s\" which is not a valid positive integer: %s", encodeString(v), st.heartbeatPath.raw)
	}
	return time.Duration(n) * time.Second, nil
}

// taskTimeout is TimeoutSeconds, or the value TimeoutSecondsPath selects (0: none).
func (st *state) taskTimeout(env *evalEnv) (time.Duration, error) {
	if st.timeoutPath == nil {
		return time.Duration(st.timeoutSeconds) * time.Second, nil
	}
	v, err := env.path(st.timeoutPath)
	if err != nil {
		return 0, runtimeError("Invalid path '%s' : %s", st.timeoutPath.raw, missingPathText(st.timeoutPath, env.input))
	}
	n, ok := toInt(v)
	if !ok || n <= 0 || n > 99999999 {
		return 0, runtimeError("The TimeoutSecondsPath field refers to value \"%s\" which is not a valid positive integer: %s", encodeString(v), st.timeoutPath.raw)
	}
	return time.Duration(n) * time.Second, nil
}

// resultLimit fails a Task whose result is over the quota. Unlike a state's own
// output, this is a task failure, caught by name and by States.ALL (recorded AWS
// histories show both).
func resultLimit(out any, resource string) error {
	if len(encodeJSON(out)) <= payloadLimit {
		return nil
	}
	return &stateError{name: ErrDataLimitExceeded, cause: fmt.Sprintf("The state/task '%s' returned a result with a size exceeding the maximum number of bytes service limit.", resource)}
}

// withTimeout runs call under the task's timeout; a call still running at the
// deadline fails with States.Timeout. The deadline is wall time, as a Lambda
// function's is.
func withTimeout(ctx context.Context, timeout time.Duration, call func(context.Context) (any, error)) (any, error) {
	if timeout <= 0 {
		return call(ctx)
	}
	tctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	type result struct {
		v   any
		err error
	}
	ch := make(chan result, 1)
	go func() {
		v, err := call(tctx)
		ch <- result{v, err}
	}()
	select {
	case r := <-ch:
		if ctx.Err() == nil && errors.Is(tctx.Err(), context.DeadlineExceeded) && r.err != nil {
			return nil, &stateError{name: ErrTimeout}
		}
		return r.v, r.err
	case <-tctx.Done():
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		return nil, &stateError{name: ErrTimeout}
	}
}

func (e *execution) taskCall(ctx context.Context, prev *int64, tr taskRun, call func(context.Context) (any, error)) (any, error) {
	var hsecs *int64
	if tr.heartbeat > 0 {
		h := int64(tr.heartbeat / time.Second)
		hsecs = &h
	}
	e.emit(prev, HistoryEvent{Type: "TaskScheduled", TaskScheduledEventDetails: &TaskScheduledEventDetails{
		ResourceType: tr.rtype, Resource: tr.res, Region: e.region, Parameters: encodeString(tr.params),
		TimeoutInSeconds: tr.seconds(), HeartbeatInSeconds: hsecs}})
	e.emit(prev, HistoryEvent{Type: "TaskStarted", TaskStartedEventDetails: &TaskResourceDetails{ResourceType: tr.rtype, Resource: tr.res}})
	var w *tokenWait
	if cb := tr.callback; cb != nil {
		w = cb.tokens.register(cb.token)
		defer cb.tokens.release(cb.token)
	}
	deadline := time.Now().Add(tr.timeout)
	out, err := withTimeout(ctx, tr.timeout, call)
	if err == nil {
		err = resultLimit(out, tr.rtype)
	}
	if err == nil && w != nil {
		e.emit(prev, HistoryEvent{Type: "TaskSubmitted", TaskSubmittedEventDetails: &TaskSucceededEventDetails{
			ResourceType: tr.rtype, Resource: tr.res, Output: encodeString(out)}})
		out, err = tr.callback.awaitUntil(ctx, w, tr.timeout, deadline)
		if err == nil {
			err = resultLimit(out, tr.rtype)
		}
	}
	if err != nil {
		var se *stateError
		if !errors.As(err, &se) {
			return nil, err
		}
		d := &TaskErrorDetails{ResourceType: tr.rtype, Resource: tr.res, Error: se.name, Cause: se.cause}
		if se.name == ErrTimeout {
			e.emit(prev, HistoryEvent{Type: "TaskTimedOut", TaskTimedOutEventDetails: d})
		} else {
			e.emit(prev, HistoryEvent{Type: "TaskFailed", TaskFailedEventDetails: d})
		}
		return nil, se
	}
	e.emit(prev, HistoryEvent{Type: "TaskSucceeded", TaskSucceededEventDetails: &TaskSucceededEventDetails{
		ResourceType: tr.rtype, Resource: tr.res, Output: encodeString(out)}})
	return out, nil
}

// invoke calls the function and maps its failure the way Lambda and Step Functions
// report it.
func (e *execution) invoke(ctx context.Context, fn string, payload []byte) (out []byte, err error) {
	if e.opts.Invoker == nil {
		return Functions(nil).Invoke(ctx, fn, payload)
	}
	defer func() {
		// The Lambda runtime turns a panic into an error response; so do we.
		if p := recover(); p != nil {
			out, err = nil, messages.InvokeResponse_Error{Message: fmt.Sprint(p), Type: errorTypeName(p)}
		}
	}()
	return e.opts.Invoker.Invoke(ctx, fn, payload)
}

// errorTypeName is aws-lambda-go's rule: the reflect type name, pointer → element.
func errorTypeName(v any) string {
	t := reflect.TypeOf(v)
	if t == nil {
		return ""
	}
	if t.Kind() == reflect.Pointer {
		return t.Elem().Name()
	}
	return t.Name()
}

// functionError converts an Invoker error to the Task's error name and cause.
func functionError(ctx context.Context, err error) error {
	if ctx.Err() != nil {
		return ctx.Err()
	}
	var te *TaskError
	if errors.As(err, &te) {
		return &stateError{name: te.Name, cause: te.Cause}
	}
	ier, ok := err.(messages.InvokeResponse_Error)
	if !ok {
		if p, isPtr := err.(*messages.InvokeResponse_Error); isPtr && p != nil {
			ier = *p
		} else {
			ier = messages.InvokeResponse_Error{Message: err.Error(), Type: errorTypeName(err)}
		}
	}
	// The runtime marshals {"errorMessage","errorType"} with encoding/json.
	cause, _ := json.Marshal(messages.InvokeResponse_Error{Message: ier.Message, Type: ier.Type})
	return &stateError{name: ier.Type, cause: string(cause)}
}

func (e *execution) lambdaInvoke(ctx context.Context, params any) (any, error) {
	p, ok := params.(*object)
	if !ok {
		return nil, runtimeError("lambda:invoke needs Parameters with FunctionName")
	}
	fnv, _ := p.get("FunctionName")
	fn, ok := fnv.(string)
	if !ok || fn == "" {
		return nil, &stateError{name: "Lambda.InvalidParameterValueException", cause: "FunctionName is required and must be a string"}
	}
	qv, _ := p.get("Qualifier")
	if q, ok := qv.(string); ok && q != "" && !strings.Contains(strings.TrimPrefix(fn, "arn:"), ":function:"+functionName(fn)+":") {
		fn += ":" + q
	}
	payload := []byte("{}")
	if v, ok := p.get("Payload"); ok {
		if s, isStr := v.(string); isStr {
			payload = []byte(s) // a string Payload is sent as its bytes
		} else {
			payload = encodeJSON(v)
		}
	}
	out, err := e.invoke(ctx, fn, payload)
	if err != nil {
		return nil, functionError(ctx, err)
	}
	var body any = string(out)
	if v, derr := decodeJSON(out); derr == nil {
		body = v
	}
	if len(out) == 0 {
		body = nil
	}
	reqID := newRequestID(e.rand)
	date := e.clock.Now().UTC().Format(time.RFC1123)
	n := intString(len(out))
	return objectOf(
		"ExecutedVersion", "$LATEST",
		"Payload", body,
		"SdkHttpMetadata", objectOf(
			"AllHttpHeaders", objectOf(
				"X-Amz-Executed-Version", []any{"$LATEST"}, "x-amzn-Remapped-Content-Length", []any{"0"},
				"Connection", []any{"keep-alive"}, "x-amzn-RequestId", []any{reqID},
				"Content-Length", []any{n}, "Date", []any{date}, "Content-Type", []any{"application/json"}),
			"HttpHeaders", objectOf(
				"Connection", "keep-alive", "Content-Length", n, "Content-Type", "application/json",
				"Date", date, "X-Amz-Executed-Version", "$LATEST",
				"x-amzn-Remapped-Content-Length", "0", "x-amzn-RequestId", reqID),
			"HttpStatusCode", intNumber(200)),
		"SdkResponseMetadata", objectOf("RequestId", reqID),
		"StatusCode", intNumber(200),
	), nil
}

func intString(n int) string { return fmt.Sprint(n) }

func newRequestID(r func() float64) string {
	var b [16]byte
	for i := range b {
		b[i] = byte(r() * 256)
	}
	h := hex.EncodeToString(b[:])
	return h[0:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:]
}

// lambdaDirect runs a Task whose Resource is a function ARN: the result is the
// function's response itself, and the events are LambdaFunction*.
func (e *execution) lambdaDirect(ctx context.Context, st *state, prev *int64, params any, tsecs *int64, timeout time.Duration) (any, error) {
	payload := encodeJSON(params)
	e.emit(prev, HistoryEvent{Type: "LambdaFunctionScheduled", LambdaFunctionScheduledEventDetails: &LambdaScheduledDetails{
		Resource: st.resource, Input: string(payload), TimeoutInSeconds: tsecs}})
	e.emit(prev, HistoryEvent{Type: "LambdaFunctionStarted"})
	out, err := withTimeout(ctx, timeout, e.mocked(st, func(ctx context.Context) (any, error) {
		b, err := e.invoke(ctx, st.resource, payload)
		if err != nil {
			return nil, functionError(ctx, err)
		}
		if len(b) == 0 {
			return nil, nil
		}
		v, derr := decodeJSON(b)
		if derr != nil {
			return nil, runtimeError("function %s returned invalid JSON: %v", st.resource, derr)
		}
		return v, resultLimit(v, st.resource)
	}))
	if err != nil {
		var se *stateError
		if !errors.As(err, &se) {
			return nil, err
		}
		if se.name == ErrTimeout {
			e.emit(prev, HistoryEvent{Type: "LambdaFunctionTimedOut", LambdaFunctionTimedOutEventDetails: &ErrorCauseDetails{Error: se.name, Cause: se.cause}})
		} else {
			e.emit(prev, HistoryEvent{Type: "LambdaFunctionFailed", LambdaFunctionFailedEventDetails: &ErrorCauseDetails{Error: se.name, Cause: se.cause}})
		}
		return nil, se
	}
	e.emit(prev, HistoryEvent{Type: "LambdaFunctionSucceeded", LambdaFunctionSucceededEventDetails: &LambdaSucceededDetails{Output: encodeString(out)}})
	return out, nil
}

func (e *execution) sqsSend(ctx context.Context, params any) (any, error) {
	p, ok := params.(*object)
	if !ok {
		return nil, runtimeError("sqs:sendMessage needs Parameters with QueueUrl and MessageBody")
	}
	urlv, _ := p.get("QueueUrl")
	url, ok := urlv.(string)
	if !ok || url == "" {
		return nil, &stateError{name: "SQS.AmazonSQSException", cause: "QueueUrl is required and must be a string"}
	}
	bodyV, ok := p.get("MessageBody")
	if !ok {
		return nil, &stateError{name: "SQS.AmazonSQSException", cause: "MessageBody is required"}
	}
	body, isStr := bodyV.(string)
	if !isStr {
		body = encodeString(bodyV)
	}
	if e.opts.Queue == nil {
		return nil, runtimeError("sqs:sendMessage to %s: no queue is configured for this engine", url)
	}
	id, err := e.opts.Queue.SendMessage(ctx, url, body)
	if err != nil {
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		var te *TaskError
		if errors.As(err, &te) {
			return nil, &stateError{name: te.Name, cause: te.Cause}
		}
		return nil, &stateError{name: "SQS.AmazonSQSException", cause: err.Error()}
	}
	sum := md5.Sum([]byte(body))
	reqID := newRequestID(e.rand)
	return objectOf(
		"MD5OfMessageBody", hex.EncodeToString(sum[:]),
		"MessageId", id,
		"SdkHttpMetadata", objectOf(
			"AllHttpHeaders", objectOf("x-amzn-RequestId", []any{reqID}, "Content-Type", []any{"text/xml"}),
			"HttpHeaders", objectOf("x-amzn-RequestId", reqID, "Content-Type", "text/xml"),
			"HttpStatusCode", intNumber(200)),
		"SdkResponseMetadata", objectOf("RequestId", reqID),
	), nil
}

// TaskMock answers a Task in place of its resource (Step Functions Local's mocked
// service integrations, TestState's mock): the resource's result, or the error the
// task fails with. ok false: not mocked, call the resource.
type TaskMock func(stateName string) (result json.RawMessage, err *TaskError, ok bool)

// mocked puts the run's TaskMock, if any, in front of call.
func (e *execution) mocked(st *state, call func(context.Context) (any, error)) func(context.Context) (any, error) {
	if e.opts.Mock == nil {
		return call
	}
	return func(ctx context.Context) (any, error) {
		raw, terr, ok := e.opts.Mock(st.name)
		switch {
		case !ok:
			return call(ctx)
		case terr != nil:
			return nil, &stateError{name: terr.Name, cause: terr.Cause}
		}
		v, err := decodeJSON(raw)
		if err != nil {
			return nil, runtimeError("the mocked result of state %q is not JSON: %v", st.name, err)
		}
		return v, nil
	}
}
