package asl

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/lambda"
)

// The cases of issue 12's review (items 1-7), each with the AWS behaviour it checks.

func runErr(t *testing.T, def, input string, opts Options) *ExecutionError {
	t.Helper()
	if opts.Clock == nil {
		opts.Clock = newFakeClock()
	}
	out, err := mustParse(t, def).Run(context.Background(), []byte(input), opts)
	var ee *ExecutionError
	if !errors.As(err, &ee) {
		t.Fatalf("want an execution error, got %d bytes of output, err %.300v", len(out), err)
	}
	return ee
}

// Item 2: a state's own output over 256 KiB is terminal, even for States.ALL and a
// catcher naming it; a Task's result over it is an ordinary task failure.
func TestDataLimitPhases(t *testing.T) {
	big := strings.Repeat("x", payloadLimit)
	catchAll := `"Catch":[{"ErrorEquals":["States.DataLimitExceeded"],"Next":"C"},{"ErrorEquals":["States.ALL"],"Next":"C"}]`
	for name, def := range map[string]string{
		"pass output":      `{"StartAt":"P","States":{"P":{"Type":"Parallel","Branches":[{"StartAt":"A","States":{"A":{"Type":"Pass","Parameters":{"v.$":"$.big","w.$":"$.big"},"End":true}}}],` + catchAll + `,"End":true},"C":{"Type":"Pass","End":true}}}`,
		"after Parameters": `{"StartAt":"T","States":{"T":{"Type":"Task","Resource":"` + fn + `echo","Parameters":{"a.$":"$.big","b.$":"$.big"},` + catchAll + `,"End":true},"C":{"Type":"Pass","End":true}}}`,
		"after ResultPath": `{"StartAt":"T","States":{"T":{"Type":"Task","Resource":"` + fn + `echo","ResultPath":"$.copy",` + catchAll + `,"End":true},"C":{"Type":"Pass","End":true}}}`,
	} {
		ee := runErr(t, def, `{"big":"`+big[:payloadLimit-20]+`"}`, Options{Invoker: suiteFunctions()})
		if ee.Name != ErrDataLimitExceeded {
			t.Errorf("%s: %.300v", name, ee)
		}
	}
	fns := Functions{"big": lambda.NewHandler(func(context.Context) (string, error) { return big, nil })}
	out, err := mustParse(t, `{"StartAt":"T","States":{"T":{"Type":"Task","Resource":"arn:aws:states:::lambda:invoke","Parameters":{"FunctionName":"big"},
		"Catch":[{"ErrorEquals":["States.DataLimitExceeded"],"Next":"C"}],"End":true},"C":{"Type":"Pass","OutputPath":"$.Cause","End":true}}}`).
		Run(context.Background(), []byte(`{}`), Options{Invoker: fns, Clock: newFakeClock()})
	if err != nil || string(out) != `"The state/task 'lambda' returned a result with a size exceeding the maximum number of bytes service limit."` {
		t.Fatalf("optimized integration: out %.300s err %.300v", out, err)
	}
}

// Item 3: the definition's TimeoutSeconds times the execution out (TIMED_OUT,
// ExecutionTimedOut, States.Timeout), on the engine's clock.
func TestExecutionTimeout(t *testing.T) {
	var last HistoryEvent
	ee := runErr(t, `{"TimeoutSeconds":5,"StartAt":"W","States":{"W":{"Type":"Wait","Seconds":60,"Next":"P"},"P":{"Type":"Pass","End":true}}}`, `{}`,
		Options{OnEvent: func(e HistoryEvent) { last = e }})
	if !ee.TimedOut || ee.Name != ErrTimeout || last.Type != EventExecutionTimedOut || last.ExecutionTimedOutEventDetails.Error != ErrTimeout {
		t.Fatalf("err %+v last %+v", ee, last)
	}
	// A retry interval is cut short the same way.
	h := Functions{"f": lambda.NewHandler(func(context.Context) error { return &TypedError{} })}
	ee = runErr(t, `{"TimeoutSeconds":5,"StartAt":"T","States":{"T":{"Type":"Task","Resource":"`+fn+`f",
		"Retry":[{"ErrorEquals":["States.ALL"],"IntervalSeconds":10}],"End":true}}}`, `{}`, Options{Invoker: h})
	if !ee.TimedOut {
		t.Fatalf("retry: %+v", ee)
	}
}

// Item 3: TimeoutSecondsPath reads the Task's timeout from its input; a path that
// matches nothing is States.Runtime (recorded cause).
func TestTimeoutSecondsPath(t *testing.T) {
	slow := Functions{"slow": lambda.NewHandler(func(ctx context.Context) (string, error) {
		<-ctx.Done()
		return "", ctx.Err()
	})}
	def := `{"StartAt":"task","States":{"task":{"Type":"Task","Resource":"` + fn + `slow","TimeoutSecondsPath":"$.t","End":true}}}`
	start := time.Now()
	if ee := runErr(t, def, `{"t":1}`, Options{Invoker: slow}); ee.Name != ErrTimeout || ee.TimedOut || time.Since(start) > 10*time.Second {
		t.Fatalf("%+v", ee)
	}
	ee := runErr(t, strings.Replace(def, "$.t", "$.NoSuchTimeoutSecondsPath", 1), `{}`, Options{Invoker: slow})
	if ee.Name != ErrRuntime || ee.Cause != "An error occurred while executing the state 'task' (entered at the event id #2). Invalid path '$.NoSuchTimeoutSecondsPath' : No results for path: $['NoSuchTimeoutSecondsPath']" {
		t.Fatalf("%+v", ee)
	}
}

