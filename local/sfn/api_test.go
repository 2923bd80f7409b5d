package sfn

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	sdk "github.com/aws/aws-sdk-go-v2/service/sfn"
	"github.com/aws/aws-sdk-go-v2/service/sfn/types"
	"github.com/aws/smithy-go/middleware"
	smithyhttp "github.com/aws/smithy-go/transport/http"

	"github.com/imagepipe/imagepipe/local/asl"
)

func sdkClient(t *testing.T, svc *Service) *sdk.Client {
	srv := httptest.NewServer(svc.Handler())
	t.Cleanup(srv.Close)
	return sdk.New(sdk.Options{
		Region:       "us-east-1",
		BaseEndpoint: aws.String(srv.URL),
		Credentials:  credentials.NewStaticCredentialsProvider("AKIDTEST", "secret", ""),
		// TestState's endpoint has the host prefix "sync-", which no loopback name
		// resolves: send it to the endpoint as given (the CLI's equivalent is
		// AWS_DISABLE_HOST_PREFIX_INJECTION=true).
		APIOptions: []func(*middleware.Stack) error{func(st *middleware.Stack) error {
			return st.Initialize.Add(middleware.InitializeMiddlewareFunc("NoHostPrefix",
				func(ctx context.Context, in middleware.InitializeInput, next middleware.InitializeHandler) (middleware.InitializeOutput, middleware.Metadata, error) {
					return next.HandleInitialize(smithyhttp.DisableEndpointHostPrefix(ctx, true), in)
				}), middleware.Before)
		}},
	})
}

