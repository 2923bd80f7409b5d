package sfn

import (
	"context"
	"encoding/json"
	"errors"
	"strings"
	"testing"

	"github.com/aws/aws-lambda-go/lambda"
	"github.com/aws/aws-sdk-go-v2/aws"
	sdk "github.com/aws/aws-sdk-go-v2/service/sfn"
	"github.com/aws/aws-sdk-go-v2/service/sfn/types"

	"github.com/imagepipe/imagepipe/local/asl"
)

const role = "arn:aws:iam::000000000000:role/StatesRole"

// The developer APIs through the real SDK client: create (idempotent, then
// StateMachineAlreadyExists), update, describe for an execution, delete.
func TestDeveloperAPIsWithSDK(t *testing.T) {
	svc, err := Open(testPath(t), Options{Workers: 1, Logger: quietLogger()})
	if err != nil {
		t.Fatal(err)
	}
	defer closeNow(t, svc)
	c := sdkClient(t, svc)
	ctx := waitCtx(t)
	def := `{"StartAt":"P","States":{"P":{"Type":"Pass","End":true}}}`
	created, err := c.CreateStateMachine(ctx, &sdk.CreateStateMachineInput{Name: aws.String("dev"), Definition: aws.String(def), RoleArn: aws.String(role)})
	if err != nil || aws.ToString(created.StateMachineArn) != StateMachineARN("dev") {
		t.Fatalf("%+v %v", created, err)
	}
	if _, err := c.CreateStateMachine(ctx, &sdk.CreateStateMachineInput{Name: aws.String("dev"), Definition: aws.String(def), RoleArn: aws.String(role)}); err != nil {
		t.Fatalf("same parameters again: %v", err)
	}
	_, err = c.CreateStateMachine(ctx, &sdk.CreateStateMachineInput{Name: aws.String("dev"), Definition: aws.String(strings.Replace(def, "{", `{"Comment":"changed",`, 1)), RoleArn: aws.String(role)})
	var exists *types.StateMachineAlreadyExists
	if !errors.As(err, &exists) {
		t.Fatalf("different definition: %v", err)
	}
	_, err = c.CreateStateMachine(ctx, &sdk.CreateStateMachineInput{Name: aws.String("bad"), RoleArn: aws.String(role),
		Definition: aws.String(`{"StartAt":"T","States":{"T":{"Type":"Task","Resource":"arn:aws:states:::dynamodb:putItem","End":true}}}`)})
	var invalid *types.InvalidDefinition
	if !errors.As(err, &invalid) || !strings.Contains(err.Error(), "dynamodb:putItem") {
		t.Fatalf("unsupported resource: %v", err)
	}
	run, err := c.StartExecution(ctx, &sdk.StartExecutionInput{StateMachineArn: created.StateMachineArn})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := svc.WaitFor(ctx, aws.ToString(run.ExecutionArn)); err != nil {
		t.Fatal(err)
	}
	newDef := strings.Replace(def, `"End":true`, `"Result":1,"End":true`, 1)
	if _, err := c.UpdateStateMachine(ctx, &sdk.UpdateStateMachineInput{StateMachineArn: created.StateMachineArn, Definition: aws.String(newDef)}); err != nil {
		t.Fatal(err)
	}
	forExec, err := c.DescribeStateMachineForExecution(ctx, &sdk.DescribeStateMachineForExecutionInput{ExecutionArn: run.ExecutionArn})
	if err != nil || aws.ToString(forExec.Definition) != def || aws.ToString(forExec.Name) != "dev" {
		t.Fatalf("for execution: %+v %v (the execution's own definition)", forExec, err)
	}
	if _, err := c.DeleteStateMachine(ctx, &sdk.DeleteStateMachineInput{StateMachineArn: created.StateMachineArn}); err != nil {
		t.Fatal(err)
	}
	_, err = c.DescribeStateMachine(ctx, &sdk.DescribeStateMachineInput{StateMachineArn: created.StateMachineArn})
	var gone *types.StateMachineDoesNotExist
	if !errors.As(err, &gone) {
		t.Fatalf("after delete: %v", err)
	}
}

// ValidateStateMachineDefinition reports AWS's codes and locations.
func TestValidateWithSDK(t *testing.T) {
	svc := openTest(t, testPath(t), &fakeEngine{}, 1)
	defer closeNow(t, svc)
	c := sdkClient(t, svc)
	ctx := waitCtx(t)
	for def, want := range map[string]string{
		`{"StartAt":"P","States":{"P":{"Type":"Pass","End":true}}}`: "OK",
		`not a definition`: "FAIL INVALID_JSON_DESCRIPTION",
		`{"StartAt":"P","States":{"P":{"Type":"Pass","Next":"X"}}}`:           "FAIL MISSING_TRANSITION_TARGET /States/P/Next",
		`{"StartAt":"P","States":{"P":{"Type":"Pass","End":true,"Bogus":1}}}`: "FAIL SCHEMA_VALIDATION_FAILED /States/P",
	} {
		out, err := c.ValidateStateMachineDefinition(ctx, &sdk.ValidateStateMachineDefinitionInput{Definition: aws.String(def)})
		if err != nil {
			t.Fatal(err)
		}
		got := string(out.Result)
		if len(out.Diagnostics) > 0 {
			got += " " + aws.ToString(out.Diagnostics[0].Code)
			if l := aws.ToString(out.Diagnostics[0].Location); l != "" {
				got += " " + l
			}
		}
		if got != want {
			t.Errorf("%s: %s, want %s", def, got, want)
		}
	}
}

