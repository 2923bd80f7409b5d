package asl

import (
	"context"
	"errors"
	"regexp"
	"strings"
	"testing"
)

// The JSONata and variables suite (issue 12 item 8).

func runOK(t *testing.T, def, input string, opts Options) string {
	t.Helper()
	if opts.Clock == nil {
		opts.Clock = newFakeClock()
	}
	out, err := mustParse(t, def).Run(context.Background(), []byte(input), opts)
	if err != nil {
		t.Fatalf("run: %v", err)
	}
	return string(out)
}

func TestJSONataPassOutputAndAssign(t *testing.T) {
	out := runOK(t, `{"QueryLanguage":"JSONata","StartAt":"A","States":{
		"A":{"Type":"Pass","Assign":{"total":"{% $sum($states.input.items) %}","first":"{% $states.input.items[0] %}"},"Next":"B"},
		"B":{"Type":"Pass","Output":{"total":"{% $total %}","first":"{% $first %}","name":"{% $states.context.State.Name %}","n":3},"End":true}}}`,
		`{"items":[1,2,3]}`, Options{})
	if out != `{"total":6,"first":1,"name":"B","n":3}` {
		t.Fatalf("output %s", out)
	}
}

func TestJSONataTaskArgumentsAndResult(t *testing.T) {
	out := runOK(t, `{"QueryLanguage":"JSONata","StartAt":"T","States":{"T":{"Type":"Task","Resource":"arn:aws:states:::lambda:invoke",
		"Arguments":{"FunctionName":"add","Payload":{"A":"{% $states.input.x %}","B":2}},
		"Output":"{% {'sum': $states.result.Payload, 'was': $states.input.x} %}","End":true}}}`, `{"x":40}`, Options{Invoker: suiteFunctions()})
	if out != `{"sum":42,"was":40}` {
		t.Fatalf("output %s", out)
	}
}

func TestJSONataChoiceMapAndCatch(t *testing.T) {
	def := `{"QueryLanguage":"JSONata","StartAt":"C","States":{
		"C":{"Type":"Choice","Choices":[{"Condition":"{% $count($states.input.xs) > 0 %}","Next":"M"}],"Default":"Empty"},
		"Empty":{"Type":"Succeed","Output":"empty"},
		"M":{"Type":"Map","Items":"{% $states.input.xs %}",
			"ItemSelector":{"v":"{% $states.context.Map.Item.Value %}","i":"{% $states.context.Map.Item.Index %}"},
			"ItemProcessor":{"StartAt":"F","States":{"F":{"Type":"Task","Resource":"` + fn + `fail",
				"Arguments":{"errorName":"{% $states.input.v %}","message":"m"},
				"Catch":[{"ErrorEquals":["States.ALL"],"Output":"{% $states.errorOutput.Error & '@' & $string($states.input.i) %}","Next":"Done"}],"End":true},
				"Done":{"Type":"Pass","End":true}}},"End":true}}}`
	if out := runOK(t, def, `{"xs":["E1","E2"]}`, Options{Invoker: suiteFunctions()}); out != `["E1@0","E2@1"]` {
		t.Fatalf("output %s", out)
	}
	if out := runOK(t, def, `{"xs":[]}`, Options{}); out != `"empty"` {
		t.Fatalf("output %s", out)
	}
}

// A reference to nothing is States.QueryEvaluationError, recorded as AWS records it:
// an EvaluationFailed event naming the field, then the failure.
func TestJSONataUndefinedIsQueryEvaluationError(t *testing.T) {
	var evs []HistoryEvent
	_, err := mustParse(t, `{"QueryLanguage":"JSONata","StartAt":"State0","States":{"State0":{"Type":"Task","Resource":"arn:aws:states:::lambda:invoke",
		"Arguments":{"FunctionName":"{% $doesNotExist %}"},"End":true}}}`).Run(context.Background(), []byte(`{}`),
		Options{Clock: newFakeClock(), OnEvent: func(e HistoryEvent) { evs = append(evs, e) }})
	var ee *ExecutionError
	want := "An error occurred while executing the state 'State0' (entered at the event id #2). The JSONata expression '$doesNotExist' specified for the field 'Arguments/FunctionName' returned nothing (undefined)."
	if !errors.As(err, &ee) || ee.Name != ErrQueryEvaluation || ee.Cause != want {
		t.Fatalf("err %v", err)
	}
	d := evs[2].EvaluationFailedEventDetails
	if evs[2].Type != "EvaluationFailed" || d.Location != "Arguments/FunctionName" || d.State != "State0" || d.Cause != want {
		t.Fatalf("event %+v", evs[2])
	}
}

