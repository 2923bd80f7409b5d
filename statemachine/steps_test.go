package statemachine

import (
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// tasks maps every Task state of a definition to its Parameters.FunctionName.
func tasks(t *testing.T, def []byte) map[string]string {
	t.Helper()
	var d struct{ States map[string]json.RawMessage }
	if err := json.Unmarshal(def, &d); err != nil {
		t.Fatal(err)
	}
	out := map[string]string{}
	for name, raw := range d.States {
		var st struct {
			Type       string
			Parameters struct{ FunctionName string }
			Branches   []json.RawMessage
		}
		if err := json.Unmarshal(raw, &st); err != nil {
			t.Fatal(err)
		}
		if st.Type == "Task" && st.Parameters.FunctionName != "" {
			out[name] = st.Parameters.FunctionName
		}
		for _, b := range st.Branches {
			for k, v := range tasks(t, b) {
				out[k] = v
			}
		}
	}
	return out
}

// The table and the definitions name the same Lambda Tasks: no step without its
// Task, no Lambda Task missing from the table.
func TestStepsMatchTheDefinitions(t *testing.T) {
	for _, machine := range []string{MachinePipeline, MachineRemove} {
		got := tasks(t, Definition(machine))
		want := map[string]string{}
		for _, s := range Steps() {
			if s.Machine == machine {
				want[s.State] = "${" + s.Variable + "}"
			}
		}
		if len(got) != len(want) {
			t.Errorf("%s: Lambda Tasks %v, table %v", machine, got, want)
		}
		for state, fn := range want {
			if got[state] != fn {
				t.Errorf("%s: state %s calls %q, the table says %q", machine, state, got[state], fn)
			}
		}
		vars := Variables(Definition(machine))
		for _, s := range Steps() {
			if s.Machine == machine && !slices.Contains(vars, s.Variable) {
				t.Errorf("%s: variable %s not in the definition's %v", machine, s.Variable, vars)
			}
		}
	}
}

// budget is a retrier's longest total wait (the sum of its capped delays) and, with
// full jitter, its mean (half of that).
func budget(r map[string]any) (longest, mean float64) {
	interval, _ := r["IntervalSeconds"].(float64)
	rate, _ := r["BackoffRate"].(float64)
	maxDelay, _ := r["MaxDelaySeconds"].(float64)
	attempts, _ := r["MaxAttempts"].(float64)
	d := interval
	for i := 0; i < int(attempts); i++ {
		longest += min(d, maxDelay)
		d *= rate
	}
	return longest, longest / 2
}

// Throttling is retried long enough to drain a burst and short enough to end inside
// the execution's timeout. The arithmetic: at the load tester's top rate, 100 images/s
// for 300 s, with detect-labels limited to C images/s (20 reserved / 0.7 s ≈ 29/s, or
// Rekognition's 50 TPS), the backlog (100 − C)·300 drains within a wait budget B when
// a run lasts at most C·B/(100 − C): a mean B of ~390 s absorbs a 160 s burst with
// reserved concurrency. The longest wait must stay under ~840 s: the 900 s execution
// timeout less the other steps. The same ThrottledError retrier takes S3's 503
// SlowDown (after the SDK's own 3 attempts; S3 binds at ~1,375 images/s a prefix) and
// OpenSearch's 429 (one t3.small.search node, estimated at ~40 images/s once its CPU
// credits are spent: a mean B of ~300 s holds 40·B ≈ 12,000 images of backlog), and
// EventBridge, not the ASL, retries a throttled StartExecution (README, "Capacity and
// quotas").
func TestThrottlingRetriersFitTheBudget(t *testing.T) {
	var d struct {
		TimeoutSeconds float64
	}
	if err := json.Unmarshal(Pipeline(), &d); err != nil {
		t.Fatal(err)
	}
	for _, machine := range []string{MachinePipeline, MachineRemove} {
		var def any
		if err := json.Unmarshal(Definition(machine), &def); err != nil {
			t.Fatal(err)
		}
		found := 0
		var walk func(v any)
		walk = func(v any) {
			switch x := v.(type) {
			case map[string]any:
				if retry, ok := x["Retry"].([]any); ok {
					for _, r := range retry {
						rm := r.(map[string]any)
						names := rm["ErrorEquals"].([]any)
						if len(names) == 1 && (names[0] == "Lambda.TooManyRequestsException" || names[0] == "ThrottledError") {
							found++
							longest, mean := budget(rm)
							if mean < 300 || longest > 840 || longest >= d.TimeoutSeconds {
								t.Errorf("%s: %v retrier waits %.0f s on average, %.0f s at most: want ≥ 300 and ≤ 840", machine, names[0], mean, longest)
							}
						}
					}
				}
				for _, e := range x {
					walk(e)
				}
			case []any:
				for _, e := range x {
					walk(e)
				}
			}
		}
		walk(def)
		if found == 0 {
			t.Errorf("%s: no throttling retrier", machine)
		}
	}
}

// Every row is deployable as it stands: a handler to build, the settings Lambda
// accepts, and only exact IAM actions (no wildcards) on named prefixes and paths.
func TestStepsAreDeployable(t *testing.T) {
	seen := map[string]bool{}
	for _, s := range Steps() {
		if seen[s.Function] {
			t.Errorf("%s: two rows", s.Function)
		}
		seen[s.Function] = true
		if _, err := os.Stat(filepath.Join("..", "functions", "cmd", s.Function, "main.go")); err != nil {
			t.Errorf("%s: no handler: %v", s.Function, err)
		}
		if s.Description == "" {
			t.Errorf("%s: no description", s.Function)
		}
		// Lambda: 128-10240 MB, timeout 1-900 s (a state's own timeout is the ASL's).
		if s.MemoryMiB < 128 || s.MemoryMiB > 10240 || s.TimeoutSeconds < 1 || s.TimeoutSeconds > 900 || s.ReservedConcurrency < 0 {
			t.Errorf("%s: memory %d MB, timeout %d s, reserved %d", s.Function, s.MemoryMiB, s.TimeoutSeconds, s.ReservedConcurrency)
		}
		var actions []string
		for _, o := range s.Objects {
			actions = append(actions, o.Actions...)
			for _, p := range o.Prefixes {
				if p == "" || !strings.HasSuffix(p, "/") || strings.Contains(p, "*") {
					t.Errorf("%s: object prefix %q: want a folder like upload/", s.Function, p)
				}
			}
		}
		for _, g := range s.Index {
			actions = append(actions, g.Actions...)
			for _, a := range g.Actions {
				if !strings.HasPrefix(a, "es:ESHttp") {
					t.Errorf("%s: index action %q is not an es:ESHttp* request", s.Function, a)
				}
			}
		}
		actions = append(actions, s.Actions...)
		for _, a := range actions {
			if strings.Contains(a, "*") || !strings.Contains(a, ":") {
				t.Errorf("%s: action %q: want one exact service:Action", s.Function, a)
			}
		}
	}
}

func TestCreatesIndex(t *testing.T) {
	creators := map[string]bool{}
	for _, s := range Steps() {
		creators[s.Function] = s.CreatesIndex()
	}
	if !creators["index-document"] || !creators["remove-document"] || creators["extract-metadata"] {
		t.Errorf("index creators = %v, want index-document and remove-document only", creators)
	}
}
