package asl

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"testing"

	"github.com/aws/aws-lambda-go/lambda"
)

// historyOf runs def and returns its events as "Type id<prev" in id order.
func historyOf(t *testing.T, def, input string, fns Functions) (string, []HistoryEvent) {
	t.Helper()
	sm := mustParse(t, def)
	var mu sync.Mutex
	var evs []HistoryEvent
	_, _ = sm.Run(context.Background(), []byte(input), Options{Invoker: fns, Clock: newFakeClock(), OnEvent: func(e HistoryEvent) {
		mu.Lock()
		defer mu.Unlock()
		evs = append(evs, e)
	}})
	var b strings.Builder
	for _, e := range evs {
		fmt.Fprintf(&b, "%s %d<%d\n", e.Type, e.ID, e.PreviousEventID)
	}
	return b.String(), evs
}

// The histories below are those AWS recorded for the same shapes (localstack's
// snapshot tests, recorded against AWS; DIFFERENCES.md names them).
func TestHistoryCaughtTaskFailureExits(t *testing.T) {
	// test_task_lambda_catch_state_all_data_limit_exceeded_on_large_utf8_response: the
	// failed Task exits with the catcher's output, then the catcher's Next runs.
	big := strings.Repeat("x", payloadLimit)
	fns := Functions{"big": lambda.NewHandler(func(context.Context) (string, error) { return big, nil })}
	got, evs := historyOf(t, `{"StartAt":"InvokeLambda","States":{"InvokeLambda":{"Type":"Task","Resource":"`+fn+`big",
		"Catch":[{"ErrorEquals":["States.ALL"],"Next":"HandleGeneralError"}],"End":true},
		"HandleGeneralError":{"Type":"Pass","End":true}}}`, `{}`, fns)
	want := `ExecutionStarted 1<0
TaskStateEntered 2<0
LambdaFunctionScheduled 3<2
LambdaFunctionStarted 4<3
LambdaFunctionFailed 5<4
TaskStateExited 6<5
PassStateEntered 7<6
PassStateExited 8<7
ExecutionSucceeded 9<8
`
	if got != want {
		t.Fatalf("history\n%s\nwant\n%s", got, want)
	}
	d := evs[4].LambdaFunctionFailedEventDetails
	if d.Error != ErrDataLimitExceeded || d.Cause != "The state/task '"+fn+"big' returned a result with a size exceeding the maximum number of bytes service limit." {
		t.Errorf("failed details %+v", d)
	}
	if out := evs[5].StateExitedEventDetails.Output; out != `{"Error":"States.DataLimitExceeded","Cause":"`+d.Cause+`"}` {
		t.Errorf("exited output %s", out)
	}
}

func TestHistoryParallelCatch(t *testing.T) {
	// test_parallel_state_catch and test_parallel_state_fail.
	def := `{"StartAt":"ParallelState","States":{"ParallelState":{"Type":"Parallel","Branches":[
		{"StartAt":"Branch1","States":{"Branch1":{"Type":"Fail","Error":"FailureType","Cause":"Cause description"}}}],
		"Catch":[{"ErrorEquals":["States.ALL"],"Next":"FinalCaught"}],"End":true},
		"FinalCaught":{"Type":"Pass","End":true}}}`
	got, evs := historyOf(t, def, `{}`, nil)
	want := `ExecutionStarted 1<0
ParallelStateEntered 2<0
ParallelStateStarted 3<2
FailStateEntered 4<3
ParallelStateFailed 5<4
ParallelStateExited 6<5
PassStateEntered 7<6
PassStateExited 8<7
ExecutionSucceeded 9<8
`
	if got != want {
		t.Fatalf("history\n%s\nwant\n%s", got, want)
	}
	if out := evs[5].StateExitedEventDetails.Output; out != `{"Error":"FailureType","Cause":"Cause description"}` {
		t.Errorf("exited output %s", out)
	}
	got, _ = historyOf(t, `{"StartAt":"ParallelState","States":{"ParallelState":{"Type":"Parallel","Branches":[
		{"StartAt":"Branch1","States":{"Branch1":{"Type":"Fail","Error":"FailureType","Cause":"Cause description"}}}],"End":true}}}`, `{}`, nil)
	if !strings.HasSuffix(got, "ParallelStateFailed 5<4\nExecutionFailed 6<5\n") {
		t.Fatalf("uncaught history\n%s", got)
	}
}

func TestHistoryParallelSucceeded(t *testing.T) {
	// test_parallel_state_order: the Exited event follows the last branch event, not
	// ParallelStateSucceeded.
	got, _ := historyOf(t, `{"StartAt":"P","States":{"P":{"Type":"Parallel","Branches":[
		{"StartAt":"B0","States":{"B0":{"Type":"Pass","End":true}}}],"End":true}}}`, `{}`, nil)
	want := `ExecutionStarted 1<0
ParallelStateEntered 2<0
ParallelStateStarted 3<2
PassStateEntered 4<3
PassStateExited 5<4
ParallelStateSucceeded 6<5
ParallelStateExited 7<5
ExecutionSucceeded 8<7
`
	if got != want {
		t.Fatalf("history\n%s\nwant\n%s", got, want)
	}
}

