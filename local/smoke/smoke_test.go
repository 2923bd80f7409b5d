package smoke_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/cloudformation"
	cfntypes "github.com/aws/aws-sdk-go-v2/service/cloudformation/types"
	"github.com/aws/aws-sdk-go-v2/service/sfn"
	sfntypes "github.com/aws/aws-sdk-go-v2/service/sfn/types"

	"github.com/imagepipe/imagepipe/local/smoke"
	"github.com/imagepipe/imagepipe/local/smoke/smoketest"
)

// runOn runs the smoke test against the fake pipeline broken as b.
func runOn(t *testing.T, b smoketest.Breaks, tweak ...func(*smoke.Runner)) (smoke.Report, *smoketest.Pipeline) {
	t.Helper()
	p := smoketest.New(b)
	t.Cleanup(p.Close)
	r := &smoke.Runner{
		Target: smoke.Target{Name: "fake", Bucket: smoketest.Bucket, APIURL: p.SearchURL(), PipelineArn: smoketest.PipelineArn, FailureQueueURL: smoketest.QueueURL},
		S3:     p, SFN: p.SFN, SQS: p.SQS,
		Search:  &smoke.Search{BaseURL: p.SearchURL(), Region: "us-east-1", Credentials: credentials.NewStaticCredentialsProvider("test", "test", "")},
		Timeout: 5 * time.Second, CleanupTimeout: 2 * time.Second, Poll: 10 * time.Millisecond,
	}
	for _, f := range tweak {
		f(r)
	}
	return r.Run(context.Background()), p
}

// byName indexes a report's checks, failing t unless every check ran once, in order.
func byName(t *testing.T, rep smoke.Report) map[string]smoke.Check {
	t.Helper()
	out := map[string]smoke.Check{}
	var names []string
	for _, c := range rep.Checks {
		out[c.Name] = c
		names = append(names, c.Name)
	}
	if strings.Join(names, ",") != strings.Join(smoke.Checks, ",") {
		t.Fatalf("checks %v, want %v", names, smoke.Checks)
	}
	return out
}

func TestAllPassOnAWorkingPipeline(t *testing.T) {
	rep, p := runOn(t, smoketest.Breaks{QueueNoise: "upload/someone/else.jpg"})
	for _, c := range rep.Checks {
		t.Log(c.Line())
		if c.Status != smoke.OK {
			t.Errorf("%s", c.Line())
		}
	}
	if !rep.OK || rep.Passed != len(smoke.Checks) || rep.Failed != 0 {
		t.Errorf("report %+v", rep)
	}
	if keys := p.Keys(); len(keys) != 0 {
		t.Errorf("left in the bucket: %v", keys)
	}
	if len(p.Signed) == 0 {
		t.Error("the search API was never called")
	}
	// The other message was handed back, and only the run's own were deleted.
	if bodies := p.SQS.Bodies(); len(bodies) != 1 || p.SQS.Visible() != 1 {
		t.Errorf("queue after the run: %d messages, %d visible; want someone else's one, visible", len(bodies), p.SQS.Visible())
	}
	if !strings.HasPrefix(rep.Prefix, "upload/smoke/") || !strings.Contains(rep.Summary(), "8 ok, 0 failed") {
		t.Errorf("prefix %q, summary %q", rep.Prefix, rep.Summary())
	}
}

func TestEachBreakFailsItsCheck(t *testing.T) {
	cases := []struct {
		name  string
		b     smoketest.Breaks
		fails map[string]string // check → words its line must carry
	}{
		{"orientation ignored", smoketest.Breaks{IgnoreOrientation: true}, map[string]string{
			smoke.CheckThumbnail:   "40×80, want 80×40",
			smoke.CheckOrientation: "red corner at top-left, want top-right",
		}},
		{"make-thumbnail fails", smoketest.Breaks{FailThumbnail: true}, map[string]string{
			smoke.CheckExecution:   "FAILED, want SUCCEEDED: TransientError",
			smoke.CheckSearch:      "the execution ended FAILED",
			smoke.CheckDocument:    "no document",
			smoke.CheckThumbnail:   "no such object",
			smoke.CheckOrientation: "no thumbnail",
		}},
		{"no location", smoketest.Breaks{DropLocation: true}, map[string]string{smoke.CheckDocument: "no location"}},
		{"remove pipeline idle", smoketest.Breaks{KeepOnDelete: true}, map[string]string{smoke.CheckCleanup: "the remove pipeline left thumbnail/smoke/"}},
		{"search refused", smoketest.Breaks{SearchStatus: 403}, map[string]string{
			smoke.CheckSearch: "search API answered 403", smoke.CheckDocument: "no document", smoke.CheckCleanup: "answered 403",
		}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t0 := time.Now()
			rep, _ := runOn(t, c.b)
			checks := byName(t, rep)
			for _, name := range smoke.Checks {
				got := checks[name]
				want, shouldFail := c.fails[name]
				switch {
				case shouldFail && (got.Status != smoke.Fail || !strings.Contains(got.Line(), want)):
					t.Errorf("%s: %q, want FAIL mentioning %q", name, got.Line(), want)
				case !shouldFail && got.Status != smoke.OK:
					t.Errorf("%s: %q, want ok", name, got.Line())
				}
			}
			if rep.OK || rep.Failed != len(c.fails) {
				t.Errorf("report ok=%v failed=%d, want %d failed", rep.OK, rep.Failed, len(c.fails))
			}
			// A failed execution or a refused search ends the wait at once.
			if c.b.FailThumbnail && time.Since(t0) > 3*time.Second {
				t.Errorf("took %v: the checks waited for a document a failed execution never writes", time.Since(t0))
			}
		})
	}
}

