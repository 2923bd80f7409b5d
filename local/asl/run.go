package asl

import (
	"context"
	"errors"
	"fmt"
	"math"
	mrand "math/rand/v2"
	"sync"
	"sync/atomic"
	"time"
)

// payloadLimit is Step Functions' 256 KiB quota on a state's input and output.
const payloadLimit = 256 * 1024

// stateError is an error raised inside the execution, by name, as Step Functions
// reports it.
type stateError struct {
	name, cause string
}

func (e *stateError) Error() string { return e.name + ": " + e.cause }

// terminal errors are not matched by States.ALL (nor by retriers).
func (e *stateError) terminal() bool {
	return e.name == ErrRuntime || e.name == ErrDataLimitExceeded
}

func runtimeError(format string, a ...any) *stateError {
	return &stateError{name: ErrRuntime, cause: fmt.Sprintf(format, a...)}
}

// execution is the per-Run state: counters live here, never in the definition.
type execution struct {
	opts        Options
	clock       Clock
	rand        func() float64
	region      string
	maxT        int64
	transitions atomic.Int64

	mu     sync.Mutex // serialises events
	lastID int64

	execCtx map[string]any // $$.Execution and $$.StateMachine
}

// Run executes the state machine on input. It returns the execution's output, a
// *ExecutionError when the execution fails, or ctx.Err() when ctx ends first.
func (sm *StateMachine) Run(ctx context.Context, input []byte, opts Options) ([]byte, error) {
	e := &execution{opts: opts, clock: opts.Clock, rand: opts.Rand, region: opts.Region, maxT: int64(opts.MaxTransitions)}
	if e.clock == nil {
		e.clock = RealClock{}
	}
	if e.rand == nil {
		e.rand = mrand.Float64
	}
	if e.region == "" {
		e.region = "us-east-1"
	}
	if e.maxT <= 0 {
		e.maxT = DefaultMaxTransitions
	}
	in, err := decodeJSON(input)
	if err != nil {
		return nil, fmt.Errorf("execution input is not JSON: %w", err)
	}
	ec := opts.Context
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
	e.execCtx = map[string]any{
		"Execution": map[string]any{
			"Id": ec.Execution.Id, "Name": ec.Execution.Name, "StartTime": formatTime(start),
			"RoleArn": ec.Execution.RoleArn, "Input": execInput, "RedriveCount": intNumber(int64(ec.Execution.RedriveCount)),
		},
		"StateMachine": map[string]any{"Id": ec.StateMachine.Id, "Name": ec.StateMachine.Name},
	}
	var prev int64
	e.emit(&prev, HistoryEvent{Type: EventExecutionStarted, ExecutionStartedEventDetails: &ExecutionStartedEventDetails{
		Input: encodeString(in), RoleArn: ec.Execution.RoleArn}})

	out, err := e.runMachine(ctx, sm, in, &prev, nil)
	if err == nil {
		s := encodeString(out)
		e.emit(&prev, HistoryEvent{Type: EventExecutionSucceeded, ExecutionSucceededEventDetails: &ExecutionSucceededEventDetails{Output: s}})
		return []byte(s), nil
	}
	var se *stateError
	switch {
	case errors.As(err, &se):
		e.emit(&prev, HistoryEvent{Type: EventExecutionFailed, ExecutionFailedEventDetails: &ErrorCauseDetails{Error: se.name, Cause: se.cause}})
		return nil, &ExecutionError{Name: se.name, Cause: se.cause}
	case errors.Is(err, context.DeadlineExceeded):
		e.emit(&prev, HistoryEvent{Type: EventExecutionTimedOut, ExecutionTimedOutEventDetails: &ErrorCauseDetails{Error: ErrTimeout, Cause: "The execution timed out"}})
	default:
		e.emit(&prev, HistoryEvent{Type: EventExecutionAborted, ExecutionAbortedEventDetails: &ErrorCauseDetails{}})
	}
	if ctx.Err() != nil {
		return nil, ctx.Err()
	}
	return nil, err
}

func formatTime(t time.Time) string { return t.UTC().Format("2006-01-02T15:04:05.000Z") }

// emit records one event after *prev and advances *prev (each branch of a Parallel
// or Map keeps its own chain of previous event ids, as Step Functions does).
func (e *execution) emit(prev *int64, ev HistoryEvent) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.lastID++
	ev.ID = e.lastID
	ev.PreviousEventID = *prev
	*prev = ev.ID
	ev.Timestamp = e.clock.Now()
	if e.opts.OnEvent != nil {
		e.opts.OnEvent(ev)
	}
}

