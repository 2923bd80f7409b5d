package main

import (
	"github.com/imagepipe/imagepipe/functions/apiclient"
	"github.com/imagepipe/imagepipe/local/twin"

	"context"
	"encoding/json"
	"flag"
	"fmt"
	"github.com/imagepipe/imagepipe/local/cli"
	"io"
	"os"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/sfn"

	"github.com/imagepipe/imagepipe/functions/loadgen"
)

func init() {
	commands["load"] = cli.Command{Summary: "--rate R --duration D --concurrency C : upload generated photos, report throughput and latency", Run: runLoad}
}

func runLoad(ctx context.Context, args []string) error {
	return load(ctx, args, os.Stdout, os.Stderr)
}

func load(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("load", flag.ContinueOnError)
	fs.SetOutput(stderr)
	rate := fs.Float64("rate", 5, "uploads per second offered")
	duration := fs.Duration("duration", 10*time.Second, "how long to offer them")
	count := fs.Int("count", 0, "number of uploads (overrides rate x duration)")
	conc := fs.Int("concurrency", 4, "uploads in flight at most")
	endpoint := fs.String("endpoint", "", "the twin's edge endpoint (e.g. http://127.0.0.1:4566); empty: the AWS configuration")
	bucket := fs.String("bucket", "images", "bucket to upload to")
	prefix := fs.String("prefix", "", "key prefix under upload/ (default upload/load/<start time>/)")
	size := fs.String("size", "12mp", "generated image size: 12mp, 24mp or small")
	api := fs.String("api", "", "the API stage to poll for documents, signed (default http://127.0.0.1:8080/api with --endpoint; none for AWS)")
	stateMachine := fs.String("state-machine", "", "pipeline state machine ARN (default with --endpoint: the twin's); without a web API, its executions tell when an image is done (the AWS way)")
	history := fs.Int("history", 200, "execution histories to read for the per-state breakdown (0: none)")
	wait := fs.Duration("wait", 2*time.Minute, "after the last upload, how long to wait for stragglers")
	poll := fs.Duration("poll", 0, "poll interval (default 100ms for the API, 1s for Step Functions)")
	asJSON := fs.Bool("json", false, "print the report as JSON")
	fs.Usage = func() {
		fmt.Fprintln(stderr, "usage: imagepipe load [--rate 5] [--duration 10s] [--concurrency 4] [--endpoint URL] [--bucket images] [--size 12mp|small] [--json]")
		fs.PrintDefaults()
	}
	pos, err := cli.ParseInterspersed(fs, args)
	if err != nil {
		return err
	}
	if len(pos) != 0 || (*count <= 0 && (*rate <= 0 || *duration <= 0)) {
		fs.Usage()
		return cli.ErrUsage
	}
	if *prefix != "" && !strings.HasSuffix(*prefix, "/") {
		*prefix += "/"
	}
	cfg, err := awsConfig(ctx, *endpoint)
	if err != nil {
		return err
	}
	s3c := s3.NewFromConfig(cfg, func(o *s3.Options) { o.UsePathStyle = *endpoint != "" })
	start := time.Now()
	if *stateMachine == "" && *endpoint != "" {
		*stateMachine = fmt.Sprintf("arn:aws:states:%s:%s:stateMachine:%s", cfg.Region, twin.Account, twin.PipelineName)
	}
	sfnc := sfn.NewFromConfig(cfg)
	var checker loadgen.Checker
	switch {
	case *stateMachine != "" && *api == "" && *endpoint == "":
		checker = &loadgen.SFNChecker{Client: sfnc, StateMachineArn: *stateMachine, Since: start.Add(-time.Second)}
		if *poll == 0 {
			*poll = time.Second
		}
	case *api != "" || *endpoint != "":
		if *api == "" {
			*api = "http://127.0.0.1:8080/api"
		}
		checker = loadgen.APIChecker{BaseURL: *api, Client: apiclient.New(cfg.Credentials, cfg.Region)}
	default:
		return fmt.Errorf("against AWS, name the pipeline with --state-machine ARN (or a web API with --api)")
	}
	fmt.Fprintf(stderr, "generating %s sample photos...\n", *size)
	rep, err := loadgen.Run(ctx, loadgen.Config{
		Uploader:    loadgen.S3Uploader{Client: s3c},
		Checker:     checker,
		Bucket:      *bucket,
		Prefix:      *prefix,
		Rate:        *rate,
		Duration:    *duration,
		Count:       *count,
		Concurrency: *conc,
		Size:        *size,
		Wait:        *wait,
		Poll:        *poll,
	}, func(s loadgen.Stats) { fmt.Fprint(stderr, "\r"+progressLine(s)) })
	fmt.Fprintln(stderr)
	if err != nil && rep.Planned == 0 {
		return err
	}
	if *stateMachine != "" && *history > 0 && rep.Sent > 0 {
		states, herr := loadgen.StateTimes(ctx, sfnc, *stateMachine, start.Add(-time.Second), *history)
		if herr != nil {
			rep.Errors = append(rep.Errors, "execution histories: "+herr.Error())
		}
		rep.States = states
	}
	if *asJSON {
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		if e := enc.Encode(rep); e != nil {
			return e
		}
	} else {
		writeLoadReport(stdout, rep)
	}
	if err != nil {
		return err
	}
	if rep.Failed+rep.UploadFailed+rep.TimedOut > 0 {
		return fmt.Errorf("%d failed in the pipeline, %d uploads failed, %d not searchable in time", rep.Failed, rep.UploadFailed, rep.TimedOut)
	}
	return nil
}

