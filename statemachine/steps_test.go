package statemachine

import (
	"encoding/json"
	"slices"
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
