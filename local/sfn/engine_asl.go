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

func (a *aslEngine) run(ctx context.Context, spec runSpec, emit func([]byte)) (string, error) {
	sm, err := a.parse(spec.Definition)
	if err != nil {
		return "", &Failure{Name: asl.ErrRuntime, Cause: err.Error()}
	}
	opts := asl.Options{
		Context: asl.ExecutionContext{
			Execution: asl.ExecutionInfo{
				Id: spec.Execution.ARN, Name: spec.Execution.Name, StartTime: spec.Execution.StartDate,
				RoleArn: spec.RoleARN, RedriveCount: spec.Execution.RedriveCount,
			},
			StateMachine: asl.StateMachineInfo{Id: spec.Execution.StateMachineARN, Name: spec.StateMachine},
		},
		Region: Region,
		OnEvent: func(ev asl.HistoryEvent) {
			b, err := json.Marshal(ev)
			if err != nil {
				return // a HistoryEvent always marshals; nothing sensible to record otherwise
			}
			emit(b)
		},
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
	var ee *asl.ExecutionError
	switch {
	case err == nil:
		return string(out), nil
	case errors.As(err, &ee):
		return "", &Failure{Name: ee.Name, Cause: ee.Cause}
	case ctx.Err() != nil:
		return "", err
	case errors.Is(err, context.DeadlineExceeded):
		// The state machine's own TimeoutSeconds (the engine emitted ExecutionTimedOut).
		return "", &Failure{Name: asl.ErrTimeout, Cause: "The execution timed out"}
	}
	return "", &Failure{Name: asl.ErrRuntime, Cause: fmt.Sprint(err)}
}
