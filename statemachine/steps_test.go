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
