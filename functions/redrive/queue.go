package redrive

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sfn"
	sfntypes "github.com/aws/aws-sdk-go-v2/service/sfn/types"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	sqstypes "github.com/aws/aws-sdk-go-v2/service/sqs/types"

	"github.com/imagepipe/imagepipe/functions/pipeline"
)

// queueRun is one FromQueue run's state.
type queueRun struct {
	r        *Redriver
	opt      Options
	rep      Report
	start    time.Time
	deadline time.Time
	cutoff   time.Time
	received int
	// held maps each received message this run leaves on the queue to its latest
	// receipt handle: they stay hidden until the run ends, so that a receive never
	// hands them out twice, then are made visible again.
	held map[string]string
	done map[string]bool // messages deleted this run
	// ours holds the executions this run started: their failure messages are never
	// part of its snapshot, whatever the clocks say.
	ours      map[string]bool
	redrive   map[string]bool // asked for by id
	discard   map[string]bool
	cutShort  bool // a bound stopped the run with messages still to look at
	exhausted bool // a receive found the queue empty
}

// FromQueue redrives the failure queue within opt's bounds: each message of the
// snapshot that may run again starts one execution with the original input, named
// after the message and its redrive count, and the message is deleted once that
// execution exists. Messages left (permanent, parked, newer, failed) are made visible
// again at the end. An error is returned only when the queue cannot be read at all
// (or ctx ends); the report says what was done until then.
func (r *Redriver) FromQueue(ctx context.Context, opt Options) (Report, error) {
	run := r.newQueueRun(opt)
	err := run.loop(ctx)
	run.release(ctx)
	run.finish()
	return run.rep, err
}

func (r *Redriver) newQueueRun(opt Options) *queueRun {
	start := r.now()
	run := &queueRun{
		r: r, opt: opt, start: start, deadline: start.Add(opt.maxDuration()), cutoff: start,
		held: map[string]string{}, done: map[string]bool{}, ours: map[string]bool{},
		redrive: idSet(opt.MessageIDs), discard: idSet(opt.Discard),
	}
	if !opt.SentBefore.IsZero() && opt.SentBefore.Before(start) {
		run.cutoff = opt.SentBefore
	}
	run.rep.SentBefore = run.cutoff.UnixMilli()
	return run
}

func idSet(ids []string) map[string]bool {
	m := make(map[string]bool, len(ids))
	for _, id := range ids {
		m[id] = true
	}
	return m
}

// byID: the run acts only on the messages it was given.
func (run *queueRun) byID() bool { return len(run.redrive)+len(run.discard) > 0 }

// pending is how many asked-for messages are still to be found.
func (run *queueRun) pending() int {
	n := 0
	for id := range run.redrive {
		if !run.done[id] && run.held[id] == "" {
			n++
		}
	}
	for id := range run.discard {
		if !run.done[id] && run.held[id] == "" {
			n++
		}
	}
	return n
}

// outOfBudget reports a bound reached.
func (run *queueRun) outOfBudget() bool {
	return !run.r.now().Before(run.deadline) || run.received >= run.opt.maxMessages()
}

func (run *queueRun) loop(ctx context.Context) error {
	for {
		if run.byID() && run.pending() == 0 {
			return nil
		}
		if run.outOfBudget() {
			run.cutShort = true
			return nil
		}
		msgs, err := run.receive(ctx)
		if err != nil {
			return err
		}
		if len(msgs) == 0 {
			run.exhausted = true
			return nil
		}
		for _, m := range msgs {
			if run.outOfBudget() && !run.seen(m) {
				run.hold(m) // received, not looked at: visible again at the end
				run.cutShort = true
				continue
			}
			run.handle(ctx, m)
		}
	}
}

