package loadgen

import (
	"context"
	"fmt"
	"slices"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sfn"
	sfntypes "github.com/aws/aws-sdk-go-v2/service/sfn/types"
)

// StateTime is where the time went in one state across executions. For Task
// states, Queue is TaskScheduled → TaskStarted (waiting for an invocation slot) and
// Run is TaskStarted → TaskSucceeded (the function itself); Total is entered → exited.
type StateTime struct {
	State    string  `json:"state"`
	Count    int     `json:"count"`
	TotalP50 float64 `json:"totalP50Ms"`
	TotalP95 float64 `json:"totalP95Ms"`
	QueueP50 float64 `json:"queueP50Ms,omitempty"`
	QueueP95 float64 `json:"queueP95Ms,omitempty"`
	RunP50   float64 `json:"runP50Ms,omitempty"`
	RunP95   float64 `json:"runP95Ms,omitempty"`
}

// ExecutionState is the pseudo-state name for whole executions (started → ended).
const ExecutionState = "(execution)"

// StateTimes reads the histories of up to limit executions of the state machine that
// started at or after since, and summarises the time per state.
func StateTimes(ctx context.Context, c *sfn.Client, stateMachineArn string, since time.Time, limit int) ([]StateTime, error) {
	var arns []string
	p := sfn.NewListExecutionsPaginator(c, &sfn.ListExecutionsInput{StateMachineArn: aws.String(stateMachineArn), MaxResults: 100})
	for p.HasMorePages() && len(arns) < limit {
		page, err := p.NextPage(ctx)
		if err != nil {
			return nil, fmt.Errorf("list executions: %w", err)
		}
		older := false
		for _, e := range page.Executions {
			if e.StartDate != nil && e.StartDate.Before(since) {
				older = true
				break
			}
			if e.Status != sfntypes.ExecutionStatusRunning && len(arns) < limit {
				arns = append(arns, aws.ToString(e.ExecutionArn))
			}
		}
		if older {
			break
		}
	}
	acc := newStateAcc()
	for _, arn := range arns {
		var events []sfntypes.HistoryEvent
		hp := sfn.NewGetExecutionHistoryPaginator(c, &sfn.GetExecutionHistoryInput{ExecutionArn: aws.String(arn), MaxResults: 1000})
		for hp.HasMorePages() {
			page, err := hp.NextPage(ctx)
			if err != nil {
				return nil, fmt.Errorf("get execution history: %w", err)
			}
			events = append(events, page.Events...)
		}
		acc.add(events)
	}
	return acc.summary(), nil
}

type stateAcc struct {
	order             []string
	total, queue, run map[string][]time.Duration
}

func newStateAcc() *stateAcc {
	return &stateAcc{total: map[string][]time.Duration{}, queue: map[string][]time.Duration{}, run: map[string][]time.Duration{}}
}

func (a *stateAcc) note(m map[string][]time.Duration, state string, d time.Duration) {
	if !slices.Contains(a.order, state) {
		a.order = append(a.order, state)
	}
	m[state] = append(m[state], d)
}

// add folds one execution's history in. Task events name no state: a TaskScheduled
// follows (PreviousEventId) its TaskStateEntered, TaskStarted its TaskScheduled, and
// TaskSucceeded its TaskStarted.
func (a *stateAcc) add(events []sfntypes.HistoryEvent) {
	byID := make(map[int64]sfntypes.HistoryEvent, len(events))
	entered := map[string]time.Time{}
	var started time.Time
	for _, e := range events {
		byID[e.Id] = e
		ts := aws.ToTime(e.Timestamp)
		switch {
		case e.Type == sfntypes.HistoryEventTypeExecutionStarted:
			started = ts
		case e.Type == sfntypes.HistoryEventTypeExecutionSucceeded || e.Type == sfntypes.HistoryEventTypeExecutionFailed:
			if !started.IsZero() {
				a.note(a.total, ExecutionState, ts.Sub(started))
			}
		case e.StateEnteredEventDetails != nil:
			entered[aws.ToString(e.StateEnteredEventDetails.Name)] = ts
		case e.StateExitedEventDetails != nil:
			name := aws.ToString(e.StateExitedEventDetails.Name)
			if t, ok := entered[name]; ok {
				a.note(a.total, name, ts.Sub(t))
			}
		case e.Type == sfntypes.HistoryEventTypeTaskStarted:
			sched, ok := byID[e.PreviousEventId]
			if !ok {
				continue
			}
			if ent, ok := byID[sched.PreviousEventId]; ok && ent.StateEnteredEventDetails != nil {
				a.note(a.queue, aws.ToString(ent.StateEnteredEventDetails.Name), ts.Sub(aws.ToTime(sched.Timestamp)))
			}
		case e.Type == sfntypes.HistoryEventTypeTaskSucceeded:
			st, ok := byID[e.PreviousEventId]
			if !ok {
				continue
			}
			sched, ok := byID[st.PreviousEventId]
			if !ok {
				continue
			}
			if ent, ok := byID[sched.PreviousEventId]; ok && ent.StateEnteredEventDetails != nil {
				a.note(a.run, aws.ToString(ent.StateEnteredEventDetails.Name), ts.Sub(aws.ToTime(st.Timestamp)))
			}
		}
	}
}

func (a *stateAcc) summary() []StateTime {
	pct := func(d []time.Duration, p float64) float64 {
		s := slices.Clone(d)
		slices.Sort(s)
		return ms(Percentile(s, p))
	}
	var out []StateTime
	names := a.order
	for _, n := range names {
		st := StateTime{State: n, Count: len(a.total[n]), TotalP50: pct(a.total[n], 50), TotalP95: pct(a.total[n], 95)}
		if q := a.queue[n]; len(q) > 0 {
			st.QueueP50, st.QueueP95 = pct(q, 50), pct(q, 95)
		}
		if r := a.run[n]; len(r) > 0 {
			st.RunP50, st.RunP95 = pct(r, 50), pct(r, 95)
		}
		out = append(out, st)
	}
	return out
}
