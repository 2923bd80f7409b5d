// Package smoke proves a deployed pipeline end to end, the same way against AWS and
// the local twin: it uploads a generated photo with known EXIF and a corrupt file
// under upload/smoke/<run id>/, follows both through the pipeline (the execution,
// the signed search API, the thumbnail, the failure queue), then deletes them and
// checks that the remove pipeline cleaned up. Each check ends in one line.
package smoke

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"time"

	"github.com/imagepipe/imagepipe/functions/pipeline"
)

// Status is a check's verdict.
type Status string

const (
	OK   Status = "ok"
	Fail Status = "FAIL"
	// Skip is a check the target cannot answer (an Express state machine keeps no
	// execution list); it fails nothing.
	Skip Status = "skip"
)

// The checks, in the order they run.
const (
	CheckUpload      = "upload"
	CheckExecution   = "execution"
	CheckSearch      = "search"
	CheckDocument    = "document"
	CheckThumbnail   = "thumbnail"
	CheckOrientation = "orientation"
	CheckFailure     = "failure"
	CheckCleanup     = "cleanup"
)

// Checks lists every check name in order.
var Checks = []string{CheckUpload, CheckExecution, CheckSearch, CheckDocument, CheckThumbnail, CheckOrientation, CheckFailure, CheckCleanup}

// Check is one check's outcome.
type Check struct {
	Name      string `json:"name"`
	Status    Status `json:"status"`
	Detail    string `json:"detail"`
	ElapsedMS int64  `json:"elapsedMs"`
}

// Line is the check for a person: "ok   upload: …", "FAIL thumbnail: 40×80, want 80×40".
func (c Check) Line() string { return fmt.Sprintf("%-4s %s: %s", c.Status, c.Name, c.Detail) }

// Report is a whole run, as `imagepipe smoke --json` prints it.
type Report struct {
	RunID     string  `json:"runId"`
	Target    Target  `json:"target"`
	Prefix    string  `json:"prefix"`
	OK        bool    `json:"ok"`
	Passed    int     `json:"passed"`
	Failed    int     `json:"failed"`
	Skipped   int     `json:"skipped"`
	ElapsedMS int64   `json:"elapsedMs"`
	Checks    []Check `json:"checks"`
}

// Summary is the report's last line for a person.
func (r Report) Summary() string {
	verdict := "passed"
	if !r.OK {
		verdict = "FAILED"
	}
	s := fmt.Sprintf("smoke %s: %d ok, %d failed", verdict, r.Passed, r.Failed)
	if r.Skipped > 0 {
		s += fmt.Sprintf(", %d skipped", r.Skipped)
	}
	return s + fmt.Sprintf(" in %s against %s (run %s)", time.Duration(r.ElapsedMS)*time.Millisecond, r.Target.Name, r.RunID)
}

// Defaults of a Runner's zero fields.
const (
	DefaultTimeout        = 5 * time.Minute
	DefaultCleanupTimeout = 2 * time.Minute
	DefaultPoll           = 250 * time.Millisecond
)

// Runner runs the checks against one target.
type Runner struct {
	Target Target
	S3     S3API
	SFN    SFNAPI
	SQS    SQSAPI
	Search *Search
	// RunID names the run's prefix, upload/smoke/<RunID>/; empty: NewRunID.
	RunID string
	// Timeout bounds the checks; the cleanup after them has CleanupTimeout more, so
	// that a run that timed out still removes what it uploaded.
	Timeout, CleanupTimeout time.Duration
	Poll                    time.Duration // between looks while waiting
	Progress                func(Check)   // called as each check ends
}

// NewRunID is a run id of letters and digits only, so that the search API's
// tokenizer keeps it one word: the UTC time and 24 random bits.
func NewRunID(now time.Time) string {
	b := make([]byte, 3)
	rand.Read(b)
	return now.UTC().Format("20060102t150405") + hex.EncodeToString(b)
}

// run is one Run's state, shared by its steps.
type run struct {
	*Runner
	prefix, photoKey, corruptKey string
	uploaded                     time.Time
	execStatus                   string // the photo's execution's final status, "" when unknown
	doc                          *pipeline.Document
	report                       Report
}

