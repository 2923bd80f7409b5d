package operations

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/lambda"
	"github.com/aws/aws-sdk-go-v2/service/sfn"
	"github.com/aws/aws-sdk-go-v2/service/sqs"

	"github.com/imagepipe/imagepipe/functions/redrive/redrivetest"
)

const (
	pipelineArn = "arn:aws:states:us-east-1:000000000000:stateMachine:ImagePipe-Pipeline"
	removeArn   = "arn:aws:states:us-east-1:000000000000:stateMachine:ImagePipe-Remove"
	definition  = `{"StartAt":"A","States":{"A":{"Type":"Succeed"}}}`
)

// fakeExecution is one execution of fakeSFN, in Step Functions' wire shapes.
type fakeExecution struct {
	arn, machine, name, status, input string
	start                             float64
	stop                              float64 // 0: still running
	history                           []json.RawMessage
	stopError, stopCause              string
}

// fakeSFN is Step Functions' JSON 1.0 protocol on an httptest server, so that the
// tests go through the SDK client and SDKStepFunctions as the Lambda does.
// Executions are listed newest first (the order they were added, reversed).
type fakeSFN struct {
	mu    sync.Mutex
	execs []*fakeExecution
	// describes counts DescribeExecution calls.
	describes int
}

func (f *fakeSFN) add(machine, name, status, input string) *fakeExecution {
	f.mu.Lock()
	defer f.mu.Unlock()
	e := &fakeExecution{
		arn: strings.Replace(machine, ":stateMachine:", ":execution:", 1) + ":" + name, machine: machine, name: name,
		status: status, input: input, start: 1717243200.125 + float64(len(f.execs)),
	}
	if status != "RUNNING" {
		e.stop = e.start + 2.5
	}
	f.execs = append(f.execs, e)
	return e
}

func (f *fakeSFN) find(arn string) *fakeExecution {
	for _, e := range f.execs {
		if e.arn == arn {
			return e
		}
	}
	return nil
}

type sfnError struct{ typ, msg string }

func (f *fakeSFN) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	op, _ := strings.CutPrefix(r.Header.Get("X-Amz-Target"), "AWSStepFunctions.")
	var in map[string]any
	body, _ := io.ReadAll(r.Body)
	if err := json.Unmarshal(body, &in); err != nil {
		http.Error(w, err.Error(), 400)
		return
	}
	f.mu.Lock()
	out, serr := f.call(op, in)
	f.mu.Unlock()
	w.Header().Set("Content-Type", "application/x-amz-json-1.0")
	if serr != nil {
		w.WriteHeader(400)
		json.NewEncoder(w).Encode(map[string]string{"__type": "com.amazonaws.states#" + serr.typ, "message": serr.msg})
		return
	}
	json.NewEncoder(w).Encode(out)
}

func (f *fakeSFN) call(op string, in map[string]any) (any, *sfnError) {
	arn, _ := in["executionArn"].(string)
	if op == "ListExecutions" {
		return f.list(in), nil
	}
	e := f.find(arn)
	if e == nil {
		return nil, &sfnError{"ExecutionDoesNotExist", "Execution Does Not Exist: '" + arn + "'"}
	}
	switch op {
	case "DescribeExecution":
		f.describes++
		d := map[string]any{"executionArn": e.arn, "stateMachineArn": e.machine, "name": e.name, "status": e.status,
			"startDate": e.start, "input": e.input, "inputDetails": map[string]bool{"included": true}, "redriveCount": 0}
		if e.stop != 0 {
			d["stopDate"] = e.stop
		}
		return d, nil
	case "DescribeStateMachineForExecution":
		return map[string]any{"stateMachineArn": e.machine, "name": "ImagePipe-Pipeline", "definition": definition,
			"roleArn": "arn:aws:iam::000000000000:role/r", "updateDate": 1717243000.0}, nil
	case "GetExecutionHistory":
		return page(e.history, in), nil
	case "RedriveExecution":
		if e.status != "FAILED" && e.status != "TIMED_OUT" && e.status != "ABORTED" {
			return nil, &sfnError{"ExecutionNotRedrivable", "Execution is " + e.status}
		}
		e.status = "RUNNING"
		return map[string]any{"redriveDate": 1717250000.5}, nil
	case "StopExecution":
		e.status, e.stopError, e.stopCause = "ABORTED", in["error"].(string), in["cause"].(string)
		return map[string]any{"stopDate": 1717250001.5}, nil
	}
	return nil, &sfnError{"UnknownOperationException", op}
}

