// Package asl runs Amazon States Language state machines (JSONPath and JSONata) in process: the
// local twin's Step Functions engine. Parse validates a definition once; Run executes
// it as a flat loop driven by a context, a transition cap and an injectable clock,
// emitting the same history events GetExecutionHistory returns.
package asl

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"github.com/aws/aws-lambda-go/lambda"
)

// ValidationError lists every problem Parse found in a definition.
type ValidationError struct {
	Problems []string
}

func (e *ValidationError) Error() string {
	return "invalid state machine definition: " + strings.Join(e.Problems, "; ")
}

// ExecutionError is a failed or timed-out execution: Name and Cause are what Step
// Functions shows as the execution's error and cause. (The field is Name, not Error,
// because a Go type cannot have a field and a method with the same name.)
type ExecutionError struct {
	Name  string
	Cause string
	// TimedOut: the definition's TimeoutSeconds passed (status TIMED_OUT, event
	// ExecutionTimedOut) rather than a failure (FAILED, ExecutionFailed).
	TimedOut bool
	// Checkpoint is where the run stopped, for a redrive (nil: no state was entered).
	Checkpoint *Checkpoint
}

func (e *ExecutionError) Error() string {
	if e.Cause == "" {
		return e.Name
	}
	return e.Name + ": " + e.Cause
}

// TaskError is an error an Invoker or MessageSender returns to fail a Task with an
// exact error name (for example Lambda.TooManyRequestsException or
// Lambda.ResourceNotFoundException); any other error is reported as AWS reports a
// handler error (Error = its Go type name, Cause = {"errorMessage","errorType"}).
type TaskError struct {
	Name  string
	Cause string
}

func (e *TaskError) Error() string { return e.Name + ": " + e.Cause }

// Invoker resolves Task resources to in-process Lambda handlers.
type Invoker interface {
	// Invoke runs the function and returns its JSON response, or the handler's error
	// as-is (the engine turns it into Error/Cause as AWS does).
	Invoke(ctx context.Context, functionARN string, payload []byte) ([]byte, error)
}

// Functions is an Invoker keyed by function ARN; a key also matches by bare function
// name (and an ARN with a qualifier). Build values with lambda.NewHandler(h) so the
// JSON path is the one AWS runs.
type Functions map[string]lambda.Handler

// Invoke implements Invoker.
func (f Functions) Invoke(ctx context.Context, functionARN string, payload []byte) ([]byte, error) {
	h := f.lookup(functionARN)
	if h == nil {
		return nil, &TaskError{
			Name:  "Lambda.ResourceNotFoundException",
			Cause: fmt.Sprintf("Function not found: %s (Service: AWSLambda; Status Code: 404; Error Code: ResourceNotFoundException)", functionARN),
		}
	}
	return h.Invoke(ctx, payload)
}

// MessageSender sends to a queue; it backs arn:aws:states:::sqs:sendMessage.
type MessageSender interface {
	SendMessage(ctx context.Context, queueURL, body string) (messageID string, err error)
}

// Clock is the engine's time source: Wait states, retry intervals and timestamps go
// through it, so tests can advance time instantly.
type Clock interface {
	Now() time.Time
	Sleep(ctx context.Context, d time.Duration) error
}

// RealClock is the wall clock.
type RealClock struct{}

// Now implements Clock.
func (RealClock) Now() time.Time { return time.Now() }

