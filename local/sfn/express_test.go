package sfn

import (
	"context"
	"errors"
	"log/slog"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	sdk "github.com/aws/aws-sdk-go-v2/service/sfn"
	"github.com/aws/aws-sdk-go-v2/service/sfn/types"
	smithy "github.com/aws/smithy-go"

	"github.com/imagepipe/imagepipe/functions/testkit"
)

// openExpress opens a service with an EXPRESS state machine "fast" on the real
// engine, delivering each start deliveries times, logging into logs.
func openExpress(t *testing.T, deliveries int, def string, logs *testkit.Buffer) *Service {
	t.Helper()
	svc, err := Open(filepath.Join(t.TempDir(), "sfn.db"), Options{Workers: 4, ExpressDeliveries: deliveries,
		Logger: slog.New(slog.NewJSONHandler(logs, nil))})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { closeNow(t, svc) })
	if _, err := svc.CreateStateMachineOfType("fast", TypeExpress, def, "arn:aws:iam::000000000000:role/r"); err != nil {
		t.Fatal(err)
	}
	return svc
}

func apiCode(err error) string {
	var ae smithy.APIError
	if errors.As(err, &ae) {
		return ae.ErrorCode()
	}
	return ""
}

// Express as AWS runs it: every start a new run (ARN with a run id, a reused name is
// no conflict), at least once (here twice), no execution APIs, history in the logs.
func TestExpressSemantics(t *testing.T) {
	logs := &testkit.Buffer{}
	svc := openExpress(t, 2, `{"StartAt":"P","States":{"P":{"Type":"Pass","Result":{"ok":true},"End":true}}}`, logs)
	c := sdkClient(t, svc)
	ctx := waitCtx(t)
	arn := StateMachineARN("fast")

	sm, err := c.DescribeStateMachine(ctx, &sdk.DescribeStateMachineInput{StateMachineArn: aws.String(arn)})
	if err != nil || sm.Type != types.StateMachineTypeExpress {
		t.Fatalf("describe state machine: %v %v", sm, err)
	}
	var arns []string
	for range 2 { // the same name twice: two runs, no ExecutionAlreadyExists
		out, err := c.StartExecution(ctx, &sdk.StartExecutionInput{StateMachineArn: aws.String(arn), Name: aws.String("same"), Input: aws.String(`{"a":1}`)})
		if err != nil {
			t.Fatal(err)
		}
		arns = append(arns, aws.ToString(out.ExecutionArn))
	}
	prefix := "arn:aws:states:us-east-1:000000000000:express:fast:same:"
	if !strings.HasPrefix(arns[0], prefix) || !strings.HasPrefix(arns[1], prefix) || arns[0] == arns[1] {
		t.Errorf("execution ARNs %v, want two under %s", arns, prefix)
	}
	// Each start delivered twice: four runs succeed, each logging its events.
	waitLogs(t, logs, `"type":"ExecutionSucceeded"`, 4)
	if n := strings.Count(logs.String(), "express start delivered again"); n != 2 {
		t.Errorf("%d duplicate deliveries logged, want 2", n)
	}
	for _, want := range []string{`"type":"ExecutionStarted"`, `"type":"PassStateEntered"`, `"execution_arn":"` + arns[0] + `"`} {
		if !strings.Contains(logs.String(), want) {
			t.Errorf("log lacks %s", want)
		}
	}
	if strings.Contains(logs.String(), `{\"a\":1}`) || strings.Contains(logs.String(), `"ok":true`) {
		t.Errorf("execution data in the logged events:\n%s", logs.String())
	}

	// The execution APIs refuse Express runs, as AWS does.
	_, err = c.DescribeExecution(ctx, &sdk.DescribeExecutionInput{ExecutionArn: aws.String(arns[0])})
	if apiCode(err) != "InvalidArn" {
		t.Errorf("DescribeExecution: %v, want InvalidArn", err)
	}
	_, err = c.GetExecutionHistory(ctx, &sdk.GetExecutionHistoryInput{ExecutionArn: aws.String(arns[0])})
	if apiCode(err) != "InvalidArn" {
		t.Errorf("GetExecutionHistory: %v, want InvalidArn", err)
	}
	_, err = c.RedriveExecution(ctx, &sdk.RedriveExecutionInput{ExecutionArn: aws.String(arns[0])})
	if apiCode(err) != "InvalidArn" {
		t.Errorf("RedriveExecution: %v, want InvalidArn", err)
	}
	_, err = c.StopExecution(ctx, &sdk.StopExecutionInput{ExecutionArn: aws.String(arns[0])})
	if apiCode(err) != "InvalidArn" {
		t.Errorf("StopExecution: %v, want InvalidArn", err)
	}
	_, err = c.ListExecutions(ctx, &sdk.ListExecutionsInput{StateMachineArn: aws.String(arn)})
	var notSupported *types.StateMachineTypeNotSupported
	if !errors.As(err, &notSupported) {
		t.Errorf("ListExecutions: %v, want StateMachineTypeNotSupported", err)
	}
}

