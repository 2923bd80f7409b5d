package test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/sfn"
	sfntypes "github.com/aws/aws-sdk-go-v2/service/sfn/types"

	"github.com/imagepipe/imagepipe/functions/pipeline"
	"github.com/imagepipe/imagepipe/functions/redrive"
)

// redriveAnswerBound is how long POST /api/failures/redrive may take: the redrive
// Lambda's default budget (redrive.DefaultMaxDuration) plus its last empty receive,
// with room for a cold start.
const redriveAnswerBound = 10 * time.Second

// redriveAnswer is the redrive Lambda's output, which the API passes on.
type redriveAnswer struct {
	redrive.Report
	Mode string `json:"mode"`
}

// queuedFailure is one message of GET /api/failures with its body decoded.
type queuedFailure struct {
	MessageID string
	Body      redrive.Failure
	Event     pipeline.ObjectEvent
}

// queuedFailures reads the failure queue through the API (which lists in-flight
// messages too).
func (tw *Twin) queuedFailures(t *testing.T) []queuedFailure {
	t.Helper()
	var ans failuresAnswer
	if st := tw.getJSON(t, "/api/failures", &ans); st != 200 {
		t.Fatalf("/api/failures: status %d", st)
	}
	var out []queuedFailure
	for _, m := range ans.Messages {
		raw := string(m.Body)
		var s string
		if json.Unmarshal(m.Body, &s) == nil { // a body given as a JSON string
			raw = s
		}
		f, ev, err := redrive.ParseFailure(raw)
		if err != nil {
			t.Fatalf("failure message %s: %v", raw, err)
		}
		out = append(out, queuedFailure{MessageID: m.MessageID, Body: f, Event: ev})
	}
	return out
}

// postRedrive POSTs a JSON body to an /api/failures route and decodes the answer; it
// fails the test when the answer takes longer than redriveAnswerBound. A redrive
// answers 202 at once with its job's execution: the report is the job's output,
// followed through GET /api/executions/{arn} within the same bound.
func (tw *Twin) postRedrive(t *testing.T, path, body string) redriveAnswer {
	t.Helper()
	client := tw.API()
	client.Timeout = 2 * redriveAnswerBound // a hung request fails, not the whole suite
	start := time.Now()
	resp, err := client.Post(tw.HTTPURL+path, "application/json", strings.NewReader(body))
	if err != nil {
		t.Fatalf("POST %s: %v", path, err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	took := time.Since(start)
	t.Logf("POST %s %s: %d in %v: %s", path, body, resp.StatusCode, took.Round(time.Millisecond), raw)
	if took > redriveAnswerBound {
		t.Errorf("POST %s answered after %v, bound %v", path, took, redriveAnswerBound)
	}
	var job struct{ ExecutionArn string }
	if resp.StatusCode == http.StatusAccepted && json.Unmarshal(raw, &job) == nil && job.ExecutionArn != "" {
		raw = tw.followJob(t, job.ExecutionArn, start.Add(redriveAnswerBound))
	} else if resp.StatusCode != 200 {
		t.Fatalf("POST %s: status %d: %s", path, resp.StatusCode, raw)
	}
	var ans redriveAnswer
	if err := json.Unmarshal(raw, &ans); err != nil {
		t.Fatalf("POST %s: answer %s: %v", path, raw, err)
	}
	return ans
}

// followJob reads a redrive job's execution through the operators' API until it
// ends, by deadline, and returns its output.
func (tw *Twin) followJob(t *testing.T, arn string, deadline time.Time) []byte {
	t.Helper()
	var d struct {
		Execution struct{ Status, Output, Error, Cause string }
	}
	waitFor(t, time.Until(deadline), "the redrive job "+arn+" to end", func() (bool, error) {
		if st := tw.getJSON(t, "/api/executions/"+url.PathEscape(arn), &d); st != 200 {
			return false, fmt.Errorf("GET /api/executions/%s: %d", arn, st)
		}
		return d.Execution.Status != "RUNNING", nil
	})
	if d.Execution.Status != "SUCCEEDED" {
		t.Fatalf("redrive job %s: %s %s", d.Execution.Status, d.Execution.Error, d.Execution.Cause)
	}
	return []byte(d.Execution.Output)
}

// putTexts uploads n text files under upload/<dir>/: files the pipeline can never read.
func (tw *Twin) putTexts(t *testing.T, dir string, n int) []string {
	t.Helper()
	ctx := ctxT(t)
	keys := make([]string, n)
	for i := range keys {
		keys[i] = fmt.Sprintf("upload/%s/notes-%d.txt", dir, i)
		body := fmt.Sprintf("shopping list %d: eggs, flour, milk\n", i)
		if _, err := tw.S3().PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String("images"), Key: aws.String(keys[i]), Body: bytes.NewReader([]byte(body)), ContentType: aws.String("text/plain")}); err != nil {
			t.Fatalf("put %s: %v", keys[i], err)
		}
	}
	return keys
}

