// Command load-tester is the load-tester Lambda (the workshop's LoadTester, kept): it
// uploads generated sample photos (package loadgen) to the images bucket under
// upload/load/<run id>/ at a given rate for a given duration, so that the pipeline
// runs on each, and answers with the upload report. Signed-in users of the web app
// invoke it from the Status page; `aws lambda invoke` works too.
//
// Input: {"rate": 5, "duration": "30s", "size": "small"}: uploads a second (at
// most MaxRate for the size), a Go duration (at most MaxDuration, and short enough to
// finish before the function's timeout), and "small" (1024x768, default) or "12mp"
// (4000x3000). Output: Output. A bad input fails with errorType InputError.
//
// Environment: IMAGES_BUCKET (required).
package main

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"log/slog"
	"math"
	"time"

	"github.com/imagepipe/imagepipe/functions/lambdaenv"

	"github.com/aws/aws-lambda-go/lambda"
	"github.com/aws/aws-lambda-go/lambdacontext"

	"github.com/imagepipe/imagepipe/functions/loadgen"
)

// Input is the invocation payload.
type Input struct {
	Rate     float64 `json:"rate"`
	Duration string  `json:"duration"`
	Size     string  `json:"size,omitempty"`
}

// Output is the run's report. Durations are in milliseconds.
type Output struct {
	RunID    string  `json:"runId"`
	Bucket   string  `json:"bucket"`
	Prefix   string  `json:"prefix"`
	Size     string  `json:"size"`
	Rate     float64 `json:"rate"`
	Duration string  `json:"duration"`
	Planned  int     `json:"planned"`
	Sent     int     `json:"sent"`   // uploads S3 accepted
	Failed   int     `json:"failed"` // uploads S3 refused or that never got an answer
	// Complete is false when the run stopped at the function's deadline.
	Complete    bool     `json:"complete"`
	ElapsedMs   float64  `json:"elapsedMs"`
	SentRate    float64  `json:"sentRate"` // uploads a second, achieved
	UploadP50Ms float64  `json:"uploadP50Ms"`
	UploadP95Ms float64  `json:"uploadP95Ms"`
	UploadP99Ms float64  `json:"uploadP99Ms"`
	UploadMaxMs float64  `json:"uploadMaxMs"`
	Errors      []string `json:"errors,omitempty"` // the first few
	// Timeline is the run second by second: uploads answered and their latency.
	Timeline []loadgen.Second `json:"timeline,omitempty"`
}

// Limits of one invocation.
const (
	// MaxDuration keeps a run (plus image generation and stragglers) inside the
	// function's 6-minute timeout.
	MaxDuration = 5 * time.Minute
	// MaxUploads bounds a run whatever the rate.
	MaxUploads = 30_000
)

// MaxRate is the highest rate per size: a 12 MP sample is about 3 MB, and one
// function's network is shared by all its uploads.
var MaxRate = map[string]float64{"small": 100, "12mp": 20}

// Time kept before the function's deadline: reserve for image generation before the
// first upload, uploads still in flight at the end, and the answer; margin for the
// answer alone, when a run is stopped to return its report instead of timing out.
const (
	reserve = 20 * time.Second
	margin  = 5 * time.Second
)

// InputError is an invocation the load tester refuses (Step Functions and callers see
// errorType "InputError").
type InputError struct{ Reason string }

func (e *InputError) Error() string { return "load-tester input: " + e.Reason }

type handler struct {
	uploader        loadgen.Uploader
	bucket          string
	reserve, margin time.Duration
	log             *slog.Logger
	body            func(i int) []byte // nil: generated sample photos (tests use tiny bodies)
}