// Inner scopes read the outer variables; what they assign stays inside.
func TestVariableScopes(t *testing.T) {
	def := `{"QueryLanguage":"JSONata","StartAt":"Set","States":{
		"Set":{"Type":"Pass","Assign":{"outer":"o"},"Next":"P"},
		"P":{"Type":"Parallel","Branches":[{"StartAt":"In","States":{"In":{"Type":"Pass","Assign":{"inner":"i"},"Next":"Read"},
			"Read":{"Type":"Pass","Output":"{% $outer & $inner %}","End":true}}}],"Next":"After"},
		"After":{"Type":"Pass","Output":"{% $inner %}","End":true}}}`
	_, err := mustParse(t, def).Run(context.Background(), []byte(`{}`), Options{Clock: newFakeClock()})
	var ee *ExecutionError
	if !errors.As(err, &ee) || ee.Name != ErrQueryEvaluation || !strings.Contains(ee.Cause, "'$inner'") {
		t.Fatalf("the inner variable leaked out: %v", err)
	}
	out := runOK(t, strings.Replace(def, `"Output":"{% $inner %}"`, `"Output":"{% $states.input %}"`, 1), `{}`, Options{})
	if out != `["oi"]` {
		t.Fatalf("output %s", out)
	}
}

// JSONPath states assign variables too, and read them as $name paths.
func TestJSONPathVariables(t *testing.T) {
	out := runOK(t, `{"StartAt":"A","States":{
		"A":{"Type":"Pass","Parameters":{"k":"v"},"Assign":{"saved.$":"$.k","lit":1},"ResultPath":null,"Next":"B"},
		"B":{"Type":"Pass","Parameters":{"saved.$":"$saved","lit.$":"$lit"},"End":true}}}`, `{}`, Options{})
	if out != `{"saved":"v","lit":1}` {
		t.Fatalf("output %s", out)
	}
}

// The functions AWS adds to JSONata.
func TestJSONataAWSFunctions(t *testing.T) {
	out := runOK(t, `{"QueryLanguage":"JSONata","StartAt":"A","States":{"A":{"Type":"Pass","Output":{
		"partition":"{% $partition([1,2,3,4,5], 2) %}","range":"{% $range(0, 10, 5) %}","hash":"{% $hash('abc', 'SHA-256') %}",
		"seeded":"{% $random(7) = $random(7) %}","uuid":"{% $uuid() %}","parse":"{% $parse('{\"a\":[1]}') %}"},"End":true}}}`, `{}`, Options{})
	want := regexp.MustCompile(`^\{"partition":\[\[1,2\],\[3,4\],\[5\]\],"range":\[0,5,10\],"hash":"ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad","seeded":true,"uuid":"[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}","parse":\{"a":\[1\]\}\}$`)
	if !want.MatchString(out) {
		t.Fatalf("output %s", out)
	}
}

func TestJSONataValidation(t *testing.T) {
	for def, want := range map[string]string{
		`{"QueryLanguage":"JSONata","StartAt":"Pass","States":{"Pass":{"Type":"Pass","QueryLanguage":"JSONPath","End":true}}}`: "'QueryLanguage' can not be 'JSONPath' if set to 'JSONata' for whole state machine",
		`{"QueryLanguage":"JSONata","StartAt":"P","States":{"P":{"Type":"Pass","InputPath":"$.x","End":true}}}`:                "unsupported fields InputPath",
		`{"QueryLanguage":"JSONata","StartAt":"P","States":{"P":{"Type":"Pass","Output":"{% $sjoin([1]) %}","End":true}}}`:     "$sjoin is not available",
		`{"QueryLanguage":"JSONata","StartAt":"P","States":{"P":{"Type":"Pass","Output":"{% 1 + %}","End":true}}}`:             "is invalid",
	} {
		_, err := Parse([]byte(def))
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%s: %v, want %q", def, err, want)
		}
	}
}

// LS assign/test_assign_base.snapshot.json::test_base_parallel_cases[BASE_SCOPE_PARALLEL]:
// JSONPath Assign, an outer variable read in branches, assignedVariables as recorded.
func TestAssignRecordedParallelScope(t *testing.T) {
	branch := func(n string) string {
		return `{"StartAt":"` + n + `","States":{"` + n + `":{"Type":"Pass","Assign":{"innerX.$":"$x","value.$":"$"},"End":true}}}`
	}
	got, evs := historyOf(t, `{"StartAt":"State0","States":{"State0":{"Type":"Pass","Assign":{"x":42},"Next":"State1"},
		"State1":{"Type":"Parallel","End":true,"Branches":[`+branch("Branch1")+`,`+branch("Branch21")+`,`+branch("Branch31")+`]}}}`, `{}`, nil)
	if !strings.HasSuffix(got, "ParallelStateExited 13<11\nExecutionSucceeded 14<13\n") {
		t.Fatalf("history\n%s", got)
	}
	if a := evs[2].StateExitedEventDetails.AssignedVariables; len(a) != 1 || a["x"] != "42" {
		t.Fatalf("State0 assigned %v", a)
	}
	for _, e := range evs {
		if d := e.StateExitedEventDetails; d != nil && strings.HasPrefix(d.Name, "Branch") {
			if a := d.AssignedVariables; a["innerX"] != "42" || a["value"] != "{}" {
				t.Fatalf("%s assigned %v", d.Name, a)
			}
		}
	}
}
