// Package redrivetest holds the in-memory SQS queue and Step Functions service that
// every redrive test uses (package redrive, the redrive Lambda, the CLI): one fake
// per dependency.
package redrivetest

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sfn"
	sfntypes "github.com/aws/aws-sdk-go-v2/service/sfn/types"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	sqstypes "github.com/aws/aws-sdk-go-v2/service/sqs/types"
)

// Clock is a settable clock shared by the fakes and the code under test.
type Clock struct {
	mu  sync.Mutex
	now time.Time
}

// NewClock starts at a fixed instant.
func NewClock() *Clock { return &Clock{now: time.Date(2024, 6, 1, 12, 0, 0, 0, time.UTC)} }

// Now is the current fake time.
func (c *Clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

// Advance moves the clock on.
func (c *Clock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}

// Queue is one standard SQS queue: messages in send order, visibility timeouts,
// receipt handles that a later receive invalidates, SentTimestamp returned only when
// asked for, as SQS does.
type Queue struct {
	mu    sync.Mutex
	clock *Clock
	seq   int
	msgs  []*message
	// Receives counts ReceiveMessage calls.
	Receives int
	// ChangeVisibilityErr, when set, is what ChangeMessageVisibility returns (an IAM
	// policy without sqs:ChangeMessageVisibility).
	ChangeVisibilityErr error
}

type message struct {
	id, body, receipt string
	sent, visibleAt   time.Time
	receives          int
}

// NewQueue is an empty queue on clock.
func NewQueue(clock *Clock) *Queue { return &Queue{clock: clock} }

// Send adds a message now and returns its id.
func (q *Queue) Send(body string) string { return q.SendAt(body, q.clock.Now()) }

// SendAt adds a message whose SentTimestamp is sent (a server clock behind the
// caller's), visible now, and returns its id.
func (q *Queue) SendAt(body string, sent time.Time) string {
	q.mu.Lock()
	defer q.mu.Unlock()
	q.seq++
	id := fmt.Sprintf("msg-%04d", q.seq)
	q.msgs = append(q.msgs, &message{id: id, body: body, sent: sent, visibleAt: q.clock.Now()})
	return id
}

// Bodies is every message, visible or not: id → body.
func (q *Queue) Bodies() map[string]string {
	q.mu.Lock()
	defer q.mu.Unlock()
	out := map[string]string{}
	for _, m := range q.msgs {
		out[m.id] = m.body
	}
	return out
}

// IDs lists the messages in send order.
func (q *Queue) IDs() []string {
	q.mu.Lock()
	defer q.mu.Unlock()
	var out []string
	for _, m := range q.msgs {
		out = append(out, m.id)
	}
	return out
}

// Visible counts the messages a receive could hand out now.
func (q *Queue) Visible() int {
	q.mu.Lock()
	defer q.mu.Unlock()
	n := 0
	for _, m := range q.msgs {
		if !m.visibleAt.After(q.clock.Now()) {
			n++
		}
	}
	return n
}

// ReceiveMessage hands out up to MaxNumberOfMessages visible messages.
func (q *Queue) ReceiveMessage(ctx context.Context, in *sqs.ReceiveMessageInput, _ ...func(*sqs.Options)) (*sqs.ReceiveMessageOutput, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if in.MaxNumberOfMessages < 1 || in.MaxNumberOfMessages > 10 {
		return nil, fmt.Errorf("InvalidParameterValue: MaxNumberOfMessages %d", in.MaxNumberOfMessages)
	}
	q.mu.Lock()
	defer q.mu.Unlock()
	q.Receives++
	now := q.clock.Now()
	vt := time.Duration(in.VisibilityTimeout) * time.Second
	if in.VisibilityTimeout == 0 {
		vt = 30 * time.Second // the queue's default
	}
	wants := func(name sqstypes.MessageSystemAttributeName) bool {
		return slices.Contains(in.MessageSystemAttributeNames, name) || slices.Contains(in.MessageSystemAttributeNames, sqstypes.MessageSystemAttributeNameAll)
	}
	out := &sqs.ReceiveMessageOutput{}
	for _, m := range q.msgs {
		if len(out.Messages) == int(in.MaxNumberOfMessages) {
			break
		}
		if m.visibleAt.After(now) {
			continue
		}
		m.receives++
		m.visibleAt = now.Add(vt)
		m.receipt = fmt.Sprintf("%s#%d", m.id, m.receives)
		msg := sqstypes.Message{MessageId: aws.String(m.id), Body: aws.String(m.body), ReceiptHandle: aws.String(m.receipt)}
		msg.Attributes = map[string]string{}
		if wants(sqstypes.MessageSystemAttributeNameSentTimestamp) {
			msg.Attributes["SentTimestamp"] = strconv.FormatInt(m.sent.UnixMilli(), 10)
		}
		if wants(sqstypes.MessageSystemAttributeNameApproximateReceiveCount) {
			msg.Attributes["ApproximateReceiveCount"] = strconv.Itoa(m.receives)
		}
		out.Messages = append(out.Messages, msg)
	}
	return out, nil
}

func (q *Queue) byReceipt(receipt string) (int, error) {
	for i, m := range q.msgs {
		if m.receipt == receipt && receipt != "" {
			return i, nil
		}
	}
	return 0, fmt.Errorf("ReceiptHandleIsInvalid: %q", receipt)
}

// DeleteMessage deletes the message of the latest receipt handle.
func (q *Queue) DeleteMessage(_ context.Context, in *sqs.DeleteMessageInput, _ ...func(*sqs.Options)) (*sqs.DeleteMessageOutput, error) {
	q.mu.Lock()
	defer q.mu.Unlock()
	i, err := q.byReceipt(aws.ToString(in.ReceiptHandle))
	if err != nil {
		return nil, err
	}
	q.msgs = slices.Delete(q.msgs, i, i+1)
	return &sqs.DeleteMessageOutput{}, nil
}

// GetQueueAttributes answers the message counts: visible now and in flight.
func (q *Queue) GetQueueAttributes(_ context.Context, in *sqs.GetQueueAttributesInput, _ ...func(*sqs.Options)) (*sqs.GetQueueAttributesOutput, error) {
	q.mu.Lock()
	defer q.mu.Unlock()
	visible, hidden := 0, 0
	for _, m := range q.msgs {
		if m.visibleAt.After(q.clock.Now()) {
			hidden++
		} else {
			visible++
		}
	}
	all := map[sqstypes.QueueAttributeName]string{
		sqstypes.QueueAttributeNameApproximateNumberOfMessages:           strconv.Itoa(visible),
		sqstypes.QueueAttributeNameApproximateNumberOfMessagesNotVisible: strconv.Itoa(hidden),
	}
	out := &sqs.GetQueueAttributesOutput{Attributes: map[string]string{}}
	for _, name := range in.AttributeNames {
		v, ok := all[name]
		if !ok {
			return nil, fmt.Errorf("InvalidAttributeName: the fake answers only the message counts, not %s", name)
		}
		out.Attributes[string(name)] = v
	}
	return out, nil
}

// ChangeMessageVisibility hides or shows a received message.
func (q *Queue) ChangeMessageVisibility(_ context.Context, in *sqs.ChangeMessageVisibilityInput, _ ...func(*sqs.Options)) (*sqs.ChangeMessageVisibilityOutput, error) {
	q.mu.Lock()
	defer q.mu.Unlock()
	if q.ChangeVisibilityErr != nil {
		return nil, q.ChangeVisibilityErr
	}
	i, err := q.byReceipt(aws.ToString(in.ReceiptHandle))
	if err != nil {
		return nil, err
	}
	q.msgs[i].visibleAt = q.clock.Now().Add(time.Duration(in.VisibilityTimeout) * time.Second)
	return &sqs.ChangeMessageVisibilityOutput{}, nil
}

// Execution is one execution of the fake Step Functions.
type Execution struct {
	Arn, StateMachineArn, Name, Input string
	Status                            sfntypes.ExecutionStatus
	Error                             string
	RedriveCount                      int
}

// SFN is Step Functions in memory: executions by name per state machine
// (ExecutionAlreadyExists on a repeated name), ListExecutions by status,
// DescribeExecution, RedriveExecution of failed executions.
type SFN struct {
	mu    sync.Mutex
	execs []*Execution
	// OnStart, when set, runs after each StartExecution outside the lock: a test makes
	// a run fail at once and write its failure message, as the pipeline does with a
	// file that is not an image.
	OnStart func(Execution)
	// StartErr, when set, is what StartExecution returns.
	StartErr error
	// Redriven lists the ARNs RedriveExecution was called for.
	Redriven []string
}

// NewSFN has no executions.
func NewSFN() *SFN { return &SFN{} }

// ExecutionArn is the ARN of execution name of a state machine.
func ExecutionArn(stateMachineArn, name string) string {
	return strings.Replace(stateMachineArn, ":stateMachine:", ":execution:", 1) + ":" + name
}

// Started lists the executions in start order.
func (f *SFN) Started() []Execution {
	f.mu.Lock()
	defer f.mu.Unlock()
	out := make([]Execution, 0, len(f.execs))
	for _, e := range f.execs {
		out = append(out, *e)
	}
	return out
}

// Add records an execution that already ran (to redrive with RedriveExecution).
func (f *SFN) Add(e Execution) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if e.Arn == "" {
		e.Arn = ExecutionArn(e.StateMachineArn, e.Name)
	}
	f.execs = append(f.execs, &e)
}

