package asl

import (
	"github.com/imagepipe/imagepipe/local/awsid"

	"context"
	"errors"
	"fmt"
	mrand "math/rand/v2"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// payloadLimit is Step Functions' 256 KiB quota on a state's input and output, counted
// in bytes of UTF-8 JSON.
const payloadLimit = 256 * 1024

// stateError is an error raised inside the execution, by name, as Step Functions
// reports it.
type stateError struct {
	name, cause string
	// terminal errors (States.Runtime, a state's States.DataLimitExceeded) are matched
	// by no retrier or catcher, not even one naming them.
	terminal bool
	// located: the cause already names the state ("An error occurred while executing
	// the state ...").
	located bool
	// field is where a JSONata expression failed (EvaluationFailed's location).
	field string
}

func (e *stateError) Error() string { return e.name + ": " + e.cause }

func runtimeError(format string, a ...any) *stateError {
	return &stateError{name: ErrRuntime, cause: fmt.Sprintf(format, a...), terminal: true}
}

// dataLimitError is a state's own input or output over the quota: terminal. (A Task
// result over the quota is an ordinary, catchable task failure; see task.go.)
func dataLimitError(format string, a ...any) *stateError {
	return &stateError{name: ErrDataLimitExceeded, cause: fmt.Sprintf(format, a...), terminal: true}
}

// errExecutionTimedOut is the cause of the context an execution runs under once its
// TimeoutSeconds pass.
var errExecutionTimedOut = errors.New("execution timed out")

// errSiblingFailed cancels the other branches of a Parallel or iterations of a Map
// when one fails.
var errSiblingFailed = errors.New("a sibling branch failed")

// execution is the per-Run state: counters live here, never in the definition.
type execution struct {
	opts        Options
	clock       Clock
	rand        func() float64
	region      string
	maxT        int64
	transitions atomic.Int64
	deadline    time.Time // TimeoutSeconds on the clock (zero: none)

	mu     sync.Mutex // serialises events
	lastID int64

	execCtx *object // $$.Execution and $$.StateMachine
}

// Run executes the state machine on input. It returns the execution's output, a
// *ExecutionError when the execution fails or times out, or ctx.Err() when ctx ends
// first (the execution is then aborted).
func (sm *StateMachine) Run(ctx context.Context, input []byte, opts Options) ([]byte, error) {
	e := newExecution(opts)
	in, err := decodeJSON(input)
	if err != nil {
		return nil, fmt.Errorf("execution input is not JSON: %w", err)
	}
	start := e.contextObject(in)
	limit := time.Duration(sm.timeoutSeconds) * time.Second
	if opts.MaxDuration > 0 && (limit == 0 || opts.MaxDuration < limit) {
		limit = opts.MaxDuration
	}
	if limit > 0 {
		e.deadline = start.Add(limit)
		var cancel context.CancelFunc
		// The clock decides for Waits and retry intervals; this bounds blocking calls.
		ctx, cancel = context.WithDeadlineCause(ctx, time.Now().Add(e.deadline.Sub(e.clock.Now())), errExecutionTimedOut)
		defer cancel()
	}
	var prev int64
	if opts.Redrive != nil {
		e.emit(&prev, HistoryEvent{Type: EventExecutionRedriven, ExecutionRedrivenEventDetails: &ExecutionRedrivenEventDetails{RedriveCount: opts.Context.Execution.RedriveCount}})
	} else {
		e.emit(&prev, HistoryEvent{Type: EventExecutionStarted, ExecutionStartedEventDetails: &ExecutionStartedEventDetails{
			Input: encodeString(in), RoleArn: opts.Context.Execution.RoleArn}})
	}
	prev = 0 // AWS numbers the first state's previous event 0, not ExecutionStarted

	out, err := e.runMachine(ctx, sm, in, &prev, opts.Redrive, &scopeVars{m: map[string]any{}})
	if err == nil {
		s := encodeString(out)
		e.emit(&prev, HistoryEvent{Type: EventExecutionSucceeded, ExecutionSucceededEventDetails: &ExecutionSucceededEventDetails{Output: s}})
		return []byte(s), nil
	}
	cp := checkpointIn(err)
	var se *stateError
	switch {
	case errors.As(err, &se) && se.name == ErrTimeout && se.terminal:
		e.emit(&prev, HistoryEvent{Type: EventExecutionTimedOut, ExecutionTimedOutEventDetails: &ErrorCauseDetails{Error: ErrTimeout, Cause: se.cause}})
		return nil, &ExecutionError{Name: ErrTimeout, Cause: se.cause, TimedOut: true, Checkpoint: cp}
	case errors.As(err, &se):
		e.emit(&prev, HistoryEvent{Type: EventExecutionFailed, ExecutionFailedEventDetails: &ErrorCauseDetails{Error: se.name, Cause: se.cause}})
		return nil, &ExecutionError{Name: se.name, Cause: se.cause, Checkpoint: cp}
	}
	e.emit(&prev, HistoryEvent{Type: EventExecutionAborted, ExecutionAbortedEventDetails: &ErrorCauseDetails{}})
	if ctx.Err() != nil {
		return nil, &StoppedError{Err: ctx.Err(), Checkpoint: cp}
	}
	return nil, err
}

func newExecution(opts Options) *execution {
	e := &execution{opts: opts, clock: opts.Clock, rand: opts.Rand, region: opts.Region, maxT: int64(opts.MaxTransitions)}
	if e.clock == nil {
		e.clock = RealClock{}
	}
	if e.rand == nil {
		e.rand = mrand.Float64
	}
	if e.region == "" {
		e.region = awsid.Region
	}
	if e.maxT <= 0 {
		e.maxT = DefaultMaxTransitions
	}
	if opts.FirstEventID > 0 {
		e.lastID = opts.FirstEventID - 1
	}
	return e
}

// contextObject builds $$.Execution and $$.StateMachine in the member order AWS
// writes them, and returns the execution's start time.
func (e *execution) contextObject(in any) time.Time {
	ec := e.opts.Context
	execInput := in
	if len(ec.Execution.Input) > 0 {
		if v, err := decodeJSON(ec.Execution.Input); err == nil {
			execInput = v
		}
	}
	start := ec.Execution.StartTime
	if start.IsZero() {
		start = e.clock.Now()
	}
	ex := objectOf("Id", ec.Execution.Id, "Input", execInput, "StartTime", formatTime(start),
		"Name", ec.Execution.Name, "RoleArn", ec.Execution.RoleArn, "RedriveCount", intNumber(int64(ec.Execution.RedriveCount)))
	if !ec.Execution.RedriveTime.IsZero() {
		ex.set("RedriveTime", formatTime(ec.Execution.RedriveTime))
	}
	e.execCtx = objectOf("Execution", ex, "StateMachine", objectOf("Id", ec.StateMachine.Id, "Name", ec.StateMachine.Name))
	return start
}

func formatTime(t time.Time) string { return t.UTC().Format("2006-01-02T15:04:05.000Z") }

// emit records one event after *prev and advances *prev (each branch of a Parallel
// or Map keeps its own chain of previous event ids, as Step Functions does). It
// returns the event's id.
func (e *execution) emit(prev *int64, ev HistoryEvent) int64 {
	id := e.emitAfter(*prev, ev)
	*prev = id
	return id
}

// emitAfter records one event whose previous event is prev, without advancing any
// chain (AWS's *StateSucceeded events are not the previous event of what follows).
func (e *execution) emitAfter(prev int64, ev HistoryEvent) int64 {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.lastID++
	ev.ID = e.lastID
	ev.PreviousEventID = prev
	ev.Timestamp = e.clock.Now()
	if e.opts.OnEvent != nil {
		e.opts.OnEvent(ev)
	}
	return ev.ID
}

// runMachine runs one scope (the top level, a branch or a Map iteration) as a flat
// loop over its states. With resume it starts where a previous run stopped (a
// redrive). When it stops without success, its error carries a *Checkpoint.
func (e *execution) runMachine(ctx context.Context, sm *StateMachine, input any, prev *int64, resume *Checkpoint, vars *scopeVars) (any, error) {
	name := sm.startAt
	data := input
	var branches []BranchPoint
	if resume != nil {
		v, err := decodeJSON(resume.Input)
		if err != nil || sm.states[resume.State] == nil {
			return nil, runtimeError("The execution cannot be redriven: its checkpoint names no state %q of this definition", resume.State)
		}
		name, data, branches = resume.State, v, resume.Branches
		vars.restore(resume.Variables)
	}
	for {
		if err := e.alive(ctx); err != nil {
			return nil, stopAt(err, name, data, branches, vars)
		}
		if e.transitions.Add(1) > e.maxT {
			return nil, stopAt(runtimeError("The execution exceeded the maximum of %d state transitions", e.maxT), name, data, branches, vars)
		}
		v := &visit{prev: prev, resume: branches, vars: vars}
		out, next, err := e.runState(ctx, sm.states[name], data, v)
		if err != nil {
			return nil, stopAt(err, name, data, v.stop, vars)
		}
		if next == "" {
			return out, nil
		}
		data, name, branches = out, next, nil
	}
}

// visit is one run of one state: its chain of events and, for a Parallel or Map, the
// branches a redrive resumes (resume) and where its branches stopped (stop).
type visit struct {
	prev   *int64
	resume []BranchPoint
	stop   []BranchPoint
	vars   *scopeVars
}

// alive reports why the execution must stop: its timeout (a terminal States.Timeout),
// or its context ending (an abort).
func (e *execution) alive(ctx context.Context) error {
	if !e.deadline.IsZero() && !e.clock.Now().Before(e.deadline) {
		return &stateError{name: ErrTimeout, terminal: true}
	}
	if ctx.Err() == nil {
		return nil
	}
	if errors.Is(context.Cause(ctx), errExecutionTimedOut) {
		return &stateError{name: ErrTimeout, terminal: true}
	}
	return ctx.Err()
}

func errorMatches(names []string, se *stateError) bool {
	if se.terminal {
		return false
	}
	for _, n := range names {
		if n == se.name || n == ErrAll || (n == ErrTaskFailed && se.name != ErrTimeout) {
			return true
		}
	}
	return false
}

func (st *state) findCatcher(se *stateError) *catcher {
	for i := range st.catch {
		if errorMatches(st.catch[i].errorEquals, se) {
			return &st.catch[i]
		}
	}
	return nil
}

// stateContext is $$ for one state: the execution's part, then State (RetryCount only
// for the states that retry, as AWS writes it).
func (e *execution) stateContext(st *state, entered time.Time, retry int) *object {
	c := e.execCtx.clone()
	s := objectOf("Name", st.name, "EnteredTime", formatTime(entered))
	switch st.typ {
	case "Task", "Parallel", "Map":
		s.set("RetryCount", intNumber(int64(retry)))
	}
	c.set("State", s)
	return c
}

func applyPath(v any, p optPath) (any, error) {
	if p.null {
		return newObject(0), nil
	}
	if p.path == nil {
		return v, nil
	}
	out, err := evalPath(p.path, v)
	if err != nil {
		return nil, runtimeError("Invalid path '%s' : %s", p.path.raw, missingPathText(p.path, v))
	}
	return out, nil
}

func applyResultPath(raw any, p optPath, result any) (any, error) {
	if p.null {
		return raw, nil
	}
	if p.path == nil {
		return result, nil
	}
	out, err := setPath(raw, p.path, result)
	if err != nil {
		return nil, &stateError{name: ErrResultPathMatchFailure,
			cause: fmt.Sprintf("Unable to apply ResultPath '%s' to input '%s': %v", p.path.raw, encodeString(raw), err)}
	}
	return out, nil
}

var enteredType = map[string]string{
	"Task": "TaskState", "Pass": "PassState", "Choice": "ChoiceState", "Wait": "WaitState",
	"Succeed": "SucceedState", "Fail": "FailState", "Parallel": "ParallelState", "Map": "MapState",
}

// runState runs one state: entered event, input processing, the state's work (with
// its retriers), result and output processing, exited event. It returns the output
// and the next state's name ("" at the end of the scope). A failure its catchers
// match is handled here: the state exits with the error output and goes on to the
// catcher's Next, as AWS's history shows.
func (e *execution) runState(ctx context.Context, st *state, raw any, v *visit) (any, string, error) {
	prev := v.prev
	entered := e.clock.Now()
	enteredID := e.emit(prev, HistoryEvent{Type: enteredType[st.typ] + "Entered", StateEnteredEventDetails: &StateEnteredEventDetails{Name: st.name, Input: encodeString(raw)}})
	out, next, err := e.stateWork(ctx, st, raw, entered, v)
	if err == nil {
		return out, next, nil
	}
	var se *stateError
	if !errors.As(err, &se) {
		if errors.Is(context.Cause(ctx), errSiblingFailed) {
			e.emitAfter(failedAt(ctx, *prev), HistoryEvent{Type: enteredType[st.typ] + "Aborted"})
		}
		return nil, "", err // the context ended
	}
	se = locate(se, st.name, enteredID)
	if se.field != "" {
		e.emit(prev, HistoryEvent{Type: "EvaluationFailed", EvaluationFailedEventDetails: &EvaluationFailedEventDetails{
			Error: se.name, Cause: se.cause, Location: se.field, State: st.name}})
	}
	if c := st.findCatcher(se); c != nil {
		nd, assigned, cerr := e.caught(st, c, raw, se, v.vars)
		if cerr == nil {
			v.vars.set(assigned)
			e.emit(prev, HistoryEvent{Type: enteredType[st.typ] + "Exited", StateExitedEventDetails: exitedDetails(st.name, nd, assigned)})
			return nd, c.next, nil
		}
		se = locate(cerr.(*stateError), st.name, enteredID)
	}
	return nil, "", se
}

// locate names the state in a terminal or query error's cause, as AWS does.
func locate(se *stateError, name string, enteredID int64) *stateError {
	if (!se.terminal && se.field == "") || se.located || se.cause == "" {
		return se
	}
	c := *se
	c.located = true
	c.cause = fmt.Sprintf("An error occurred while executing the state '%s' (entered at the event id #%d). %s", name, enteredID, se.cause)
	return &c
}

// caught is a matching catcher's output and assignments: JSONPath applies its
// ResultPath to the error output; JSONata evaluates its Output (default: the error
// output) with $states.errorOutput.
func (e *execution) caught(st *state, c *catcher, raw any, se *stateError, vars *scopeVars) (any, map[string]any, error) {
	errOut := objectOf("Error", se.name, "Cause", se.cause)
	env := &evalEnv{input: errOut, stateInput: raw, errorOutput: errOut, ctx: e.execCtx, rand: e.rand, vars: vars}
	assigned, err := e.evalAssign(c.assign, env)
	if err != nil {
		return nil, nil, err
	}
	if !st.jsonata {
		out, err := applyResultPath(raw, c.resultPath, errOut)
		return out, assigned, err
	}
	if c.output == nil {
		return errOut, assigned, nil
	}
	out, err := c.output.eval(env, "Output")
	return out, assigned, err
}

// evalAssign evaluates Assign: every value sees the variables as they were before
// the state, then all are assigned together.
func (e *execution) evalAssign(t *template, env *evalEnv) (map[string]any, error) {
	if t == nil {
		return nil, nil
	}
	v, err := t.eval(env, "Assign")
	if err != nil {
		return nil, err
	}
	o := v.(*object)
	out := make(map[string]any, o.len())
	for i, k := range o.keys {
		out[strings.TrimSuffix(k, ".$")] = o.vals[i]
	}
	return out, nil
}

// exitedDetails is a *StateExited event's details, with the variables assigned.
func exitedDetails(name string, out any, assigned map[string]any) *StateExitedEventDetails {
	d := &StateExitedEventDetails{Name: name, Output: encodeString(out)}
	if len(assigned) > 0 {
		d.AssignedVariables = make(map[string]string, len(assigned))
		for k, v := range assigned {
			d.AssignedVariables[k] = encodeString(v)
		}
		d.AssignedVariablesDetails = &DataDetails{}
	}
	return d
}

// stateWork is runState without the entered event and the catchers.
func (e *execution) stateWork(ctx context.Context, st *state, raw any, entered time.Time, v *visit) (any, string, error) {
	env := &evalEnv{ctx: e.stateContext(st, entered, 0), rand: e.rand, vars: v.vars, stateInput: raw}
	if st.typ == "Fail" {
		env.input = raw
		return nil, "", e.failState(st, raw, env)
	}
	if st.jsonata {
		return e.jsonataWork(ctx, st, raw, entered, v, env)
	}
	in, err := applyPath(raw, st.inputPath)
	if err != nil {
		return nil, "", err
	}
	env.input = in
	result, next, hasResult, err := e.execute(ctx, st, env, entered, v)
	if err != nil {
		return nil, "", err
	}
	// Assign reads the state's result where it has one, its input otherwise.
	aenv := &evalEnv{input: in, ctx: env.ctx, rand: e.rand, vars: v.vars}
	if hasResult {
		aenv.input = result
	}
	assigned, err := e.evalAssign(st.assign, aenv)
	if err != nil {
		return nil, "", err
	}
	out := in
	if hasResult {
		if out, err = applyResultPath(raw, st.resultPath, result); err != nil {
			return nil, "", err
		}
	}
	if out, err = applyPath(out, st.outputPath); err != nil {
		return nil, "", err
	}
	return e.exit(st, out, next, assigned, v)
}

// exit checks the output's size, assigns the variables and records the exit.
func (e *execution) exit(st *state, out any, next string, assigned map[string]any, v *visit) (any, string, error) {
	if len(encodeJSON(out)) > payloadLimit {
		return nil, "", dataLimitError("The state/task '%s' returned a result with a size exceeding the maximum number of bytes service limit.", st.name)
	}
	v.vars.set(assigned)
	e.emit(v.prev, HistoryEvent{Type: enteredType[st.typ] + "Exited", StateExitedEventDetails: exitedDetails(st.name, out, assigned)})
	if st.end || st.typ == "Succeed" {
		next = ""
	}
	return out, next, nil
}

// jsonataWork is stateWork for a JSONata state: Arguments (in execute), the work,
// then Assign and Output, all with $states.
func (e *execution) jsonataWork(ctx context.Context, st *state, raw any, entered time.Time, v *visit, env *evalEnv) (any, string, error) {
	env.input = raw
	result, next, hasResult, err := e.execute(ctx, st, env, entered, v)
	if err != nil {
		return nil, "", err
	}
	env.input = raw
	env.result, env.hasResult = result, hasResult && st.typ != "Pass"
	outT, assignT := st.output, st.assign
	if r := env.matched; r != nil {
		if r.output != nil {
			outT = r.output
		}
		if r.assign != nil {
			assignT = r.assign
		}
	}
	assigned, err := e.evalAssign(assignT, env)
	if err != nil {
		return nil, "", err
	}
	out := raw
	if env.hasResult {
		out = result
	}
	if outT != nil {
		if out, err = outT.eval(env, "Output"); err != nil {
			return nil, "", err
		}
	}
	return e.exit(st, out, next, assigned, v)
}

// execute does the work of a state type on its effective input.
func (e *execution) execute(ctx context.Context, st *state, env *evalEnv, entered time.Time, v *visit) (result any, next string, hasResult bool, err error) {
	switch st.typ {
	case "Pass":
		result = env.input
		if st.parameters != nil {
			if result, err = st.parameters.eval(env, "Parameters"); err != nil {
				return nil, "", false, err
			}
		}
		if st.hasResult {
			result = st.result
		}
		return result, st.next, true, nil
	case "Succeed":
		return nil, "", false, nil
	case "Choice":
		next, err = st.choose(env)
		return nil, next, false, err
	case "Wait":
		return nil, st.next, false, e.wait(ctx, st, env)
	}
	// Task, Parallel, Map
	if result, err = e.withRetry(ctx, st, env, entered, v); err != nil {
		return nil, "", false, err
	}
	if st.selector != nil {
		senv := &evalEnv{input: result, ctx: env.ctx, rand: e.rand}
		if result, err = st.selector.eval(senv, "ResultSelector"); err != nil {
			return nil, "", false, err
		}
		if len(encodeJSON(result)) > payloadLimit {
			return nil, "", false, dataLimitError("The state/task '%s' returned a result with a size exceeding the maximum number of bytes service limit.", st.name)
		}
	}
	return result, st.next, true, nil
}

// effectiveInput applies Parameters and checks the quota on the result ("after
// Parameters processing, the input of a state").
func (e *execution) effectiveInput(st *state, env *evalEnv) (any, error) {
	if st.parameters == nil {
		return env.input, nil
	}
	v, err := st.parameters.eval(env, "Parameters")
	if err != nil {
		return nil, err
	}
	if len(encodeJSON(v)) > payloadLimit {
		return nil, dataLimitError("The state/task '%s' has an input with a size exceeding the maximum number of bytes service limit.", st.name)
	}
	return v, nil
}

func (st *state) choose(env *evalEnv) (string, error) {
	for _, c := range st.choices {
		var ok bool
		var err error
		if c.condition != nil {
			ok, err = c.evalCondition(env)
		} else {
			ok, err = c.eval(env)
		}
		if err != nil {
			return "", err
		}
		if ok {
			env.matched = c
			return c.next, nil
		}
	}
	if st.def == "" {
		return "", &stateError{name: ErrNoChoiceMatched, cause: fmt.Sprintf("No Matches! at state '%s'", st.name)}
	}
	return st.def, nil
}

// evalCondition evaluates a JSONata rule's Condition, which must be a boolean.
func (r *choiceRule) evalCondition(env *evalEnv) (bool, error) {
	v, err := r.condition.eval(env, "Condition")
	if err != nil {
		return false, err
	}
	b, ok := v.(bool)
	if !ok {
		return false, queryError(r.condition, "Condition", "returned a non-boolean value.")
	}
	return b, nil
}

func (e *execution) failState(st *state, raw any, env *evalEnv) error {
	env.input = raw
	name, cause := st.errName, st.cause
	for _, f := range []struct {
		t   *template
		dst *string
		fld string
	}{{st.errorDyn, &name, "ErrorPath"}, {st.causeDyn, &cause, "CausePath"}} {
		if f.t == nil {
			continue
		}
		v, err := f.t.eval(env, f.fld)
		if err != nil {
			return err
		}
		s, ok := v.(string)
		if !ok {
			return runtimeError("The %s '%s' must resolve to a string, not %s", f.fld, f.t.source, typeName(v))
		}
		*f.dst = s
	}
	return &stateError{name: name, cause: cause}
}

func (e *execution) wait(ctx context.Context, st *state, env *evalEnv) error {
	var d time.Duration
	switch {
	case st.waitExpr != nil:
		w, err := e.waitFromExpr(st, env)
		if err != nil {
			return err
		}
		d = w
	case st.hasSeconds:
		d = time.Duration(st.seconds) * time.Second
	case st.secondsPath != nil:
		v, err := env.path(st.secondsPath)
		if err != nil {
			return runtimeError("The SecondsPath parameter does not reference an input value: %s", st.secondsPath.raw)
		}
		n, ok := toInt(v)
		if !ok {
			return runtimeError("The SecondsPath parameter cannot be parsed as a long value: %s == %s", st.secondsPath.raw, encodeString(v))
		}
		if n < 0 {
			return runtimeError("The SecondsPath parameter references a negative value: %s == %d", st.secondsPath.raw, n)
		}
		d = time.Duration(n) * time.Second
	case st.hasTimestamp:
		d = st.timestamp.Sub(e.clock.Now())
	case st.timestampPath != nil:
		v, err := env.path(st.timestampPath)
		if err != nil {
			return runtimeError("The TimestampPath parameter does not reference an input value: %s", st.timestampPath.raw)
		}
		s, _ := v.(string)
		t, perr := parseTimestamp(s)
		if perr != nil {
			return runtimeError("The TimestampPath parameter does not reference a valid ISO-8601 extended offset date-time format string: %s == %s", st.timestampPath.raw, s)
		}
		d = t.Sub(e.clock.Now())
	}
	return e.sleep(ctx, d)
}

// waitFromExpr is a JSONata Wait's Seconds (a non-negative integer) or Timestamp.
func (e *execution) waitFromExpr(st *state, env *evalEnv) (time.Duration, error) {
	field := "Timestamp"
	if st.waitIsSeconds {
		field = "Seconds"
	}
	v, err := st.waitExpr.eval(env, field)
	if err != nil {
		return 0, err
	}
	if st.waitIsSeconds {
		n, ok := toInt(v)
		if !ok || n < 0 {
			return 0, queryError(st.waitExpr.x, field, "returned a value that is not a non-negative integer.")
		}
		return time.Duration(n) * time.Second, nil
	}
	s, _ := v.(string)
	t, perr := parseTimestamp(s)
	if perr != nil {
		return 0, queryError(st.waitExpr.x, field, "returned a value that is not an ISO-8601 extended offset date-time format string.")
	}
	return t.Sub(e.clock.Now()), nil
}

// sleep waits on the clock, no longer than the execution's remaining time.
func (e *execution) sleep(ctx context.Context, d time.Duration) error {
	if !e.deadline.IsZero() {
		if left := e.deadline.Sub(e.clock.Now()); d >= left {
			if err := e.clock.Sleep(ctx, left); err != nil {
				return e.alive(ctx)
			}
			return &stateError{name: ErrTimeout, terminal: true}
		}
	}
	if d <= 0 {
		return e.alive(ctx)
	}
	if err := e.clock.Sleep(ctx, d); err != nil {
		return e.alive(ctx)
	}
	return nil
}

// withRetry runs the effective work of a Task, Parallel or Map state, retrying as its
// Retry field says. The counters are local to this visit of the state.
func (e *execution) withRetry(ctx context.Context, st *state, env *evalEnv, entered time.Time, v *visit) (any, error) {
	attempts := make([]int, len(st.retry))
	total := 0
	for {
		env.ctx = e.stateContext(st, entered, total)
		var res any
		var err error
		switch st.typ {
		case "Task":
			res, err = e.runTask(ctx, st, env, v.prev)
		case "Parallel":
			res, err = e.runParallel(ctx, st, env, v)
		case "Map":
			res, err = e.runMap(ctx, st, env, v)
		}
		if err == nil {
			return res, nil
		}
		var se *stateError
		if !errors.As(err, &se) {
			return nil, err
		}
		delay, ok := st.retryDelay(se, attempts, e.rand)
		if !ok {
			return nil, err
		}
		total++
		if err := e.sleep(ctx, delay); err != nil {
			return nil, err
		}
	}
}

// retryDelay picks the first retrier matching se; ok is false when none matches or
// its attempts are spent. It counts the attempt.
func (st *state) retryDelay(se *stateError, attempts []int, rand func() float64) (time.Duration, bool) {
	for i, r := range st.retry {
		if !errorMatches(r.errorEquals, se) {
			continue
		}
		if attempts[i] >= r.maxAttempts {
			return 0, false
		}
		delay := r.interval
		for range attempts[i] {
			delay *= r.backoffRate
		}
		if r.maxDelay > 0 && delay > r.maxDelay {
			delay = r.maxDelay
		}
		if r.jitterFull {
			delay *= rand()
		}
		attempts[i]++
		return time.Duration(delay * float64(time.Second)), true
	}
	return 0, false
}

func isStateError(err error) bool {
	var se *stateError
	return errors.As(err, &se)
}
