package statemachine_test

import (
	"encoding/json"
	"fmt"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/imagepipe/imagepipe/functions/pipeline"
	"github.com/imagepipe/imagepipe/statemachine"
)

type obj = map[string]any

func decode(t *testing.T, def []byte) obj {
	t.Helper()
	var m obj
	if err := json.Unmarshal(def, &m); err != nil {
		t.Fatalf("definition is not JSON: %v", err)
	}
	return m
}

// definitions returns both definitions by name, for checks that hold for each.
func definitions() map[string][]byte {
	return map[string][]byte{"pipeline": statemachine.Pipeline(), "remove": statemachine.Remove()}
}

func states(t *testing.T, sm obj) obj {
	t.Helper()
	s, ok := sm["States"].(obj)
	if !ok {
		t.Fatalf("no States object")
	}
	return s
}

// forEachState visits every state, including those inside Parallel branches, with the
// States object it belongs to.
func forEachState(sm obj, visit func(name string, st obj, scope obj)) {
	scope, _ := sm["States"].(obj)
	for name, v := range scope {
		st, _ := v.(obj)
		visit(name, st, scope)
		if branches, ok := st["Branches"].([]any); ok {
			for _, b := range branches {
				bm, _ := b.(obj)
				forEachState(bm, visit)
			}
		}
	}
}

func strs(v any) []string {
	var out []string
	list, _ := v.([]any)
	for _, x := range list {
		s, _ := x.(string)
		out = append(out, s)
	}
	return out
}

func nonRetryable() []string {
	return []string{
		pipeline.ErrNameNotAnImage, pipeline.ErrNameUnsupported, pipeline.ErrNameCorrupt,
		pipeline.ErrNameTooLarge, pipeline.ErrNameInvalidEvent, pipeline.ErrNameObjectNotFound,
		pipeline.ErrNameInvalidParameter,
	}
}

func TestRetryableNamesMatchFunctions(t *testing.T) {
	for _, n := range nonRetryable() {
		if slices.Contains(pipeline.RetryableErrorNames, n) {
			t.Errorf("%s is declared retryable", n)
		}
	}
}

func TestDefinitionsUseJSONPathAndTimeout(t *testing.T) {
	for name, def := range definitions() {
		sm := decode(t, def)
		if sm["QueryLanguage"] != "JSONPath" {
			t.Errorf("%s: QueryLanguage = %v, want JSONPath", name, sm["QueryLanguage"])
		}
		if to, _ := sm["TimeoutSeconds"].(float64); to <= 0 {
			t.Errorf("%s: no TimeoutSeconds", name)
		}
	}
}

func TestVariablesListed(t *testing.T) {
	if got, want := statemachine.Variables(statemachine.Pipeline()), statemachine.PipelineVariables(); !reflect.DeepEqual(got, want) {
		t.Errorf("pipeline variables = %v, PipelineVariables() = %v", got, want)
	}
	if got, want := statemachine.Variables(statemachine.Remove()), statemachine.RemoveVariables(); !reflect.DeepEqual(got, want) {
		t.Errorf("remove variables = %v, RemoveVariables() = %v", got, want)
	}
}

// TestTransitionsResolve checks that every Next, Default, Choice and Catch target
// names a state of the same scope, and that every state is reachable from StartAt.
func TestTransitionsResolve(t *testing.T) {
	for name, def := range definitions() {
		checkScope(t, name, decode(t, def))
	}
}

func checkScope(t *testing.T, where string, sm obj) {
	t.Helper()
	scope := states(t, sm)
	start, _ := sm["StartAt"].(string)
	seen := map[string]bool{}
	queue := []string{start}
	for len(queue) > 0 {
		n := queue[0]
		queue = queue[1:]
		if seen[n] {
			continue
		}
		st, ok := scope[n].(obj)
		if !ok {
			t.Errorf("%s: transition to unknown state %q", where, n)
			continue
		}
		seen[n] = true
		queue = append(queue, targets(st)...)
		end, _ := st["End"].(bool)
		terminal := end || st["Type"] == "Fail" || st["Type"] == "Succeed" || st["Type"] == "Choice"
		if _, hasNext := st["Next"]; !terminal && !hasNext {
			t.Errorf("%s: state %q has neither Next nor End", where, n)
		}
		if branches, ok := st["Branches"].([]any); ok {
			for i, b := range branches {
				bm, _ := b.(obj)
				checkScope(t, fmt.Sprintf("%s/%s[%d]", where, n, i), bm)
			}
		}
	}
	for n := range scope {
		if !seen[n] {
			t.Errorf("%s: state %q is unreachable", where, n)
		}
	}
}

