package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func writeDef(t *testing.T, def string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "sm.asl.json")
	if err := os.WriteFile(p, []byte(def), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestStatesRunOutput(t *testing.T) {
	p := writeDef(t, `{"StartAt":"P","States":{"P":{"Type":"Pass","Parameters":{"sum.$":"States.MathAdd($.a, 1)"},"End":true}}}`)
	var out, errb bytes.Buffer
	if err := statesMain(context.Background(), []string{"run", "--definition", p, "--input", `{"a":41}`}, &out, &errb); err != nil {
		t.Fatalf("%v (%s)", err, errb.String())
	}
	if got := strings.TrimSpace(out.String()); got != `{"sum":42}` {
		t.Fatalf("output %s", got)
	}
}

func TestStatesRunFailure(t *testing.T) {
	p := writeDef(t, `{"StartAt":"F","States":{"F":{"Type":"Fail","Error":"Boom","Cause":"it broke"}}}`)
	var out, errb bytes.Buffer
	err := statesMain(context.Background(), []string{"run", "--definition", p}, &out, &errb)
	if !errors.Is(err, errExecutionFailed) || errb.String() != "ERROR: Boom: it broke\n" || out.Len() != 0 {
		t.Fatalf("err %v stderr %q stdout %q", err, errb.String(), out.String())
	}
}

func TestStatesRunUnknownResource(t *testing.T) {
	p := writeDef(t, `{"StartAt":"T","States":{"T":{"Type":"Task","Resource":"arn:aws:states:::dynamodb:putItem","End":true}}}`)
	var out, errb bytes.Buffer
	err := statesMain(context.Background(), []string{"run", "--definition", p}, &out, &errb)
	if err == nil || errors.Is(err, errExecutionFailed) || !strings.Contains(err.Error(), `"arn:aws:states:::dynamodb:putItem" is not supported`) {
		t.Fatalf("err %v stderr %q", err, errb.String())
	}
	p = writeDef(t, `{"StartAt":"T","States":{"T":{"Type":"Task","Resource":"arn:aws:lambda:us-east-1:1:function:nope","End":true}}}`)
	errb.Reset()
	err = statesMain(context.Background(), []string{"run", "--definition", p}, &out, &errb)
	if !errors.Is(err, errExecutionFailed) || !strings.HasPrefix(errb.String(), "ERROR: Lambda.ResourceNotFoundException: Function not found") {
		t.Fatalf("err %v stderr %q", err, errb.String())
	}
}

func TestStatesRunInvalidDefinition(t *testing.T) {
	p := writeDef(t, `{"StartAt":"X","States":{"P":{"Type":"Pass"}}}`)
	var out, errb bytes.Buffer
	err := statesMain(context.Background(), []string{"run", "--definition", p}, &out, &errb)
	if err == nil || errors.Is(err, errExecutionFailed) || !strings.Contains(err.Error(), "StartAt") {
		t.Fatalf("err %v", err)
	}
}

// $$ names the execution and the state machine, as it does on AWS.
func TestStatesRunContextObject(t *testing.T) {
	p := writeDef(t, `{"StartAt":"P","States":{"P":{"Type":"Pass","Parameters":{"id.$":"$$.Execution.Id","name.$":"$$.Execution.Name","sm.$":"$$.StateMachine.Name","smid.$":"$$.StateMachine.Id","redrives.$":"$$.Execution.RedriveCount"},"End":true}}}`)
	var out, errb bytes.Buffer
	if err := statesMain(context.Background(), []string{"run", "--definition", p}, &out, &errb); err != nil {
		t.Fatalf("%v (%s)", err, errb.String())
	}
	var got struct {
		ID, Name, SM, SMID string
		Redrives           int
	}
	if err := json.Unmarshal(out.Bytes(), &got); err != nil {
		t.Fatal(err)
	}
	if got.SM != "sm" || got.SMID != "arn:aws:states:us-east-1:000000000000:stateMachine:sm" ||
		got.ID != "arn:aws:states:us-east-1:000000000000:execution:sm:"+got.Name || len(got.Name) != 36 || got.Redrives != 0 {
		t.Fatalf("context %s", out.String())
	}
}

// The definition's TimeoutSeconds ends the run with States.Timeout.
func TestStatesRunTimeout(t *testing.T) {
	p := writeDef(t, `{"TimeoutSeconds":1,"StartAt":"W","States":{"W":{"Type":"Wait","Seconds":30,"End":true}}}`)
	var out, errb bytes.Buffer
	start := time.Now()
	err := statesMain(context.Background(), []string{"run", "--definition", p}, &out, &errb)
	if !errors.Is(err, errExecutionFailed) || !strings.HasPrefix(errb.String(), "ERROR: States.Timeout: ") || time.Since(start) > 10*time.Second {
		t.Fatalf("err %v stderr %q after %v", err, errb.String(), time.Since(start))
	}
}

// A Fail state without Error still prints one clear line.
func TestStatesRunFailWithoutError(t *testing.T) {
	p := writeDef(t, `{"StartAt":"F","States":{"F":{"Type":"Fail"}}}`)
	var out, errb bytes.Buffer
	err := statesMain(context.Background(), []string{"run", "--definition", p}, &out, &errb)
	if !errors.Is(err, errExecutionFailed) || errb.String() != "ERROR: (no error name): (no cause)\n" {
		t.Fatalf("err %v stderr %q", err, errb.String())
	}
}

// --mock-config answers Task states in the format of Step Functions Local's mocked
// service integrations: per invocation, a Return or a Throw (here a retried failure).
func TestStatesRunMockConfig(t *testing.T) {
	p := writeDef(t, `{"StartAt":"Invoke","States":{"Invoke":{"Type":"Task","Resource":"arn:aws:states:::lambda:invoke",
		"Parameters":{"FunctionName":"f","Payload.$":"$"},"OutputPath":"$.Payload",
		"Retry":[{"ErrorEquals":["Lambda.TooManyRequestsException"],"IntervalSeconds":1,"BackoffRate":1,"MaxAttempts":2}],"Next":"Send"},
		"Send":{"Type":"Task","Resource":"arn:aws:states:::sqs:sendMessage","Parameters":{"QueueUrl":"q","MessageBody.$":"$"},"ResultPath":"$.sent","End":true}}}`)
	mock := filepath.Join(t.TempDir(), "mock.json")
	if err := os.WriteFile(mock, []byte(`{"StateMachines":{"sm":{"TestCases":{"Retry":{"Invoke":"Throttled","Send":"Sent"}}}},
		"MockedResponses":{"Throttled":{"0":{"Throw":{"Error":"Lambda.TooManyRequestsException","Cause":"slow down"}},"1":{"Return":{"StatusCode":200,"Payload":{"ok":true}}}},
		"Sent":{"0":{"Return":{"MessageId":"m-1"}}}}}`), 0o600); err != nil {
		t.Fatal(err)
	}
	var out, errb bytes.Buffer
	if err := statesMain(context.Background(), []string{"run", "--definition", p, "--mock-config", mock, "--test-case", "Retry"}, &out, &errb); err != nil {
		t.Fatalf("%v (%s)", err, errb.String())
	}
	if got := strings.TrimSpace(out.String()); got != `{"ok":true,"sent":{"MessageId":"m-1"}}` {
		t.Fatalf("output %s", got)
	}
	err := statesMain(context.Background(), []string{"run", "--definition", p, "--mock-config", mock, "--test-case", "Nope"}, &out, &errb)
	if err == nil || !strings.Contains(err.Error(), `no test case "Nope"`) {
		t.Fatalf("unknown test case: %v", err)
	}
}
