package main

import (
	"context"
	"flag"
	"fmt"
	"github.com/imagepipe/imagepipe/local/cli"
	"log/slog"
	"os"
	"strings"
	"time"

	"github.com/imagepipe/imagepipe/functions/imaging"
	"github.com/imagepipe/imagepipe/local/quota"
	"github.com/imagepipe/imagepipe/local/twin"
)

func init() {
	commands["serve"] = cli.Command{Summary: "run the local twin in the foreground (S3, Step Functions, SQS on the edge; web app and API)", Run: runServe}
}

func runServe(ctx context.Context, args []string) error {
	fs := flag.NewFlagSet("serve", flag.ContinueOnError)
	cfg := twin.Config{}
	fs.StringVar(&cfg.DataDir, "data", ".imagepipe", "data folder: objects, search index, executions, failure queue")
	fs.StringVar(&cfg.EdgeAddr, "edge-addr", "127.0.0.1:4566", "AWS-compatible edge (S3, Step Functions, SQS)")
	fs.StringVar(&cfg.HTTPAddr, "http-addr", "127.0.0.1:8080", "web app and /api/")
	fs.StringVar(&cfg.WebDir, "web", "web/dist", "the built web app")
	fs.StringVar(&cfg.Template, "template", twin.DefaultTemplate, "the CloudFormation template to deploy: a synthesized template file or a cdk.out folder")
	fs.StringVar(&cfg.FunctionsDir, "functions", "build/twin", "the functions' bootstraps built for this machine (<dir>/<name>/bootstrap; `make twin-lambdas`)")
	fs.IntVar(&cfg.Workers, "workers", 0, "executions open at once (0: 64)")
	fs.IntVar(&cfg.Invocations, "invocations", 0, "function invocations at once, twin-wide (0: four per CPU)")
	hosts := fs.String("host", "", "comma-separated names besides loopback that clients may reach the twin by (Host header); others are refused")
	fs.BoolVar(&cfg.AllowRemote, "allow-remote", false, "allow listening beyond loopback (then IMAGEPIPE_ACCESS_KEY_ID and IMAGEPIPE_SECRET_ACCESS_KEY are required)")
	cfg.Limits = imaging.DefaultLimits
	fs.Int64Var(&cfg.Limits.MaxBytes, "max-object-bytes", cfg.Limits.MaxBytes, "largest object the pipeline accepts")
	fs.Int64Var(&cfg.Limits.MaxPixels, "max-pixels", cfg.Limits.MaxPixels, "largest image (width × height) the pipeline decodes")
	fs.IntVar(&cfg.ExpressDeliveries, "express-deliveries", 1, "how many times each start of an EXPRESS state machine runs: AWS runs them at least once, 2 delivers every start twice")
	quotaScale := fs.Float64("quota-scale", 1, "AWS's default service quotas times this factor (Rekognition TPS, StartExecution and state transitions, Lambda concurrency, EventBridge invocations, S3 per-prefix rates); 0 disables them")
	quotas := quota.Defaults()
	fs.Func("quota", "NAME=VALUE: one quota in AWS's terms, before --quota-scale (repeatable; NAME one of "+strings.Join(quota.Names(), ", ")+")", quotas.Set)
	if err := fs.Parse(args); err != nil {
		return cli.ErrUsage
	}
	cfg.Quotas = quotas.Scale(*quotaScale)
	cfg.Hosts = strings.FieldsFunc(*hosts, func(r rune) bool { return r == ',' })
	cfg.AccessKeyID = os.Getenv("IMAGEPIPE_ACCESS_KEY_ID")
	cfg.SecretAccessKey = os.Getenv("IMAGEPIPE_SECRET_ACCESS_KEY")
	cfg.Logger = slog.Default()

	tw, err := twin.Start(ctx, cfg)
	if err != nil {
		return err
	}
	fmt.Printf(`imagepipe twin is running %s (data in %s)
  AWS edge (S3, Step Functions, SQS, Lambda, Rekognition, OpenSearch): %s
  web app and API (AWS_IAM):                                          %s
  the web app signs in as %s (operators group)

Try it:
  export AWS_ACCESS_KEY_ID=test AWS_SECRET_ACCESS_KEY=test AWS_REGION=us-east-1
  aws --endpoint-url %s s3 cp photo.jpg s3://%s/upload/
  curl --aws-sigv4 'aws:amz:us-east-1:execute-api' --user "$AWS_ACCESS_KEY_ID:$AWS_SECRET_ACCESS_KEY" '%s/api/images?search=photo'
  aws --endpoint-url %s stepfunctions list-executions --state-machine-arn %s
  aws --endpoint-url %s lambda list-functions
`, cfg.Template, cfg.DataDir, tw.EdgeURL(), tw.HTTPURL(), twin.OperatorUsername, tw.EdgeURL(), tw.Bucket(), tw.HTTPURL(), tw.EdgeURL(), tw.PipelineARN(), tw.EdgeURL())
	<-ctx.Done()
	slog.Info("shutting down")
	shutdown, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	return tw.Close(shutdown)
}
