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
	params := env.input
	if st.parameters != nil {
		v, err := st.parameters.eval(env, "Parameters")
		if err != nil {
			return nil, err
		}
		params = v
	}
	timeout := time.Duration(st.timeoutSeconds) * time.Second
	if st.timeoutPath != nil {
		v, err := env.path(st.timeoutPath)
		n, ok := toInt(v)
		if err != nil || !ok || n <= 0 {
			return nil, runtimeError("TimeoutSecondsPath %s does not reference a positive integer", st.timeoutPath.raw)
		}
		timeout = time.Duration(n) * time.Second
	}
	var tsecs *int64
	if timeout > 0 {
		t := int64(timeout / time.Second)
		tsecs = &t
	}
	var hsecs *int64
	if st.heartbeatSeconds > 0 {
		h := int64(st.heartbeatSeconds)
		hsecs = &h
	}
	switch {
	case st.resource == resourceLambdaInvoke:
		return e.taskCall(ctx, st, prev, "lambda", "invoke", params, tsecs, hsecs, timeout, func(ctx context.Context) (any, error) {
			return e.lambdaInvoke(ctx, params)
		})
	case st.resource == resourceSQSSend:
		return e.taskCall(ctx, st, prev, "sqs", "sendMessage", params, tsecs, hsecs, timeout, func(ctx context.Context) (any, error) {
			return e.sqsSend(ctx, params)
		})
	case strings.HasPrefix(st.resource, "arn:aws:lambda:") && strings.Contains(st.resource, ":function:"):
		return e.lambdaDirect(ctx, st, prev, params, tsecs, timeout)
	}
	return nil, runtimeError("unsupported Task resource %q in state %q: the local engine runs arn:aws:states:::lambda:invoke, Lambda function ARNs and arn:aws:states:::sqs:sendMessage", st.resource, st.name)
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
			return nil, &stateError{name: ErrTimeout, cause: "Task timed out"}
		}
		return r.v, r.err
	case <-tctx.Done():
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		return nil, &stateError{name: ErrTimeout, cause: "Task timed out"}
	}
}

func (e *execution) taskCall(ctx context.Context, st *state, prev *int64, rtype, res string, params any, tsecs, hsecs *int64, timeout time.Duration, call func(context.Context) (any, error)) (any, error) {
	e.emit(prev, HistoryEvent{Type: "TaskScheduled", TaskScheduledEventDetails: &TaskScheduledEventDetails{
		ResourceType: rtype, Resource: res, Region: e.region, Parameters: encodeString(params),
		TimeoutInSeconds: tsecs, HeartbeatInSeconds: hsecs}})
	e.emit(prev, HistoryEvent{Type: "TaskStarted", TaskStartedEventDetails: &TaskResourceDetails{ResourceType: rtype, Resource: res}})
	out, err := withTimeout(ctx, timeout, call)
	if err != nil {
		var se *stateError
		if !errors.As(err, &se) {
			return nil, err
		}
		t := "TaskFailed"
		d := &TaskErrorDetails{ResourceType: rtype, Resource: res, Error: se.name, Cause: se.cause}
		if se.name == ErrTimeout {
			e.emit(prev, HistoryEvent{Type: "TaskTimedOut", TaskTimedOutEventDetails: d})
		} else {
			e.emit(prev, HistoryEvent{Type: t, TaskFailedEventDetails: d})
		}
		return nil, se
	}
	e.emit(prev, HistoryEvent{Type: "TaskSucceeded", TaskSucceededEventDetails: &TaskSucceededEventDetails{
		ResourceType: rtype, Resource: res, Output: encodeString(out)}})
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
	p, ok := params.(map[string]any)
	if !ok {
		return nil, runtimeError("lambda:invoke needs Parameters with FunctionName")
	}
	fn, ok := p["FunctionName"].(string)
	if !ok || fn == "" {
		return nil, &stateError{name: "Lambda.InvalidParameterValueException", cause: "FunctionName is required and must be a string"}
	}
	if q, ok := p["Qualifier"].(string); ok && q != "" && !strings.Contains(strings.TrimPrefix(fn, "arn:"), ":function:"+functionName(fn)+":") {
		fn += ":" + q
	}
	payload := []byte("{}")
	if v, ok := p["Payload"]; ok {
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
	return map[string]any{
		"ExecutedVersion": "$LATEST",
		"Payload":         body,
		"SdkHttpMetadata": map[string]any{
			"AllHttpHeaders": map[string]any{
				"X-Amz-Executed-Version": []any{"$LATEST"}, "x-amzn-Remapped-Content-Length": []any{"0"},
				"Connection": []any{"keep-alive"}, "x-amzn-RequestId": []any{reqID},
				"Content-Length": []any{intString(len(out))}, "Date": []any{e.clock.Now().UTC().Format(time.RFC1123)},
				"Content-Type": []any{"application/json"},
			},
			"HttpHeaders": map[string]any{
				"Connection": "keep-alive", "Content-Length": intString(len(out)), "Content-Type": "application/json",
				"Date": e.clock.Now().UTC().Format(time.RFC1123), "X-Amz-Executed-Version": "$LATEST",
				"x-amzn-Remapped-Content-Length": "0", "x-amzn-RequestId": reqID,
			},
			"HttpStatusCode": intNumber(200),
		},
		"SdkResponseMetadata": map[string]any{"RequestId": reqID},
		"StatusCode":          intNumber(200),
	}, nil
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
	out, err := withTimeout(ctx, timeout, func(ctx context.Context) (any, error) {
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
		return v, nil
	})
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
	p, ok := params.(map[string]any)
	if !ok {
		return nil, runtimeError("sqs:sendMessage needs Parameters with QueueUrl and MessageBody")
	}
	url, ok := p["QueueUrl"].(string)
	if !ok || url == "" {
		return nil, &stateError{name: "SQS.AmazonSQSException", cause: "QueueUrl is required and must be a string"}
	}
	bodyV, ok := p["MessageBody"]
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
	return map[string]any{
		"MD5OfMessageBody": hex.EncodeToString(sum[:]),
		"MessageId":        id,
		"SdkHttpMetadata": map[string]any{
			"AllHttpHeaders": map[string]any{"x-amzn-RequestId": []any{reqID}, "Content-Type": []any{"text/xml"}},
			"HttpHeaders":    map[string]any{"x-amzn-RequestId": reqID, "Content-Type": "text/xml"},
			"HttpStatusCode": intNumber(200),
		},
		"SdkResponseMetadata": map[string]any{"RequestId": reqID},
	}, nil
}
