// Package redrive starts failed work again: from the failure queue (one new execution
// per message, with the original input) or with Step Functions' own RedriveExecution
// on failed executions.
//
// A run is bounded and cannot feed on itself. It works from a snapshot: only messages
// sent before it began (SentTimestamp), never those its own executions write (they
// are newer, and they name an execution this run started). It stops at a time and a
// message budget and says whether it got through (Report.Complete); a next run with
// the same Options.SentBefore continues. Permanent failures (PermanentErrorNames)
// stay unless asked for; a failure redriven DefaultCeiling times is parked. Every
// start is idempotent: the execution is named after the message, so a repeated run
// meets ExecutionAlreadyExists instead of doubling the work.
package redrive

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"log/slog"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/sfn"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
)

// SQSAPI is the part of the SQS client redrive uses.
type SQSAPI interface {
	ReceiveMessage(ctx context.Context, in *sqs.ReceiveMessageInput, opts ...func(*sqs.Options)) (*sqs.ReceiveMessageOutput, error)
	DeleteMessage(ctx context.Context, in *sqs.DeleteMessageInput, opts ...func(*sqs.Options)) (*sqs.DeleteMessageOutput, error)
	ChangeMessageVisibility(ctx context.Context, in *sqs.ChangeMessageVisibilityInput, opts ...func(*sqs.Options)) (*sqs.ChangeMessageVisibilityOutput, error)
	GetQueueAttributes(ctx context.Context, in *sqs.GetQueueAttributesInput, opts ...func(*sqs.Options)) (*sqs.GetQueueAttributesOutput, error)
}

// SFNAPI is the part of the Step Functions client redrive uses.
type SFNAPI interface {
	StartExecution(ctx context.Context, in *sfn.StartExecutionInput, opts ...func(*sfn.Options)) (*sfn.StartExecutionOutput, error)
	ListExecutions(ctx context.Context, in *sfn.ListExecutionsInput, opts ...func(*sfn.Options)) (*sfn.ListExecutionsOutput, error)
	DescribeExecution(ctx context.Context, in *sfn.DescribeExecutionInput, opts ...func(*sfn.Options)) (*sfn.DescribeExecutionOutput, error)
	RedriveExecution(ctx context.Context, in *sfn.RedriveExecutionInput, opts ...func(*sfn.Options)) (*sfn.RedriveExecutionOutput, error)
}

// Redriver holds the clients and where the work goes.
type Redriver struct {
	SQS      SQSAPI
	SFN      SFNAPI
	QueueURL string
	// PipelineArn runs "Object Created" inputs, RemoveArn "Object Deleted" ones.
	PipelineArn, RemoveArn string
	Logger                 *slog.Logger
	// Progress, when set, is told each outcome as it happens (the CLI prints them).
	Progress func(Outcome)
	// Now is the clock (nil: time.Now); tests drive the time budget with it.
	Now func() time.Time
}

// Defaults for Options' zero values: a budget that answers an API call within
// seconds. The CLI passes larger ones.
const (
	DefaultMaxDuration = 5 * time.Second
	DefaultMaxMessages = 1000
)

// Options bound and direct one run. The zero value redrives the whole queue.
type Options struct {
	// MessageIDs, when set, limits the run to these messages and starts them even
	// when permanent, parked or newer than SentBefore: a person asked for them.
	MessageIDs []string
	// Discard deletes these messages without starting anything. With MessageIDs or
	// Discard set, no other message is touched.
	Discard []string
	// IncludePermanent redrives permanent failures too (the ceiling still holds).
	IncludePermanent bool
	// SentBefore is the snapshot: only messages sent before it are redriven. Zero, or
	// later than the run's start: the start. Pass Report.SentBefore back to continue.
	SentBefore time.Time
	// MaxDuration and MaxMessages bound the run (zero: the defaults above; a
	// negative MaxDuration: no time, the run reports at once). MaxMessages counts
	// messages received (queue) or executions looked at.
	MaxDuration time.Duration
	MaxMessages int
	// Ceiling is the redrive count at which a message is parked (0: DefaultCeiling).
	Ceiling int
}

func (o Options) ceiling() int {
	if o.Ceiling > 0 {
		return o.Ceiling
	}
	return DefaultCeiling
}

func (o Options) maxDuration() time.Duration {
	if o.MaxDuration != 0 {
		return o.MaxDuration
	}
	return DefaultMaxDuration
}

func (o Options) maxMessages() int {
	if o.MaxMessages > 0 {
		return o.MaxMessages
	}
	return DefaultMaxMessages
}

// Action is what a run did with one message or execution.
type Action string

