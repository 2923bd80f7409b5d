package redrive

import (
	"context"
	"encoding/json"
	"fmt"
	"sync"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sfn"
	sfntypes "github.com/aws/aws-sdk-go-v2/service/sfn/types"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	sqstypes "github.com/aws/aws-sdk-go-v2/service/sqs/types"

	"github.com/imagepipe/imagepipe/functions/pipeline"
)

// fakeQueue hands out every undeleted message on each receive (visibility is not
// modelled: a message received and not deleted is received again by the next run).
type fakeQueue struct {
	mu   sync.Mutex
	msgs map[string]string // id → body
}

func (q *fakeQueue) ReceiveMessage(_ context.Context, in *sqs.ReceiveMessageInput, _ ...func(*sqs.Options)) (*sqs.ReceiveMessageOutput, error) {
	q.mu.Lock()
	defer q.mu.Unlock()
	out := &sqs.ReceiveMessageOutput{}
	for id, body := range q.msgs {
		if len(out.Messages) == int(in.MaxNumberOfMessages) {
			break
		}
		out.Messages = append(out.Messages, sqstypes.Message{MessageId: aws.String(id), Body: aws.String(body), ReceiptHandle: aws.String("rh-" + id)})
	}
	return out, nil
}

func (q *fakeQueue) DeleteMessage(_ context.Context, in *sqs.DeleteMessageInput, _ ...func(*sqs.Options)) (*sqs.DeleteMessageOutput, error) {
	q.mu.Lock()
	defer q.mu.Unlock()
	delete(q.msgs, aws.ToString(in.ReceiptHandle)[3:])
	return &sqs.DeleteMessageOutput{}, nil
}

// fakeSFN keeps executions by name, as Step Functions does.
type fakeSFN struct {
	execs map[string]string // name → state machine
	fail  bool
}

func (f *fakeSFN) StartExecution(_ context.Context, in *sfn.StartExecutionInput, _ ...func(*sfn.Options)) (*sfn.StartExecutionOutput, error) {
	if f.fail {
		return nil, fmt.Errorf("service unavailable")
	}
	name := aws.ToString(in.Name)
	if _, ok := f.execs[name]; ok {
		return nil, &sfntypes.ExecutionAlreadyExists{Message: aws.String("exists")}
	}
	f.execs[name] = aws.ToString(in.StateMachineArn)
	return &sfn.StartExecutionOutput{ExecutionArn: aws.String("arn:" + name)}, nil
}

func (f *fakeSFN) ListExecutions(context.Context, *sfn.ListExecutionsInput, ...func(*sfn.Options)) (*sfn.ListExecutionsOutput, error) {
	return &sfn.ListExecutionsOutput{}, nil
}

func (f *fakeSFN) RedriveExecution(context.Context, *sfn.RedriveExecutionInput, ...func(*sfn.Options)) (*sfn.RedriveExecutionOutput, error) {
	return &sfn.RedriveExecutionOutput{}, nil
}

func failureBody(t *testing.T, detailType, key string) string {
	t.Helper()
	ev := pipeline.ObjectEvent{DetailType: detailType, Source: pipeline.SourceS3}
	ev.Detail.Bucket.Name, ev.Detail.Object.Key = "images", key
	in, _ := json.Marshal(ev)
	b, _ := json.Marshal(map[string]any{"error": "TransientError", "cause": "{}", "state": "IndexDocument", "input": json.RawMessage(in)})
	return string(b)
}

func TestFromQueueIsIdempotent(t *testing.T) {
	q := &fakeQueue{msgs: map[string]string{}}
	for i := 0; i < 25; i++ {
		q.msgs[fmt.Sprintf("m%02d", i)] = failureBody(t, pipeline.DetailTypeCreated, fmt.Sprintf("upload/%d.jpg", i))
	}
	q.msgs["del"] = failureBody(t, pipeline.DetailTypeDeleted, "upload/gone.jpg")
	q.msgs["junk"] = "not json"
	f := &fakeSFN{execs: map[string]string{}}
	r := &Redriver{SQS: q, SFN: f, QueueURL: "q", PipelineArn: "pipe", RemoveArn: "remove"}

	rep, err := r.FromQueue(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if rep.Started != 26 || rep.Failed != 1 || len(f.execs) != 26 {
		t.Fatalf("first run %+v, %d executions", rep, len(f.execs))
	}
	if f.execs[ExecutionName("del")] != "remove" || f.execs[ExecutionName("m00")] != "pipe" {
		t.Error("events went to the wrong state machine")
	}
	if len(q.msgs) != 1 {
		t.Errorf("%d messages left, want only the unreadable one", len(q.msgs))
	}

	// A message whose execution exists (a crash between start and delete) is deleted
	// without a second execution.
	q.msgs["m03"] = failureBody(t, pipeline.DetailTypeCreated, "upload/3.jpg")
	rep, err = r.FromQueue(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if rep.Started != 0 || rep.Existing != 1 || len(f.execs) != 26 {
		t.Fatalf("second run %+v, %d executions", rep, len(f.execs))
	}
}

func TestFromQueueKeepsMessagesWhenStartFails(t *testing.T) {
	q := &fakeQueue{msgs: map[string]string{"a": failureBody(t, pipeline.DetailTypeCreated, "upload/a.jpg")}}
	r := &Redriver{SQS: q, SFN: &fakeSFN{execs: map[string]string{}, fail: true}, QueueURL: "q", PipelineArn: "pipe"}
	rep, err := r.FromQueue(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if rep.Failed != 1 || len(q.msgs) != 1 {
		t.Fatalf("%+v, %d left: a message must stay until its execution started", rep, len(q.msgs))
	}
}
