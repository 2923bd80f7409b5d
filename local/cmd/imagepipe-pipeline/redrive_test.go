package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sfn"
	sfntypes "github.com/aws/aws-sdk-go-v2/service/sfn/types"

	"github.com/imagepipe/imagepipe/functions/pipeline"
	"github.com/imagepipe/imagepipe/functions/redrive"
	"github.com/imagepipe/imagepipe/functions/redrive/redrivetest"
	"github.com/imagepipe/imagepipe/local/cli"
)

const twinPipelineArn = "arn:aws:states:us-east-1:000000000000:stateMachine:" + pipelineStateMachine

type redriveWorld struct {
	clock *redrivetest.Clock
	q     *redrivetest.Queue
	sfn   *redrivetest.SFN
}

func newRedriveWorld(t *testing.T) *redriveWorld {
	t.Helper()
	t.Setenv("AWS_ACCESS_KEY_ID", "test")
	t.Setenv("AWS_SECRET_ACCESS_KEY", "test")
	t.Setenv("AWS_REGION", "us-east-1")
	c := redrivetest.NewClock()
	return &redriveWorld{clock: c, q: redrivetest.NewQueue(c), sfn: redrivetest.NewSFN()}
}

// fail queues a failure as the state machine writes it; redriven runs fail the same
// way at once and write a new message.
func (w *redriveWorld) fail(key, errName string) string {
	perm := redrive.IsPermanentError(errName)
	id := w.q.Send(redrivetest.FailureBody(errName, redrivetest.Event(pipeline.DetailTypeCreated, key), redrivetest.ExecutionArn(twinPipelineArn, "s3-run"), &perm))
	w.sfn.OnStart = func(e redrivetest.Execution) {
		w.sfn.Finish(e.Arn, sfntypes.ExecutionStatusFailed, errName)
		w.q.Send(redrivetest.FailureBody(errName, e.Input, e.Arn, &perm))
	}
	w.clock.Advance(time.Millisecond)
	return id
}

// run runs `imagepipe redrive --endpoint … ARGS` on the fakes; it returns the report
// (stdout) and the progress (stderr).
func (w *redriveWorld) run(t *testing.T, args ...string) (redrive.Report, string, error) {
	t.Helper()
	rep, stdout, stderr, err := w.runJob(t, nil, args...)
	if stdout != "" {
		if jerr := json.Unmarshal([]byte(stdout), &rep); jerr != nil {
			t.Fatalf("stdout %q: %v (err %v)", stdout, jerr, err)
		}
	}
	return rep, stderr, err
}

func (w *redriveWorld) runJob(t *testing.T, jobs *fakeJobs, args ...string) (redrive.Report, string, string, error) {
	t.Helper()
	var stdout, stderr bytes.Buffer
	clients := redriveClients{
		wire: func(_ aws.Config, r *redrive.Redriver) {
			if r.QueueURL != "http://127.0.0.1:4566/000000000000/"+failureQueue || r.PipelineArn != twinPipelineArn {
				t.Errorf("twin defaults: queue %s, pipeline %s", r.QueueURL, r.PipelineArn)
			}
			r.SQS, r.SFN, r.Now = w.q, w.sfn, w.clock.Now
		},
		jobs: func(aws.Config) jobAPI {
			if jobs == nil {
				t.Fatal("the command started a redrive job")
			}
			return jobs
		},
	}
	err := redriveCmd(context.Background(), append([]string{"--endpoint", "http://127.0.0.1:4566"}, args...), &stdout, &stderr, clients)
	return redrive.Report{}, stdout.String(), stderr.String(), err
}

// fakeJobs is Step Functions running the redrive job: StartExecution records the
// input, and each GetExecutionHistory reveals one more event of a scripted history,
// as a running job's history grows.
type fakeJobs struct {
	mu       sync.Mutex
	events   []sfntypes.HistoryEvent
	shown    int
	started  []string // inputs
	machines []string
	reads    int
}

func (f *fakeJobs) StartExecution(_ context.Context, in *sfn.StartExecutionInput, _ ...func(*sfn.Options)) (*sfn.StartExecutionOutput, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.started = append(f.started, aws.ToString(in.Input))
	f.machines = append(f.machines, aws.ToString(in.StateMachineArn))
	return &sfn.StartExecutionOutput{ExecutionArn: aws.String(jobExecution)}, nil
}