// progressLine is the one-line progress bar (redrawn with \r).
func progressLine(s loadgen.Stats) string {
	const width = 30
	done := s.Indexed + s.Failed + s.UploadFailed
	filled := 0
	if s.Planned > 0 {
		filled = width * done / s.Planned
	}
	return fmt.Sprintf("[%s%s] sent %d/%d  indexed %d  failed %d  in flight %d  %5.1fs ",
		strings.Repeat("#", filled), strings.Repeat(".", width-filled),
		s.Sent, s.Planned, s.Indexed, s.Failed+s.UploadFailed, s.Pending, s.Elapsed.Seconds())
}

func writeLoadReport(w io.Writer, r loadgen.Report) {
	fmt.Fprintf(w, "uploads      s3://%s/%s*\n", r.Bucket, r.Prefix)
	fmt.Fprintf(w, "sent         %d of %d (%.1f/s achieved, %.1f/s offered)\n", r.Sent, r.Planned, r.SentRate, r.OfferedRate)
	fmt.Fprintf(w, "indexed      %d\n", r.Indexed)
	fmt.Fprintf(w, "failed       %d in the pipeline, %d uploads, %d not searchable in time\n", r.Failed, r.UploadFailed, r.TimedOut)
	fmt.Fprintf(w, "throughput   %.2f images/s (first upload to last indexed)\n", r.Throughput)
	fmt.Fprintf(w, "latency      p50 %.0f ms  p95 %.0f ms  p99 %.0f ms  max %.0f ms (upload to searchable, ±%.0f ms)\n", r.P50, r.P95, r.P99, r.Max, r.PollMs)
	fmt.Fprintf(w, "elapsed      %.1f s\n", r.Elapsed.Seconds())
	if len(r.States) > 0 {
		fmt.Fprintf(w, "\nwhere the time goes (%d executions; ms; queue = scheduled to started, run = the function):\n", r.States[0].Count)
		tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
		fmt.Fprintln(tw, "state\tp50\tp95\tqueue p50\tqueue p95\trun p50\trun p95")
		for _, s := range r.States {
			fmt.Fprintf(tw, "%s\t%.0f\t%.0f\t%s\t%s\t%s\t%s\n", s.State, s.TotalP50, s.TotalP95, dash(s.QueueP50), dash(s.QueueP95), dash(s.RunP50), dash(s.RunP95))
		}
		tw.Flush()
		fmt.Fprintln(w)
	}
	for _, e := range r.Errors {
		fmt.Fprintf(w, "error        %s\n", e)
	}
}

func dash(v float64) string {
	if v == 0 {
		return "-"
	}
	return fmt.Sprintf("%.0f", v)
}