// Finish ends an execution.
func (f *SFN) Finish(arn string, status sfntypes.ExecutionStatus, errName string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	for _, e := range f.execs {
		if e.Arn == arn {
			e.Status, e.Error = status, errName
		}
	}
}

func (f *SFN) find(arn string) *Execution {
	for _, e := range f.execs {
		if e.Arn == arn {
			return e
		}
	}
	return nil
}

// StartExecution starts a RUNNING execution.
func (f *SFN) StartExecution(_ context.Context, in *sfn.StartExecutionInput, _ ...func(*sfn.Options)) (*sfn.StartExecutionOutput, error) {
	f.mu.Lock()
	if f.StartErr != nil {
		f.mu.Unlock()
		return nil, f.StartErr
	}
	if !json.Valid([]byte(aws.ToString(in.Input))) {
		f.mu.Unlock()
		return nil, &sfntypes.InvalidExecutionInput{Message: aws.String("not JSON")}
	}
	e := &Execution{StateMachineArn: aws.ToString(in.StateMachineArn), Name: aws.ToString(in.Name), Input: aws.ToString(in.Input), Status: sfntypes.ExecutionStatusRunning}
	e.Arn = ExecutionArn(e.StateMachineArn, e.Name)
	if f.find(e.Arn) != nil {
		f.mu.Unlock()
		return nil, &sfntypes.ExecutionAlreadyExists{Message: aws.String("Execution Already Exists: '" + e.Arn + "'")}
	}
	f.execs = append(f.execs, e)
	hook, started := f.OnStart, *e
	f.mu.Unlock()
	if hook != nil {
		hook(started)
	}
	return &sfn.StartExecutionOutput{ExecutionArn: aws.String(started.Arn)}, nil
}