func (f *fakeJobs) GetExecutionHistory(_ context.Context, in *sfn.GetExecutionHistoryInput, _ ...func(*sfn.Options)) (*sfn.GetExecutionHistoryOutput, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if aws.ToString(in.ExecutionArn) != jobExecution {
		return nil, &sfntypes.ExecutionDoesNotExist{Message: in.ExecutionArn}
	}
	f.reads++
	if f.shown < len(f.events) {
		f.shown++
	}
	return &sfn.GetExecutionHistoryOutput{Events: append([]sfntypes.HistoryEvent(nil), f.events[:f.shown]...)}, nil
}

const jobExecution = "arn:aws:states:us-east-1:000000000000:execution:" + redriveStateMachine + ":job-1"

// script builds the history of a job whose rounds answered reports and whose
// output is final (nil: the job failed with RedriveRoundsExceeded).
func script(t *testing.T, rounds []redrive.Report, final any) *fakeJobs {
	t.Helper()
	js := func(v any) *string {
		b, err := json.Marshal(v)
		if err != nil {
			t.Fatal(err)
		}
		return aws.String(string(b))
	}
	f := &fakeJobs{}
	add := func(e sfntypes.HistoryEvent) {
		e.Id = int64(len(f.events) + 1)
		f.events = append(f.events, e)
	}
	add(sfntypes.HistoryEvent{Type: sfntypes.HistoryEventTypeExecutionStarted})
	for _, r := range rounds {
		add(sfntypes.HistoryEvent{Type: sfntypes.HistoryEventTypeTaskScheduled})
		add(sfntypes.HistoryEvent{Type: sfntypes.HistoryEventTypeTaskSucceeded, TaskSucceededEventDetails: &sfntypes.TaskSucceededEventDetails{
			Output: js(map[string]any{"ExecutedVersion": "$LATEST", "Payload": r, "StatusCode": 200})}})
	}
	if final == nil {
		add(sfntypes.HistoryEvent{Type: sfntypes.HistoryEventTypeExecutionFailed, ExecutionFailedEventDetails: &sfntypes.ExecutionFailedEventDetails{
			Error: aws.String("RedriveRoundsExceeded"), Cause: aws.String("60 rounds did not get through")}})
	} else {
		add(sfntypes.HistoryEvent{Type: sfntypes.HistoryEventTypeExecutionSucceeded, ExecutionSucceededEventDetails: &sfntypes.ExecutionSucceededEventDetails{Output: js(final)}})
	}
	return f
}

// The command starts the twin's redrive job with the input asked for, follows it
// round by round as its history grows, and prints the job's output.
func TestRedriveCommandFollowsTheJob(t *testing.T) {
	w := newRedriveWorld(t)
	perm := redrive.Outcome{MessageID: "m-1", Action: redrive.ActionPermanent, Key: "upload/0.txt", Error: pipeline.ErrNameNotAnImage}
	jobs := script(t, []redrive.Report{
		{Permanent: 1, Started: 2, SentBefore: 1717243200000, ElapsedMS: 30000, Messages: []redrive.Outcome{perm}},
		{Permanent: 1, Complete: true, SentBefore: 1717243200000, ElapsedMS: 1000, Messages: []redrive.Outcome{perm}},
	}, map[string]any{"started": 2, "permanent": 1, "complete": true, "rounds": 2, "sentBefore": 1717243200000, "elapsedMs": 31000,
		"messages": []redrive.Outcome{perm}})
	_, stdout, progress, err := w.runJob(t, jobs)
	if err != nil {
		t.Fatalf("%v\n%s", err, progress)
	}
	if jobs.started[0] != `{}` || jobs.machines[0] != "arn:aws:states:us-east-1:000000000000:stateMachine:"+redriveStateMachine {
		t.Errorf("started %v on %v, want {} on the twin's %s", jobs.started, jobs.machines, redriveStateMachine)
	}
	var out jobReport
	if err := json.Unmarshal([]byte(stdout), &out); err != nil || out.Started != 2 || out.Permanent != 1 || out.Rounds != 2 || out.Messages != nil {
		t.Errorf("stdout %q (%v)", stdout, err)
	}
	for _, want := range []string{"redrive job " + jobExecution, "round 1: 2 started", "continuing from the same snapshot", "round 2: 0 started",
		"--message m-1 or --include-permanent", "in 2 rounds"} {
		if !strings.Contains(progress, want) {
			t.Errorf("progress lacks %q:\n%s", want, progress)
		}
	}
	if jobs.reads < len(jobs.events) {
		t.Errorf("%d history reads for %d events: the command did not follow the growing history", jobs.reads, len(jobs.events))
	}
}