// Sleep implements Clock; it returns ctx.Err() when ctx ends first.
func (RealClock) Sleep(ctx context.Context, d time.Duration) error {
	if d <= 0 {
		return ctx.Err()
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// ExecutionContext is what the caller knows about the execution; the engine adds
// State, Task and Map to form the context object ($$).
type ExecutionContext struct {
	Execution    ExecutionInfo
	StateMachine StateMachineInfo
}

// ExecutionInfo is $$.Execution. A nil Input means the execution's input; a zero
// StartTime means the clock's time when Run starts; a zero RedriveTime leaves it out
// (an execution never redriven).
type ExecutionInfo struct {
	Id           string
	Name         string
	StartTime    time.Time
	RoleArn      string
	Input        json.RawMessage
	RedriveCount int
	RedriveTime  time.Time
}

// StateMachineInfo is $$.StateMachine.
type StateMachineInfo struct {
	Id   string
	Name string
}

// Options configure one Run.
type Options struct {
	Invoker Invoker       // Lambda resources; nil: every Lambda Task fails with Lambda.ResourceNotFoundException
	Queue   MessageSender // sqs:sendMessage; nil: such Tasks fail with States.Runtime
	Clock   Clock         // nil: RealClock{}
	Context ExecutionContext
	// OnEvent receives every history event, in order, as it happens (calls are
	// serialised; the caller persists them).
	OnEvent func(HistoryEvent)
	// MaxTransitions caps state transitions (0: DefaultMaxTransitions); exceeding it
	// fails the execution with States.Runtime.
	MaxTransitions int
	// Rand is the jitter source in [0,1) (nil: math/rand/v2).
	Rand func() float64
	// Region appears in TaskScheduled events (empty: us-east-1).
	Region string
	// TaskTokens receives the tokens of callback tasks (.waitForTaskToken) for the
	// caller's SendTaskSuccess/Failure/Heartbeat; nil: a private set (such tasks can
	// only time out).
	TaskTokens *TaskTokens
	// FirstEventID numbers the run's first event (ExecutionStarted or
	// ExecutionRedriven); 0 means 1. A service that continues a history (a redrive)
	// passes the id it stored that event under, so the engine's ids are the stored ones.
	FirstEventID int64
	// Mock answers Task states in place of their resources (nil: none mocked).
	Mock TaskMock
	// Redrive resumes a previous run where it stopped (RedriveExecution): the run
	// begins with an ExecutionRedriven event instead of ExecutionStarted, and
	// Context.Execution should carry the new RedriveCount and RedriveTime.
	Redrive *Checkpoint
	// MaxDuration bounds the execution as TimeoutSeconds does, when it is shorter
	// or there is none (0: no bound): the service's own limit, such as Express
	// workflows' five minutes.
	MaxDuration time.Duration
}

// DefaultMaxTransitions is the transition cap when Options.MaxTransitions is 0.
const DefaultMaxTransitions = 25000

// HistoryEvent is one execution history event; it marshals to exactly the JSON shape
// of one element of GetExecutionHistory's "events".
type HistoryEvent struct {
	Timestamp       time.Time `json:"-"` // marshalled as epoch seconds with a fraction
	Type            string    `json:"type"`
	ID              int64     `json:"id"`
	PreviousEventID int64     `json:"previousEventId"`

	ExecutionStartedEventDetails        *ExecutionStartedEventDetails   `json:"executionStartedEventDetails,omitempty"`
	ExecutionSucceededEventDetails      *ExecutionSucceededEventDetails `json:"executionSucceededEventDetails,omitempty"`
	ExecutionFailedEventDetails         *ErrorCauseDetails              `json:"executionFailedEventDetails,omitempty"`
	ExecutionAbortedEventDetails        *ErrorCauseDetails              `json:"executionAbortedEventDetails,omitempty"`
	ExecutionTimedOutEventDetails       *ErrorCauseDetails              `json:"executionTimedOutEventDetails,omitempty"`
	ExecutionRedrivenEventDetails       *ExecutionRedrivenEventDetails  `json:"executionRedrivenEventDetails,omitempty"`
	EvaluationFailedEventDetails        *EvaluationFailedEventDetails   `json:"evaluationFailedEventDetails,omitempty"`
	StateEnteredEventDetails            *StateEnteredEventDetails       `json:"stateEnteredEventDetails,omitempty"`
	StateExitedEventDetails             *StateExitedEventDetails        `json:"stateExitedEventDetails,omitempty"`
	TaskScheduledEventDetails           *TaskScheduledEventDetails      `json:"taskScheduledEventDetails,omitempty"`
	TaskStartedEventDetails             *TaskResourceDetails            `json:"taskStartedEventDetails,omitempty"`
	TaskSucceededEventDetails           *TaskSucceededEventDetails      `json:"taskSucceededEventDetails,omitempty"`
	TaskSubmittedEventDetails           *TaskSucceededEventDetails      `json:"taskSubmittedEventDetails,omitempty"`
	TaskFailedEventDetails              *TaskErrorDetails               `json:"taskFailedEventDetails,omitempty"`
	TaskTimedOutEventDetails            *TaskErrorDetails               `json:"taskTimedOutEventDetails,omitempty"`
	LambdaFunctionScheduledEventDetails *LambdaScheduledDetails         `json:"lambdaFunctionScheduledEventDetails,omitempty"`
	LambdaFunctionSucceededEventDetails *LambdaSucceededDetails         `json:"lambdaFunctionSucceededEventDetails,omitempty"`
	LambdaFunctionFailedEventDetails    *ErrorCauseDetails              `json:"lambdaFunctionFailedEventDetails,omitempty"`
	LambdaFunctionTimedOutEventDetails  *ErrorCauseDetails              `json:"lambdaFunctionTimedOutEventDetails,omitempty"`
	MapStateStartedEventDetails         *MapStateStartedEventDetails    `json:"mapStateStartedEventDetails,omitempty"`
	MapIterationStartedEventDetails     *MapIterationEventDetails       `json:"mapIterationStartedEventDetails,omitempty"`
	MapIterationSucceededEventDetails   *MapIterationEventDetails       `json:"mapIterationSucceededEventDetails,omitempty"`
	MapIterationFailedEventDetails      *MapIterationEventDetails       `json:"mapIterationFailedEventDetails,omitempty"`
	MapIterationAbortedEventDetails     *MapIterationEventDetails       `json:"mapIterationAbortedEventDetails,omitempty"`
}

// DataDetails is HistoryEventExecutionDataDetails.
type DataDetails struct {
	Truncated bool `json:"truncated"`
}

// ExecutionStartedEventDetails is executionStartedEventDetails.
type ExecutionStartedEventDetails struct {
	Input        string      `json:"input"`
	InputDetails DataDetails `json:"inputDetails"`
	RoleArn      string      `json:"roleArn,omitempty"`
}

// ExecutionSucceededEventDetails is executionSucceededEventDetails.
type ExecutionSucceededEventDetails struct {
	Output        string      `json:"output"`
	OutputDetails DataDetails `json:"outputDetails"`
}

// ExecutionRedrivenEventDetails is executionRedrivenEventDetails.
type ExecutionRedrivenEventDetails struct {
	RedriveCount int `json:"redriveCount"`
}

// ErrorCauseDetails is the {error, cause} details of failed, aborted and timed-out
// events.
type ErrorCauseDetails struct {
	Error string `json:"error,omitempty"`
	Cause string `json:"cause,omitempty"`
}

// StateEnteredEventDetails is stateEnteredEventDetails.
type StateEnteredEventDetails struct {
	Name         string      `json:"name"`
	Input        string      `json:"input"`
	InputDetails DataDetails `json:"inputDetails"`
}

// StateExitedEventDetails is stateExitedEventDetails.
type StateExitedEventDetails struct {
	Name          string      `json:"name"`
	Output        string      `json:"output"`
	OutputDetails DataDetails `json:"outputDetails"`
	// AssignedVariables are the variables the state assigned, each as JSON text.
	AssignedVariables        map[string]string `json:"assignedVariables,omitempty"`
	AssignedVariablesDetails *DataDetails      `json:"assignedVariablesDetails,omitempty"`
}

// EvaluationFailedEventDetails is evaluationFailedEventDetails: a JSONata
// expression that failed, where.
type EvaluationFailedEventDetails struct {
	Error    string `json:"error"`
	Cause    string `json:"cause"`
	Location string `json:"location"`
	State    string `json:"state"`
}

// TaskScheduledEventDetails is taskScheduledEventDetails.
type TaskScheduledEventDetails struct {
	ResourceType       string `json:"resourceType"`
	Resource           string `json:"resource"`
	Region             string `json:"region"`
	Parameters         string `json:"parameters"`
	TimeoutInSeconds   *int64 `json:"timeoutInSeconds,omitempty"`
	HeartbeatInSeconds *int64 `json:"heartbeatInSeconds,omitempty"`
}

// TaskResourceDetails is taskStartedEventDetails.
type TaskResourceDetails struct {
	ResourceType string `json:"resourceType"`
	Resource     string `json:"resource"`
}

// TaskSucceededEventDetails is taskSucceededEventDetails.
type TaskSucceededEventDetails struct {
	ResourceType  string      `json:"resourceType"`
	Resource      string      `json:"resource"`
	Output        string      `json:"output"`
	OutputDetails DataDetails `json:"outputDetails"`
}

// TaskErrorDetails is taskFailedEventDetails and taskTimedOutEventDetails.
type TaskErrorDetails struct {
	ResourceType string `json:"resourceType"`
	Resource     string `json:"resource"`
	Error        string `json:"error,omitempty"`
	Cause        string `json:"cause,omitempty"`
}

// LambdaScheduledDetails is lambdaFunctionScheduledEventDetails.
type LambdaScheduledDetails struct {
	Resource         string      `json:"resource"`
	Input            string      `json:"input"`
	InputDetails     DataDetails `json:"inputDetails"`
	TimeoutInSeconds *int64      `json:"timeoutInSeconds,omitempty"`
}

// LambdaSucceededDetails is lambdaFunctionSucceededEventDetails.
type LambdaSucceededDetails struct {
	Output        string      `json:"output"`
	OutputDetails DataDetails `json:"outputDetails"`
}

// MapStateStartedEventDetails is mapStateStartedEventDetails.
type MapStateStartedEventDetails struct {
	Length int `json:"length"`
}

// MapIterationEventDetails is mapIteration{Started,Succeeded,Failed,Aborted}EventDetails.
type MapIterationEventDetails struct {
	Name  string `json:"name"`
	Index int    `json:"index"`
}

// Event types the engine emits (HistoryEvent.Type).
const (
	EventExecutionStarted   = "ExecutionStarted"
	EventExecutionSucceeded = "ExecutionSucceeded"
	EventExecutionFailed    = "ExecutionFailed"
	EventExecutionAborted   = "ExecutionAborted"
	EventExecutionTimedOut  = "ExecutionTimedOut"
	EventExecutionRedriven  = "ExecutionRedriven"
)

// Predefined error names.
const (
	ErrAll                             = "States.ALL"
	ErrRuntime                         = "States.Runtime"
	ErrTimeout                         = "States.Timeout"
	ErrTaskFailed                      = "States.TaskFailed"
	ErrDataLimitExceeded               = "States.DataLimitExceeded"
	ErrPermissions                     = "States.Permissions"
	ErrResultPathMatchFailure          = "States.ResultPathMatchFailure"
	ErrParameterPathFailure            = "States.ParameterPathFailure"
	ErrBranchFailed                    = "States.BranchFailed"
	ErrNoChoiceMatched                 = "States.NoChoiceMatched"
	ErrIntrinsicFailure                = "States.IntrinsicFailure"
	ErrExceedToleratedFailureThreshold = "States.ExceedToleratedFailureThreshold"
	ErrHeartbeatTimeout                = "States.HeartbeatTimeout"
	ErrQueryEvaluation                 = "States.QueryEvaluationError"
)

// MarshalJSON writes the GetExecutionHistory shape: "timestamp" is epoch seconds with
// a fraction (a JSON number), as the AWS JSON 1.0 protocol encodes timestamps.
func (e HistoryEvent) MarshalJSON() ([]byte, error) {
	type plain HistoryEvent
	return json.Marshal(struct {
		Timestamp json.Number `json:"timestamp"`
		plain
	}{epochSeconds(e.Timestamp), plain(e)})
}

// UnmarshalJSON reads what MarshalJSON writes, so callers can persist events.
func (e *HistoryEvent) UnmarshalJSON(b []byte) error {
	type plain HistoryEvent
	var v struct {
		Timestamp json.Number `json:"timestamp"`
		*plain
	}
	v.plain = (*plain)(e)
	if err := json.Unmarshal(b, &v); err != nil {
		return err
	}
	if v.Timestamp != "" {
		f, err := v.Timestamp.Float64()
		if err != nil {
			return fmt.Errorf("history event timestamp: %w", err)
		}
		sec := int64(f)
		e.Timestamp = time.Unix(sec, int64((f-float64(sec))*1e9+0.5)/1e6*1e6).UTC()
	}
	return nil
}

func epochSeconds(t time.Time) json.Number {
	ms := t.UnixMilli()
	sign := ""
	if ms < 0 {
		sign, ms = "-", -ms
	}
	return json.Number(fmt.Sprintf("%s%d.%03d", sign, ms/1000, ms%1000))
}

// lookup finds a handler by exact ARN, then by function name (ignoring a qualifier).
func (f Functions) lookup(arn string) lambda.Handler {
	if h, ok := f[arn]; ok {
		return h
	}
	name := functionName(arn)
	for k, h := range f {
		if functionName(k) == name {
			return h
		}
	}
	return nil
}

// functionName reduces "arn:aws:lambda:r:a:function:NAME[:qualifier]", "a:NAME" or
// "NAME" to NAME.
func functionName(s string) string {
	parts := strings.Split(s, ":")
	for i, p := range parts {
		if p == "function" && i+1 < len(parts) {
			return parts[i+1]
		}
	}
	if len(parts) >= 2 && len(parts) <= 3 && !strings.HasPrefix(s, "arn:") {
		// "ACCOUNT:NAME" partial ARN or "NAME:QUALIFIER"
		if isDigits(parts[0]) {
			return parts[1]
		}
		return parts[0]
	}
	return s
}

func isDigits(s string) bool {
	if s == "" {
		return false
	}
	for _, r := range s {
		if r < '0' || r > '9' {
			return false
		}
	}
	return true
}

// Diagnostic is one problem of a definition as ValidateStateMachineDefinition reports
// it: AWS's code (SCHEMA_VALIDATION_FAILED, MISSING_TRANSITION_TARGET,
// INVALID_JSON_DESCRIPTION), a message and a JSON-pointer location.
type Diagnostic struct {
	Code     string
	Message  string
	Location string
}

// Diagnostics lists the problems with AWS's diagnostic codes and locations.
func (e *ValidationError) Diagnostics() []Diagnostic {
	out := make([]Diagnostic, 0, len(e.Problems))
	for _, p := range e.Problems {
		d := Diagnostic{Code: "SCHEMA_VALIDATION_FAILED", Message: p}
		if loc, msg, ok := strings.Cut(p, ": "); ok && strings.HasPrefix(loc, "/") {
			d.Location, d.Message = loc, msg
		} else if strings.HasPrefix(p, "not a JSON object") {
			d.Code = "INVALID_JSON_DESCRIPTION"
		} else if loc, msg, ok := strings.Cut(p, ": "); ok && loc == "" {
			d.Location, d.Message = "/", msg
		}
		if strings.HasSuffix(d.Message, "does not exist") && strings.Contains(d.Location, "Next") || strings.HasSuffix(d.Location, "/Default") {
			d.Code = "MISSING_TRANSITION_TARGET"
		}
		out = append(out, d)
	}
	return out
}
