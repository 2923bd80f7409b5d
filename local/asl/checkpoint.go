package asl

import (
	"encoding/json"
	"errors"
)

// Checkpoint is where a run that did not succeed stopped: the unsuccessful state of
// a scope with the input it was entered with and, for a Parallel or Map state, each
// branch's or iteration's outcome. Options.Redrive resumes there, as RedriveExecution
// does on AWS: "it continues the failed execution from the unsuccessful step",
// keeping the successful steps' results, and in a Parallel or inline Map "redrives
// only the iterations and branches that failed or aborted" (API_RedriveExecution).
// It marshals to JSON so that a service can keep it with the execution.
type Checkpoint struct {
	State     string          `json:"state"`
	Input     json.RawMessage `json:"input"`
	Branches  []BranchPoint   `json:"branches,omitempty"`
	Variables json.RawMessage `json:"variables,omitempty"` // the scope's own (Assign)
}

// BranchPoint is one branch or iteration of a stopped Parallel or Map: its output
// when it succeeded (kept, not run again), or where it stopped (Resume); neither
// when it never started (run from its start).
type BranchPoint struct {
	Output json.RawMessage `json:"output,omitempty"`
	Resume *Checkpoint     `json:"resume,omitempty"`
}

// StoppedError is what Run returns when its context ends first: the execution was
// aborted. It unwraps to the context's error.
type StoppedError struct {
	Err        error
	Checkpoint *Checkpoint
}

func (e *StoppedError) Error() string { return "execution stopped: " + e.Err.Error() }
func (e *StoppedError) Unwrap() error { return e.Err }

// CheckpointOf returns the checkpoint of a failed, timed-out or stopped run's error
// (nil when there is none, as for a run that failed before its first state).
func CheckpointOf(err error) *Checkpoint {
	var ee *ExecutionError
	if errors.As(err, &ee) {
		return ee.Checkpoint
	}
	var se *StoppedError
	if errors.As(err, &se) {
		return se.Checkpoint
	}
	return nil
}

// scopeStop wraps the error a scope stopped with, recording where.
type scopeStop struct {
	err error
	cp  *Checkpoint
}

func (s *scopeStop) Error() string { return s.err.Error() }
func (s *scopeStop) Unwrap() error { return s.err }

// stopAt records that the scope stopped at state name with input data.
func stopAt(err error, name string, data any, branches []BranchPoint, vars *scopeVars) error {
	return &scopeStop{err: err, cp: &Checkpoint{State: name, Input: encodeJSON(data), Branches: branches, Variables: vars.snapshot()}}
}

func checkpointIn(err error) *Checkpoint {
	var s *scopeStop
	if errors.As(err, &s) {
		return s.cp
	}
	return nil
}

// branchPoints turns a fan-out's results into checkpoint branch points.
func branchPoints(results []branchResult) []BranchPoint {
	out := make([]BranchPoint, len(results))
	for i, r := range results {
		switch {
		case r.err == nil:
			out[i].Output = encodeJSON(r.out)
		default:
			out[i].Resume = checkpointIn(r.err) // nil when it never started
		}
	}
	return out
}

// kept is a redriven branch's output from the previous run, when it succeeded there.
func (v *visit) kept(i int) (any, bool) {
	if i >= len(v.resume) || len(v.resume[i].Output) == 0 {
		return nil, false
	}
	out, err := decodeJSON(v.resume[i].Output)
	return out, err == nil
}

// resumeAt is where a redriven branch stopped in the previous run (nil: its start).
func (v *visit) resumeAt(i int) *Checkpoint {
	if i >= len(v.resume) {
		return nil
	}
	return v.resume[i].Resume
}