// --message and --include-permanent become the job's input; --no-wait prints the
// execution ARN and reads no history.
func TestRedriveCommandJobInputAndNoWait(t *testing.T) {
	w := newRedriveWorld(t)
	jobs := script(t, nil, map[string]any{"complete": true, "rounds": 1})
	_, stdout, _, err := w.runJob(t, jobs, "--message", "a,b", "--message", "c", "--include-permanent", "--no-wait")
	if err != nil || strings.TrimSpace(stdout) != jobExecution || jobs.reads != 0 {
		t.Fatalf("--no-wait: stdout %q, %d reads, %v", stdout, jobs.reads, err)
	}
	if jobs.started[0] != `{"messageIds":["a","b","c"],"includePermanent":true}` {
		t.Errorf("job input %s", jobs.started[0])
	}
	// Ids the queue did not hold make the command fail, after the report.
	jobs = script(t, nil, map[string]any{"complete": true, "rounds": 1, "notFound": []string{"gone"}})
	if _, stdout, _, err := w.runJob(t, jobs, "--message", "gone"); err == nil || !strings.Contains(err.Error(), "gone") || stdout == "" {
		t.Errorf("not found: %q %v", stdout, err)
	}
}

// A job that fails is the command's error, with the job's error name and cause.
func TestRedriveCommandJobFails(t *testing.T) {
	w := newRedriveWorld(t)
	_, _, _, err := w.runJob(t, script(t, []redrive.Report{{Permanent: 3}}, nil))
	if err == nil || !strings.Contains(err.Error(), "RedriveRoundsExceeded") || !strings.Contains(err.Error(), jobExecution) {
		t.Errorf("error %v", err)
	}
}

// Flags that do not go together are usage errors, before anything starts.
func TestRedriveCommandFlagConflicts(t *testing.T) {
	w := newRedriveWorld(t)
	for _, args := range [][]string{{"--max", "4"}, {"--sent-before", "5"}, {"--max-time", "1m"}, {"--discard", "a", "--message", "b"},
		{"--discard", "a", "--include-permanent"}, {"--executions", "--no-wait"}, {"--discard", "a", "--redrive-arn", "x"}, {"--executions", "--message", "a"}} {
		if _, _, _, err := w.runJob(t, nil, args...); !errors.Is(err, cli.ErrUsage) {
			t.Errorf("%v: %v, want a usage error", args, err)
		}
	}
}

// --discard deletes in this process, as before: the named message goes, an unknown
// id is an error, nothing else is touched and no job starts.
func TestRedriveCommandDiscard(t *testing.T) {
	w := newRedriveWorld(t)
	b := w.fail("upload/b.txt", pipeline.ErrNameNotAnImage)
	c := w.fail("upload/c.txt", pipeline.ErrNameNotAnImage)
	rep, progress, err := w.run(t, "--discard", b+",nope")
	if rep.Discarded != 1 || err == nil || !strings.Contains(err.Error(), "nope") {
		t.Fatalf("--discard: %+v %v\n%s", rep, err, progress)
	}
	bodies := w.q.Bodies()
	if _, ok := bodies[b]; ok {
		t.Error("discarded message still queued")
	}
	if _, ok := bodies[c]; !ok || len(bodies) != 1 || len(w.sfn.Started()) != 0 {
		t.Errorf("queue %v, %d executions: want c alone and none", bodies, len(w.sfn.Started()))
	}
}

// --executions runs RedriveExecution in this process, bounded by --max.
func TestRedriveCommandExecutions(t *testing.T) {
	w := newRedriveWorld(t)
	for _, n := range []string{"t1", "t2"} {
		w.sfn.Add(redrivetest.Execution{StateMachineArn: twinPipelineArn, Name: n, Status: sfntypes.ExecutionStatusTimedOut})
	}
	rep, progress, err := w.run(t, "--executions", "--max", "1")
	if err != nil || rep.Started != 1 || rep.Complete || len(w.sfn.Redriven) != 1 {
		t.Fatalf("%+v %v\n%s", rep, err, progress)
	}
}