func TestAPIWithSDK(t *testing.T) {
	eng := &fakeEngine{fn: func(ctx context.Context, spec runSpec) (string, error) {
		if strings.Contains(spec.Input, "fail") {
			return "", &asl.ExecutionError{Name: "CorruptImageError", Cause: "bad bytes"}
		}
		return `{"done":true}`, nil
	}}
	svc := openTest(t, testPath(t), eng, 2)
	defer closeNow(t, svc)
	if _, err := svc.CreateStateMachine("remove", `{}`, ""); err != nil {
		t.Fatal(err)
	}
	c := sdkClient(t, svc)
	ctx := waitCtx(t)
	smARN := StateMachineARN("sm")

	// State machines, one per page.
	var names []string
	pg := sdk.NewListStateMachinesPaginator(c, &sdk.ListStateMachinesInput{MaxResults: 1})
	for pg.HasMorePages() {
		out, err := pg.NextPage(ctx)
		if err != nil {
			t.Fatal(err)
		}
		for _, sm := range out.StateMachines {
			names = append(names, aws.ToString(sm.Name))
		}
	}
	if fmt.Sprint(names) != "[remove sm]" {
		t.Fatalf("state machines %v", names)
	}
	dsm, err := c.DescribeStateMachine(ctx, &sdk.DescribeStateMachineInput{StateMachineArn: aws.String(smARN)})
	if err != nil || dsm.Type != types.StateMachineTypeStandard || !strings.Contains(aws.ToString(dsm.Definition), "StartAt") || dsm.CreationDate == nil {
		t.Fatalf("describe state machine: %+v %v", dsm, err)
	}

	// Seven executions, the third failing.
	var arns []string
	for i := range 7 {
		input := fmt.Sprintf(`{"i":%d}`, i)
		if i == 2 {
			input = `{"fail":true}`
		}
		out, err := c.StartExecution(ctx, &sdk.StartExecutionInput{StateMachineArn: aws.String(smARN), Name: aws.String(fmt.Sprint("x", i)), Input: aws.String(input)})
		if err != nil {
			t.Fatal(err)
		}
		if out.StartDate == nil || out.StartDate.Year() < 2020 {
			t.Fatalf("start date %v", out.StartDate)
		}
		arns = append(arns, aws.ToString(out.ExecutionArn))
	}
	unnamed, err := c.StartExecution(ctx, &sdk.StartExecutionInput{StateMachineArn: aws.String(smARN)})
	if err != nil || len(aws.ToString(unnamed.ExecutionArn)) != len(ExecutionARN("sm", "00000000-0000-0000-0000-000000000000")) {
		t.Fatalf("unnamed start: %v %v", unnamed, err)
	}
	arns = append(arns, aws.ToString(unnamed.ExecutionArn))
	for _, arn := range arns {
		if _, err := svc.WaitFor(ctx, arn); err != nil {
			t.Fatal(err)
		}
	}

	// Newest first, three a page.
	var listed []string
	lp := sdk.NewListExecutionsPaginator(c, &sdk.ListExecutionsInput{StateMachineArn: aws.String(smARN), MaxResults: 3})
	pages := 0
	for lp.HasMorePages() {
		out, err := lp.NextPage(ctx)
		if err != nil {
			t.Fatal(err)
		}
		pages++
		for _, e := range out.Executions {
			listed = append(listed, aws.ToString(e.ExecutionArn))
			if e.StopDate == nil || e.StartDate == nil {
				t.Fatalf("dates missing: %+v", e)
			}
		}
	}
	if pages != 3 || len(listed) != 8 {
		t.Fatalf("%d pages, %d executions", pages, len(listed))
	}
	for i := range listed {
		if listed[i] != arns[len(arns)-1-i] {
			t.Fatalf("order: got %v, want reverse of %v", listed, arns)
		}
	}
	failed, err := c.ListExecutions(ctx, &sdk.ListExecutionsInput{StateMachineArn: aws.String(smARN), StatusFilter: types.ExecutionStatusFailed})
	if err != nil || len(failed.Executions) != 1 || aws.ToString(failed.Executions[0].ExecutionArn) != arns[2] {
		t.Fatalf("failed filter: %+v %v", failed, err)
	}

	// Describe.
	d, err := c.DescribeExecution(ctx, &sdk.DescribeExecutionInput{ExecutionArn: aws.String(arns[0])})
	if err != nil || d.Status != types.ExecutionStatusSucceeded || aws.ToString(d.Output) != `{"done":true}` || aws.ToString(d.Input) != `{"i":0}` || d.StopDate == nil {
		t.Fatalf("describe: %+v %v", d, err)
	}
	d, err = c.DescribeExecution(ctx, &sdk.DescribeExecutionInput{ExecutionArn: aws.String(arns[2])})
	if err != nil || d.Status != types.ExecutionStatusFailed || aws.ToString(d.Error) != "CorruptImageError" || aws.ToString(d.Cause) != "bad bytes" || d.RedriveStatus != types.ExecutionRedriveStatusRedrivable {
		t.Fatalf("describe failed: %+v %v", d, err)
	}

	// History, two a page, both directions.
	var types1 []string
	hp := sdk.NewGetExecutionHistoryPaginator(c, &sdk.GetExecutionHistoryInput{ExecutionArn: aws.String(arns[0]), MaxResults: 2})
	for hp.HasMorePages() {
		out, err := hp.NextPage(ctx)
		if err != nil {
			t.Fatal(err)
		}
		for _, e := range out.Events {
			types1 = append(types1, fmt.Sprintf("%s:%d<%d", e.Type, e.Id, e.PreviousEventId))
			if e.Timestamp == nil || e.Timestamp.Year() < 2020 {
				t.Fatalf("timestamp %v", e.Timestamp)
			}
		}
	}
	if got := strings.Join(types1, ","); got != "ExecutionStarted:1<0,PassStateEntered:2<1,PassStateExited:3<2,ExecutionSucceeded:4<3" {
		t.Fatalf("history %s", got)
	}
	var rev []string
	hp = sdk.NewGetExecutionHistoryPaginator(c, &sdk.GetExecutionHistoryInput{ExecutionArn: aws.String(arns[0]), MaxResults: 3, ReverseOrder: true, IncludeExecutionData: aws.Bool(false)})
	for hp.HasMorePages() {
		out, err := hp.NextPage(ctx)
		if err != nil {
			t.Fatal(err)
		}
		for _, e := range out.Events {
			rev = append(rev, fmt.Sprint(e.Id))
			if e.ExecutionStartedEventDetails != nil && e.ExecutionStartedEventDetails.Input != nil {
				t.Fatalf("input included: %v", *e.ExecutionStartedEventDetails.Input)
			}
		}
	}
	if got := strings.Join(rev, ","); got != "4,3,2,1" {
		t.Fatalf("reverse history %s", got)
	}
	h, err := c.GetExecutionHistory(ctx, &sdk.GetExecutionHistoryInput{ExecutionArn: aws.String(arns[0])})
	if err != nil || h.Events[0].ExecutionStartedEventDetails == nil || aws.ToString(h.Events[0].ExecutionStartedEventDetails.Input) != `{"i":0}` {
		t.Fatalf("started details: %+v %v", h, err)
	}

	// Redrive the failed one; stop a finished one (no-op).
	if _, err := c.RedriveExecution(ctx, &sdk.RedriveExecutionInput{ExecutionArn: aws.String(arns[2])}); err != nil {
		t.Fatal(err)
	}
	if ex, _ := svc.WaitFor(ctx, arns[2]); ex.RedriveCount != 1 || ex.Status != StatusFailed {
		t.Fatalf("redriven: %+v", ex)
	}
	if _, err := c.StopExecution(ctx, &sdk.StopExecutionInput{ExecutionArn: aws.String(arns[0])}); err != nil {
		t.Fatal(err)
	}
}