func targets(st obj) []string {
	var out []string
	if n, ok := st["Next"].(string); ok {
		out = append(out, n)
	}
	if n, ok := st["Default"].(string); ok {
		out = append(out, n)
	}
	for _, key := range []string{"Choices", "Catch"} {
		list, _ := st[key].([]any)
		for _, c := range list {
			cm, _ := c.(obj)
			if n, ok := cm["Next"].(string); ok {
				out = append(out, n)
			}
		}
	}
	return out
}

// TestEveryTaskRetriedWithJitter: every Task retries with backoff, a delay cap and
// full jitter; Lambda Tasks retry exactly the transient names, never States.ALL and
// never a non-retryable function error.
func TestEveryTaskRetriedWithJitter(t *testing.T) {
	want := append(statemachine.RetryableLambdaErrors(), pipeline.RetryableErrorNames...)
	for name, def := range definitions() {
		tasks := 0
		forEachState(decode(t, def), func(sn string, st obj, _ obj) {
			if st["Type"] != "Task" {
				return
			}
			tasks++
			retry, _ := st["Retry"].([]any)
			if len(retry) == 0 {
				t.Errorf("%s/%s: no Retry", name, sn)
				return
			}
			var names []string
			for _, r := range retry {
				rm, _ := r.(obj)
				names = append(names, strs(rm["ErrorEquals"])...)
				if rm["JitterStrategy"] != "FULL" {
					t.Errorf("%s/%s: JitterStrategy = %v", name, sn, rm["JitterStrategy"])
				}
				if b, _ := rm["BackoffRate"].(float64); b <= 1 {
					t.Errorf("%s/%s: BackoffRate = %v, want > 1", name, sn, rm["BackoffRate"])
				}
				if d, _ := rm["MaxDelaySeconds"].(float64); d <= 0 {
					t.Errorf("%s/%s: no MaxDelaySeconds", name, sn)
				}
				if a, _ := rm["MaxAttempts"].(float64); a < 1 {
					t.Errorf("%s/%s: MaxAttempts = %v", name, sn, rm["MaxAttempts"])
				}
			}
			if slices.Contains(names, "States.ALL") {
				t.Errorf("%s/%s: retries States.ALL", name, sn)
			}
			for _, n := range nonRetryable() {
				if slices.Contains(names, n) {
					t.Errorf("%s/%s: retries non-retryable %s", name, sn, n)
				}
			}
			if st["Resource"] == "arn:aws:states:::lambda:invoke" {
				slices.Sort(names)
				w := slices.Clone(want)
				slices.Sort(w)
				if !reflect.DeepEqual(names, w) {
					t.Errorf("%s/%s: retried names = %v, want %v", name, sn, names, w)
				}
			}
		})
		if tasks == 0 {
			t.Errorf("%s: no Task states", name)
		}
	}
}

// TestEveryFailureReachesTheQueue: each Lambda Task (and the Parallel) catches
// States.ALL, names itself as the failing state, and leads to SendToFailureQueue,
// which sends {error, cause, state, input} to ${FailureQueueUrl} and then Fails.
func TestEveryFailureReachesTheQueue(t *testing.T) {
	for name, def := range definitions() {
		sm := decode(t, def)
		top := states(t, sm)
		checkNotify(t, name, top)
		forEachState(sm, func(sn string, st obj, scope obj) {
			if st["Type"] != "Task" && st["Type"] != "Parallel" || sn == statemachine.StateSendToFailureQueue {
				return
			}
			catch, _ := st["Catch"].([]any)
			if len(catch) != 1 {
				t.Errorf("%s/%s: want one Catch, got %d", name, sn, len(catch))
				return
			}
			c, _ := catch[0].(obj)
			if !reflect.DeepEqual(strs(c["ErrorEquals"]), []string{"States.ALL"}) {
				t.Errorf("%s/%s: Catch ErrorEquals = %v", name, sn, c["ErrorEquals"])
			}
			caught, _ := scope[c["Next"].(string)].(obj)
			if caught["Type"] != "Pass" {
				t.Fatalf("%s/%s: Catch leads to %v, want a Pass that names the state", name, sn, c["Next"])
			}
			params, _ := caught["Parameters"].(obj)
			if f, ok := params["failed"].(obj); ok { // inside a Parallel branch
				params = f
				if caught["End"] != true {
					t.Errorf("%s/%s: branch failure marker must end the branch", name, sn)
				}
				checkBranchReported(t, top, sn)
			} else if caught["Next"] != statemachine.StateSendToFailureQueue {
				t.Errorf("%s/%s: caught failure goes to %v, want %s", name, sn, caught["Next"], statemachine.StateSendToFailureQueue)
			}
			if params["state"] != sn {
				t.Errorf("%s/%s: failure reports state %v", name, sn, params["state"])
			}
			if _, ok := params["error.$"]; !ok {
				t.Errorf("%s/%s: failure drops the error", name, sn)
			}
		})
	}
}