// waitFailures waits until the queue holds n failure messages and every execution has
// ended (the message is sent just before the Fail state), and returns the messages.
func (tw *Twin) waitFailures(t *testing.T, n int) []queuedFailure {
	t.Helper()
	var msgs []queuedFailure
	waitFor(t, 2*time.Minute, fmt.Sprintf("%d failure messages and no running execution", n), func() (bool, error) {
		msgs = tw.queuedFailures(t)
		return len(msgs) == n && len(tw.executions(t, sfntypes.ExecutionStatusRunning)) == 0, nil
	})
	return msgs
}

// The runaway redrive (issue 14): five files that can never succeed. POST
// /api/failures/redrive answers within 10 s, starts no execution, and leaves the five
// messages, marked permanent, visible in the queue. The CLI does the same.
func TestRedriveOfFivePermanentFailuresAnswersWithin10sAndStartsNone(t *testing.T) {
	tw := startTwin(t)
	keys := tw.putTexts(t, "runaway", 5)
	before := tw.waitFailures(t, 5)
	executions := tw.executions(t, "")
	if len(executions) != 5 {
		t.Fatalf("%d executions for 5 uploads", len(executions))
	}
	arns := map[string]bool{}
	for _, e := range executions {
		arns[aws.ToString(e.ExecutionArn)] = true
	}
	assertPermanent := func(msgs []queuedFailure) {
		t.Helper()
		seen := map[string]bool{}
		for _, m := range msgs {
			b := m.Body
			if b.Error != pipeline.ErrNameNotAnImage || b.Permanent == nil || !*b.Permanent || !arns[b.ExecutionArn] || b.RedriveCount() != 0 {
				t.Errorf("message %s: error %s, permanent %v, executionArn %q: want NotAnImageError, permanent: true, one of the 5 executions, count 0",
					m.MessageID, b.Error, b.Permanent, b.ExecutionArn)
			}
			seen[m.Event.Detail.Object.Key] = true
		}
		for _, k := range keys {
			if !seen[k] {
				t.Errorf("no failure message for %s", k)
			}
		}
	}
	assertPermanent(before)

	ans := tw.postRedrive(t, "/api/failures/redrive", `{}`)
	if ans.Started != 0 || ans.Permanent != 5 || !ans.Complete {
		t.Errorf("answer %+v: want started 0, permanent 5, complete", ans.Report)
	}
	if n := len(tw.executions(t, "")); n != 5 {
		t.Fatalf("%d executions after the redrive, want the 5 there were", n)
	}
	after := tw.queuedFailures(t)
	if len(after) != 5 {
		t.Fatalf("%d messages after the redrive, want 5", len(after))
	}
	assertPermanent(after)
	if visible, inFlight := tw.queueDepth(t); visible != 5 || inFlight != 0 {
		t.Errorf("queue: %d visible, %d in flight; the redrive must leave them visible", visible, inFlight)
	}

	start := time.Now()
	var rep redrive.Report
	mustJSON(t, imagepipe(t, "redrive", "--endpoint", tw.EdgeURL), &rep)
	if took := time.Since(start); took > redriveAnswerBound || rep.Started != 0 || rep.Permanent != 5 {
		t.Errorf("imagepipe redrive: %+v in %v", rep, took)
	}
	if n := len(tw.executions(t, "")); n != 5 {
		t.Errorf("%d executions after imagepipe redrive, want 5", n)
	}
}

