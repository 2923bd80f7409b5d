package operations

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sfn"
)

// Bounds of GET /executions/{arn}'s history. A Standard execution has at most 25,000
// events, and a Lambda answer at most 6 MB: the history is cut at HistoryMaxBytes of
// events (HistoryComplete false) so that the answer, with the execution's input and
// output (256 KiB each at most) and the definition, always fits.
const (
	HistoryMaxBytes = 3 << 20
	historyPage     = 500
)

// ExecutionDetail is GET /executions/{arn}'s answer: DescribeExecution's answer,
// the definition the execution ran (DescribeStateMachineForExecution; JSON, or a
// string when it is not JSON) and the history events oldest first, all in Step
// Functions' own shapes.
type ExecutionDetail struct {
	Execution       json.RawMessage   `json:"execution"`
	Definition      json.RawMessage   `json:"definition"`
	History         []json.RawMessage `json:"history"`
	HistoryComplete bool              `json:"historyComplete"`
}

func (h Handler) getExecution(ctx context.Context, arn string) events.APIGatewayProxyResponse {
	out, err := h.execution(ctx, arn)
	if err != nil {
		return h.fail(ctx, "describe execution", err)
	}
	return h.json(http.StatusOK, out)
}

func (h Handler) execution(ctx context.Context, arn string) (ExecutionDetail, error) {
	out := ExecutionDetail{History: []json.RawMessage{}}
	var err error
	if out.Execution, err = h.SFN.DescribeExecution(ctx, &sfn.DescribeExecutionInput{ExecutionArn: aws.String(arn)}); err != nil {
		return out, err
	}
	sm, err := h.SFN.DescribeStateMachineForExecution(ctx, &sfn.DescribeStateMachineForExecutionInput{ExecutionArn: aws.String(arn)})
	if err != nil {
		return out, err
	}
	var def struct {
		Definition string `json:"definition"`
	}
	if err := json.Unmarshal(sm, &def); err != nil {
		return out, fmt.Errorf("DescribeStateMachineForExecution answer: %w", err)
	}
	out.Definition = json.RawMessage(def.Definition)
	if !json.Valid(out.Definition) {
		out.Definition, _ = json.Marshal(def.Definition) // a string: always encodes
	}
	out.History, out.HistoryComplete, err = h.history(ctx, arn)
	return out, err
}

// history pages through the execution's events, oldest first, up to HistoryMaxBytes.
func (h Handler) history(ctx context.Context, arn string) ([]json.RawMessage, bool, error) {
	out := []json.RawMessage{}
	size := 0
	var token *string
	for {
		body, err := h.SFN.GetExecutionHistory(ctx, &sfn.GetExecutionHistoryInput{
			ExecutionArn: aws.String(arn), MaxResults: historyPage, NextToken: token,
		})
		if err != nil {
			return nil, false, err
		}
		var page struct {
			Events    []json.RawMessage `json:"events"`
			NextToken string            `json:"nextToken"`
		}
		if err := json.Unmarshal(body, &page); err != nil {
			return nil, false, fmt.Errorf("GetExecutionHistory answer: %w", err)
		}
		for _, ev := range page.Events {
			if size+len(ev) > HistoryMaxBytes {
				return out, false, nil
			}
			size += len(ev)
			out = append(out, ev)
		}
		if page.NextToken == "" {
			return out, true, nil
		}
		token = aws.String(page.NextToken)
	}
}

// redriveExecution is Step Functions' RedriveExecution: it resumes a failed,
// timed-out or stopped Standard execution from its unfinished steps, within 14 days
// of its end; anything else is the service's ExecutionNotRedrivable (400).
func (h Handler) redriveExecution(ctx context.Context, arn string) events.APIGatewayProxyResponse {
	out, err := h.SFN.RedriveExecution(ctx, &sfn.RedriveExecutionInput{ExecutionArn: aws.String(arn)})
	if err != nil {
		return h.fail(ctx, "redrive execution", err)
	}
	h.log().InfoContext(ctx, "execution redriven", "executionArn", arn)
	return h.json(http.StatusOK, out)
}

// StopError is the error name a stopped execution ends with.
const StopError = "StoppedFromWebApp"

// stopExecution is Step Functions' StopExecution, naming who stopped it in the cause.
func (h Handler) stopExecution(ctx context.Context, arn, who string) events.APIGatewayProxyResponse {
	out, err := h.SFN.StopExecution(ctx, &sfn.StopExecutionInput{
		ExecutionArn: aws.String(arn), Error: aws.String(StopError), Cause: aws.String("stopped by " + who),
	})
	if err != nil {
		return h.fail(ctx, "stop execution", err)
	}
	h.log().InfoContext(ctx, "execution stopped", "executionArn", arn, "by", who)
	return h.json(http.StatusOK, out)
}