// checkBranchReported: the Choice after the Parallel routes a branch's failure marker
// to a Pass that hands {state, error} to SendToFailureQueue.
func checkBranchReported(t *testing.T, top obj, task string) {
	t.Helper()
	choice, _ := top["CheckBranches"].(obj)
	parallel, _ := top[statemachine.StateProcessImage].(obj)
	if choice == nil || parallel == nil || parallel["Next"] != "CheckBranches" {
		t.Fatalf("ProcessImage must be followed by the CheckBranches Choice")
	}
	index := -1
	for i, b := range parallel["Branches"].([]any) {
		if b.(obj)["StartAt"] == task {
			index = i
		}
	}
	variable := fmt.Sprintf("$[%d].failed", index)
	for _, c := range choice["Choices"].([]any) {
		cm := c.(obj)
		if cm["Variable"] != variable || cm["IsPresent"] != true {
			continue
		}
		pass, _ := top[cm["Next"].(string)].(obj)
		if pass["InputPath"] != variable || pass["Next"] != statemachine.StateSendToFailureQueue {
			t.Errorf("%s: failure routed to %v, which does not pass %s to the queue", task, cm["Next"], variable)
		}
		return
	}
	t.Errorf("%s: CheckBranches has no IsPresent rule for %s", task, variable)
}

func checkNotify(t *testing.T, name string, top obj) {
	t.Helper()
	n, _ := top[statemachine.StateSendToFailureQueue].(obj)
	if n["Resource"] != "arn:aws:states:::sqs:sendMessage" {
		t.Fatalf("%s: %s.Resource = %v", name, statemachine.StateSendToFailureQueue, n["Resource"])
	}
	params, _ := n["Parameters"].(obj)
	if params["QueueUrl"] != "${"+statemachine.VarFailureQueueURL+"}" {
		t.Errorf("%s: QueueUrl = %v", name, params["QueueUrl"])
	}
	// The design's contract is these four fields; the body may carry more.
	body, _ := params["MessageBody"].(obj)
	want := obj{"error.$": "$.error.Error", "cause.$": "$.error.Cause", "state.$": "$.state", "input.$": "$$.Execution.Input"}
	for k, v := range want {
		if body[k] != v {
			t.Errorf("%s: MessageBody[%s] = %v, want %v", name, k, body[k], v)
		}
	}
	if n["ResultPath"] != nil {
		t.Errorf("%s: the send result must be discarded (ResultPath null) to keep $.error", name)
	}
	fail, _ := top[n["Next"].(string)].(obj)
	if fail["Type"] != "Fail" {
		t.Errorf("%s: after the queue comes %v, want Fail", name, n["Next"])
	}
	catch, _ := n["Catch"].([]any)
	if len(catch) != 1 || catch[0].(obj)["Next"] != n["Next"] {
		t.Errorf("%s: a failed send must still end in Fail", name)
	}
	if fail["ErrorPath"] != "$.error.Error" || fail["CausePath"] != "$.error.Cause" {
		t.Errorf("%s: Fail does not carry the original error: %v", name, fail)
	}
}