func (f *fakeSFN) list(in map[string]any) any {
	var items []map[string]any
	for i := len(f.execs) - 1; i >= 0; i-- {
		e := f.execs[i]
		if e.machine != in["stateMachineArn"] || (in["statusFilter"] != nil && in["statusFilter"] != e.status) {
			continue
		}
		it := map[string]any{"executionArn": e.arn, "stateMachineArn": e.machine, "name": e.name, "status": e.status, "startDate": e.start}
		if e.stop != 0 {
			it["stopDate"] = e.stop
		}
		items = append(items, it)
	}
	raw := make([]json.RawMessage, len(items))
	for i, it := range items {
		raw[i], _ = json.Marshal(it)
	}
	p := page(raw, in)
	p["executions"] = p["events"]
	delete(p, "events")
	return p
}

// page is one page of items: maxResults (default 100) from nextToken (an offset).
func page(items []json.RawMessage, in map[string]any) map[string]any {
	from, _ := strconv.Atoi(fmt.Sprint(in["nextToken"]))
	size := 100
	if n, ok := in["maxResults"].(float64); ok && n > 0 {
		size = int(n)
	}
	to := min(from+size, len(items))
	out := map[string]any{"events": items[from:to]}
	if to < len(items) {
		out["nextToken"] = strconv.Itoa(to)
	}
	return out
}

// fakeLambda records invocations and answers with Answer (or FunctionError).
type fakeLambda struct {
	mu            sync.Mutex
	payloads      []string
	answer        string
	functionError string
}

func (l *fakeLambda) Invoke(_ context.Context, in *lambda.InvokeInput, _ ...func(*lambda.Options)) (*lambda.InvokeOutput, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if aws.ToString(in.FunctionName) != "ImagePipe-RedriveFunction" || in.InvocationType != "RequestResponse" {
		return nil, fmt.Errorf("invoked %q %s", aws.ToString(in.FunctionName), in.InvocationType)
	}
	l.payloads = append(l.payloads, string(in.Payload))
	out := &lambda.InvokeOutput{StatusCode: 200, Payload: []byte(l.answer)}
	if l.functionError != "" {
		out.FunctionError = aws.String("Unhandled")
		out.Payload = []byte(l.functionError)
	}
	return out, nil
}

// queue is redrivetest's SQS queue with the attributes GET /failures reads first,
// recording each receive's wait and how many messages were hidden at the time.
type queue struct {
	*redrivetest.Queue
	log *queueLog
}

type queueLog struct {
	mu       sync.Mutex
	receives []receiveCall
	// staleCount is added to ApproximateNumberOfMessages: SQS's count lags.
	staleCount int
}

type receiveCall struct{ wait, hidden int }

func (q queue) ReceiveMessage(ctx context.Context, in *sqs.ReceiveMessageInput, opts ...func(*sqs.Options)) (*sqs.ReceiveMessageOutput, error) {
	q.log.mu.Lock()
	q.log.receives = append(q.log.receives, receiveCall{int(in.WaitTimeSeconds), len(q.IDs()) - q.Visible()})
	q.log.mu.Unlock()
	return q.Queue.ReceiveMessage(ctx, in, opts...)
}

func (q queue) GetQueueAttributes(_ context.Context, in *sqs.GetQueueAttributesInput, _ ...func(*sqs.Options)) (*sqs.GetQueueAttributesOutput, error) {
	if aws.ToString(in.QueueUrl) != queueURL {
		return nil, fmt.Errorf("QueueDoesNotExist: %s", aws.ToString(in.QueueUrl))
	}
	return &sqs.GetQueueAttributesOutput{Attributes: map[string]string{
		"ApproximateNumberOfMessages": strconv.Itoa(q.Visible() + q.log.staleCount), "ApproximateNumberOfMessagesNotVisible": strconv.Itoa(len(q.IDs()) - q.Visible()),
	}}, nil
}

const queueURL = "http://127.0.0.1:4566/000000000000/ImagePipe-FailureQueue"

// world is a Handler on the fakes.
type world struct {
	clock  *redrivetest.Clock
	sfn    *fakeSFN
	queue  queue
	lambda *fakeLambda
	h      Handler
}

func newWorld(t *testing.T) *world {
	t.Helper()
	f := &fakeSFN{}
	srv := httptest.NewServer(f)
	t.Cleanup(srv.Close)
	client := sfn.New(sfn.Options{
		Region: "us-east-1", BaseEndpoint: aws.String(srv.URL), RetryMaxAttempts: 1, HTTPClient: WholeBodies(http.DefaultTransport),
		Credentials: credentials.NewStaticCredentialsProvider("test", "test", ""),
	})
	clock := redrivetest.NewClock()
	w := &world{clock: clock, sfn: f, queue: queue{redrivetest.NewQueue(clock), &queueLog{}}, lambda: &fakeLambda{answer: `{"mode":"queue","started":1}`}}
	w.h = Handler{
		SFN: SDKStepFunctions{Client: client}, Queue: w.queue, Lambda: w.lambda,
		QueueURL: queueURL, RedriveFunction: "ImagePipe-RedriveFunction",
		PipelineArn: pipelineArn, RemoveArn: removeArn, Logger: quiet,
	}
	return w
}
