package cost

import (
	"encoding/json"
	"fmt"
)

type aslMachine struct {
	StartAt string              `json:"StartAt"`
	States  map[string]aslState `json:"States"`
}

type aslState struct {
	Type     string       `json:"Type"`
	Next     string       `json:"Next"`
	End      bool         `json:"End"`
	Default  string       `json:"Default"`
	Branches []aslMachine `json:"Branches"`
}

// Transitions counts the state transitions Step Functions Standard bills for one
// execution that succeeds first time: every state entered on the path from StartAt,
// following Next, a Choice's Default, and every branch of a Parallel. Retries and
// Catch paths add more; they are the exception, so the model leaves them out.
func Transitions(definition []byte) (int, error) {
	var m aslMachine
	if err := json.Unmarshal(definition, &m); err != nil {
		return 0, fmt.Errorf("parse state machine: %w", err)
	}
	return walk(m, 0)
}

func walk(m aslMachine, depth int) (int, error) {
	if depth > 8 {
		return 0, fmt.Errorf("parallel states nested too deep")
	}
	n, name := 0, m.StartAt
	for seen := map[string]bool{}; name != ""; {
		if seen[name] {
			return 0, fmt.Errorf("state %q: the default path loops", name)
		}
		seen[name] = true
		s, ok := m.States[name]
		if !ok {
			return 0, fmt.Errorf("state %q is not defined", name)
		}
		n++
		for _, b := range s.Branches {
			k, err := walk(b, depth+1)
			if err != nil {
				return 0, err
			}
			n += k
		}
		switch {
		case s.End, s.Type == "Succeed", s.Type == "Fail":
			name = ""
		case s.Type == "Choice":
			name = s.Default
		default:
			name = s.Next
		}
	}
	return n, nil
}