// params checks the input against the limits and the time this invocation has left.
func (in Input) params(ctx context.Context, reserve time.Duration) (string, time.Duration, error) {
	size := in.Size
	if size == "" {
		size = "small"
	}
	maxRate, ok := MaxRate[size]
	if !ok {
		return "", 0, &InputError{fmt.Sprintf("size %q: want small or 12mp", in.Size)}
	}
	if math.IsNaN(in.Rate) || in.Rate <= 0 || in.Rate > maxRate {
		return "", 0, &InputError{fmt.Sprintf("rate %v: want more than 0 and at most %v uploads a second for size %s", in.Rate, maxRate, size)}
	}
	d, err := time.ParseDuration(in.Duration)
	if err != nil || d <= 0 || d > MaxDuration {
		return "", 0, &InputError{fmt.Sprintf("duration %q: want a Go duration above 0 and at most %s, e.g. 30s", in.Duration, MaxDuration)}
	}
	if n := math.Ceil(in.Rate * d.Seconds()); n > MaxUploads {
		return "", 0, &InputError{fmt.Sprintf("%v/s for %s is %v uploads: at most %d", in.Rate, d, n, MaxUploads)}
	}
	if dl, ok := ctx.Deadline(); ok {
		if left := time.Until(dl) - reserve; d > left {
			return "", 0, &InputError{fmt.Sprintf("duration %s: this invocation has %s left for uploading (the function's timeout)", d, left.Truncate(time.Second))}
		}
	}
	return size, d, nil
}

func (h handler) handle(ctx context.Context, in Input) (Output, error) {
	size, d, err := in.params(ctx, h.reserve)
	if err != nil {
		return Output{}, err
	}
	id := runID(ctx)
	prefix := "upload/load/" + id + "/"
	run := ctx
	if dl, ok := ctx.Deadline(); ok {
		// Stop a little early to answer with the report instead of timing out.
		var cancel context.CancelFunc
		run, cancel = context.WithDeadline(ctx, dl.Add(-h.margin))
		defer cancel()
	}
	h.log.InfoContext(ctx, "load test: starting", "runId", id, "rate", in.Rate, "duration", d.String(), "size", size, "prefix", prefix)
	rep, err := loadgen.Run(run, loadgen.Config{
		Uploader: h.uploader,
		Bucket:   h.bucket,
		Prefix:   prefix,
		Rate:     in.Rate,
		Duration: d,
		// About one second of uploads in flight: enough to hold the rate while S3
		// answers slowly, few enough for one function's memory.
		Concurrency: int(min(max(math.Ceil(in.Rate), 4), 64)),
		Size:        size,
		Body:        h.body,
	}, nil)
	// The run may end on its own just as the deadline fails the last uploads: it is
	// complete only if the deadline did not cut it.
	complete := err == nil && run.Err() == nil
	if err != nil && run.Err() == nil {
		return Output{}, fmt.Errorf("load test %s: %w", id, err)
	}
	out := Output{
		RunID: id, Bucket: h.bucket, Prefix: prefix, Size: size, Rate: in.Rate, Duration: d.String(),
		Planned: rep.Planned, Sent: rep.Sent, Failed: rep.UploadFailed, Complete: complete,
		ElapsedMs: float64(rep.Elapsed) / float64(time.Millisecond), SentRate: rep.SentRate,
		UploadP50Ms: rep.UploadP50, UploadP95Ms: rep.UploadP95, UploadP99Ms: rep.UploadP99, UploadMaxMs: rep.UploadMax,
		Errors: rep.Errors, Timeline: rep.Timeline,
	}
	h.log.InfoContext(ctx, "load test: done", "runId", id, "planned", out.Planned, "sent", out.Sent, "failed", out.Failed,
		"complete", out.Complete, "elapsedMs", out.ElapsedMs, "uploadP95Ms", out.UploadP95Ms)
	return out, nil
}

// runID is the invocation's request id (unique, and findable in the logs), or a
// random one outside Lambda.
func runID(ctx context.Context) string {
	if lc, ok := lambdacontext.FromContext(ctx); ok && lc.AwsRequestID != "" {
		return lc.AwsRequestID
	}
	var b [8]byte
	_, _ = rand.Read(b[:])
	return time.Now().UTC().Format("20060102T150405") + "-" + hex.EncodeToString(b[:])
}

func main() {
	lambdaenv.Setup()
	log := slog.Default()
	bucket := lambdaenv.Required("IMAGES_BUCKET")
	cfg := lambdaenv.AWSConfig(context.Background()) // honours AWS_ENDPOINT_URL(_S3)
	client := lambdaenv.S3(cfg)
	lambda.Start(handler{uploader: loadgen.S3Uploader{Client: client}, bucket: bucket, reserve: reserve, margin: margin, log: log}.handle)
}