// expressSFN answers ListExecutions as Step Functions does for an Express machine.
type expressSFN struct{ smoke.SFNAPI }

func (expressSFN) ListExecutions(context.Context, *sfn.ListExecutionsInput, ...func(*sfn.Options)) (*sfn.ListExecutionsOutput, error) {
	return nil, &sfntypes.StateMachineTypeNotSupported{Message: aws.String("This operation is not supported by this type of state machine")}
}

func TestExpressSkipsTheExecutionCheck(t *testing.T) {
	rep, _ := runOn(t, smoketest.Breaks{}, func(r *smoke.Runner) { r.SFN = expressSFN{r.SFN} })
	c := byName(t, rep)[smoke.CheckExecution]
	if c.Status != smoke.Skip || !rep.OK || rep.Skipped != 1 || !strings.HasPrefix(c.Line(), "skip execution: not checked") {
		t.Errorf("%q, report ok=%v skipped=%d", c.Line(), rep.OK, rep.Skipped)
	}
}

func TestTimeoutStillCleansUp(t *testing.T) {
	// No execution is ever found: the wait ends at the timeout, and the cleanup runs.
	rep, p := runOn(t, smoketest.Breaks{}, func(r *smoke.Runner) {
		r.Target.PipelineArn += "-elsewhere"
		r.Timeout = 300 * time.Millisecond
	})
	c := byName(t, rep)
	if got := c[smoke.CheckExecution]; got.Status != smoke.Fail || !strings.Contains(got.Detail, "no execution of ImagePipe-Pipeline-elsewhere started for upload/smoke/") {
		t.Errorf("%q", got.Line())
	}
	if got := c[smoke.CheckCleanup]; got.Status != smoke.OK {
		t.Errorf("%q", got.Line())
	}
	if keys := p.Keys(); len(keys) != 0 {
		t.Errorf("left in the bucket: %v", keys)
	}
}

type fakeCFN struct {
	status  cfntypes.StackStatus
	outputs map[string]string
	err     error
}

func (f fakeCFN) DescribeStacks(_ context.Context, in *cloudformation.DescribeStacksInput, _ ...func(*cloudformation.Options)) (*cloudformation.DescribeStacksOutput, error) {
	if f.err != nil {
		return nil, f.err
	}
	st := cfntypes.Stack{StackName: in.StackName, StackStatus: f.status}
	for k, v := range f.outputs {
		st.Outputs = append(st.Outputs, cfntypes.Output{OutputKey: aws.String(k), OutputValue: aws.String(v)})
	}
	return &cloudformation.DescribeStacksOutput{Stacks: []cfntypes.Stack{st}}, nil
}

func TestStackTarget(t *testing.T) {
	outputs := map[string]string{
		smoke.OutputBucket: "imagepipe-images9bf4d4c2-abc", smoke.OutputAPI: "https://abc.execute-api.eu-west-1.amazonaws.com/prod/",
		smoke.OutputPipeline: "arn:aws:states:eu-west-1:123456789012:stateMachine:Pipeline-x", smoke.OutputFailureQueue: "https://sqs.eu-west-1.amazonaws.com/123456789012/q",
		"Region": "eu-west-1",
	}
	tg, err := smoke.StackTarget(context.Background(), fakeCFN{status: cfntypes.StackStatusUpdateComplete, outputs: outputs}, "ImagePipe")
	if err != nil || tg.Bucket != outputs[smoke.OutputBucket] || tg.APIURL != outputs[smoke.OutputAPI] || tg.PipelineArn != outputs[smoke.OutputPipeline] || tg.FailureQueueURL != outputs[smoke.OutputFailureQueue] || tg.Name != "stack ImagePipe" {
		t.Fatalf("%+v, %v", tg, err)
	}
	delete(outputs, smoke.OutputAPI)
	if _, err := smoke.StackTarget(context.Background(), fakeCFN{status: cfntypes.StackStatusCreateComplete, outputs: outputs}, "ImagePipe"); err == nil || !strings.Contains(err.Error(), "no output ApiUrl") {
		t.Errorf("missing output: %v", err)
	}
	if _, err := smoke.StackTarget(context.Background(), fakeCFN{status: cfntypes.StackStatusUpdateRollbackComplete}, "ImagePipe"); err == nil || !strings.Contains(err.Error(), "UPDATE_ROLLBACK_COMPLETE: its last deploy did not complete") {
		t.Errorf("rolled back: %v", err)
	}
	denied := errors.New("AccessDenied")
	if _, err := smoke.StackTarget(context.Background(), fakeCFN{err: denied}, "ImagePipe"); !errors.Is(err, denied) {
		t.Errorf("error: %v", err)
	}
}