// receive asks for the next messages. Hidden for longer than the run can last, a
// message is received at most once per run. A one-second wait makes the receive ask
// every SQS server (a zero wait samples some and may answer "empty" wrongly).
func (run *queueRun) receive(ctx context.Context) ([]sqstypes.Message, error) {
	wait := int32(1)
	if run.deadline.Sub(run.r.now()) < 2*time.Second {
		wait = 0
	}
	out, err := run.r.SQS.ReceiveMessage(ctx, &sqs.ReceiveMessageInput{
		QueueUrl:                    aws.String(run.r.QueueURL),
		MaxNumberOfMessages:         10,
		VisibilityTimeout:           int32(min(run.opt.maxDuration()/time.Second+30, 43200)), // SQS's maximum
		WaitTimeSeconds:             wait,
		MessageSystemAttributeNames: []sqstypes.MessageSystemAttributeName{sqstypes.MessageSystemAttributeNameSentTimestamp},
	})
	if err != nil {
		return nil, fmt.Errorf("receive from %s: %w", run.r.QueueURL, err)
	}
	return out.Messages, nil
}

func (run *queueRun) seen(m sqstypes.Message) bool {
	id := aws.ToString(m.MessageId)
	return run.held[id] != "" || run.done[id]
}

func (run *queueRun) hold(m sqstypes.Message) {
	run.held[aws.ToString(m.MessageId)] = aws.ToString(m.ReceiptHandle)
}

// handle decides one message's fate: a request by id first, then the snapshot (sent
// before the cutoff, not from this run's executions), then the message's verdict and
// redrive count.
func (run *queueRun) handle(ctx context.Context, m sqstypes.Message) {
	id := aws.ToString(m.MessageId)
	if run.seen(m) { // visible again after all (a slow run): keep the newest receipt
		if !run.done[id] {
			run.hold(m)
		}
		return
	}
	run.received++
	switch {
	case run.discard[id]:
		run.discardMessage(ctx, m)
		return
	case run.byID() && !run.redrive[id]:
		run.hold(m) // not asked for: untouched
		return
	case !run.redrive[id] && !run.sentBeforeCutoff(m):
		run.hold(m)
		run.rep.Newer++
		return
	}
	f, ev, err := ParseFailure(aws.ToString(m.Body))
	if err != nil {
		run.hold(m)
		run.r.record(ctx, &run.rep, Outcome{MessageID: id, Action: ActionFailed, Reason: err.Error()})
		return
	}
	o := Outcome{MessageID: id, Error: f.Error, Key: objectKey(ev), RedriveCount: f.RedriveCount()}
	forced := run.redrive[id]
	switch {
	case f.ExecutionArn != "" && run.ours[f.ExecutionArn]:
		run.hold(m) // this run's own execution failed already: never part of the snapshot
		run.rep.Newer++
		return
	case !forced && f.IsPermanent() && !run.opt.IncludePermanent:
		o.Action = ActionPermanent
	case !forced && o.RedriveCount >= run.opt.ceiling():
		o.Action = ActionParked
	default:
		o = run.startExecution(ctx, m, f, ev, o)
	}
	if o.Action != ActionStarted && o.Action != ActionExisting {
		run.hold(m)
	}
	run.r.record(ctx, &run.rep, o)
}

// sentBeforeCutoff: part of the snapshot. A message without SentTimestamp (SQS always
// returns it when asked) is taken as old: the executions check still applies.
func (run *queueRun) sentBeforeCutoff(m sqstypes.Message) bool {
	ms, err := strconv.ParseInt(m.Attributes[string(sqstypes.MessageSystemAttributeNameSentTimestamp)], 10, 64)
	if err != nil {
		return true
	}
	return ms < run.cutoff.UnixMilli()
}

