package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials/stscreds"
	"github.com/aws/aws-sdk-go-v2/service/cloudformation"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/sfn"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	"github.com/aws/aws-sdk-go-v2/service/sts"

	"github.com/imagepipe/imagepipe/local/cli"
	"github.com/imagepipe/imagepipe/local/smoke"
	"github.com/imagepipe/imagepipe/local/twin"
)

func init() {
	commands["smoke"] = cli.Command{
		Summary: "prove a deployed stack (--stack) or the twin (--endpoint) end to end: one line per check, exit 1 on a failure",
		Run: func(ctx context.Context, args []string) error {
			return smokeCmd(ctx, args, os.Stdout, os.Stderr, connectSmoke)
		},
	}
}

// The twin's images bucket: it names buckets by their lower-cased construct id.
const twinBucket = "images"

// twinAPI is the twin's API stage, on its web listener.
const twinAPI = "http://127.0.0.1:8080/api"

type smokeFlags struct {
	stack, endpoint, api, roleArn string
	timeout, poll                 time.Duration
	json                          bool
}

func parseSmokeFlags(args []string, stderr io.Writer) (smokeFlags, error) {
	var f smokeFlags
	fs := flag.NewFlagSet("smoke", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.StringVar(&f.stack, "stack", twin.StackName, "the deployed stack whose outputs name the bucket, API, state machine and failure queue")
	fs.StringVar(&f.endpoint, "endpoint", "", "the twin's edge endpoint (e.g. http://127.0.0.1:4566) instead of a deployed stack")
	fs.StringVar(&f.api, "api", "", "the API stage's URL (default: the stack's ApiUrl output; with --endpoint "+twinAPI+")")
	fs.StringVar(&f.roleArn, "role-arn", "", "assume this role for every call (the stack's SmokeTestRoleArn output, which CI uses)")
	fs.DurationVar(&f.timeout, "timeout", smoke.DefaultTimeout, "deadline for the checks; the cleanup after them has "+smoke.DefaultCleanupTimeout.String()+" more")
	fs.DurationVar(&f.poll, "poll", smoke.DefaultPoll, "interval between looks while waiting")
	fs.BoolVar(&f.json, "json", false, "print the report as JSON on stdout (the check lines go to stderr)")
	fs.Usage = func() {
		fmt.Fprintln(stderr, "usage: imagepipe smoke [--stack ImagePipe | --endpoint URL [--api URL]] [--role-arn ARN] [--timeout 5m] [--json]")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		return f, cli.ErrUsage
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(stderr, "smoke: unexpected argument %q\n", fs.Arg(0))
		return f, cli.ErrUsage
	}
	if f.timeout <= 0 || f.poll <= 0 {
		fmt.Fprintln(stderr, "smoke: --timeout and --poll must be positive")
		return f, cli.ErrUsage
	}
	if f.endpoint != "" && f.api == "" {
		f.api = twinAPI
	}
	return f, nil
}

// smokeFailed is a run with failed checks (exit status 1).
type smokeFailed struct{ failed, total int }

func (e smokeFailed) Error() string {
	return fmt.Sprintf("%d of %d checks failed", e.failed, e.total)
}

// smokeCmd runs the checks: one line per check as it ends, then a summary (or the
// JSON report, with the lines on stderr).
func smokeCmd(ctx context.Context, args []string, stdout, stderr io.Writer, connect func(context.Context, smokeFlags) (*smoke.Runner, error)) error {
	f, err := parseSmokeFlags(args, stderr)
	if err != nil {
		return err
	}
	r, err := connect(ctx, f)
	if err != nil {
		return err
	}
	r.Timeout, r.Poll = f.timeout, f.poll
	lines := stdout
	if f.json {
		lines = stderr
	}
	r.Progress = func(c smoke.Check) { fmt.Fprintln(lines, c.Line()) }
	rep := r.Run(ctx)
	if f.json {
		if err := json.NewEncoder(stdout).Encode(rep); err != nil {
			return err
		}
	}
	fmt.Fprintln(lines, rep.Summary())
	if !rep.OK {
		return smokeFailed{rep.Failed, len(rep.Checks)}
	}
	return nil
}

// connectSmoke builds the clients from the ordinary AWS configuration (or the twin's
// defaults with --endpoint), assumes --role-arn when given, and finds the target:
// the twin's names, or the stack's outputs.
func connectSmoke(ctx context.Context, f smokeFlags) (*smoke.Runner, error) {
	cfg, err := awsConfig(ctx, f.endpoint)
	if err != nil {
		return nil, err
	}
	if f.roleArn != "" {
		cfg.Credentials = aws.NewCredentialsCache(stscreds.NewAssumeRoleProvider(sts.NewFromConfig(cfg), f.roleArn, func(o *stscreds.AssumeRoleOptions) {
			o.RoleSessionName = "imagepipe-smoke"
		}))
	}
	r := &smoke.Runner{
		S3: s3.NewFromConfig(cfg, func(o *s3.Options) {
			o.UsePathStyle = f.endpoint != ""
			o.DisableLogOutputChecksumValidationSkipped = true // thumbnails carry no checksum: not worth a line
		}),
		SFN: sfn.NewFromConfig(cfg),
	}
	sqsClient := sqs.NewFromConfig(cfg)
	r.SQS = sqsClient
	if f.endpoint != "" {
		r.Target, err = twinTarget(ctx, sqsClient, f.endpoint)
	} else {
		r.Target, err = smoke.StackTarget(ctx, cloudformation.NewFromConfig(cfg), f.stack)
	}
	if err != nil {
		return nil, err
	}
	if f.api != "" {
		r.Target.APIURL = f.api
	}
	r.Search = &smoke.Search{BaseURL: r.Target.APIURL, Region: cfg.Region, Credentials: cfg.Credentials}
	return r, nil
}

// twinTarget names the twin's resources (twin.go's names; the queue URL as the
// twin's SQS gives it).
func twinTarget(ctx context.Context, q *sqs.Client, endpoint string) (smoke.Target, error) {
	out, err := q.GetQueueUrl(ctx, &sqs.GetQueueUrlInput{QueueName: aws.String(twin.FailureQueueName)})
	if err != nil {
		return smoke.Target{}, fmt.Errorf("the twin's failure queue %s at %s: %w (is `imagepipe serve` running?)", twin.FailureQueueName, endpoint, err)
	}
	return smoke.Target{
		Name:            "twin " + strings.TrimSuffix(endpoint, "/"),
		Bucket:          twinBucket,
		PipelineArn:     fmt.Sprintf("arn:aws:states:%s:%s:stateMachine:%s", twin.Region, twin.Account, twin.PipelineName),
		FailureQueueURL: aws.ToString(out.QueueUrl),
	}, nil
}