// Actions. Only Started, Existing and Discarded take a message off the queue.
const (
	ActionStarted   Action = "started"   // a new execution runs the input again
	ActionExisting  Action = "existing"  // its execution already existed (an earlier, interrupted run)
	ActionDiscarded Action = "discarded" // deleted on request
	ActionPermanent Action = "permanent" // left: a permanent failure nobody asked for
	ActionParked    Action = "parked"    // left: redriven Ceiling times already
	ActionFailed    Action = "failed"    // left: unreadable, or the start or delete failed
)

// Outcome is one message's (or, for FailedExecutions, one execution's) result.
type Outcome struct {
	MessageID string `json:"messageId,omitempty"`
	Action    Action `json:"action"`
	Error     string `json:"error,omitempty"` // the failure's error name
	Key       string `json:"key,omitempty"`   // the object's key, decoded
	// RedriveCount is the failed execution's count; a started execution has one more.
	RedriveCount int `json:"redriveCount"`
	// ExecutionArn is the execution started (or found) for the message, or the
	// execution redriven.
	ExecutionArn string `json:"executionArn,omitempty"`
	Reason       string `json:"reason,omitempty"` // why it failed
}

// Report is what a run did. Started, Existing and Failed keep their meaning from
// earlier versions; the rest say what was left and why.
type Report struct {
	Started   int `json:"started"`
	Existing  int `json:"existing"`
	Failed    int `json:"failed"`
	Discarded int `json:"discarded"`
	Permanent int `json:"permanent"`
	Parked    int `json:"parked"`
	// Newer counts messages sent after the snapshot (SentBefore) or by this run's own
	// executions: left for a later run.
	Newer int `json:"newer"`
	// Hidden counts messages left that could not be made visible again at the end
	// (ChangeMessageVisibility failed): they reappear after their visibility timeout.
	Hidden int `json:"hidden,omitempty"`
	// NotFound lists asked-for message ids the whole queue did not hold.
	NotFound []string `json:"notFound,omitempty"`
	// Complete: the run got through its snapshot (or found every asked-for id). When
	// false, a bound stopped it: run again with SentBefore to continue.
	Complete bool `json:"complete"`
	// SentBefore is the snapshot's cutoff in milliseconds since the epoch.
	SentBefore int64 `json:"sentBefore"`
	ElapsedMS  int64 `json:"elapsedMs"`
	// Messages lists the outcomes (not the messages left as newer or untouched).
	Messages []Outcome `json:"messages,omitempty"`
	// OutcomesOmitted counts outcomes left out of Messages by Truncate.
	OutcomesOmitted int `json:"outcomesOmitted,omitempty"`
}

// Truncate keeps the first n outcomes (n > 0) and counts the rest in
// OutcomesOmitted: a report that travels through Step Functions must stay far below
// its 256 KiB payload quota (Step Functions Developer Guide, service-quotas.html:
// "Maximum input or output size for a task, state, or execution").
func (rep *Report) Truncate(n int) {
	if n > 0 && len(rep.Messages) > n {
		rep.OutcomesOmitted += len(rep.Messages) - n
		rep.Messages = rep.Messages[:n]
	}
}

func (rep *Report) add(o Outcome) {
	switch o.Action {
	case ActionStarted:
		rep.Started++
	case ActionExisting:
		rep.Existing++
	case ActionDiscarded:
		rep.Discarded++
	case ActionPermanent:
		rep.Permanent++
	case ActionParked:
		rep.Parked++
	case ActionFailed:
		rep.Failed++
	}
	rep.Messages = append(rep.Messages, o)
}

func (r *Redriver) now() time.Time {
	if r.Now != nil {
		return r.Now()
	}
	return time.Now()
}

func (r *Redriver) log() *slog.Logger {
	if r.Logger != nil {
		return r.Logger
	}
	return slog.Default()
}

func (r *Redriver) record(ctx context.Context, rep *Report, o Outcome) {
	rep.add(o)
	level := slog.LevelInfo
	if o.Action == ActionFailed {
		level = slog.LevelWarn
	}
	r.log().Log(ctx, level, "redrive", "action", o.Action, "messageId", o.MessageID, "key", o.Key,
		"error", o.Error, "redriveCount", o.RedriveCount, "executionArn", o.ExecutionArn, "reason", o.Reason)
	if r.Progress != nil {
		r.Progress(o)
	}
}

// hashHex is 32 hex digits of s's SHA-256: enough to name one message's execution.
func hashHex(s string) string {
	sum := sha256.Sum256([]byte(s))
	return hex.EncodeToString(sum[:16])
}
