package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/credentials"

	"github.com/imagepipe/imagepipe/local/cli"
	"github.com/imagepipe/imagepipe/local/smoke"
	"github.com/imagepipe/imagepipe/local/smoke/smoketest"
)

func TestSmokeFlags(t *testing.T) {
	f, err := parseSmokeFlags([]string{"--endpoint", "http://127.0.0.1:4566"}, &bytes.Buffer{})
	if err != nil || f.api != twinAPI || f.stack != "ImagePipe" || f.timeout != smoke.DefaultTimeout || f.json {
		t.Errorf("twin defaults: %+v, %v", f, err)
	}
	f, err = parseSmokeFlags([]string{"--stack", "Other", "--role-arn", "arn:aws:iam::1:role/r", "--timeout", "90s", "--json"}, &bytes.Buffer{})
	if err != nil || f.stack != "Other" || f.api != "" || f.roleArn != "arn:aws:iam::1:role/r" || f.timeout != 90*time.Second || !f.json {
		t.Errorf("stack flags: %+v, %v", f, err)
	}
	for _, args := range [][]string{{"extra"}, {"--timeout", "0s"}, {"--nope"}} {
		var stderr bytes.Buffer
		if _, err := parseSmokeFlags(args, &stderr); !errors.Is(err, cli.ErrUsage) || stderr.Len() == 0 {
			t.Errorf("%v: %v, stderr %q: want a usage error explained", args, err, stderr.String())
		}
	}
}

// runSmoke runs `imagepipe smoke ARGS` against the fake pipeline.
func runSmoke(t *testing.T, b smoketest.Breaks, args ...string) (stdout, stderr string, err error) {
	t.Helper()
	p := smoketest.New(b)
	t.Cleanup(p.Close)
	connect := func(_ context.Context, f smokeFlags) (*smoke.Runner, error) {
		if f.endpoint == "" || f.api != twinAPI {
			t.Errorf("flags %+v", f)
		}
		return &smoke.Runner{
			Target: smoke.Target{Name: "fake", Bucket: smoketest.Bucket, APIURL: p.SearchURL(), PipelineArn: smoketest.PipelineArn, FailureQueueURL: smoketest.QueueURL},
			S3:     p, SFN: p.SFN, SQS: p.SQS, CleanupTimeout: time.Second,
			Search: &smoke.Search{BaseURL: p.SearchURL(), Region: "us-east-1", Credentials: credentials.NewStaticCredentialsProvider("test", "test", "")},
		}, nil
	}
	var out, errOut bytes.Buffer
	err = smokeCmd(context.Background(), append([]string{"--endpoint", "http://127.0.0.1:4566", "--poll", "10ms", "--timeout", "5s"}, args...), &out, &errOut, connect)
	return out.String(), errOut.String(), err
}

func TestSmokeLines(t *testing.T) {
	stdout, _, err := runSmoke(t, smoketest.Breaks{})
	if err != nil {
		t.Fatalf("%v\n%s", err, stdout)
	}
	lines := strings.Split(strings.TrimSpace(stdout), "\n")
	if len(lines) != len(smoke.Checks)+1 {
		t.Fatalf("%d lines, want one per check and a summary:\n%s", len(lines), stdout)
	}
	for i, name := range smoke.Checks {
		if !strings.HasPrefix(lines[i], "ok   "+name+": ") {
			t.Errorf("line %d %q, want ok for %s", i, lines[i], name)
		}
	}
	if last := lines[len(lines)-1]; !strings.HasPrefix(last, "smoke passed: 8 ok, 0 failed in ") {
		t.Errorf("summary %q", last)
	}
}

func TestSmokeFailsWithALine(t *testing.T) {
	stdout, _, err := runSmoke(t, smoketest.Breaks{IgnoreOrientation: true})
	var sf smokeFailed
	if !errors.As(err, &sf) || err.Error() != "2 of 8 checks failed" {
		t.Fatalf("err %v, want 2 of 8 checks failed", err)
	}
	if !strings.Contains(stdout, "\nFAIL thumbnail: 40×80, want 80×40\n") || !strings.Contains(stdout, "\nFAIL orientation: red corner at top-left") {
		t.Errorf("stdout:\n%s", stdout)
	}
}

func TestSmokeJSON(t *testing.T) {
	stdout, stderr, err := runSmoke(t, smoketest.Breaks{FailThumbnail: true}, "--json")
	if err == nil {
		t.Fatal("a failed run exited 0")
	}
	var rep smoke.Report
	if err := json.Unmarshal([]byte(stdout), &rep); err != nil {
		t.Fatalf("stdout is not one JSON report: %v\n%s", err, stdout)
	}
	if rep.OK || rep.Failed != 5 || len(rep.Checks) != 8 || rep.Checks[4].Name != smoke.CheckThumbnail || rep.Checks[4].Status != smoke.Fail {
		t.Errorf("report %+v", rep)
	}
	if !strings.Contains(stderr, "FAIL execution: FAILED, want SUCCEEDED: TransientError") {
		t.Errorf("stderr (the lines):\n%s", stderr)
	}
}