// Failures you can act on (issue 15): one message redriven by id starts once (and,
// failing again, comes back with redrive count 1); another discarded is gone; the
// third is untouched.
func TestRedriveAndDiscardOneFailureByMessageID(t *testing.T) {
	tw := startTwin(t)
	tw.putTexts(t, "by-id", 3)
	msgs := tw.waitFailures(t, 3)
	redriven, discarded, kept := msgs[0], msgs[1], msgs[2]

	ans := tw.postRedrive(t, "/api/failures/redrive", fmt.Sprintf(`{"messageIds":[%q]}`, redriven.MessageID))
	if ans.Started != 1 || len(ans.Messages) != 1 || ans.Messages[0].MessageID != redriven.MessageID {
		t.Fatalf("redrive by id: %+v", ans.Report)
	}
	newArn := ans.Messages[0].ExecutionArn
	if redrive.RedriveCountOf(newArn) != 1 {
		t.Errorf("started %q: want a redrive-1 execution", newArn)
	}
	ans = tw.postRedrive(t, "/api/failures/discard", fmt.Sprintf(`{"messageIds":[%q]}`, discarded.MessageID))
	if ans.Discarded != 1 || ans.Started != 0 {
		t.Fatalf("discard: %+v", ans.Report)
	}

	final := tw.waitFailures(t, 2)
	byID := map[string]queuedFailure{}
	for _, m := range final {
		byID[m.MessageID] = m
	}
	if _, ok := byID[kept.MessageID]; !ok {
		t.Errorf("%s was neither redriven nor discarded, and is gone", kept.MessageID)
	}
	for id, m := range byID {
		if id == kept.MessageID {
			continue
		}
		if m.Body.ExecutionArn != newArn || m.Body.RedriveCount() != 1 || m.Event.Detail.Object.Key != redriven.Event.Detail.Object.Key {
			t.Errorf("new message %s: %+v, want the failure of %s with redrive count 1", id, m.Body, newArn)
		}
	}
	if n := len(tw.executions(t, "")); n != 4 {
		t.Errorf("%d executions, want 3 uploads + 1 redrive", n)
	}
}

// Bounds of the redrive job on the twin (issue 14: "a redrive request returns at once
// with a job the caller can follow").
const (
	jobStartBound = time.Second      // StartExecution of the Redrive state machine
	jobEndBound   = 10 * time.Second // the job's end, for a queue of a few messages
)

// jobOutput is the Redrive state machine's output.
type jobOutput struct {
	redrive.Report
	Rounds int `json:"rounds"`
}

// startRedriveJob starts the Redrive state machine with input and fails the test when
// StartExecution takes longer than jobStartBound.
func (tw *Twin) startRedriveJob(t *testing.T, input string) string {
	t.Helper()
	arn := strings.Replace(pipelineArn(t, tw), "-Pipeline", "-Redrive", 1)
	start := time.Now()
	out, err := tw.SFN().StartExecution(ctxT(t), &sfn.StartExecutionInput{StateMachineArn: aws.String(arn), Input: aws.String(input)})
	took := time.Since(start)
	if err != nil {
		t.Fatalf("start the redrive job %s: %v", arn, err)
	}
	t.Logf("StartExecution %s %s: %v", arn, input, took.Round(time.Millisecond))
	if took > jobStartBound {
		t.Errorf("StartExecution of the redrive job took %v, bound %v", took, jobStartBound)
	}
	return aws.ToString(out.ExecutionArn)
}

// waitRedriveJob waits (at most jobEndBound) until the job has ended, expects
// SUCCEEDED, and returns its output and each round's report from its history.
func (tw *Twin) waitRedriveJob(t *testing.T, exec string) (jobOutput, []redrive.Report) {
	t.Helper()
	start := time.Now()
	var d *sfn.DescribeExecutionOutput
	waitFor(t, jobEndBound, "the redrive job to end", func() (bool, error) {
		var err error
		d, err = tw.SFN().DescribeExecution(ctxT(t), &sfn.DescribeExecutionInput{ExecutionArn: aws.String(exec)})
		return err == nil && d.Status != sfntypes.ExecutionStatusRunning, err
	})
	t.Logf("redrive job %s: %s after %v: %s", exec, d.Status, time.Since(start).Round(time.Millisecond), aws.ToString(d.Output))
	if d.Status != sfntypes.ExecutionStatusSucceeded {
		t.Fatalf("redrive job %s: %s: %s: %s", exec, d.Status, aws.ToString(d.Error), aws.ToString(d.Cause))
	}
	var out jobOutput
	if err := json.Unmarshal([]byte(aws.ToString(d.Output)), &out); err != nil {
		t.Fatalf("job output %s: %v", aws.ToString(d.Output), err)
	}
	h, err := tw.SFN().GetExecutionHistory(ctxT(t), &sfn.GetExecutionHistoryInput{ExecutionArn: aws.String(exec), MaxResults: 1000})
	if err != nil {
		t.Fatal(err)
	}
	var rounds []redrive.Report
	for _, e := range h.Events {
		if e.Type == sfntypes.HistoryEventTypeTaskSucceeded {
			var res struct{ Payload redrive.Report }
			if err := json.Unmarshal([]byte(aws.ToString(e.TaskSucceededEventDetails.Output)), &res); err != nil {
				t.Fatalf("round output: %v", err)
			}
			rounds = append(rounds, res.Payload)
		}
	}
	return out, rounds
}