// runMachine runs one scope (the top level, a branch or a Map iteration) as a flat
// loop. mapItem is $$.Map.Item inside a Map iteration's selector (nil elsewhere).
func (e *execution) runMachine(ctx context.Context, sm *StateMachine, input any, prev *int64, _ any) (any, error) {
	name := sm.startAt
	data := input
	for {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		if e.transitions.Add(1) > e.maxT {
			return nil, runtimeError("The execution exceeded the maximum of %d state transitions", e.maxT)
		}
		st := sm.states[name]
		out, next, err := e.runState(ctx, st, data, prev)
		if err != nil {
			var se *stateError
			if !errors.As(err, &se) {
				return nil, err // context ended
			}
			if c := st.findCatcher(se); c != nil {
				errOut := map[string]any{"Error": se.name, "Cause": se.cause}
				nd, perr := applyResultPath(data, c.resultPath, errOut)
				if perr != nil {
					return nil, perr
				}
				data, name = nd, c.next
				continue
			}
			return nil, err
		}
		if next == "" {
			return out, nil
		}
		data, name = out, next
	}
}

func errorMatches(names []string, se *stateError) bool {
	if se.terminal() {
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

func (e *execution) stateContext(st *state, entered time.Time, retry int) map[string]any {
	c := make(map[string]any, len(e.execCtx)+1)
	for k, v := range e.execCtx {
		c[k] = v
	}
	c["State"] = map[string]any{"Name": st.name, "EnteredTime": formatTime(entered), "RetryCount": intNumber(int64(retry))}
	return c
}

func applyPath(v any, p optPath, field string) (any, error) {
	if p.null {
		return map[string]any{}, nil
	}
	if p.path == nil {
		return v, nil
	}
	out, err := evalPath(p.path, v)
	if err != nil {
		return nil, runtimeError("Invalid path '%s' : No results for path: %s (%s)", p.path.raw, p.path.raw, field)
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

// runState runs one state: it returns the output and the next state's name ("" at
// the end of the scope).
func (e *execution) runState(ctx context.Context, st *state, raw any, prev *int64) (any, string, error) {
	entered := e.clock.Now()
	e.emit(prev, HistoryEvent{Type: enteredType[st.typ] + "Entered", StateEnteredEventDetails: &StateEnteredEventDetails{Name: st.name, Input: encodeString(raw)}})
	env := &evalEnv{ctx: e.stateContext(st, entered, 0), rand: e.rand}

	if st.typ == "Fail" {
		return nil, "", e.failState(st, raw, env)
	}
	in, err := applyPath(raw, st.inputPath, "InputPath")
	if err != nil {
		return nil, "", err
	}
	env.input = in
	next := st.next
	var result any
	hasResult := true
	switch st.typ {
	case "Pass":
		result = in
		if st.parameters != nil {
			if result, err = st.parameters.eval(env, "Parameters"); err != nil {
				return nil, "", err
			}
		}
		if st.hasResult {
			result = st.result
		}
	case "Succeed":
		hasResult = false
	case "Choice":
		hasResult = false
		next = ""
		for _, c := range st.choices {
			ok, err := c.eval(env)
			if err != nil {
				return nil, "", err
			}
			if ok {
				next = c.next
				break
			}
		}
		if next == "" {
			if st.def == "" {
				return nil, "", &stateError{name: ErrNoChoiceMatched, cause: fmt.Sprintf("No Choice Rules matched and no Default in state %q", st.name)}
			}
			next = st.def
		}
	case "Wait":
		hasResult = false
		if err := e.wait(ctx, st, env); err != nil {
			return nil, "", err
		}
	case "Task", "Parallel", "Map":
		result, err = e.withRetry(ctx, st, env, entered, prev)
		if err != nil {
			return nil, "", err
		}
		if st.selector != nil {
			senv := &evalEnv{input: result, ctx: env.ctx, rand: e.rand}
			if result, err = st.selector.eval(senv, "ResultSelector"); err != nil {
				return nil, "", err
			}
		}
	}
	out := in
	if hasResult {
		if out, err = applyResultPath(raw, st.resultPath, result); err != nil {
			return nil, "", err
		}
	}
	if out, err = applyPath(out, st.outputPath, "OutputPath"); err != nil {
		return nil, "", err
	}
	s := encodeString(out)
	if len(s) > payloadLimit {
		return nil, "", &stateError{name: ErrDataLimitExceeded, cause: fmt.Sprintf("The state/task %q returned a result with a size exceeding the maximum number of bytes service limit.", st.name)}
	}
	e.emit(prev, HistoryEvent{Type: enteredType[st.typ] + "Exited", StateExitedEventDetails: &StateExitedEventDetails{Name: st.name, Output: s}})
	if st.end || st.typ == "Succeed" {
		next = ""
	}
	return out, next, nil
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
			var se *stateError
			if errors.As(err, &se) && se.name == ErrParameterPathFailure {
				return runtimeError("%s", se.cause)
			}
			return err
		}
		s, ok := v.(string)
		if !ok {
			return runtimeError("The %s '%s' in state %q must resolve to a string, not %s", f.fld, f.t.source, st.name, typeName(v))
		}
		*f.dst = s
	}
	return &stateError{name: name, cause: cause}
}

func (e *execution) wait(ctx context.Context, st *state, env *evalEnv) error {
	var d time.Duration
	switch {
	case st.hasSeconds:
		d = time.Duration(st.seconds) * time.Second
	case st.secondsPath != nil:
		v, err := env.path(st.secondsPath)
		n, ok := toInt(v)
		if err != nil || !ok || n < 0 {
			return runtimeError("The SecondsPath parameter does not reference a valid non-negative integer: %s", st.secondsPath.raw)
		}
		d = time.Duration(n) * time.Second
	case st.hasTimestamp:
		d = st.timestamp.Sub(e.clock.Now())
	case st.timestampPath != nil:
		v, err := env.path(st.timestampPath)
		s, ok := v.(string)
		if err != nil || !ok {
			return runtimeError("The TimestampPath parameter does not reference a valid ISO-8601 timestamp: %s", st.timestampPath.raw)
		}
		t, perr := parseTimestamp(s)
		if perr != nil {
			return runtimeError("The TimestampPath parameter does not reference a valid ISO-8601 timestamp: %s", s)
		}
		d = t.Sub(e.clock.Now())
	}
	if d <= 0 {
		return ctx.Err()
	}
	return e.clock.Sleep(ctx, d)
}

// withRetry runs the effective work of a Task, Parallel or Map state, retrying as its
// Retry field says. The counters are local to this visit of the state.
func (e *execution) withRetry(ctx context.Context, st *state, env *evalEnv, entered time.Time, prev *int64) (any, error) {
	attempts := make([]int, len(st.retry))
	total := 0
	for {
		env.ctx = e.stateContext(st, entered, total)
		var res any
		var err error
		switch st.typ {
		case "Task":
			res, err = e.runTask(ctx, st, env, prev)
		case "Parallel":
			res, err = e.runParallel(ctx, st, env, prev)
		case "Map":
			res, err = e.runMap(ctx, st, env, prev)
		}
		if err == nil {
			return res, nil
		}
		var se *stateError
		if !errors.As(err, &se) {
			return nil, err
		}
		ri := -1
		for i, r := range st.retry {
			if errorMatches(r.errorEquals, se) {
				ri = i
				break
			}
		}
		if ri < 0 || attempts[ri] >= st.retry[ri].maxAttempts {
			return nil, err
		}
		r := st.retry[ri]
		delay := r.interval * math.Pow(r.backoffRate, float64(attempts[ri]))
		if r.maxDelay > 0 && delay > r.maxDelay {
			delay = r.maxDelay
		}
		if r.jitterFull {
			delay *= e.rand()
		}
		attempts[ri]++
		total++
		if err := e.clock.Sleep(ctx, time.Duration(delay*float64(time.Second))); err != nil {
			return nil, err
		}
	}
}

func (e *execution) runParallel(ctx context.Context, st *state, env *evalEnv, prev *int64) (any, error) {
	in := env.input
	if st.parameters != nil {
		v, err := st.parameters.eval(env, "Parameters")
		if err != nil {
			return nil, err
		}
		in = v
	}
	e.emit(prev, HistoryEvent{Type: "ParallelStateStarted"})
	results := make([]any, len(st.branches))
	err := e.fanOut(ctx, len(st.branches), 0, func(ctx context.Context, i int) error {
		bprev := *prev
		out, err := e.runMachine(ctx, st.branches[i], in, &bprev, nil)
		results[i] = out
		return err
	})
	if err != nil {
		if _, ok := err.(*stateError); ok {
			e.emit(prev, HistoryEvent{Type: "ParallelStateFailed"})
		}
		return nil, err
	}
	e.emit(prev, HistoryEvent{Type: "ParallelStateSucceeded"})
	return results, nil
}

func (e *execution) runMap(ctx context.Context, st *state, env *evalEnv, prev *int64) (any, error) {
	in := env.input
	itemsV, err := applyPath(in, st.itemsPath, "ItemsPath")
	if err != nil {
		return nil, err
	}
	items, ok := itemsV.([]any)
	if !ok {
		return nil, runtimeError("Map state %q: ItemsPath must select a JSON array, not %s", st.name, typeName(itemsV))
	}
	conc := st.maxConcurrency
	if st.maxConcPath != nil {
		v, err := env.path(st.maxConcPath)
		n, ok := toInt(v)
		if err != nil || !ok || n < 0 {
			return nil, runtimeError("MaxConcurrencyPath %s does not reference a non-negative integer", st.maxConcPath.raw)
		}
		conc = int(n)
	}
	inputs := make([]any, len(items))
	for i, item := range items {
		inputs[i] = item
		if st.itemSelector != nil {
			c := make(map[string]any, len(env.ctx.(map[string]any))+1)
			for k, v := range env.ctx.(map[string]any) {
				c[k] = v
			}
			c["Map"] = map[string]any{"Item": map[string]any{"Index": intNumber(int64(i)), "Value": item}}
			v, err := st.itemSelector.eval(&evalEnv{input: in, ctx: c, rand: e.rand}, "ItemSelector")
			if err != nil {
				return nil, err
			}
			inputs[i] = v
		}
	}
	e.emit(prev, HistoryEvent{Type: "MapStateStarted", MapStateStartedEventDetails: &MapStateStartedEventDetails{Length: len(items)}})
	results := make([]any, len(items))
	err = e.fanOut(ctx, len(items), conc, func(ctx context.Context, i int) error {
		iprev := *prev
		d := &MapIterationEventDetails{Name: st.name, Index: i}
		e.emit(&iprev, HistoryEvent{Type: "MapIterationStarted", MapIterationStartedEventDetails: d})
		out, err := e.runMachine(ctx, st.branches[0], inputs[i], &iprev, nil)
		switch {
		case err == nil:
			e.emit(&iprev, HistoryEvent{Type: "MapIterationSucceeded", MapIterationSucceededEventDetails: d})
		case isStateError(err):
			e.emit(&iprev, HistoryEvent{Type: "MapIterationFailed", MapIterationFailedEventDetails: d})
		default:
			e.emit(&iprev, HistoryEvent{Type: "MapIterationAborted", MapIterationAbortedEventDetails: d})
		}
		results[i] = out
		return err
	})
	if err != nil {
		if isStateError(err) {
			e.emit(prev, HistoryEvent{Type: "MapStateFailed"})
		}
		return nil, err
	}
	e.emit(prev, HistoryEvent{Type: "MapStateSucceeded"})
	return results, nil
}

func isStateError(err error) bool {
	var se *stateError
	return errors.As(err, &se)
}

// fanOut runs n jobs with at most limit at once (0: all), cancelling the others at the
// first failure; it returns the first state error (or the parent's ctx error).
func (e *execution) fanOut(ctx context.Context, n, limit int, job func(context.Context, int) error) error {
	if n == 0 {
		return nil
	}
	cctx, cancel := context.WithCancel(ctx)
	defer cancel()
	if limit <= 0 || limit > n {
		limit = n
	}
	sem := make(chan struct{}, limit)
	var (
		wg       sync.WaitGroup
		once     sync.Once
		firstErr error
	)
	for i := 0; i < n; i++ {
		select {
		case sem <- struct{}{}:
		case <-cctx.Done():
		}
		if cctx.Err() != nil {
			break
		}
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			defer func() { <-sem }()
			if err := job(cctx, i); err != nil && (isStateError(err) || ctx.Err() != nil) {
				once.Do(func() { firstErr = err; cancel() })
			}
		}(i)
	}
	wg.Wait()
	if err := ctx.Err(); err != nil {
		return err
	}
	return firstErr
}