// startExecution runs the message's input again, then deletes the message. A message is
// deleted only once its execution exists; if the delete fails, the next run meets
// ExecutionAlreadyExists and deletes it then.
func (run *queueRun) startExecution(ctx context.Context, m sqstypes.Message, f Failure, ev pipeline.ObjectEvent, o Outcome) Outcome {
	r := run.r
	smArn := r.PipelineArn
	if ev.DetailType == pipeline.DetailTypeDeleted {
		smArn = r.RemoveArn
	}
	if smArn == "" {
		o.Action, o.Reason = ActionFailed, fmt.Sprintf("no state machine for %q events", ev.DetailType)
		return o
	}
	name := ExecutionName(o.MessageID, o.RedriveCount+1)
	o.ExecutionArn = executionArn(smArn, name)
	out, err := r.SFN.StartExecution(ctx, &sfn.StartExecutionInput{
		StateMachineArn: aws.String(smArn), Name: aws.String(name), Input: aws.String(string(f.Input)),
	})
	var exists *sfntypes.ExecutionAlreadyExists
	switch {
	case errors.As(err, &exists):
		o.Action = ActionExisting
	case err != nil:
		o.Action, o.Reason = ActionFailed, "start execution: "+err.Error()
		return o
	default:
		o.Action = ActionStarted
		if a := aws.ToString(out.ExecutionArn); a != "" {
			o.ExecutionArn = a
		}
	}
	run.ours[o.ExecutionArn] = true
	if _, err := r.SQS.DeleteMessage(ctx, &sqs.DeleteMessageInput{QueueUrl: aws.String(r.QueueURL), ReceiptHandle: m.ReceiptHandle}); err != nil {
		o.Action, o.Reason = ActionFailed, "execution "+string(o.Action)+", but delete message: "+err.Error()
		return o
	}
	run.done[o.MessageID] = true
	return o
}

func (run *queueRun) discardMessage(ctx context.Context, m sqstypes.Message) {
	id := aws.ToString(m.MessageId)
	o := Outcome{MessageID: id, Action: ActionDiscarded}
	if f, ev, err := ParseFailure(aws.ToString(m.Body)); err == nil {
		o.Error, o.Key, o.RedriveCount = f.Error, objectKey(ev), f.RedriveCount()
	}
	if _, err := run.r.SQS.DeleteMessage(ctx, &sqs.DeleteMessageInput{QueueUrl: aws.String(run.r.QueueURL), ReceiptHandle: m.ReceiptHandle}); err != nil {
		run.hold(m)
		o.Action, o.Reason = ActionFailed, "delete message: "+err.Error()
	} else {
		run.done[id] = true
	}
	run.r.record(ctx, &run.rep, o)
}

// release makes the messages left visible again at once, for the next run and for
// whoever lists the queue. Those it fails for (Report.Hidden) reappear anyway when
// their visibility timeout ends: the run's budget plus 30 s.
func (run *queueRun) release(ctx context.Context) {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
	defer cancel()
	for id, receipt := range run.held {
		if _, err := run.r.SQS.ChangeMessageVisibility(ctx, &sqs.ChangeMessageVisibilityInput{
			QueueUrl: aws.String(run.r.QueueURL), ReceiptHandle: aws.String(receipt), VisibilityTimeout: 0,
		}); err != nil {
			run.r.log().WarnContext(ctx, "redrive: message stays hidden until its visibility timeout", "messageId", id, "err", err)
			run.rep.Hidden++
		}
	}
}

func (run *queueRun) finish() {
	rep := &run.rep
	if run.exhausted {
		for _, ids := range [][]string{run.opt.MessageIDs, run.opt.Discard} {
			for _, id := range ids {
				if !run.done[id] && run.held[id] == "" && !slices.Contains(rep.NotFound, id) {
					rep.NotFound = append(rep.NotFound, id)
				}
			}
		}
	}
	rep.Complete = !run.cutShort && (run.exhausted || (run.byID() && run.pending() == 0))
	rep.ElapsedMS = run.r.now().Sub(run.start).Milliseconds()
}

// executionArn is the ARN Step Functions gives the execution called name of a state
// machine.
func executionArn(stateMachineArn, name string) string {
	return strings.Replace(stateMachineArn, ":stateMachine:", ":execution:", 1) + ":" + name
}
