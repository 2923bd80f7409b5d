// Package redrive starts the failed work again: from the failure queue (one new
// execution per message, with the original input) or with Step Functions' own
// RedriveExecution on failed executions. Both are idempotent: a second run does not
// double the work.
package redrive

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sfn"
	sfntypes "github.com/aws/aws-sdk-go-v2/service/sfn/types"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	sqstypes "github.com/aws/aws-sdk-go-v2/service/sqs/types"

	"github.com/imagepipe/imagepipe/functions/pipeline"
)

// SQSAPI is the part of the SQS client redrive uses.
type SQSAPI interface {
	ReceiveMessage(ctx context.Context, in *sqs.ReceiveMessageInput, opts ...func(*sqs.Options)) (*sqs.ReceiveMessageOutput, error)
	DeleteMessage(ctx context.Context, in *sqs.DeleteMessageInput, opts ...func(*sqs.Options)) (*sqs.DeleteMessageOutput, error)
}

// SFNAPI is the part of the Step Functions client redrive uses.
type SFNAPI interface {
	StartExecution(ctx context.Context, in *sfn.StartExecutionInput, opts ...func(*sfn.Options)) (*sfn.StartExecutionOutput, error)
	ListExecutions(ctx context.Context, in *sfn.ListExecutionsInput, opts ...func(*sfn.Options)) (*sfn.ListExecutionsOutput, error)
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
}

// Report counts what a run did.
type Report struct {
	Started  int `json:"started"`  // new executions started
	Existing int `json:"existing"` // messages whose execution a previous run had started
	Failed   int `json:"failed"`   // messages left on the queue (unreadable, or start failed)
}

// message is the failure-queue body the state machine's Catch writes.
type message struct {
	Error string          `json:"error"`
	Cause string          `json:"cause"`
	State string          `json:"state"`
	Input json.RawMessage `json:"input"`
}

// FromQueue drains the failure queue: for each message it starts one execution with
// the original input, named after the message so that a repeated run finds the same
// execution, and deletes the message only once that execution exists.
func (r *Redriver) FromQueue(ctx context.Context) (Report, error) {
	var rep Report
	seen := map[string]bool{} // a message received twice in one run is counted once
	for {
		out, err := r.SQS.ReceiveMessage(ctx, &sqs.ReceiveMessageInput{
			QueueUrl:            aws.String(r.QueueURL),
			MaxNumberOfMessages: 10,
			VisibilityTimeout:   60,
			WaitTimeSeconds:     0,
		})
		if err != nil {
			return rep, fmt.Errorf("receive from %s: %w", r.QueueURL, err)
		}
		if len(out.Messages) == 0 {
			return rep, nil
		}
		progressed := false
		for _, m := range out.Messages {
			id := aws.ToString(m.MessageId)
			if seen[id] {
				continue
			}
			seen[id] = true
			progressed = true
			started, err := r.startFor(ctx, m)
			if err != nil {
				rep.Failed++
				r.log().WarnContext(ctx, "redrive: message left on the queue", "messageId", id, "err", err)
				continue
			}
			if started {
				rep.Started++
			} else {
				rep.Existing++
			}
			if _, err := r.SQS.DeleteMessage(ctx, &sqs.DeleteMessageInput{QueueUrl: aws.String(r.QueueURL), ReceiptHandle: m.ReceiptHandle}); err != nil {
				return rep, fmt.Errorf("delete message %s: %w", id, err)
			}
		}
		if !progressed { // only messages we already handled (and failed) are visible
			return rep, nil
		}
	}
}

// startFor starts the execution for one message; false means it already existed.
func (r *Redriver) startFor(ctx context.Context, m sqstypes.Message) (bool, error) {
	var body message
	if err := json.Unmarshal([]byte(aws.ToString(m.Body)), &body); err != nil {
		return false, fmt.Errorf("body is not a failure message: %w", err)
	}
	var ev pipeline.ObjectEvent
	if err := json.Unmarshal(body.Input, &ev); err != nil || len(body.Input) == 0 {
		return false, fmt.Errorf("failure message has no event input")
	}
	arn := r.PipelineArn
	if ev.DetailType == pipeline.DetailTypeDeleted {
		arn = r.RemoveArn
	}
	if arn == "" {
		return false, fmt.Errorf("no state machine for %q events", ev.DetailType)
	}
	_, err := r.SFN.StartExecution(ctx, &sfn.StartExecutionInput{
		StateMachineArn: aws.String(arn),
		Name:            aws.String(ExecutionName(aws.ToString(m.MessageId))),
		Input:           aws.String(string(body.Input)),
	})
	var exists *sfntypes.ExecutionAlreadyExists
	switch {
	case errors.As(err, &exists):
		return false, nil
	case err != nil:
		return false, fmt.Errorf("start execution: %w", err)
	}
	return true, nil
}

// ExecutionName is the redrive execution's name for a message id: stable, so a second
// redrive of the same message meets ExecutionAlreadyExists instead of doubling work.
func ExecutionName(messageID string) string {
	sum := sha256.Sum256([]byte(messageID))
	return "redrive-" + hex.EncodeToString(sum[:16])
}

// FailedExecutions redrives every FAILED, TIMED_OUT or ABORTED execution of the state
// machines with RedriveExecution. An execution already redriven is RUNNING or
// SUCCEEDED by then and is not listed again, so a second run does nothing.
func (r *Redriver) FailedExecutions(ctx context.Context) (Report, error) {
	var rep Report
	for _, sm := range []string{r.PipelineArn, r.RemoveArn} {
		if sm == "" {
			continue
		}
		for _, status := range []sfntypes.ExecutionStatus{sfntypes.ExecutionStatusFailed, sfntypes.ExecutionStatusTimedOut, sfntypes.ExecutionStatusAborted} {
			p := sfn.NewListExecutionsPaginator(r.SFN, &sfn.ListExecutionsInput{StateMachineArn: aws.String(sm), StatusFilter: status})
			var arns []string
			for p.HasMorePages() {
				page, err := p.NextPage(ctx)
				if err != nil {
					return rep, fmt.Errorf("list %s executions: %w", status, err)
				}
				for _, e := range page.Executions {
					arns = append(arns, aws.ToString(e.ExecutionArn))
				}
			}
			for _, arn := range arns {
				if _, err := r.SFN.RedriveExecution(ctx, &sfn.RedriveExecutionInput{ExecutionArn: aws.String(arn)}); err != nil {
					rep.Failed++
					r.log().WarnContext(ctx, "redrive execution failed", "executionArn", arn, "err", err)
					continue
				}
				rep.Started++
			}
		}
	}
	return rep, nil
}

func (r *Redriver) log() *slog.Logger {
	if r.Logger != nil {
		return r.Logger
	}
	return slog.Default()
}
