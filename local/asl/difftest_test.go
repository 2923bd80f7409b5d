package asl

import (
	"github.com/imagepipe/imagepipe/functions/testkit"

	"bytes"
	"context"
	"encoding/json"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"
)

// knownDifferences are suite cases where aws-local-stepfunctions and this engine
// disagree and the AWS documentation sides with this engine (DIFFERENCES.md).
var knownDifferences = map[string]string{
	"intrinsic_failure/0": "ArrayGetItem out of range: JS returns null; AWS fails with States.Runtime",
	"intrinsic_runtime/0": "JS: States.ALL catches StringToJson of a string that is not JSON; AWS raises the uncatchable States.Runtime",
	"intrinsic_runtime/5": "JS: ArrayGetItem past the end returns null; AWS fails with States.Runtime",
	"key_order/0":         "JS: States.Hash takes only a string; AWS hashes any JSON value as it serialises it",
	"choice_all_true/0":   "JS: IsPresent false on a missing field and IsTimestamp false on a non-timestamp do not match",
	"fail_paths/0":        "JS: CausePath cannot be an intrinsic function; AWS allows it",
	"intrinsics_values/0": "JS: StringSplit splits on the whole delimiter string and JsonMerge mutates its first argument",
}

// TestDifferential runs the testdata suite on aws-local-stepfunctions (node) and on
// this engine, with the same handler pairs, and compares outputs or error names.
// It skips when difftest/node_modules is absent (make deps-asl installs it).
func TestDifferential(t *testing.T) {
	if _, err := os.Stat(filepath.Join("difftest", "node_modules", "aws-local-stepfunctions")); err != nil {
		testkit.SkipUnlessCI(t, "difftest/node_modules absent: run `make deps-asl` to enable the differential test")
	}
	node, err := exec.LookPath("node")
	if err != nil {
		testkit.SkipUnlessCI(t, "node not installed")
	}
	suite := loadSuite(t)
	names := make([]string, 0, len(suite))
	for n := range suite {
		names = append(names, n)
	}
	sort.Strings(names)
	type request struct {
		Definition json.RawMessage `json:"definition"`
		Input      json.RawMessage `json:"input"`
	}
	var reqs []request
	var ids []string
	for _, n := range names {
		var meta struct {
			Difftest string `json:"difftest"`
		}
		b, _ := os.ReadFile(filepath.Join("testdata", n+".json"))
		_ = json.Unmarshal(b, &meta)
		if strings.HasPrefix(meta.Difftest, "skip") {
			t.Logf("%s: %s", n, meta.Difftest)
			continue
		}
		for i, c := range suite[n].Cases {
			reqs = append(reqs, request{suite[n].Definition, c.Input})
			ids = append(ids, n+"/"+itoa(i))
		}
	}
	body, err := json.Marshal(reqs)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, node, "harness.js")
	cmd.Dir = "difftest"
	cmd.Stdin = bytes.NewReader(body)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("node harness: %v\n%s", err, stderr.String())
	}
	var results []struct {
		Output json.RawMessage `json:"output"`
		Error  string          `json:"error"`
		Cause  string          `json:"cause"`
	}
	if err := json.Unmarshal(out, &results); err != nil || len(results) != len(reqs) {
		t.Fatalf("harness output (%d results for %d requests): %v", len(results), len(reqs), err)
	}
	agree := 0
	for i, id := range ids {
		sm, err := Parse(reqs[i].Definition)
		if err != nil {
			t.Fatalf("%s: %v", id, err)
		}
		goOut, goErr := sm.Run(context.Background(), reqs[i].Input, Options{Invoker: suiteFunctions(), Clock: newFakeClock()})
		js := results[i]
		var ee *ExecutionError
		var same bool
		switch {
		case js.Error != "" && errors.As(goErr, &ee):
			same = js.Error == ee.Name
		case js.Error == "" && goErr == nil:
			same = sameJSON(t, goOut, js.Output)
		}
		if same {
			agree++
			continue
		}
		if why, ok := knownDifferences[id]; ok {
			t.Logf("%s: known difference (%s)", id, why)
			continue
		}
		t.Errorf("%s: engines disagree\n  go: output %s, error %v\n  js: output %s, error %s: %s", id, goOut, goErr, js.Output, js.Error, js.Cause)
	}
	t.Logf("%d of %d runs agree; %d known differences", agree, len(ids), len(knownDifferences))
}

func itoa(i int) string { return strconv.Itoa(i) }
