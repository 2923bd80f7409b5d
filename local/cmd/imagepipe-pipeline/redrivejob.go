package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sfn"
	sfntypes "github.com/aws/aws-sdk-go-v2/service/sfn/types"

	"github.com/imagepipe/imagepipe/functions/redrive"
	"github.com/imagepipe/imagepipe/local/twin"
)

// jobAPI is the part of Step Functions that starts and follows the redrive job.
type jobAPI interface {
	StartExecution(ctx context.Context, in *sfn.StartExecutionInput, opts ...func(*sfn.Options)) (*sfn.StartExecutionOutput, error)
	GetExecutionHistory(ctx context.Context, in *sfn.GetExecutionHistoryInput, opts ...func(*sfn.Options)) (*sfn.GetExecutionHistoryOutput, error)
}

// jobInput is the Redrive state machine's input (statemachine/redrive.asl.json).
type jobInput struct {
	MessageIDs       []string `json:"messageIds,omitempty"`
	IncludePermanent bool     `json:"includePermanent,omitempty"`
}

// jobReport is the job's output: the summed report and how many rounds it took.
type jobReport struct {
	redrive.Report
	Rounds int `json:"rounds"`
}

// followInterval is how often the history is read while the job runs.
const followInterval = 500 * time.Millisecond

// redriveJob starts the Redrive state machine and, unless --no-wait, follows it: one
// line per round and per message on stderr, the job's output on stdout.
func redriveJob(ctx context.Context, f redriveFlags, cfg aws.Config, jobs jobAPI, stdout, stderr io.Writer) error {
	arn := f.redriveArn
	if arn == "" && f.endpoint != "" {
		arn = fmt.Sprintf("arn:aws:states:%s:%s:stateMachine:%s", cfg.Region, twin.Account, redriveStateMachine)
	}
	if arn == "" {
		return fmt.Errorf("against AWS, give --redrive-arn (the stack output RedriveStateMachineArn)")
	}
	input, err := json.Marshal(jobInput{MessageIDs: f.messages, IncludePermanent: f.includePermanent})
	if err != nil {
		return err
	}
	out, err := jobs.StartExecution(ctx, &sfn.StartExecutionInput{StateMachineArn: aws.String(arn), Input: aws.String(string(input))})
	if err != nil {
		return fmt.Errorf("start the redrive job %s: %w", arn, err)
	}
	exec := aws.ToString(out.ExecutionArn)
	if f.noWait {
		_, err := fmt.Fprintln(stdout, exec)
		return err
	}
	fmt.Fprintln(stderr, "redrive job "+exec)
	rep, err := followJob(ctx, jobs, exec, func(round int, r redrive.Report) {
		if !f.quiet {
			for _, o := range r.Messages {
				fmt.Fprintln(stderr, redriveLine(o, redrive.DefaultCeiling))
			}
		}
		fmt.Fprintln(stderr, roundLine(round, r))
	})
	if err != nil {
		return err
	}
	rep.Messages = nil // printed as they happened; the JSON stays one short line
	if err := json.NewEncoder(stdout).Encode(rep); err != nil {
		return err
	}
	fmt.Fprintln(stderr, redriveSummary(rep.Report)+fmt.Sprintf(" in %d rounds", rep.Rounds))
	if len(rep.NotFound) > 0 {
		return fmt.Errorf("not in the queue: %s", strings.Join(rep.NotFound, ", "))
	}
	return nil
}

// followJob reads the execution's history until it ends, telling round each Round
// result as it appears, and returns the job's output. A failed, timed-out or stopped
// job is an error with its error and cause.
func followJob(ctx context.Context, jobs jobAPI, exec string, round func(int, redrive.Report)) (jobReport, error) {
	var seen int64
	rounds := 0
	for {
		events, err := history(ctx, jobs, exec)
		if err != nil {
			return jobReport{}, err
		}
		for _, e := range events {
			if e.Id <= seen {
				continue
			}
			seen = e.Id
			switch e.Type {
			case sfntypes.HistoryEventTypeTaskSucceeded:
				var res struct{ Payload redrive.Report }
				if err := json.Unmarshal([]byte(aws.ToString(e.TaskSucceededEventDetails.Output)), &res); err != nil {
					return jobReport{}, fmt.Errorf("redrive job %s: round output: %w", exec, err)
				}
				rounds++
				round(rounds, res.Payload)
			case sfntypes.HistoryEventTypeExecutionSucceeded:
				var rep jobReport
				if err := json.Unmarshal([]byte(aws.ToString(e.ExecutionSucceededEventDetails.Output)), &rep); err != nil {
					return jobReport{}, fmt.Errorf("redrive job %s: output: %w", exec, err)
				}
				return rep, nil
			case sfntypes.HistoryEventTypeExecutionFailed:
				d := e.ExecutionFailedEventDetails
				return jobReport{}, fmt.Errorf("redrive job %s failed: %s: %s", exec, aws.ToString(d.Error), aws.ToString(d.Cause))
			case sfntypes.HistoryEventTypeExecutionTimedOut, sfntypes.HistoryEventTypeExecutionAborted:
				return jobReport{}, fmt.Errorf("redrive job %s: %s", exec, e.Type)
			}
		}
		select {
		case <-ctx.Done():
			return jobReport{}, fmt.Errorf("stopped following; the redrive job goes on: %s: %w", exec, ctx.Err())
		case <-time.After(followInterval):
		}
	}
}

// history is the execution's whole history, oldest first. A job's history is short
// (a few events per round, at most RedriveMaxRounds rounds), so it is read again
// each time rather than followed by token, which Step Functions does not offer for
// events that do not exist yet.
func history(ctx context.Context, jobs jobAPI, exec string) ([]sfntypes.HistoryEvent, error) {
	var events []sfntypes.HistoryEvent
	p := sfn.NewGetExecutionHistoryPaginator(jobs, &sfn.GetExecutionHistoryInput{ExecutionArn: aws.String(exec), MaxResults: 1000})
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			return nil, fmt.Errorf("history of the redrive job %s: %w", exec, err)
		}
		events = append(events, page.Events...)
	}
	return events, nil
}

// roundLine is one round's progress.
func roundLine(n int, r redrive.Report) string {
	s := fmt.Sprintf("round %d: %d started, %d existing, %d discarded; seen left: %d permanent, %d parked, %d failed, %d newer; %v",
		n, r.Started, r.Existing, r.Discarded, r.Permanent, r.Parked, r.Failed, r.Newer, time.Duration(r.ElapsedMS)*time.Millisecond)
	if r.OutcomesOmitted > 0 {
		s += fmt.Sprintf(" (%d more messages not listed)", r.OutcomesOmitted)
	}
	if !r.Complete {
		s += "; continuing from the same snapshot"
	}
	return s
}