// Run runs every check and returns the report; it fails nothing itself: read
// Report.OK. Cancelling ctx stops the checks, not the cleanup.
func (r *Runner) Run(ctx context.Context) Report {
	start := time.Now()
	r = r.withDefaults()
	prefix := pipeline.UploadPrefix + "smoke/" + r.RunID + "/"
	ru := &run{Runner: r, prefix: prefix, photoKey: prefix + "photo.jpg", corruptKey: prefix + "corrupt.jpg",
		report: Report{RunID: r.RunID, Target: r.Target, Prefix: prefix, Checks: []Check{}}}

	cctx, cancel := context.WithTimeout(ctx, r.Timeout)
	if ru.step(CheckUpload, func() (string, error) { return ru.upload(cctx) }) {
		ru.step(CheckExecution, func() (string, error) { return ru.execution(cctx) })
		ru.step(CheckSearch, func() (string, error) { return ru.search(cctx) })
		ru.step(CheckDocument, ru.document)
		ru.thumbnailSteps(cctx)
		ru.step(CheckFailure, func() (string, error) { return ru.failure(cctx) })
	} else {
		for _, name := range Checks[1 : len(Checks)-1] {
			ru.step(name, func() (string, error) { return "", errors.New("not run: the upload failed") })
		}
	}
	cancel()
	clctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), r.CleanupTimeout)
	defer cancel()
	ru.step(CheckCleanup, func() (string, error) { return ru.cleanup(clctx) })

	rep := ru.report
	rep.ElapsedMS = time.Since(start).Milliseconds()
	rep.OK = rep.Failed == 0
	return rep
}

// withDefaults is a copy of r with its zero fields set: a Runner run twice makes
// two runs.
func (r *Runner) withDefaults() *Runner {
	c := *r
	r = &c
	if r.RunID == "" {
		r.RunID = NewRunID(time.Now())
	}
	if r.Timeout <= 0 {
		r.Timeout = DefaultTimeout
	}
	if r.CleanupTimeout <= 0 {
		r.CleanupTimeout = DefaultCleanupTimeout
	}
	if r.Poll <= 0 {
		r.Poll = DefaultPoll
	}
	return r
}

// errSkip marks a check the target cannot answer; its message is the detail.
type errSkip struct{ reason string }

func (e errSkip) Error() string { return e.reason }

// step runs one check and records it; it reports whether it passed (or was skipped).
func (ru *run) step(name string, f func() (string, error)) bool {
	t0 := time.Now()
	detail, err := f()
	c := Check{Name: name, Status: OK, Detail: detail, ElapsedMS: time.Since(t0).Milliseconds()}
	var skip errSkip
	switch {
	case errors.As(err, &skip):
		c.Status, c.Detail = Skip, skip.reason
		ru.report.Skipped++
	case err != nil:
		c.Status, c.Detail = Fail, err.Error()
		ru.report.Failed++
	default:
		ru.report.Passed++
	}
	ru.report.Checks = append(ru.report.Checks, c)
	if ru.Progress != nil {
		ru.Progress(c)
	}
	return c.Status != Fail
}

// poll calls f until it is done or ctx ends. f returns done with the outcome (nil:
// success), or not done with what it is still waiting for, which the timeout error
// names: a call the deadline cut short does not replace that story.
func (ru *run) poll(ctx context.Context, f func() (done bool, err error)) error {
	t0 := time.Now()
	var waiting error
	for {
		done, err := f()
		if err != nil && ctx.Err() != nil && errors.Is(err, ctx.Err()) {
			done, err = false, nil
		}
		if done {
			return err
		}
		if err != nil {
			waiting = err
		}
		select {
		case <-ctx.Done():
			if waiting == nil {
				waiting = errors.New("no answer")
			}
			return fmt.Errorf("%w after %s", waiting, time.Since(t0).Round(100*time.Millisecond))
		case <-time.After(ru.Poll):
		}
	}
}

// since is d rounded for a line.
func since(t time.Time) string {
	return time.Since(t).Round(10 * time.Millisecond).String()
}
