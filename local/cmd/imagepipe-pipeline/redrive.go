package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sfn"
	"github.com/aws/aws-sdk-go-v2/service/sqs"

	"github.com/imagepipe/imagepipe/functions/redrive"
	"github.com/imagepipe/imagepipe/local/cli"
	"github.com/imagepipe/imagepipe/local/twin"
)

func init() {
	commands["redrive"] = cli.Command{
		Summary: "start failed work again: failure queue → new executions, bounded (--message ID, --discard ID; --executions: RedriveExecution)",
		Run: func(ctx context.Context, args []string) error {
			return redriveCmd(ctx, args, os.Stdout, os.Stderr, awsClients)
		},
	}
}

// Names of the twin's resources, used as defaults when talking to it.
const (
	pipelineStateMachine = twin.PipelineName
	removeStateMachine   = twin.RemoveName
	failureQueue         = twin.FailureQueueName
)

// awsClients gives the Redriver SDK clients on cfg; tests give it fakes.
func awsClients(cfg aws.Config, r *redrive.Redriver) {
	r.SQS, r.SFN = sqs.NewFromConfig(cfg), sfn.NewFromConfig(cfg)
}

// idList is a repeatable flag; commas separate ids too.
type idList []string

func (l *idList) String() string { return strings.Join(*l, ",") }

func (l *idList) Set(v string) error {
	for _, id := range strings.Split(v, ",") {
		if id = strings.TrimSpace(id); id != "" {
			*l = append(*l, id)
		}
	}
	return nil
}

type redriveFlags struct {
	endpoint, queueURL, pipelineArn, removeArn string
	executions, includePermanent, quiet        bool
	messages, discard                          idList
	ceiling, max                               int
	maxTime                                    time.Duration
	sentBefore                                 int64
}

func parseRedriveFlags(args []string, stderr io.Writer) (redriveFlags, error) {
	var f redriveFlags
	fs := flag.NewFlagSet("redrive", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.StringVar(&f.endpoint, "endpoint", "", "the twin's edge endpoint (default: the ordinary AWS configuration)")
	fs.StringVar(&f.queueURL, "queue-url", "", "failure queue URL (default: the twin's "+failureQueue+")")
	fs.StringVar(&f.pipelineArn, "pipeline-arn", "", "pipeline state machine ARN (default: the twin's)")
	fs.StringVar(&f.removeArn, "remove-arn", "", "remove state machine ARN (default: the twin's)")
	fs.BoolVar(&f.executions, "executions", false, "resume TIMED_OUT and ABORTED executions with RedriveExecution instead of reading the queue (FAILED ones are in the queue)")
	fs.Var(&f.messages, "message", "redrive only this message `ID` (repeatable), even a permanent or parked one")
	fs.Var(&f.discard, "discard", "delete this message `ID` from the queue (repeatable); starts nothing")
	fs.BoolVar(&f.includePermanent, "include-permanent", false, "redrive permanent failures too (not an image, unsupported, corrupt, too large)")
	fs.IntVar(&f.ceiling, "ceiling", redrive.DefaultCeiling, "park a failure redriven this many times")
	fs.DurationVar(&f.maxTime, "max-time", 10*time.Minute, "stop after this long")
	fs.IntVar(&f.max, "max", 10000, "stop after receiving this many messages (or looking at this many executions)")
	fs.Int64Var(&f.sentBefore, "sent-before", 0, "continue a run: only messages sent before this time (ms since the epoch, from its report)")
	fs.BoolVar(&f.quiet, "quiet", false, "no progress lines on stderr")
	if err := fs.Parse(args); err != nil || fs.NArg() > 0 {
		if err == nil {
			fmt.Fprintf(stderr, "redrive: unexpected argument %q\n", fs.Arg(0))
		}
		return f, cli.ErrUsage
	}
	if f.executions && len(f.messages)+len(f.discard) > 0 {
		fmt.Fprintln(stderr, "redrive: --message and --discard name queue messages; they do not go with --executions")
		return f, cli.ErrUsage
	}
	if f.maxTime <= 0 || f.max <= 0 || f.ceiling <= 0 {
		fmt.Fprintln(stderr, "redrive: --max-time, --max and --ceiling must be positive")
		return f, cli.ErrUsage
	}
	return f, nil
}

// redriveCmd runs one bounded redrive: a progress line per message on stderr, the
// report as JSON on stdout.
func redriveCmd(ctx context.Context, args []string, stdout, stderr io.Writer, wire func(aws.Config, *redrive.Redriver)) error {
	f, err := parseRedriveFlags(args, stderr)
	if err != nil {
		return err
	}
	cfg, err := awsConfig(ctx, f.endpoint)
	if err != nil {
		return err
	}
	if f.endpoint != "" { // the twin's names, unless given
		if f.queueURL == "" {
			f.queueURL = strings.TrimSuffix(f.endpoint, "/") + "/" + twin.Account + "/" + failureQueue
		}
		if f.pipelineArn == "" {
			f.pipelineArn = fmt.Sprintf("arn:aws:states:%s:%s:stateMachine:%s", cfg.Region, twin.Account, pipelineStateMachine)
		}
		if f.removeArn == "" {
			f.removeArn = fmt.Sprintf("arn:aws:states:%s:%s:stateMachine:%s", cfg.Region, twin.Account, removeStateMachine)
		}
	}
	if f.pipelineArn == "" || (!f.executions && f.queueURL == "") {
		return fmt.Errorf("against AWS, give --pipeline-arn and --queue-url (the stack's outputs)")
	}
	r := &redrive.Redriver{
		QueueURL: f.queueURL, PipelineArn: f.pipelineArn, RemoveArn: f.removeArn,
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil)), // progress lines say it, once
	}
	if !f.quiet {
		r.Progress = func(o redrive.Outcome) { fmt.Fprintln(stderr, redriveLine(o, f.ceiling)) }
	}
	wire(cfg, r)
	opt := redrive.Options{
		MessageIDs: f.messages, Discard: f.discard, IncludePermanent: f.includePermanent,
		MaxDuration: f.maxTime, MaxMessages: f.max, Ceiling: f.ceiling,
	}
	if f.sentBefore > 0 {
		opt.SentBefore = time.UnixMilli(f.sentBefore)
	}
	var rep redrive.Report
	if f.executions {
		rep, err = r.FailedExecutions(ctx, opt)
	} else {
		rep, err = r.FromQueue(ctx, opt)
	}
	rep.Messages = nil // printed as they happened; the JSON stays one short line
	if encErr := json.NewEncoder(stdout).Encode(rep); encErr != nil && err == nil {
		err = encErr
	}
	fmt.Fprintln(stderr, redriveSummary(rep))
	if err == nil && len(rep.NotFound) > 0 {
		err = fmt.Errorf("not in the queue: %s", strings.Join(rep.NotFound, ", "))
	}
	return err
}

