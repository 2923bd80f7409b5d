// Command redrive is the redrive Lambda: it starts the failed work again, on demand
// (`aws lambda invoke`) or on a schedule (CDK context redriveSchedule).
//
// Modes: "queue" (default) reads the failure queue and starts one execution per
// message with the original input, deleting a message only once its execution
// exists; "executions" calls Step Functions' RedriveExecution on the failed
// executions of both state machines. Both are idempotent (package redrive).
//
// Environment: FAILURE_QUEUE_URL and PIPELINE_STATE_MACHINE_ARN (required),
// REMOVE_STATE_MACHINE_ARN, REDRIVE_MODE (queue or executions, default queue).
// Input: {} or {"mode": "executions"} to override REDRIVE_MODE for one call (other
// fields, such as those of a scheduled event, are ignored). Output: the report,
// {"mode", "started", "existing", "failed", "complete"}.
package main

import (
	"context"
	"fmt"
	"log/slog"
	"time"

	"github.com/imagepipe/imagepipe/functions/lambdaenv"

	"github.com/aws/aws-lambda-go/lambda"
	"github.com/aws/aws-sdk-go-v2/service/sfn"
	"github.com/aws/aws-sdk-go-v2/service/sqs"

	"github.com/imagepipe/imagepipe/functions/redrive"
)

// Redrive modes.
const (
	ModeQueue      = "queue"
	ModeExecutions = "executions"
)

// Input is the invocation payload.
type Input struct {
	Mode string `json:"mode,omitempty"`
}

// Output is redrive.Report with the mode that ran and whether the run got through
// everything before the Lambda's deadline (a partial run is safe to repeat).
type Output struct {
	Mode string `json:"mode"`
	redrive.Report
	Complete bool `json:"complete"`
}

// ModeError is an invocation that names an unknown mode.
type ModeError struct{ Mode string }

func (e *ModeError) Error() string {
	return fmt.Sprintf("mode %q: must be %q or %q", e.Mode, ModeQueue, ModeExecutions)
}

// margin is kept before the Lambda's deadline to return a partial report instead of
// timing out with none.
const margin = 10 * time.Second

type handler struct {
	r           *redrive.Redriver
	defaultMode string
	log         *slog.Logger
}

func (h handler) handle(ctx context.Context, in Input) (Output, error) {
	mode := in.Mode
	if mode == "" {
		mode = h.defaultMode
	}
	if mode != ModeQueue && mode != ModeExecutions {
		return Output{}, &ModeError{Mode: mode}
	}
	run := ctx
	if dl, ok := ctx.Deadline(); ok {
		var cancel context.CancelFunc
		run, cancel = context.WithDeadline(ctx, dl.Add(-margin))
		defer cancel()
	}
	var rep redrive.Report
	var err error
	if mode == ModeQueue {
		rep, err = h.r.FromQueue(run)
	} else {
		rep, err = h.r.FailedExecutions(run)
	}
	out := Output{Mode: mode, Report: rep, Complete: err == nil}
	if err != nil && run.Err() != nil && ctx.Err() == nil {
		// Out of time, not broken: report what was done; the next run carries on.
		h.log.WarnContext(ctx, "redrive: stopped before the deadline", "mode", mode, "started", rep.Started, "existing", rep.Existing, "failed", rep.Failed)
		return out, nil
	}
	if err != nil {
		return Output{}, err
	}
	h.log.InfoContext(ctx, "redrive", "mode", mode, "started", rep.Started, "existing", rep.Existing, "failed", rep.Failed)
	return out, nil
}

func main() {
	lambdaenv.Setup()
	log := slog.Default()
	mode := lambdaenv.String("REDRIVE_MODE", ModeQueue)
	if mode != ModeQueue && mode != ModeExecutions {
		lambdaenv.Fail("REDRIVE_MODE must be queue or executions", "value", mode)
	}
	cfg := lambdaenv.AWSConfig(context.Background()) // honours AWS_ENDPOINT_URL(_S3)
	h := handler{
		r: &redrive.Redriver{
			SQS:         sqs.NewFromConfig(cfg),
			SFN:         sfn.NewFromConfig(cfg),
			QueueURL:    lambdaenv.Required("FAILURE_QUEUE_URL"),
			PipelineArn: lambdaenv.Required("PIPELINE_STATE_MACHINE_ARN"),
			RemoveArn:   lambdaenv.String("REMOVE_STATE_MACHINE_ARN", ""),
			Logger:      log,
		},
		defaultMode: mode,
		log:         log,
	}
	lambda.Start(h.handle)
}