// waitLogs waits until the log holds want n times.
func waitLogs(t *testing.T, logs *testkit.Buffer, want string, n int) {
	t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	for strings.Count(logs.String(), want) < n {
		if time.Now().After(deadline) {
			t.Fatalf("log holds %s %d times, want %d:\n%s", want, strings.Count(logs.String(), want), n, logs.String())
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// StartSyncExecution: Express only, once, with the result; Standard refuses it.
func TestStartSyncExecution(t *testing.T) {
	logs := &testkit.Buffer{}
	svc := openExpress(t, 2, `{"StartAt":"P","States":{"P":{"Type":"Pass","Parameters":{"got.$":"$.a"},"End":true}}}`, logs)
	if _, err := svc.CreateStateMachine("std", `{"StartAt":"P","States":{"P":{"Type":"Pass","End":true}}}`, ""); err != nil {
		t.Fatal(err)
	}
	c := sdkClient(t, svc)
	ctx := waitCtx(t)
	out, err := c.StartSyncExecution(ctx, &sdk.StartSyncExecutionInput{StateMachineArn: aws.String(StateMachineARN("fast")), Input: aws.String(`{"a":7}`)})
	if err != nil {
		t.Fatal(err)
	}
	if out.Status != types.SyncExecutionStatusSucceeded || aws.ToString(out.Output) != `{"got":7}` || out.BillingDetails == nil || out.BillingDetails.BilledDurationInMilliseconds < 100 {
		t.Errorf("StartSyncExecution: %s %s %+v", out.Status, aws.ToString(out.Output), out.BillingDetails)
	}
	if n := strings.Count(logs.String(), "express start delivered again"); n != 0 {
		t.Errorf("a synchronous start was delivered again (%d): it runs at most once", n)
	}
	_, err = c.StartSyncExecution(ctx, &sdk.StartSyncExecutionInput{StateMachineArn: aws.String(StateMachineARN("std"))})
	var notSupported *types.StateMachineTypeNotSupported
	if !errors.As(err, &notSupported) {
		t.Errorf("StartSyncExecution of a Standard machine: %v, want StateMachineTypeNotSupported", err)
	}
}

// skipClock is a clock whose sleeps take no wall time.
type skipClock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *skipClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *skipClock) Sleep(ctx context.Context, d time.Duration) error {
	c.mu.Lock()
	c.now = c.now.Add(d)
	c.mu.Unlock()
	return ctx.Err()
}

// An Express execution ends after five minutes whatever its TimeoutSeconds says; a
// Standard one with the same definition waits its ten minutes.
func TestExpressRunsAtMostFiveMinutes(t *testing.T) {
	clock := &skipClock{now: time.Date(2024, 5, 1, 12, 0, 0, 0, time.UTC)}
	svc, err := Open(filepath.Join(t.TempDir(), "sfn.db"), Options{Workers: 2, Clock: clock, Logger: quietLogger()})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { closeNow(t, svc) })
	def := `{"TimeoutSeconds":900,"StartAt":"W","States":{"W":{"Type":"Wait","Seconds":600,"End":true}}}`
	for name, typ := range map[string]string{"fast": TypeExpress, "slow": TypeStandard} {
		if _, err := svc.CreateStateMachineOfType(name, typ, def, ""); err != nil {
			t.Fatal(err)
		}
	}
	ctx := waitCtx(t)
	for name, want := range map[string]string{"fast": StatusTimedOut, "slow": StatusSucceeded} {
		ex, err := svc.Start(ctx, StateMachineARN(name), "", "{}")
		if err != nil {
			t.Fatal(err)
		}
		got, err := svc.WaitFor(ctx, ex.ARN)
		if err != nil {
			t.Fatal(err)
		}
		if got.Status != want {
			t.Errorf("%s: status %s (%s), want %s", name, got.Status, got.Error, want)
		}
	}
}