// Item 1: the recorded causes of a path that matches nothing.
func TestRuntimeCauses(t *testing.T) {
	for _, c := range []struct{ def, cause string }{
		{`{"StartAt":"pass","States":{"pass":{"Type":"Pass","Parameters":{"value.$":"$.no_such_jsonpath"},"End":true}}}`,
			`An error occurred while executing the state 'pass' (entered at the event id #2). The JSONPath '$.no_such_jsonpath' specified for the field 'value.$' could not be found in the input '{"int-literal":0}'`},
		{`{"StartAt":"pass","States":{"pass":{"Type":"Pass","OutputPath":"$.NoSuchOutputPath","End":true}}}`,
			`An error occurred while executing the state 'pass' (entered at the event id #2). Invalid path '$.NoSuchOutputPath' : No results for path: $['NoSuchOutputPath']`},
		{`{"StartAt":"pass","States":{"pass":{"Type":"Pass","InputPath":"$.NoSuchInputPath","End":true}}}`,
			`An error occurred while executing the state 'pass' (entered at the event id #2). Invalid path '$.NoSuchInputPath' : No results for path: $['NoSuchInputPath']`},
		{`{"StartAt":"fail","States":{"fail":{"Type":"Fail","ErrorPath":"$.ErrorX"}}}`,
			`An error occurred while executing the state 'fail' (entered at the event id #2). The JSONPath '$.ErrorX' specified for the field 'ErrorPath' could not be found in the input '{"int-literal":0}'`},
	} {
		if ee := runErr(t, c.def, `{"int-literal":0}`, Options{}); ee.Name != ErrRuntime || ee.Cause != c.cause {
			t.Errorf("got %q\nwant %q", ee.Cause, c.cause)
		}
	}
}

// Item 4: member order is kept through the execution's output, the context object
// and the events.
func TestKeyOrderKept(t *testing.T) {
	sm := mustParse(t, `{"StartAt":"A","States":{"A":{"Type":"Pass","Parameters":{"zeta.$":"$.z","alpha.$":"$.a","ctx.$":"$$.State"},"ResultPath":"$.r","Next":"B"},
		"B":{"Type":"Pass","End":true}}}`)
	var entered []string
	out, err := sm.Run(context.Background(), []byte(`{"z":1,"a":{"y":2,"b":3}}`), Options{Clock: newFakeClock(), OnEvent: func(e HistoryEvent) {
		if e.StateEnteredEventDetails != nil {
			entered = append(entered, e.StateEnteredEventDetails.Input)
		}
	}})
	want := `{"z":1,"a":{"y":2,"b":3},"r":{"zeta":1,"alpha":{"y":2,"b":3},"ctx":{"Name":"A","EnteredTime":"2024-05-01T12:00:00.000Z"}}}`
	if err != nil || string(out) != want || entered[1] != want {
		t.Fatalf("out %s err %v entered %v", out, err, entered)
	}
}

// Item 5: the context object's members in AWS's order, with RetryCount only for the
// states that retry.
func TestContextObjectShape(t *testing.T) {
	sm := mustParse(t, `{"StartAt":"A","States":{"A":{"Type":"Pass","Parameters":{"c.$":"$$"},"OutputPath":"$.c","End":true}}}`)
	out, err := sm.Run(context.Background(), []byte(`{"k":1}`), Options{Clock: newFakeClock(), Context: ExecutionContext{
		Execution:    ExecutionInfo{Id: "arn:e", Name: "e", RoleArn: "arn:r", RedriveCount: 1, RedriveTime: time.Date(2024, 5, 2, 0, 0, 0, 0, time.UTC)},
		StateMachine: StateMachineInfo{Id: "arn:sm", Name: "sm"}}})
	want := `{"Execution":{"Id":"arn:e","Input":{"k":1},"StartTime":"2024-05-01T12:00:00.000Z","Name":"e","RoleArn":"arn:r","RedriveCount":1,"RedriveTime":"2024-05-02T00:00:00.000Z"},` +
		`"StateMachine":{"Id":"arn:sm","Name":"sm"},"State":{"Name":"A","EnteredTime":"2024-05-01T12:00:00.000Z"}}`
	if err != nil || string(out) != want {
		t.Fatalf("out %s\nwant %s\nerr %v", out, want, err)
	}
}

// Item 5: state names are unique across the whole definition.
func TestDuplicateStateNamesRejected(t *testing.T) {
	_, err := Parse([]byte(`{"StartAt":"P","States":{"P":{"Type":"Parallel","Branches":[
		{"StartAt":"P","States":{"P":{"Type":"Pass","End":true}}}],"End":true}}}`))
	var ve *ValidationError
	if !errors.As(err, &ve) || !strings.Contains(strings.Join(ve.Problems, ";"), "/States/P: a state with this name already exists") {
		t.Fatalf("err %v", err)
	}
}