func TestPipelineShape(t *testing.T) {
	top := states(t, decode(t, statemachine.Pipeline()))
	p, _ := top[statemachine.StateProcessImage].(obj)
	if p["Type"] != "Parallel" {
		t.Fatalf("ProcessImage.Type = %v", p["Type"])
	}
	// The branches are the table's parallel steps, in table order; CheckBranches
	// reports each one's failure marker, in branch order.
	var wantBranches []statemachine.Step
	for _, st := range statemachine.Steps() {
		if st.Machine == statemachine.MachinePipeline && st.Parallel {
			wantBranches = append(wantBranches, st)
		}
	}
	branches, _ := p["Branches"].([]any)
	if len(branches) != len(wantBranches) {
		t.Fatalf("%d branches, want %d (the table's parallel steps)", len(branches), len(wantBranches))
	}
	choices, _ := top["CheckBranches"].(obj)["Choices"].([]any)
	if len(choices) != len(wantBranches) {
		t.Errorf("CheckBranches has %d choices, want one per branch", len(choices))
	}
	position := map[string]int{}
	for i, w := range wantBranches {
		position[w.State] = i
		b := branches[i].(obj)
		if b["StartAt"] != w.State {
			t.Errorf("branch %d starts at %v, want %s", i, b["StartAt"], w.State)
			continue
		}
		task := b["States"].(obj)[w.State].(obj)
		params := task["Parameters"].(obj)
		if task["Resource"] != "arn:aws:states:::lambda:invoke" || params["FunctionName"] != "${"+w.Variable+"}" ||
			params["Payload.$"] != "$" || task["OutputPath"] != "$.Payload" {
			t.Errorf("%s: %v", w.State, task)
		}
		if i >= len(choices) {
			continue
		}
		marker := fmt.Sprintf("$[%d].failed", i)
		c := choices[i].(obj)
		next, _ := c["Next"].(string)
		report, _ := top[next].(obj)
		if c["Variable"] != marker || c["IsPresent"] != true || report["InputPath"] != marker {
			t.Errorf("CheckBranches choice %d = %v (reporting %v), want %s IsPresent to a state reading it", i, c, report, marker)
		}
	}
	idx := top[statemachine.StateIndexDocument].(obj)
	payload := idx["Parameters"].(obj)["Payload"]
	// index-document's input: the event and the three results it merges, wherever
	// their branches sit.
	want := obj{
		"event.$":        "$$.Execution.Input",
		"executionArn.$": "$$.Execution.Id",
		"metadata.$":     fmt.Sprintf("$[%d]", position[statemachine.StateExtractMetadata]),
		"labels.$":       fmt.Sprintf("$[%d]", position[statemachine.StateDetectLabels]),
		"thumbnail.$":    fmt.Sprintf("$[%d]", position[statemachine.StateMakeThumbnail]),
	}
	if !reflect.DeepEqual(payload, want) {
		t.Errorf("IndexDocument payload = %v, want %v", payload, want)
	}
	if idx["End"] != true || top["CheckBranches"].(obj)["Default"] != statemachine.StateIndexDocument {
		t.Errorf("IndexDocument must follow a clean Parallel and end the execution")
	}
}

func TestRemoveShape(t *testing.T) {
	sm := decode(t, statemachine.Remove())
	if sm["StartAt"] != statemachine.StateRemoveDocument {
		t.Fatalf("StartAt = %v", sm["StartAt"])
	}
	task := states(t, sm)[statemachine.StateRemoveDocument].(obj)
	if task["Parameters"].(obj)["FunctionName"] != "${"+statemachine.VarRemoveDocumentFunctionArn+"}" {
		t.Errorf("RemoveDocument invokes %v", task["Parameters"])
	}
}

func TestDefinitionsAreCopies(t *testing.T) {
	a := statemachine.Pipeline()
	a[0] = 'X'
	if statemachine.Pipeline()[0] == 'X' {
		t.Fatal("Pipeline returns the embedded slice itself")
	}
}

func TestSubstituteAll(t *testing.T) {
	vars := map[string]string{}
	for _, v := range statemachine.PipelineVariables() {
		vars[v] = "arn:aws:lambda:eu-west-1:123456789012:function:" + v
	}
	vars[statemachine.VarFailureQueueURL] = `http://127.0.0.1:4566/000000000000/failures?a="b"`
	out, err := statemachine.Substitute(statemachine.Pipeline(), vars)
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(string(out), "${") {
		t.Fatalf("placeholders left: %s", out)
	}
	sm := decode(t, out)
	q := states(t, sm)[statemachine.StateSendToFailureQueue].(obj)["Parameters"].(obj)["QueueUrl"]
	if q != vars[statemachine.VarFailureQueueURL] {
		t.Errorf("QueueUrl = %v, want %v (escaping must round-trip)", q, vars[statemachine.VarFailureQueueURL])
	}
}

