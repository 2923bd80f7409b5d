package asl

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"
)

// TestState runs one state on its own, as the TestState API does
// (https://docs.aws.amazon.com/step-functions/latest/apireference/API_TestState.html):
// no execution, no history. A Task calls its resource (Options.Invoker, Queue) unless
// Options.Mock answers it; a Wait does not wait; retriers are reported, not run.

// TestStateResult is TestState's answer. Status is SUCCEEDED, FAILED, RETRIABLE (a
// retrier matches the error) or CAUGHT_ERROR (a catcher does; NextState is its Next).
type TestStateResult struct {
	Output     json.RawMessage
	Error      string
	Cause      string
	NextState  string
	Status     string
	Inspection Inspection // the data after each step (inspection level DEBUG and TRACE)
}

// Inspection is TestState's inspectionData: the state's data after each step.
type Inspection struct {
	Input               json.RawMessage `json:"input,omitempty"`
	AfterInputPath      json.RawMessage `json:"afterInputPath,omitempty"`
	AfterParameters     json.RawMessage `json:"afterParameters,omitempty"`
	Result              json.RawMessage `json:"result,omitempty"`
	AfterResultSelector json.RawMessage `json:"afterResultSelector,omitempty"`
	AfterResultPath     json.RawMessage `json:"afterResultPath,omitempty"`
}

// TestStateName is the name a tested state runs under when the caller gives none.
const TestStateName = "TestState"

// TestState parses one state's definition and runs it on input.
func TestState(ctx context.Context, definition, input []byte, name string, opts Options) (*TestStateResult, error) {
	if name == "" {
		name = TestStateName
	}
	var problems []string
	st := parseState(name, definition, "", false, &problems)
	if st != nil {
		switch st.typ {
		case "Parallel", "Map":
			problems = append(problems, fmt.Sprintf("/Type: %s states are not supported by the twin's TestState", st.typ))
		}
	}
	if len(problems) > 0 {
		return nil, &ValidationError{Problems: problems}
	}
	in, err := decodeJSON(input)
	if err != nil {
		return nil, &ValidationError{Problems: []string{"/input: not JSON: " + err.Error()}}
	}
	e := newExecution(opts)
	e.contextObject(in)
	r := &TestStateResult{Inspection: Inspection{Input: encodeJSON(in)}}
	out, next, err := e.testSteps(ctx, st, in, r)
	if err == nil {
		r.Output, r.NextState, r.Status = encodeJSON(out), next, "SUCCEEDED"
		if st.end || st.typ == "Succeed" || st.typ == "Fail" {
			r.NextState = ""
		}
		return r, nil
	}
	var se *stateError
	if !errors.As(err, &se) {
		return nil, err // the context ended
	}
	r.Error, r.Cause, r.Status = se.name, se.cause, "FAILED"
	if c := st.findCatcher(se); c != nil {
		if nd, perr := applyResultPath(in, c.resultPath, objectOf("Error", se.name, "Cause", se.cause)); perr == nil {
			r.Output, r.NextState, r.Status = encodeJSON(nd), c.next, "CAUGHT_ERROR"
		}
	} else if _, ok := st.retryDelay(se, make([]int, len(st.retry)), func() float64 { return 0 }); ok {
		r.Status = "RETRIABLE"
	}
	return r, nil
}

// testSteps is stateWork step by step, recording each step's data.
func (e *execution) testSteps(ctx context.Context, st *state, raw any, r *TestStateResult) (any, string, error) {
	env := &evalEnv{ctx: e.stateContext(st, e.clock.Now(), 0), rand: e.rand}
	if st.typ == "Fail" {
		return nil, "", e.failState(st, raw, env)
	}
	in, err := applyPath(raw, st.inputPath)
	if err != nil {
		return nil, "", err
	}
	env.input = in
	r.Inspection.AfterInputPath = encodeJSON(in)
	var result any
	next, hasResult := st.next, true
	switch st.typ {
	case "Succeed", "Wait":
		hasResult = false
	case "Choice":
		hasResult = false
		if next, err = st.choose(env); err != nil {
			return nil, "", err
		}
	case "Pass":
		if result, err = e.effectiveInput(st, env); err != nil {
			return nil, "", err
		}
		r.Inspection.AfterParameters = encodeJSON(result)
		if st.hasResult {
			result = st.result
		}
	case "Task":
		if result, err = e.testTask(ctx, st, env, r); err != nil {
			return nil, "", err
		}
	}
	out := in
	if hasResult {
		if out, err = applyResultPath(raw, st.resultPath, result); err != nil {
			return nil, "", err
		}
		r.Inspection.AfterResultPath = encodeJSON(out)
	}
	out, err = applyPath(out, st.outputPath)
	return out, next, err
}

func (e *execution) testTask(ctx context.Context, st *state, env *evalEnv, r *TestStateResult) (any, error) {
	params, err := e.effectiveInput(st, env)
	if err != nil {
		return nil, err
	}
	r.Inspection.AfterParameters = encodeJSON(params)
	var prev int64
	// A callback task's token has no one to answer it here: give it a moment only.
	tctx, cancel := context.WithTimeout(ctx, time.Minute)
	defer cancel()
	result, err := e.runTask(tctx, st, env, &prev)
	if err != nil {
		return nil, err
	}
	r.Inspection.Result = encodeJSON(result)
	if st.selector != nil {
		if result, err = st.selector.eval(&evalEnv{input: result, ctx: env.ctx, rand: e.rand}, "ResultSelector"); err != nil {
			return nil, err
		}
		r.Inspection.AfterResultSelector = encodeJSON(result)
	}
	return result, nil
}
