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
	"github.com/imagepipe/imagepipe/statemachine"
)

func init() {
	commands["redrive"] = cli.Command{
		Summary: "start failed work again: the redrive job (failure queue → new executions), followed round by round (--message ID, --no-wait; --discard ID; --executions: RedriveExecution)",
		Run: func(ctx context.Context, args []string) error {
			return redriveCmd(ctx, args, os.Stdout, os.Stderr, redriveClients{wire: awsClients, jobs: sfnJobs})
		},
	}
}

// Names of the twin's resources, used as defaults when talking to it.
const (
	pipelineStateMachine = twin.PipelineName
	removeStateMachine   = twin.RemoveName
	redriveStateMachine  = twin.RedriveJobName
	failureQueue         = twin.FailureQueueName
)

// redriveClients makes the clients: the Redriver's for the runs this process does
// itself (--discard, --executions), Step Functions' for the redrive job. Tests give
// fakes.
type redriveClients struct {
	wire func(aws.Config, *redrive.Redriver)
	jobs func(aws.Config) jobAPI
}

// awsClients gives the Redriver SDK clients on cfg.
func awsClients(cfg aws.Config, r *redrive.Redriver) {
	r.SQS, r.SFN = sqs.NewFromConfig(cfg), sfn.NewFromConfig(cfg)
}

func sfnJobs(cfg aws.Config) jobAPI { return sfn.NewFromConfig(cfg) }

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
	redriveArn                                 string
	executions, includePermanent, quiet        bool
	noWait                                     bool
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
	fs.StringVar(&f.redriveArn, "redrive-arn", "", "redrive job state machine ARN (default: the twin's "+redriveStateMachine+"; in AWS the stack output RedriveStateMachineArn)")
	fs.BoolVar(&f.noWait, "no-wait", false, "start the redrive job, print its execution ARN and return")
	fs.BoolVar(&f.executions, "executions", false, "resume TIMED_OUT and ABORTED executions with RedriveExecution instead of reading the queue (FAILED ones are in the queue)")
	fs.Var(&f.messages, "message", "redrive only this message `ID` (repeatable), even a permanent or parked one")
	fs.Var(&f.discard, "discard", "delete this message `ID` from the queue (repeatable); starts nothing")
	fs.BoolVar(&f.includePermanent, "include-permanent", false, "redrive permanent failures too (not an image, unsupported, corrupt, too large)")
	fs.IntVar(&f.ceiling, "ceiling", redrive.DefaultCeiling, "--discard, --executions: park a failure redriven this many times")
	fs.DurationVar(&f.maxTime, "max-time", 10*time.Minute, "--discard, --executions: stop after this long")
	fs.IntVar(&f.max, "max", 10000, "--discard, --executions: stop after receiving this many messages (or looking at this many executions)")
	fs.Int64Var(&f.sentBefore, "sent-before", 0, "--discard: only messages sent before this time (ms since the epoch, from a report)")
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
	if msg := jobFlagConflict(fs, f); msg != "" {
		fmt.Fprintln(stderr, "redrive: "+msg)
		return f, cli.ErrUsage
	}
	return f, nil
}

// jobFlagConflict says what is wrong with flags that do not go together: the redrive
// job has its own bounds, and a discard or an executions run is no job.
func jobFlagConflict(fs *flag.FlagSet, f redriveFlags) string {
	set := map[string]bool{}
	fs.Visit(func(fl *flag.Flag) { set[fl.Name] = true })
	inProcess := f.executions || len(f.discard) > 0
	switch {
	case len(f.discard) > 0 && len(f.messages) > 0:
		return "--discard and --message: one at a time (a discard deletes, the redrive job starts)"
	case len(f.discard) > 0 && f.includePermanent:
		return "--include-permanent goes with a redrive, not with --discard"
	case inProcess && (set["no-wait"] || set["redrive-arn"]):
		return "--no-wait and --redrive-arn are for the redrive job, not --discard or --executions"
	case !inProcess && (set["max-time"] || set["max"] || set["ceiling"] || set["sent-before"]):
		return fmt.Sprintf("--max-time, --max, --ceiling and --sent-before go with --discard or --executions: the redrive job sets its own bounds (rounds of %d s, at most %d rounds, ceiling %d)",
			statemachine.RedriveRoundSeconds, statemachine.RedriveMaxRounds, redrive.DefaultCeiling)
	case len(f.messages) > statemachine.RedriveMaxMessageIDs:
		return fmt.Sprintf("--message: at most %d ids per job", statemachine.RedriveMaxMessageIDs)
	}
	return ""
}

// redriveCmd starts the redrive job and follows it (or, with --discard and
// --executions, runs one bounded redrive itself): a progress line per message on
// stderr, the report as JSON on stdout.
func redriveCmd(ctx context.Context, args []string, stdout, stderr io.Writer, clients redriveClients) error {
	f, err := parseRedriveFlags(args, stderr)
	if err != nil {
		return err
	}
	cfg, err := awsConfig(ctx, f.endpoint)
	if err != nil {
		return err
	}
	if !f.executions && len(f.discard) == 0 {
		return redriveJob(ctx, f, cfg, clients.jobs(cfg), stdout, stderr)
	}
	return redriveInProcess(ctx, f, cfg, clients.wire, stdout, stderr)
}

// redriveInProcess runs one bounded redrive in this process (--discard, --executions).
func redriveInProcess(ctx context.Context, f redriveFlags, cfg aws.Config, wire func(aws.Config, *redrive.Redriver), stdout, stderr io.Writer) error {
	var err error
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