func TestSubstituteMissing(t *testing.T) {
	_, err := statemachine.Substitute(statemachine.Remove(), map[string]string{statemachine.VarFailureQueueURL: "q"})
	var missing *statemachine.MissingVariableError
	if !asMissing(err, &missing) {
		t.Fatalf("err = %v, want *MissingVariableError", err)
	}
	if !reflect.DeepEqual(missing.Names, []string{statemachine.VarRemoveDocumentFunctionArn}) {
		t.Errorf("missing = %v", missing.Names)
	}
	if !strings.Contains(err.Error(), "${RemoveDocumentFunctionArn}") {
		t.Errorf("message %q does not name the variable", err)
	}
}

func asMissing(err error, target **statemachine.MissingVariableError) bool {
	m, ok := err.(*statemachine.MissingVariableError)
	if ok {
		*target = m
	}
	return ok
}

func TestSubstituteRejectsInvalidJSON(t *testing.T) {
	if _, err := statemachine.Substitute([]byte(`{"a": ${X}`), map[string]string{"X": "1"}); err == nil {
		t.Fatal("invalid JSON accepted")
	}
}

func FuzzSubstitute(f *testing.F) {
	f.Add([]byte(`{"A":"${X}"}`), "v")
	f.Add(statemachine.Remove(), `"\`)
	f.Add([]byte(`${X}${Y`), "")
	f.Fuzz(func(t *testing.T, def []byte, value string) {
		vars := map[string]string{}
		for _, n := range statemachine.Variables(def) {
			vars[n] = value
		}
		out, err := statemachine.Substitute(def, vars)
		if err != nil {
			if _, ok := err.(*statemachine.MissingVariableError); ok {
				t.Fatalf("all variables provided, still missing: %v", err)
			}
			return
		}
		if !json.Valid(out) {
			t.Fatalf("invalid JSON out: %q", out)
		}
	})
}

// The redrive job: its one variable, transitions that resolve, a Round Task that
// retries the Lambda service errors with jitter, and the bounds the Go side names
// (statemachine.Redrive*) written in the definition.
func TestRedriveDefinition(t *testing.T) {
	def := statemachine.Redrive()
	if got, want := statemachine.Variables(def), statemachine.RedriveVariables(); !reflect.DeepEqual(got, want) {
		t.Errorf("redrive variables = %v, RedriveVariables() = %v", got, want)
	}
	sm := decode(t, def)
	checkScope(t, "redrive", sm)
	if sm["QueryLanguage"] != "JSONata" {
		t.Errorf("QueryLanguage = %v", sm["QueryLanguage"])
	}
	round, _ := states(t, sm)[statemachine.StateRedriveRound].(obj)
	var retried []string
	retry, _ := round["Retry"].([]any)
	for _, r := range retry {
		rm, _ := r.(obj)
		retried = append(retried, strs(rm["ErrorEquals"])...)
		if rm["JitterStrategy"] != "FULL" || rm["MaxDelaySeconds"] == nil {
			t.Errorf("Round retrier %v: want full jitter and a delay cap", rm)
		}
	}
	slices.Sort(retried)
	want := statemachine.RetryableLambdaErrors()
	slices.Sort(want)
	if !reflect.DeepEqual(retried, want) {
		t.Errorf("Round retries %v, want %v", retried, want)
	}
	// A round lasts its budget plus the last receive's wait and the release: the
	// execution's timeout must let every round run.
	if to, _ := sm["TimeoutSeconds"].(float64); to < float64(statemachine.RedriveMaxRounds*(statemachine.RedriveRoundSeconds+15)) {
		t.Errorf("TimeoutSeconds %v is shorter than %d rounds", to, statemachine.RedriveMaxRounds)
	}
	text := string(def)
	for _, s := range []string{
		fmt.Sprintf("'maxSeconds': %d", statemachine.RedriveRoundSeconds),
		fmt.Sprintf("$round >= %d", statemachine.RedriveMaxRounds),
		fmt.Sprintf("'%d rounds", statemachine.RedriveMaxRounds),
		fmt.Sprintf("$count($states.input.messageIds) <= %d", statemachine.RedriveMaxMessageIDs),
		`"Error": "` + statemachine.ErrRedriveInvalidInput + `"`,
		`"Error": "` + statemachine.ErrRedriveRoundsExceeded + `"`,
	} {
		if !strings.Contains(text, s) {
			t.Errorf("redrive.asl.json does not contain %q", s)
		}
	}
}