func TestAPIErrorsAreSDKTypes(t *testing.T) {
	svc := openTest(t, testPath(t), &fakeEngine{}, 1)
	defer closeNow(t, svc)
	c := sdkClient(t, svc)
	ctx := waitCtx(t)
	smARN := StateMachineARN("sm")
	first, err := c.StartExecution(ctx, &sdk.StartExecutionInput{StateMachineArn: aws.String(smARN), Name: aws.String("once"), Input: aws.String("{}")})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := svc.WaitFor(ctx, aws.ToString(first.ExecutionArn)); err != nil {
		t.Fatal(err)
	}
	check := func(name string, err error, target any) {
		t.Helper()
		if err == nil || !errors.As(err, target) {
			t.Errorf("%s: got %v (%T), want %T", name, err, err, target)
		}
	}
	_, err = c.DescribeExecution(ctx, &sdk.DescribeExecutionInput{ExecutionArn: aws.String(ExecutionARN("sm", "nope"))})
	check("describe missing", err, new(*types.ExecutionDoesNotExist))
	_, err = c.DescribeExecution(ctx, &sdk.DescribeExecutionInput{ExecutionArn: aws.String("arn:bogus")})
	check("describe bad arn", err, new(*types.InvalidArn))
	_, err = c.DescribeStateMachine(ctx, &sdk.DescribeStateMachineInput{StateMachineArn: aws.String(StateMachineARN("nope"))})
	check("describe sm missing", err, new(*types.StateMachineDoesNotExist))
	_, err = c.StartExecution(ctx, &sdk.StartExecutionInput{StateMachineArn: aws.String(smARN), Name: aws.String("bad name")})
	check("bad name", err, new(*types.InvalidName))
	_, err = c.StartExecution(ctx, &sdk.StartExecutionInput{StateMachineArn: aws.String(smARN), Input: aws.String("{")})
	check("bad input", err, new(*types.InvalidExecutionInput))
	_, err = c.StartExecution(ctx, &sdk.StartExecutionInput{StateMachineArn: aws.String(smARN), Name: aws.String("once"), Input: aws.String("{}")})
	check("reused name", err, new(*types.ExecutionAlreadyExists))
	_, err = c.ListExecutions(ctx, &sdk.ListExecutionsInput{StateMachineArn: aws.String(smARN), NextToken: aws.String("garbage!")})
	check("bad token", err, new(*types.InvalidToken))
	_, err = c.ListExecutions(ctx, &sdk.ListExecutionsInput{StateMachineArn: aws.String(smARN), MaxResults: 1001})
	check("page too large", err, new(*types.ValidationException))
	_, err = c.RedriveExecution(ctx, &sdk.RedriveExecutionInput{ExecutionArn: first.ExecutionArn})
	check("redrive succeeded", err, new(*types.ExecutionNotRedrivable))
	_, err = c.GetExecutionHistory(ctx, &sdk.GetExecutionHistoryInput{ExecutionArn: aws.String(ExecutionARN("sm", "nope"))})
	check("history missing", err, new(*types.ExecutionDoesNotExist))
	_, err = c.StopExecution(ctx, &sdk.StopExecutionInput{ExecutionArn: aws.String(ExecutionARN("other", "nope"))})
	check("stop missing", err, new(*types.ExecutionDoesNotExist))
}

func TestAPIRejectsUnknownTargets(t *testing.T) {
	svc := openTest(t, testPath(t), &fakeEngine{}, 1)
	defer closeNow(t, svc)
	h := svc.Handler()
	for _, target := range []string{"", "AWSStepFunctions.CreateActivity", "AmazonSQS.SendMessage"} {
		req := httptest.NewRequest(http.MethodPost, "/", strings.NewReader("{}"))
		req.Header.Set("X-Amz-Target", target)
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		if rec.Code != 400 || !strings.Contains(rec.Body.String(), `"__type":"UnknownOperationException"`) {
			t.Errorf("%q: %d %s", target, rec.Code, rec.Body)
		}
	}
}
