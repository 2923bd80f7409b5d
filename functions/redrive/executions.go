package redrive

import (
	"context"
	"fmt"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sfn"
	sfntypes "github.com/aws/aws-sdk-go-v2/service/sfn/types"
)

// FailedExecutions redrives the TIMED_OUT and ABORTED executions of both state
// machines with RedriveExecution, within opt's bounds (MaxMessages counts executions
// looked at). FAILED ones are not listed: every error is caught into the failure
// queue, their redrive path, and RedriveExecution would only re-run their final Fail
// state; a timed-out or stopped execution never reached the catch, and RedriveExecution
// resumes its unfinished steps. The list is taken first, so executions that end during
// the run wait for the next one. One Step Functions has redriven opt.Ceiling times is
// parked.
func (r *Redriver) FailedExecutions(ctx context.Context, opt Options) (rep Report, err error) {
	start := r.now()
	deadline := start.Add(opt.maxDuration())
	rep.SentBefore = start.UnixMilli()
	defer func() { rep.ElapsedMS = r.now().Sub(start).Milliseconds() }() // named results: seen by the caller
	items, listed, err := r.listFailed(ctx, opt.maxMessages())
	if err != nil {
		return rep, err
	}
	rep.Complete = listed
	for _, e := range items {
		if !r.now().Before(deadline) {
			rep.Complete = false
			break
		}
		o := Outcome{ExecutionArn: aws.ToString(e.ExecutionArn), RedriveCount: int(aws.ToInt32(e.RedriveCount))}
		switch {
		case o.RedriveCount >= opt.ceiling():
			o.Action = ActionParked
		default:
			o = r.redriveExecution(ctx, o)
		}
		r.record(ctx, &rep, o)
	}
	return rep, nil
}

// listFailed lists up to max executions to redrive; all is false when there were more.
func (r *Redriver) listFailed(ctx context.Context, max int) (items []sfntypes.ExecutionListItem, all bool, err error) {
	for _, sm := range []string{r.PipelineArn, r.RemoveArn} {
		if sm == "" {
			continue
		}
		for _, status := range []sfntypes.ExecutionStatus{sfntypes.ExecutionStatusTimedOut, sfntypes.ExecutionStatusAborted} {
			p := sfn.NewListExecutionsPaginator(r.SFN, &sfn.ListExecutionsInput{StateMachineArn: aws.String(sm), StatusFilter: status})
			for p.HasMorePages() {
				page, err := p.NextPage(ctx)
				if err != nil {
					return nil, false, fmt.Errorf("list %s executions of %s: %w", status, sm, err)
				}
				for _, e := range page.Executions {
					if len(items) == max {
						return items, false, nil
					}
					items = append(items, e)
				}
			}
		}
	}
	return items, true, nil
}

func (r *Redriver) redriveExecution(ctx context.Context, o Outcome) Outcome {
	if _, err := r.SFN.RedriveExecution(ctx, &sfn.RedriveExecutionInput{ExecutionArn: aws.String(o.ExecutionArn)}); err != nil {
		o.Action, o.Reason = ActionFailed, "redrive execution: "+err.Error()
		return o
	}
	o.Action = ActionStarted
	return o
}
