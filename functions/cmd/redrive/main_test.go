package main

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/lambda"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sfn"
	sfntypes "github.com/aws/aws-sdk-go-v2/service/sfn/types"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	sqstypes "github.com/aws/aws-sdk-go-v2/service/sqs/types"

	"github.com/imagepipe/imagepipe/functions/redrive"
)

// fakeAWS is a failure queue and a Step Functions service in memory.
type fakeAWS struct {
	mu       sync.Mutex
	msgs     map[string]string // message id → body
	started  map[string]string // execution name → input
	failed   []string          // failed execution ARNs
	redriven []string
}

func (f *fakeAWS) ReceiveMessage(ctx context.Context, in *sqs.ReceiveMessageInput, _ ...func(*sqs.Options)) (*sqs.ReceiveMessageOutput, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	out := &sqs.ReceiveMessageOutput{}
	for id, body := range f.msgs {
		if len(out.Messages) < int(in.MaxNumberOfMessages) {
			out.Messages = append(out.Messages, sqstypes.Message{MessageId: aws.String(id), Body: aws.String(body), ReceiptHandle: aws.String(id)})
		}
	}
	return out, nil
}

func (f *fakeAWS) DeleteMessage(_ context.Context, in *sqs.DeleteMessageInput, _ ...func(*sqs.Options)) (*sqs.DeleteMessageOutput, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	delete(f.msgs, aws.ToString(in.ReceiptHandle))
	return &sqs.DeleteMessageOutput{}, nil
}

func (f *fakeAWS) StartExecution(_ context.Context, in *sfn.StartExecutionInput, _ ...func(*sfn.Options)) (*sfn.StartExecutionOutput, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if _, ok := f.started[aws.ToString(in.Name)]; ok {
		return nil, &sfntypes.ExecutionAlreadyExists{Message: aws.String("exists")}
	}
	f.started[aws.ToString(in.Name)] = aws.ToString(in.Input)
	return &sfn.StartExecutionOutput{ExecutionArn: aws.String("arn:exec:" + aws.ToString(in.Name))}, nil
}

func (f *fakeAWS) ListExecutions(_ context.Context, in *sfn.ListExecutionsInput, _ ...func(*sfn.Options)) (*sfn.ListExecutionsOutput, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	out := &sfn.ListExecutionsOutput{}
	if in.StatusFilter == sfntypes.ExecutionStatusFailed && aws.ToString(in.StateMachineArn) == "arn:pipeline" {
		for _, a := range f.failed {
			out.Executions = append(out.Executions, sfntypes.ExecutionListItem{ExecutionArn: aws.String(a)})
		}
	}
	return out, nil
}

func (f *fakeAWS) RedriveExecution(_ context.Context, in *sfn.RedriveExecutionInput, _ ...func(*sfn.Options)) (*sfn.RedriveExecutionOutput, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.redriven = append(f.redriven, aws.ToString(in.ExecutionArn))
	f.failed = nil // redriven executions run again: no longer listed as failed
	return &sfn.RedriveExecutionOutput{}, nil
}

const failureBody = `{"error":"TransientError","cause":"{}","state":"IndexDocument","input":{"detail-type":"Object Created","source":"aws.s3","detail":{"bucket":{"name":"images"},"object":{"key":"upload/a.jpg"}}}}`

func newHandler(f *fakeAWS, mode string) lambda.Handler {
	quiet := slog.New(slog.NewJSONHandler(io.Discard, nil))
	h := handler{
		r:           &redrive.Redriver{SQS: f, SFN: f, QueueURL: "https://sqs/failures", PipelineArn: "arn:pipeline", RemoveArn: "arn:remove", Logger: quiet},
		defaultMode: mode,
		log:         quiet,
	}
	return lambda.NewHandler(h.handle)
}

func TestRedriveModes(t *testing.T) {
	f := &fakeAWS{msgs: map[string]string{"m1": failureBody, "m2": failureBody}, started: map[string]string{}, failed: []string{"arn:exec:failed-1"}}
	h := newHandler(f, ModeQueue)
	ctx := context.Background()

	out, err := h.Invoke(ctx, []byte(`{}`))
	if err != nil || string(out) != `{"mode":"queue","started":2,"existing":0,"failed":0,"complete":true}` {
		t.Fatalf("queue: %s %v", out, err)
	}
	if len(f.msgs) != 0 || len(f.started) != 2 {
		t.Errorf("queue left %d messages, started %d", len(f.msgs), len(f.started))
	}
	for _, in := range f.started {
		var ev map[string]any
		if json.Unmarshal([]byte(in), &ev) != nil || ev["detail-type"] != "Object Created" {
			t.Errorf("execution input is not the original event: %s", in)
		}
	}
	// Again: nothing to do (idempotent).
	if out, err := h.Invoke(ctx, []byte(`{}`)); err != nil || string(out) != `{"mode":"queue","started":0,"existing":0,"failed":0,"complete":true}` {
		t.Errorf("queue again: %s %v", out, err)
	}

	// The event overrides the mode; a scheduled event's other fields are ignored.
	out, err = h.Invoke(ctx, []byte(`{"mode":"executions","detail-type":"Scheduled Event"}`))
	if err != nil || string(out) != `{"mode":"executions","started":1,"existing":0,"failed":0,"complete":true}` || len(f.redriven) != 1 {
		t.Fatalf("executions: %s %v %v", out, err, f.redriven)
	}
	if out, _ := h.Invoke(ctx, []byte(`{"mode":"executions"}`)); string(out) != `{"mode":"executions","started":0,"existing":0,"failed":0,"complete":true}` {
		t.Errorf("executions again: %s", out)
	}
	// REDRIVE_MODE=executions as the default.
	f.failed = []string{"arn:exec:failed-2"}
	if out, err := newHandler(f, ModeExecutions).Invoke(ctx, []byte(`{}`)); err != nil || len(f.redriven) != 2 {
		t.Errorf("default executions: %s %v", out, err)
	}

	_, err = h.Invoke(ctx, []byte(`{"mode":"everything"}`))
	var me *ModeError
	if !errors.As(err, &me) || me.Mode != "everything" {
		t.Errorf("bad mode: %v", err)
	}
}

// Near the Lambda's deadline the run stops and reports what it did, without error.
func TestRedrivePartialBeforeDeadline(t *testing.T) {
	f := &fakeAWS{msgs: map[string]string{"m1": failureBody}, started: map[string]string{}}
	ctx, cancel := context.WithDeadline(context.Background(), time.Now().Add(margin/2))
	defer cancel()
	out, err := newHandler(f, ModeQueue).Invoke(ctx, []byte(`{}`))
	if err != nil || string(out) != `{"mode":"queue","started":0,"existing":0,"failed":0,"complete":false}` || len(f.msgs) != 1 {
		t.Errorf("partial: %s %v", out, err)
	}
}