// The runaway redrive as a job (issue 14): five files that can never succeed. The
// Redrive state machine starts within 1 s, SUCCEEDS within 10 s having started none
// of them (permanent, not forced), and the queue still holds the five, visible; its
// history shows the round. Then a job naming one message redrives that one only.
func TestRedriveJobOfFivePermanentFailuresStartsWithin1sEndsWithin10sStartsNone(t *testing.T) {
	tw := startTwin(t)
	tw.putTexts(t, "job", 5)
	msgs := tw.waitFailures(t, 5)

	out, rounds := tw.waitRedriveJob(t, tw.startRedriveJob(t, `{}`))
	if out.Started != 0 || out.Permanent != 5 || !out.Complete || out.Rounds != 1 || len(rounds) != 1 || rounds[0].Permanent != 5 {
		t.Errorf("job output %+v, rounds %+v: want 0 started, 5 permanent, one round", out, rounds)
	}
	if n := len(tw.executions(t, "")); n != 5 {
		t.Fatalf("%d pipeline executions after the job, want the 5 there were", n)
	}
	if visible, inFlight := tw.queueDepth(t); visible != 5 || inFlight != 0 {
		t.Errorf("queue: %d visible, %d in flight; want the five, visible", visible, inFlight)
	}

	one := msgs[2]
	out, _ = tw.waitRedriveJob(t, tw.startRedriveJob(t, fmt.Sprintf(`{"messageIds":[%q]}`, one.MessageID)))
	if out.Started != 1 || len(out.Messages) != 1 || out.Messages[0].MessageID != one.MessageID || redrive.RedriveCountOf(out.Messages[0].ExecutionArn) != 1 {
		t.Fatalf("job by id: %+v", out)
	}
	if n := len(tw.executions(t, "")); n != 6 {
		t.Errorf("%d pipeline executions, want 5 + the one redriven", n)
	}
	// The redriven run fails again (a text file) and writes its own message: the queue
	// holds the four untouched ones and that one.
	for _, m := range tw.waitFailures(t, 5) {
		if m.MessageID == one.MessageID {
			t.Errorf("the redriven message %s is still queued", one.MessageID)
		}
		if m.Body.RedriveCount() == 1 && m.Body.ExecutionArn != out.Messages[0].ExecutionArn {
			t.Errorf("new failure %+v, want it from %s", m.Body, out.Messages[0].ExecutionArn)
		}
	}
	// A job input the machine does not take fails at once, before any round.
	exec := tw.startRedriveJob(t, `{"messageIds":[]}`)
	waitFor(t, jobEndBound, "the bad job to fail", func() (bool, error) {
		d, err := tw.SFN().DescribeExecution(ctxT(t), &sfn.DescribeExecutionInput{ExecutionArn: aws.String(exec)})
		return err == nil && d.Status == sfntypes.ExecutionStatusFailed && aws.ToString(d.Error) == "InvalidRedriveInput", err
	})
}

// The redrive Lambda's list action, as the web app will call it (aws lambda invoke):
// every message, not consumed.
func TestRedriveListActionShowsTheQueueWithoutConsumingIt(t *testing.T) {
	tw := startTwin(t)
	tw.putTexts(t, "list", 3)
	tw.waitFailures(t, 3)
	var fns struct {
		Functions []struct{ FunctionName string }
	}
	mustJSON(t, tw.runAWS(t, "lambda", "list-functions"), &fns)
	name := ""
	for _, f := range fns.Functions {
		if strings.Contains(f.FunctionName, "Redrive") {
			name = f.FunctionName
		}
	}
	if name == "" {
		t.Fatalf("no redrive function in %+v", fns)
	}
	file := t.TempDir() + "/out.json"
	tw.runAWS(t, "lambda", "invoke", "--function-name", name, "--cli-binary-format", "raw-in-base64-out",
		"--payload", `{"action":"list","maxMessages":100}`, file)
	raw, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	var list redrive.Listing
	if err := json.Unmarshal(raw, &list); err != nil {
		t.Fatalf("list answer %s: %v", raw, err)
	}
	if len(list.Messages) != 3 || list.ApproximateCount != 3 {
		t.Fatalf("list answer %s: want 3 messages", raw)
	}
	for _, m := range list.Messages {
		var f redrive.Failure
		if err := json.Unmarshal(m.Body, &f); err != nil || f.Error != pipeline.ErrNameNotAnImage || m.SentTimestamp == 0 || m.ReceiveCount < 1 {
			t.Errorf("listed %+v (%v)", m, err)
		}
	}
	if visible, inFlight := tw.queueDepth(t); visible != 3 || inFlight != 0 {
		t.Errorf("queue after list: %d visible, %d in flight; want all 3 visible", visible, inFlight)
	}
}
