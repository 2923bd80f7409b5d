package asl

import (
	"encoding/json"
	"fmt"
	"sort"
	"strconv"
	"strings"
	"sync"
)

// MockConfig is the mock configuration file of Step Functions Local's mocked service
// integrations (https://docs.aws.amazon.com/step-functions/latest/dg/sfn-local-mock-cfg-file.html):
// test cases map state names to mocked responses, and each mocked response lists,
// per invocation of the state ("0", "1-2", ...), a Return value or a Throw.
type MockConfig struct {
	StateMachines map[string]struct {
		TestCases map[string]map[string]string `json:"TestCases"`
	} `json:"StateMachines"`
	MockedResponses map[string]map[string]mockedAnswer `json:"MockedResponses"`
}

type mockedAnswer struct {
	Return json.RawMessage `json:"Return,omitempty"`
	Throw  *struct {
		Error string `json:"Error"`
		Cause string `json:"Cause"`
	} `json:"Throw,omitempty"`
}

// ParseMockConfig reads a mock configuration file.
func ParseMockConfig(b []byte) (*MockConfig, error) {
	var c MockConfig
	if err := json.Unmarshal(b, &c); err != nil {
		return nil, fmt.Errorf("mock config: %w", err)
	}
	for name, r := range c.MockedResponses {
		for key, a := range r {
			if _, _, err := invocationRange(key); err != nil {
				return nil, fmt.Errorf("mock config: MockedResponses.%s: %w", name, err)
			}
			if (a.Return == nil) == (a.Throw == nil) {
				return nil, fmt.Errorf("mock config: MockedResponses.%s.%s: needs exactly one of Return and Throw", name, key)
			}
		}
	}
	return &c, nil
}

// invocationRange reads "3" or "1-2" (0-based invocations of a state).
func invocationRange(key string) (int, int, error) {
	lo, hi, isRange := strings.Cut(key, "-")
	a, err := strconv.Atoi(lo)
	if err != nil || a < 0 {
		return 0, 0, fmt.Errorf("%q is not an invocation number or range", key)
	}
	if !isRange {
		return a, a, nil
	}
	b, err := strconv.Atoi(hi)
	if err != nil || b < a {
		return 0, 0, fmt.Errorf("%q is not an invocation number or range", key)
	}
	return a, b, nil
}

// TestCase returns the TaskMock of one test case of a state machine (stateMachine ""
// when the file has only one). States the test case does not name are not mocked.
func (c *MockConfig) TestCase(stateMachine, testCase string) (TaskMock, error) {
	if stateMachine == "" && len(c.StateMachines) == 1 {
		for n := range c.StateMachines {
			stateMachine = n
		}
	}
	sm, ok := c.StateMachines[stateMachine]
	if !ok {
		names := make([]string, 0, len(c.StateMachines))
		for n := range c.StateMachines {
			names = append(names, n)
		}
		sort.Strings(names)
		return nil, fmt.Errorf("mock config: no state machine %q (it has %s)", stateMachine, strings.Join(names, ", "))
	}
	tc, ok := sm.TestCases[testCase]
	if !ok {
		return nil, fmt.Errorf("mock config: state machine %q has no test case %q", stateMachine, testCase)
	}
	for state, resp := range tc {
		if _, ok := c.MockedResponses[resp]; !ok {
			return nil, fmt.Errorf("mock config: test case %q maps state %q to %q, which MockedResponses lacks", testCase, state, resp)
		}
	}
	var mu sync.Mutex
	calls := map[string]int{}
	return func(state string) (json.RawMessage, *TaskError, bool) {
		resp, ok := tc[state]
		if !ok {
			return nil, nil, false
		}
		mu.Lock()
		n := calls[state]
		calls[state]++
		mu.Unlock()
		for key, a := range c.MockedResponses[resp] {
			lo, hi, _ := invocationRange(key)
			if n < lo || n > hi {
				continue
			}
			if a.Throw != nil {
				return nil, &TaskError{Name: a.Throw.Error, Cause: a.Throw.Cause}, true
			}
			return a.Return, nil, true
		}
		return nil, &TaskError{Name: ErrRuntime, Cause: fmt.Sprintf("mocked response %q has no answer for invocation %d of state %q", resp, n, state)}, true
	}, nil
}