// ListExecutions lists one state machine's executions with a status, in one page.
func (f *SFN) ListExecutions(_ context.Context, in *sfn.ListExecutionsInput, _ ...func(*sfn.Options)) (*sfn.ListExecutionsOutput, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	out := &sfn.ListExecutionsOutput{}
	for _, e := range f.execs {
		if e.StateMachineArn == aws.ToString(in.StateMachineArn) && (in.StatusFilter == "" || e.Status == in.StatusFilter) {
			out.Executions = append(out.Executions, sfntypes.ExecutionListItem{
				ExecutionArn: aws.String(e.Arn), StateMachineArn: aws.String(e.StateMachineArn), Name: aws.String(e.Name),
				Status: e.Status, RedriveCount: aws.Int32(int32(e.RedriveCount)),
			})
		}
	}
	return out, nil
}

// DescribeExecution returns the status and error.
func (f *SFN) DescribeExecution(_ context.Context, in *sfn.DescribeExecutionInput, _ ...func(*sfn.Options)) (*sfn.DescribeExecutionOutput, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	e := f.find(aws.ToString(in.ExecutionArn))
	if e == nil {
		return nil, &sfntypes.ExecutionDoesNotExist{Message: aws.String("no such execution")}
	}
	out := &sfn.DescribeExecutionOutput{ExecutionArn: aws.String(e.Arn), StateMachineArn: aws.String(e.StateMachineArn), Name: aws.String(e.Name), Status: e.Status, Input: aws.String(e.Input), RedriveCount: aws.Int32(int32(e.RedriveCount))}
	if e.Error != "" {
		out.Error = aws.String(e.Error)
	}
	return out, nil
}

// RedriveExecution runs a FAILED, TIMED_OUT or ABORTED execution again.
func (f *SFN) RedriveExecution(_ context.Context, in *sfn.RedriveExecutionInput, _ ...func(*sfn.Options)) (*sfn.RedriveExecutionOutput, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	e := f.find(aws.ToString(in.ExecutionArn))
	if e == nil {
		return nil, &sfntypes.ExecutionDoesNotExist{Message: aws.String("no such execution")}
	}
	switch e.Status {
	case sfntypes.ExecutionStatusFailed, sfntypes.ExecutionStatusTimedOut, sfntypes.ExecutionStatusAborted:
	default:
		return nil, &sfntypes.ExecutionNotRedrivable{Message: aws.String("execution is " + string(e.Status))}
	}
	e.Status, e.Error = sfntypes.ExecutionStatusRunning, ""
	e.RedriveCount++
	f.Redriven = append(f.Redriven, e.Arn)
	return &sfn.RedriveExecutionOutput{}, nil
}

// FailureBody is a failure-queue message as the state machines write it, for a failed
// execution of input: {"error", "cause", "state", "input", "executionArn",
// "permanent"}. An empty executionArn is left out, and permanent is left out when nil
// (the messages of state machines from before those fields).
func FailureBody(errName, input, executionArn string, permanent *bool) string {
	m := map[string]any{"error": errName, "cause": `{"errorMessage":"` + errName + `"}`, "state": "ExtractMetadata", "input": json.RawMessage(input)}
	if executionArn != "" {
		m["executionArn"] = executionArn
	}
	if permanent != nil {
		m["permanent"] = *permanent
	}
	b, err := json.Marshal(m)
	if err != nil {
		panic(err) // input is not JSON: a broken test
	}
	return string(b)
}

// Event is an S3 EventBridge event for key, as the pipeline's input.
func Event(detailType, key string) string {
	b, _ := json.Marshal(map[string]any{
		"version": "0", "id": "ev-" + key, "detail-type": detailType, "source": "aws.s3", "account": "000000000000",
		"region": "us-east-1", "resources": []string{"arn:aws:s3:::images"},
		"detail": map[string]any{"bucket": map[string]string{"name": "images"}, "object": map[string]any{"key": key, "size": 5}},
	})
	return string(b)
}