// redriveLine is one outcome for a person: what happened, to which message and
// object, and for what is left, how to run it anyway.
func redriveLine(o redrive.Outcome, ceiling int) string {
	parts := []string{fmt.Sprintf("%-9s", o.Action)}
	for _, p := range []string{o.MessageID, o.Key, o.Error} {
		if p != "" {
			parts = append(parts, p)
		}
	}
	if o.MessageID == "" { // an execution (--executions)
		parts = append(parts, o.ExecutionArn)
	}
	switch {
	case o.Action == redrive.ActionStarted && o.MessageID != "", o.Action == redrive.ActionExisting:
		parts = append(parts, fmt.Sprintf("→ redrive %d/%d %s", o.RedriveCount+1, ceiling, o.ExecutionArn))
	case o.Action == redrive.ActionPermanent && o.MessageID != "":
		parts = append(parts, "(left: --message "+o.MessageID+" or --include-permanent runs it again)")
	case o.Action == redrive.ActionPermanent:
		parts = append(parts, "(left: --include-permanent redrives it)")
	case o.Action == redrive.ActionParked:
		parts = append(parts, fmt.Sprintf("(left: redriven %d times; --message %s runs it again)", o.RedriveCount, o.MessageID))
	case o.Action == redrive.ActionFailed:
		parts = append(parts, "(left: "+o.Reason+")")
	}
	return strings.Join(parts, " ")
}

func redriveSummary(rep redrive.Report) string {
	s := fmt.Sprintf("redrive: %d started, %d existing, %d discarded; left: %d permanent, %d parked, %d failed, %d newer; %v",
		rep.Started, rep.Existing, rep.Discarded, rep.Permanent, rep.Parked, rep.Failed, rep.Newer, time.Duration(rep.ElapsedMS)*time.Millisecond)
	if rep.Hidden > 0 {
		s += fmt.Sprintf("; %d left hidden until their visibility timeout (no sqs:ChangeMessageVisibility?)", rep.Hidden)
	}
	if !rep.Complete {
		s += fmt.Sprintf("; stopped at a bound: run again with --sent-before %d to continue", rep.SentBefore)
	}
	return s
}