func TestHistoryMapSequential(t *testing.T) {
	// test_map_catch_error[MAP_CATCH_ERROR_OUTPUT], one state per iteration.
	got, _ := historyOf(t, `{"StartAt":"M","States":{"M":{"Type":"Map","MaxConcurrency":1,"ItemsPath":"$.items",
		"ItemProcessor":{"StartAt":"I","States":{"I":{"Type":"Pass","End":true}}},"End":true}}}`, `{"items":[1,2]}`, nil)
	want := `ExecutionStarted 1<0
MapStateEntered 2<0
MapStateStarted 3<2
MapIterationStarted 4<3
PassStateEntered 5<4
PassStateExited 6<5
MapIterationSucceeded 7<6
MapIterationStarted 8<6
PassStateEntered 9<8
PassStateExited 10<9
MapIterationSucceeded 11<10
MapStateSucceeded 12<11
MapStateExited 13<11
ExecutionSucceeded 14<13
`
	if got != want {
		t.Fatalf("history\n%s\nwant\n%s", got, want)
	}
}

func TestHistoryMapFailureAbortsSiblings(t *testing.T) {
	// test_service_lambda_map_timeout: one iteration fails, the others are aborted;
	// every event of the failure follows the failing event.
	started := make(chan struct{})
	fns := Functions{
		"fail": lambda.NewHandler(func(ctx context.Context) (string, error) {
			<-started // fail only once the other iteration is inside its Task
			return "", &TypedError{}
		}),
		"wait": lambda.NewHandler(func(ctx context.Context) (string, error) {
			close(started)
			<-ctx.Done()
			return "", ctx.Err()
		}),
	}
	got, _ := historyOf(t, `{"StartAt":"M","States":{"M":{"Type":"Map","ItemProcessor":{"StartAt":"C","States":{
		"C":{"Type":"Choice","Choices":[{"Variable":"$","NumericEquals":0,"Next":"Fail"}],"Default":"Wait"},
		"Fail":{"Type":"Task","Resource":"`+fn+`fail","End":true},
		"Wait":{"Type":"Task","Resource":"`+fn+`wait","End":true}}},"End":true}}}`, `[0,1]`, fns)
	lines := strings.Split(strings.TrimSpace(got), "\n")
	var failedAt string
	for _, l := range lines {
		if strings.HasPrefix(l, "LambdaFunctionFailed ") {
			failedAt = strings.Fields(l)[1]
			failedAt = failedAt[:strings.Index(failedAt, "<")]
		}
	}
	for _, ty := range []string{"MapIterationFailed", "TaskStateAborted", "MapIterationAborted", "MapStateFailed"} {
		found := false
		for _, l := range lines {
			if strings.HasPrefix(l, ty+" ") {
				found = true
				if !strings.HasSuffix(l, "<"+failedAt) {
					t.Errorf("%s does not follow the failure %s", l, failedAt)
				}
			}
		}
		if !found {
			t.Errorf("no %s in\n%s", ty, got)
		}
	}
	if !strings.HasPrefix(lines[len(lines)-1], "ExecutionFailed ") {
		t.Errorf("last event %s", lines[len(lines)-1])
	}
}

// A Task that times out records the error without a cause, and the caught output
// has an empty Cause (test_fixed_timeout_lambda; recorded catch outputs).
func TestHistoryTaskTimeout(t *testing.T) {
	fns := Functions{"slow": lambda.NewHandler(func(ctx context.Context) (string, error) {
		<-ctx.Done()
		return "", ctx.Err()
	})}
	got, evs := historyOf(t, `{"StartAt":"Start","States":{"Start":{"Type":"Task","Resource":"`+fn+`slow","TimeoutSeconds":1,
		"Catch":[{"ErrorEquals":["States.Timeout"],"Next":"C"}],"End":true},"C":{"Type":"Pass","End":true}}}`, `{}`, fns)
	if !strings.Contains(got, "LambdaFunctionTimedOut 5<4\nTaskStateExited 6<5\n") {
		t.Fatalf("history\n%s", got)
	}
	if d := evs[4].LambdaFunctionTimedOutEventDetails; d.Error != ErrTimeout || d.Cause != "" {
		t.Errorf("timed out details %+v", d)
	}
	if out := evs[5].StateExitedEventDetails.Output; out != `{"Error":"States.Timeout","Cause":""}` {
		t.Errorf("caught output %s", out)
	}
}
