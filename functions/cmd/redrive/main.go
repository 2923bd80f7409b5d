// Command redrive is the redrive Lambda: it starts failed work again, one bounded
// round per call. The Redrive state machine (statemachine/redrive.asl.json) calls it
// in rounds as a job a caller can follow; `aws lambda invoke` runs one round, and the
// list and discard actions serve the web app's Failures page. Package redrive holds
// the rules; this is the contract.
//
// Environment: FAILURE_QUEUE_URL and PIPELINE_STATE_MACHINE_ARN (required),
// REMOVE_STATE_MACHINE_ARN, REDRIVE_MODE (queue or executions, default queue).
//
// Input (every field optional; others, such as a scheduled event's, are ignored):
//
//	{"action": "redrive"|"list",       // default redrive
//	 "mode": "queue"|"executions",   // default REDRIVE_MODE
//	 "messageIds": ["..."],           // queue: redrive only these, even permanent or parked ones
//	 "discard": ["..."],              // queue: delete these, start nothing
//	 "includePermanent": false,       // also redrive permanent failures (the ceiling holds)
//	 "sentBefore": 1717243200000,     // continue a run: its output's sentBefore (ms since epoch)
//	 "maxSeconds": 5,                 // time budget (default 5; never past the Lambda's deadline less 10 s)
//	 "maxMessages": 1000,             // messages received (queue) or executions looked at; list: how many (default 100, at most 1000)
//	 "maxOutcomes": 100}              // keep at most this many outcomes in "messages" (default all)
//
// With messageIds or discard, no other message is touched. Output (redrive.Report and
// the mode):
//
//	{"mode": "queue", "started": 0, "existing": 0, "failed": 0, "discarded": 0,
//	 "permanent": 5, "parked": 0, "newer": 0, "hidden": 0, "notFound": ["..."], "complete": true,
//	 "sentBefore": 1717243200000, "elapsedMs": 1012, "outcomesOmitted": 0,
//	 "messages": [{"messageId", "action", "error", "key", "redriveCount", "executionArn", "reason"}]}
//
// action is started, existing, discarded (the message is gone), or permanent, parked,
// failed (it stays, visible). Permanent: the failure's error is in
// redrive.PermanentErrorNames (the message's "permanent" flag). Parked: its redrive
// count, carried in the failed execution's name, reached redrive.DefaultCeiling (5).
// newer counts messages sent after sentBefore or by the run's own executions (left
// for later); hidden, notFound and outcomesOmitted are omitted when zero or empty.
//
// A call answers within its budget plus about a second (the last, empty receive
// waits 1 s). "complete": false means a bound stopped it; calling again with the
// same sentBefore continues. An unknown action or mode, or ids with mode executions,
// is an *InputError; a queue that cannot be read is an error too (both function
// errors).
//
// {"action": "list", "maxMessages": 100} reads the queue without consuming it
// (redrive.List says what SQS guarantees there) and answers
//
//	{"messages": [{"messageId", "sentTimestamp", "receiveCount", "body"}], "approximateCount": 7}
//
// body is the failure message's JSON ({error, cause, state, input, executionArn,
// permanent}); approximateCount counts the whole queue, messages in flight included.
package main

import (
	"context"
	"fmt"
	"log/slog"
	"time"

	"github.com/aws/aws-lambda-go/lambda"
	"github.com/aws/aws-sdk-go-v2/service/sfn"
	"github.com/aws/aws-sdk-go-v2/service/sqs"

	"github.com/imagepipe/imagepipe/functions/lambdaenv"
	"github.com/imagepipe/imagepipe/functions/redrive"
)

// Redrive modes and actions.
const (
	ModeQueue      = "queue"
	ModeExecutions = "executions"

	ActionRedrive = "redrive"
	ActionList    = "list"
)

// Input is the invocation payload.
type Input struct {
	Action           string   `json:"action,omitempty"`
	Mode             string   `json:"mode,omitempty"`
	MessageIDs       []string `json:"messageIds,omitempty"`
	Discard          []string `json:"discard,omitempty"`
	IncludePermanent bool     `json:"includePermanent,omitempty"`
	SentBefore       int64    `json:"sentBefore,omitempty"`
	MaxSeconds       float64  `json:"maxSeconds,omitempty"`
	MaxMessages      int      `json:"maxMessages,omitempty"`
	MaxOutcomes      int      `json:"maxOutcomes,omitempty"`
}

// Output is the run's report with the mode that ran.
type Output struct {
	Mode string `json:"mode"`
	redrive.Report
}

