package sfn

import (
	"context"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"fmt"
	"sync"

	"github.com/imagepipe/imagepipe/local/asl"
)

// aslEngine runs executions on local/asl, parsing each distinct definition once.
type aslEngine struct {
	mu     sync.Mutex
	parsed map[[32]byte]*asl.StateMachine
}

func newASLEngine() engine { return &aslEngine{parsed: map[[32]byte]*asl.StateMachine{}} }

func (a *aslEngine) parse(definition string) (*asl.StateMachine, error) {
	key := sha256.Sum256([]byte(definition))
	a.mu.Lock()
	defer a.mu.Unlock()
	if sm, ok := a.parsed[key]; ok {
		return sm, nil
	}
	sm, err := asl.Parse([]byte(definition))
	if err != nil {
		return nil, err
	}
	a.parsed[key] = sm
	return sm, nil
}

func (a *aslEngine) validate(definition string) error {
	_, err := a.parse(definition)
	return err
}

func (a *aslEngine) run(ctx context.Context, spec runSpec, emit func(asl.HistoryEvent)) (string, []byte, error) {
	sm, err := a.parse(spec.Definition)
	if err != nil {
		return "", nil, &asl.ExecutionError{Name: asl.ErrRuntime, Cause: err.Error()}
	}
	opts := asl.Options{
		Context: asl.ExecutionContext{
			Execution: asl.ExecutionInfo{
				Id: spec.Execution.ARN, Name: spec.Execution.Name, StartTime: spec.Execution.StartDate,
				RoleArn: spec.RoleARN, RedriveCount: spec.Execution.RedriveCount, RedriveTime: spec.Execution.RedriveDate,
			},
			StateMachine: asl.StateMachineInfo{Id: spec.Execution.StateMachineARN, Name: spec.StateMachine},
		},
		Region:       Region,
		TaskTokens:   spec.Tokens,
		FirstEventID: spec.Execution.RunStart,
		OnEvent:      emit,
	}
	if spec.Execution.Express {
		opts.MaxDuration = ExpressMaxDuration
	}
	if spec.Redrive != nil {
		var cp asl.Checkpoint
		if err := json.Unmarshal(spec.Redrive, &cp); err != nil {
			return "", nil, &asl.ExecutionError{Name: asl.ErrRuntime, Cause: "the execution's redrive checkpoint is unreadable: " + err.Error()}
		}
		opts.Redrive = &cp
	}
	// Only set interfaces that are non-nil, so the engine sees a nil interface (and
	// reports the missing resource as AWS would) rather than a typed nil.
	if spec.Invoker != nil {
		opts.Invoker = spec.Invoker
	}
	if spec.Queue != nil {
		opts.Queue = spec.Queue
	}
	if spec.Clock != nil {
		opts.Clock = spec.Clock
	}
	out, err := sm.Run(ctx, []byte(spec.Input), opts)
	var cp []byte
	if c := asl.CheckpointOf(err); c != nil {
		cp, _ = json.Marshal(c) // a Checkpoint always marshals
	}
	var ee *asl.ExecutionError
	switch {
	case err == nil:
		return string(out), nil, nil
	case errors.As(err, &ee), ctx.Err() != nil:
		return "", cp, err
	}
	return "", cp, &asl.ExecutionError{Name: asl.ErrRuntime, Cause: fmt.Sprint(err)}
}
