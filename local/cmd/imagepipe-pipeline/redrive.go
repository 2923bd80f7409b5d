package main

import (
	"github.com/imagepipe/imagepipe/local/twin"

	"context"
	"encoding/json"
	"flag"
	"fmt"
	"github.com/imagepipe/imagepipe/local/cli"
	"os"

	"github.com/aws/aws-sdk-go-v2/service/sfn"
	"github.com/aws/aws-sdk-go-v2/service/sqs"

	"github.com/imagepipe/imagepipe/functions/redrive"
)

func init() {
	commands["redrive"] = cli.Command{Summary: "start failed work again: failure queue → new executions (or --executions: RedriveExecution)", Run: runRedrive}
}

// Names of the twin's resources, used as defaults when talking to it.
const (
	pipelineStateMachine = twin.PipelineName
	removeStateMachine   = twin.RemoveName
	failureQueue         = twin.FailureQueueName
)

func runRedrive(ctx context.Context, args []string) error {
	fs := flag.NewFlagSet("redrive", flag.ContinueOnError)
	endpoint := fs.String("endpoint", "", "the twin's edge endpoint (default: the ordinary AWS configuration)")
	queueURL := fs.String("queue-url", "", "failure queue URL (default: the twin's "+failureQueue+")")
	pipelineArn := fs.String("pipeline-arn", "", "pipeline state machine ARN (default: the twin's)")
	removeArn := fs.String("remove-arn", "", "remove state machine ARN (default: the twin's)")
	executions := fs.Bool("executions", false, "redrive FAILED executions with RedriveExecution instead of reading the queue")
	if err := fs.Parse(args); err != nil {
		return cli.ErrUsage
	}
	cfg, err := awsConfig(ctx, *endpoint)
	if err != nil {
		return err
	}
	if *endpoint != "" { // the twin's names, unless given
		region := cfg.Region
		if *queueURL == "" {
			*queueURL = *endpoint + "/" + twin.Account + "/" + failureQueue
		}
		if *pipelineArn == "" {
			*pipelineArn = fmt.Sprintf("arn:aws:states:%s:%s:stateMachine:%s", region, twin.Account, pipelineStateMachine)
		}
		if *removeArn == "" {
			*removeArn = fmt.Sprintf("arn:aws:states:%s:%s:stateMachine:%s", region, twin.Account, removeStateMachine)
		}
	}
	if *pipelineArn == "" || (!*executions && *queueURL == "") {
		return fmt.Errorf("against AWS, give --pipeline-arn and --queue-url (the stack's outputs)")
	}
	r := &redrive.Redriver{
		SQS: sqs.NewFromConfig(cfg), SFN: sfn.NewFromConfig(cfg),
		QueueURL: *queueURL, PipelineArn: *pipelineArn, RemoveArn: *removeArn,
	}
	var rep redrive.Report
	if *executions {
		rep, err = r.FailedExecutions(ctx)
	} else {
		rep, err = r.FromQueue(ctx)
	}
	json.NewEncoder(os.Stdout).Encode(rep)
	return err
}