// TestState runs one state with the service's functions or a mock, at each level.
func TestTestStateWithSDK(t *testing.T) {
	fns := asl.Functions{"double": lambda.NewHandler(func(_ context.Context, in struct{ N int }) (map[string]int, error) {
		return map[string]int{"n": in.N * 2}, nil
	})}
	svc, err := Open(testPath(t), Options{Workers: 1, Invoker: fns, Logger: quietLogger()})
	if err != nil {
		t.Fatal(err)
	}
	defer closeNow(t, svc)
	c := sdkClient(t, svc)
	ctx := waitCtx(t)
	task := `{"Type":"Task","Resource":"arn:aws:states:::lambda:invoke","Parameters":{"FunctionName":"double","Payload.$":"$"},
		"ResultSelector":{"n.$":"$.Payload.n"},"ResultPath":"$.out","Catch":[{"ErrorEquals":["Boom"],"Next":"Handle"}],"Next":"After"}`
	out, err := c.TestState(ctx, &sdk.TestStateInput{Definition: aws.String(task), RoleArn: aws.String(role), Input: aws.String(`{"n":21}`),
		InspectionLevel: types.InspectionLevelDebug})
	if err != nil || out.Status != types.TestExecutionStatusSucceeded || aws.ToString(out.Output) != `{"n":21,"out":{"n":42}}` ||
		aws.ToString(out.NextState) != "After" || out.InspectionData == nil || aws.ToString(out.InspectionData.AfterResultSelector) != `{"n":42}` {
		t.Fatalf("%+v %v", out, err)
	}
	out, err = c.TestState(ctx, &sdk.TestStateInput{Definition: aws.String(task), RoleArn: aws.String(role), Input: aws.String(`{"n":1}`),
		Mock: &types.MockInput{ErrorOutput: &types.MockErrorOutput{Error: aws.String("Boom"), Cause: aws.String("mocked")}}})
	if err != nil || out.Status != types.TestExecutionStatusCaughtError || aws.ToString(out.NextState) != "Handle" || out.InspectionData != nil {
		t.Fatalf("caught: %+v %v", out, err)
	}
	b, _ := json.Marshal(out.Output)
	if !strings.Contains(string(b), `Boom`) {
		t.Fatalf("caught output %s", b)
	}
}

// A .waitForTaskToken task waits for SendTaskSuccess through the API.
func TestCallbackTaskWithSDK(t *testing.T) {
	q := &tokenQueue{bodies: make(chan string, 1)}
	svc, err := Open(testPath(t), Options{Workers: 1, Queue: q, Logger: quietLogger()})
	if err != nil {
		t.Fatal(err)
	}
	defer closeNow(t, svc)
	c := sdkClient(t, svc)
	ctx := waitCtx(t)
	arn, err := svc.CreateStateMachine("cb", `{"StartAt":"Ask","States":{"Ask":{"Type":"Task","Resource":"arn:aws:states:::sqs:sendMessage.waitForTaskToken",
		"Parameters":{"QueueUrl":"q","MessageBody":{"token.$":"$$.Task.Token"}},"HeartbeatSeconds":60,"End":true}}}`, role)
	if err != nil {
		t.Fatal(err)
	}
	ex, err := svc.Start(ctx, arn, "", "{}")
	if err != nil {
		t.Fatal(err)
	}
	var body struct{ Token string }
	_ = json.Unmarshal([]byte(<-q.bodies), &body)
	if _, err := c.SendTaskHeartbeat(ctx, &sdk.SendTaskHeartbeatInput{TaskToken: aws.String(body.Token)}); err != nil {
		t.Fatal(err)
	}
	if _, err := c.SendTaskSuccess(ctx, &sdk.SendTaskSuccessInput{TaskToken: aws.String(body.Token), Output: aws.String(`{"answer":42}`)}); err != nil {
		t.Fatal(err)
	}
	done, err := svc.WaitFor(ctx, ex.ARN)
	_, _, output, _ := svc.Describe(ctx, ex.ARN)
	if err != nil || done.Status != StatusSucceeded || output != `{"answer":42}` {
		t.Fatalf("%+v %s %v", done, output, err)
	}
	_, err = c.SendTaskSuccess(ctx, &sdk.SendTaskSuccessInput{TaskToken: aws.String("nope"), Output: aws.String(`{}`)})
	var missing *types.TaskDoesNotExist
	if !errors.As(err, &missing) {
		t.Fatalf("unknown token: %v", err)
	}
}

type tokenQueue struct{ bodies chan string }

func (q *tokenQueue) SendMessage(_ context.Context, _, body string) (string, error) {
	q.bodies <- body
	return "m-1", nil
}
