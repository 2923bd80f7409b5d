package redrive_test

import (
	"encoding/json"
	"os"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/imagepipe/imagepipe/functions/pipeline"
	"github.com/imagepipe/imagepipe/functions/redrive"
	"github.com/imagepipe/imagepipe/functions/redrive/redrivetest"
)

func TestExecutionNameCarriesTheCount(t *testing.T) {
	for _, n := range []int{1, 2, redrive.DefaultCeiling, 123} {
		name := redrive.ExecutionName("6f1c9a54-1d1e-4a7c-9a55-2bb3d1f0a2a1", n)
		if len(name) > 80 || !regexp.MustCompile(`^[A-Za-z0-9_-]+$`).MatchString(name) {
			t.Errorf("%q: not a valid Step Functions execution name for CloudWatch-logged machines", name)
		}
		if got := redrive.RedriveCountOf(name); got != n {
			t.Errorf("RedriveCountOf(%q) = %d, want %d", name, got, n)
		}
		if got := redrive.RedriveCountOf(redrivetest.ExecutionArn(pipelineArn, name)); got != n {
			t.Errorf("from the ARN: %d, want %d", got, n)
		}
	}
	if a, b := redrive.ExecutionName("m", 1), redrive.ExecutionName("m", 1); a != b {
		t.Errorf("names must be stable per message: %q, %q", a, b)
	}
	if redrive.ExecutionName("m", 1) == redrive.ExecutionName("n", 1) || redrive.ExecutionName("m", 1) == redrive.ExecutionName("m", 2) {
		t.Error("names must differ between messages and between counts")
	}
	for name, want := range map[string]int{
		"8c4f1f0e-35b0-4b7e-a1a9-8a1f5e0b7c11":       0, // started by EventBridge
		"redrive-0123456789abcdef0123456789abcdef":   1, // an earlier version's unnumbered name
		"redrive-x-0123456789abcdef0123456789abcdef": 0,
		"":                      0,
		"redrive-3-not-the-hex": 0,
	} {
		if got := redrive.RedriveCountOf(name); got != want {
			t.Errorf("RedriveCountOf(%q) = %d, want %d", name, got, want)
		}
	}
}

func TestSummarize(t *testing.T) {
	yes, no := true, false
	in := redrivetest.Event(pipeline.DetailTypeCreated, "upload/a.txt")
	arn := redrivetest.ExecutionArn(pipelineArn, redrive.ExecutionName("m1", redrive.DefaultCeiling))
	cases := []struct {
		body            string
		permanent, park bool
		count           int
	}{
		{redrivetest.FailureBody(pipeline.ErrNameNotAnImage, in, "", nil), true, false, 0},
		{redrivetest.FailureBody(pipeline.ErrNameTransient, in, "", nil), false, false, 0},
		{redrivetest.FailureBody(pipeline.ErrNameTransient, in, "", &yes), true, false, 0}, // the message's verdict wins
		{redrivetest.FailureBody(pipeline.ErrNameTooLarge, in, arn, &no), false, true, redrive.DefaultCeiling},
	}
	for i, c := range cases {
		s, err := redrive.Summarize(c.body)
		if err != nil || s.Permanent != c.permanent || s.Parked != c.park || s.RedriveCount != c.count || s.Key != "upload/a.txt" || s.Bucket != "images" {
			t.Errorf("%d: %+v %v", i, s, err)
		}
	}
	// S3 URL-encodes keys in its events; the summary names the object as S3 does.
	enc := redrivetest.FailureBody(pipeline.ErrNameNotAnImage, redrivetest.Event(pipeline.DetailTypeCreated, "upload/red+flower%2B1.jpg"), "", nil)
	if s, err := redrive.Summarize(enc); err != nil || s.Key != "upload/red flower+1.jpg" {
		t.Errorf("encoded key: %+v %v", s, err)
	}
	for _, bad := range []string{"", "not json", `{"error":"X"}`, `{"error":"X","input":{"a":1}}`} {
		if _, err := redrive.Summarize(bad); err == nil {
			t.Errorf("Summarize(%q) accepted", bad)
		}
	}
}

// The state machines' failure messages carry the verdict from the same list of
// permanent errors as this package, the execution ARN, and the original input.
func TestStateMachinesWriteTheFailureContract(t *testing.T) {
	arrayArgs := regexp.MustCompile(`^States\.ArrayContains\(States\.Array\((.*)\), \$\.error\.Error\)$`)
	for _, file := range []string{"pipeline.asl.json", "remove.asl.json"} {
		raw, err := os.ReadFile("../../statemachine/" + file)
		if err != nil {
			t.Fatal(err)
		}
		var def struct {
			States map[string]struct {
				Parameters struct {
					MessageBody map[string]string
				}
			}
		}
		if err := json.Unmarshal(raw, &def); err != nil {
			t.Fatalf("%s: %v", file, err)
		}
		body := def.States["SendToFailureQueue"].Parameters.MessageBody
		want := map[string]string{"error.$": "$.error.Error", "cause.$": "$.error.Cause", "state.$": "$.state", "input.$": "$$.Execution.Input", "executionArn.$": "$$.Execution.Id"}
		for k, v := range want {
			if body[k] != v {
				t.Errorf("%s: MessageBody[%q] = %q, want %q", file, k, body[k], v)
			}
		}
		m := arrayArgs.FindStringSubmatch(body["permanent.$"])
		if m == nil {
			t.Errorf("%s: permanent.$ = %q, want States.ArrayContains(States.Array(...), $.error.Error)", file, body["permanent.$"])
			continue
		}
		var names []string
		for _, a := range strings.Split(m[1], ",") {
			names = append(names, strings.Trim(strings.TrimSpace(a), "'"))
		}
		if !slices.Equal(names, redrive.PermanentErrorNames) {
			t.Errorf("%s: permanent errors %v, redrive.PermanentErrorNames %v", file, names, redrive.PermanentErrorNames)
		}
	}
}
