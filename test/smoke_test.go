package test

import (
	"bytes"
	"encoding/json"
	"errors"
	"os/exec"
	"strings"
	"testing"
	"time"
)

// The checks `imagepipe smoke` runs, in order (local/smoke.Checks): the same that
// gate a deploy in the delivery pipeline.
var smokeChecks = []string{"upload", "execution", "search", "document", "thumbnail", "orientation", "failure", "cleanup"}

// runSmoke runs `imagepipe smoke --endpoint … --api …` against tw and returns its
// stdout, stderr and exit status.
func runSmoke(t *testing.T, tw *Twin, args ...string) (string, string, int) {
	t.Helper()
	cmd := exec.Command(imagepipeBin, append([]string{"smoke", "--endpoint", tw.EdgeURL, "--api", tw.HTTPURL + "/api", "--timeout", "2m"}, args...)...)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	cmd.Env = append(cmd.Environ(), "AWS_ACCESS_KEY_ID=test", "AWS_SECRET_ACCESS_KEY=test", "AWS_REGION=us-east-1",
		"AWS_CONFIG_FILE=/dev/null", "AWS_SHARED_CREDENTIALS_FILE=/dev/null", "AWS_PROFILE=")
	err := cmd.Run()
	var exit *exec.ExitError
	switch {
	case errors.As(err, &exit):
		return stdout.String(), stderr.String(), exit.ExitCode()
	case err != nil:
		t.Fatalf("imagepipe smoke: %v", err)
	}
	return stdout.String(), stderr.String(), 0
}

// checkLines returns the lines of out that report a check, by check name.
func checkLines(out string) map[string]string {
	got := map[string]string{}
	for _, line := range strings.Split(out, "\n") {
		for _, name := range smokeChecks {
			for _, status := range []string{"ok   ", "FAIL ", "skip "} {
				if strings.HasPrefix(line, status+name+": ") {
					got[name] = line
				}
			}
		}
	}
	return got
}

// The smoke test that gates a deploy passes against the twin, and a twin broken on
// purpose (make-thumbnail always fails) makes it exit 1 with a FAIL line for the
// thumbnail; both runs leave nothing behind.
func TestSmokeAgainstTheTwin(t *testing.T) {
	tw := startTwin(t)

	t0 := time.Now()
	stdout, stderr, code := runSmoke(t, tw)
	took := time.Since(t0)
	lines := checkLines(stdout)
	if code != 0 || len(lines) != len(smokeChecks) {
		t.Fatalf("exit %d, %d check lines, want 0 and %d\nstdout:\n%s\nstderr:\n%s", code, len(lines), len(smokeChecks), stdout, stderr)
	}
	for _, name := range smokeChecks {
		if !strings.HasPrefix(lines[name], "ok   ") {
			t.Errorf("%s: %q, want ok", name, lines[name])
		}
	}
	t.Logf("healthy twin: %s\n%s", took.Round(time.Millisecond), stdout)

	tw.setFault(t, "make-thumbnail", "always")
	t0 = time.Now()
	stdout, stderr, code = runSmoke(t, tw, "--json")
	var rep struct {
		OK     bool `json:"ok"`
		Failed int  `json:"failed"`
		Checks []struct {
			Name, Status, Detail string
		} `json:"checks"`
	}
	if err := json.Unmarshal([]byte(stdout), &rep); err != nil {
		t.Fatalf("--json: stdout is not the report: %v\n%s", err, stdout)
	}
	lines = checkLines(stderr)
	if code != 1 || rep.OK || rep.Failed == 0 {
		t.Fatalf("broken twin: exit %d, report ok=%v failed=%d; want exit 1 and failures\n%s", code, rep.OK, rep.Failed, stderr)
	}
	if l := lines["thumbnail"]; !strings.HasPrefix(l, "FAIL thumbnail: ") || !strings.Contains(l, "no such object") {
		t.Errorf("thumbnail line %q, want a FAIL saying the thumbnail is missing", l)
	}
	if l := lines["execution"]; !strings.HasPrefix(l, "FAIL execution: FAILED") || !strings.Contains(l, "injected fault") {
		t.Errorf("execution line %q, want FAILED with the injected fault", l)
	}
	// What the fault does not touch still passes, and the run cleans up after itself.
	for _, name := range []string{"upload", "failure", "cleanup"} {
		if !strings.HasPrefix(lines[name], "ok   ") {
			t.Errorf("%s: %q, want ok", name, lines[name])
		}
	}
	t.Logf("broken twin: %s\n%s", time.Since(t0).Round(time.Millisecond), stderr)

	if v, inFlight := tw.queueDepth(t); v+inFlight != 0 {
		t.Errorf("failure queue after both runs: %d visible, %d in flight; the smoke test deletes its own messages", v, inFlight)
	}
	var ping struct{ Count int64 }
	if tw.getJSON(t, "/api/ping", &ping); ping.Count != 0 {
		t.Errorf("%d documents left in the index", ping.Count)
	}
}