// InputError is an invocation this function cannot run.
type InputError struct{ Reason string }

func (e *InputError) Error() string { return "redrive input: " + e.Reason }

// margin is kept before the Lambda's deadline so that a run reports, and makes the
// messages it left visible again, instead of being cut off.
const margin = 10 * time.Second

type handler struct {
	r           *redrive.Redriver
	defaultMode string
}

// handle answers an Output, or a redrive.Listing for the list action.
func (h handler) handle(ctx context.Context, in Input) (any, error) {
	switch in.Action {
	case "", ActionRedrive:
		return h.redrive(ctx, in)
	case ActionList:
		if in.Mode != "" || len(in.MessageIDs)+len(in.Discard) > 0 || in.IncludePermanent || in.SentBefore != 0 {
			return nil, &InputError{"list takes only maxMessages"}
		}
		if in.MaxMessages < 0 || in.MaxMessages > redrive.MaxListMessages {
			return nil, &InputError{fmt.Sprintf("list: maxMessages %d: must be 1 to %d", in.MaxMessages, redrive.MaxListMessages)}
		}
		return h.r.List(ctx, in.MaxMessages)
	}
	return nil, &InputError{fmt.Sprintf("action %q: must be %q or %q", in.Action, ActionRedrive, ActionList)}
}

func (h handler) redrive(ctx context.Context, in Input) (Output, error) {
	opt, mode, err := h.options(ctx, in)
	if err != nil {
		return Output{}, err
	}
	var rep redrive.Report
	if mode == ModeQueue {
		rep, err = h.r.FromQueue(ctx, opt)
	} else {
		rep, err = h.r.FailedExecutions(ctx, opt)
	}
	if err != nil {
		return Output{}, err
	}
	rep.Truncate(in.MaxOutcomes)
	return Output{Mode: mode, Report: rep}, nil
}

// options checks the input and sets the budget: the one asked for, within the
// Lambda's deadline.
func (h handler) options(ctx context.Context, in Input) (redrive.Options, string, error) {
	mode := in.Mode
	if mode == "" {
		mode = h.defaultMode
	}
	switch {
	case mode != ModeQueue && mode != ModeExecutions:
		return redrive.Options{}, "", &InputError{fmt.Sprintf("mode %q: must be %q or %q", mode, ModeQueue, ModeExecutions)}
	case mode == ModeExecutions && len(in.MessageIDs)+len(in.Discard) > 0:
		return redrive.Options{}, "", &InputError{"messageIds and discard name queue messages: use mode " + ModeQueue}
	case in.MaxSeconds < 0 || in.MaxMessages < 0 || in.SentBefore < 0 || in.MaxOutcomes < 0:
		return redrive.Options{}, "", &InputError{"maxSeconds, maxMessages, maxOutcomes and sentBefore must not be negative"}
	}
	opt := redrive.Options{
		MessageIDs: in.MessageIDs, Discard: in.Discard, IncludePermanent: in.IncludePermanent,
		MaxDuration: time.Duration(in.MaxSeconds * float64(time.Second)), MaxMessages: in.MaxMessages,
	}
	if in.SentBefore > 0 {
		opt.SentBefore = time.UnixMilli(in.SentBefore)
	}
	if opt.MaxDuration == 0 {
		opt.MaxDuration = redrive.DefaultMaxDuration
	}
	if dl, ok := ctx.Deadline(); ok {
		left := time.Until(dl) - margin
		if left <= 0 {
			left = -1 // no time: the run reports at once, incomplete
		}
		opt.MaxDuration = min(opt.MaxDuration, left)
	}
	return opt, mode, nil
}

func main() {
	lambdaenv.Setup()
	mode := lambdaenv.String("REDRIVE_MODE", ModeQueue)
	if mode != ModeQueue && mode != ModeExecutions {
		lambdaenv.Fail("REDRIVE_MODE must be queue or executions", "value", mode)
	}
	cfg := lambdaenv.AWSConfig(context.Background()) // honours AWS_ENDPOINT_URL
	lambda.Start(handler{
		r: &redrive.Redriver{
			SQS:         sqs.NewFromConfig(cfg),
			SFN:         sfn.NewFromConfig(cfg),
			QueueURL:    lambdaenv.Required("FAILURE_QUEUE_URL"),
			PipelineArn: lambdaenv.Required("PIPELINE_STATE_MACHINE_ARN"),
			RemoveArn:   lambdaenv.String("REMOVE_STATE_MACHINE_ARN", ""),
			Logger:      slog.Default(),
		},
		defaultMode: mode,
	}.handle)
}
