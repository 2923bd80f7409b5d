package asl

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math"
	"sort"
	"strings"
	"time"
)

// StateMachine is a parsed, validated definition. It is immutable: every Run keeps
// its own counters, so one StateMachine may run many executions concurrently.
type StateMachine struct {
	startAt        string
	states         map[string]*state
	timeoutSeconds int
}

// StartAt is the name of the first state.
func (sm *StateMachine) StartAt() string { return sm.startAt }

// TimeoutSeconds is the definition's execution timeout (0: none). The caller applies
// it as a context deadline, since it decides between TIMED_OUT and ABORTED.
func (sm *StateMachine) TimeoutSeconds() int { return sm.timeoutSeconds }

// optPath is an InputPath/OutputPath/ResultPath/ItemsPath: absent (default "$"),
// null, or a path.
type optPath struct {
	null bool
	path *jsonPath // nil with null false: "$"
}

type retrier struct {
	errorEquals []string
	interval    float64
	maxAttempts int
	backoffRate float64
	maxDelay    float64 // 0: none
	jitterFull  bool
}

type catcher struct {
	errorEquals []string
	next        string
	resultPath  optPath
	output      *template // JSONata: the state's output when caught (nil: the error output)
	assign      *template
}

var predefinedErrors = map[string]bool{
	ErrAll: true, ErrRuntime: true, ErrTimeout: true, ErrTaskFailed: true, ErrDataLimitExceeded: true,
	ErrPermissions: true, ErrResultPathMatchFailure: true, ErrParameterPathFailure: true,
	ErrBranchFailed: true, ErrNoChoiceMatched: true, ErrIntrinsicFailure: true,
	ErrExceedToleratedFailureThreshold: true, ErrHeartbeatTimeout: true,
	"States.ItemReaderFailed": true, "States.ResultWriterFailed": true, "States.QueryEvaluationError": true,
}

// Parse reads and validates a definition (JSONPath or JSONata), reporting every
// problem at once in a *ValidationError.
func Parse(definition []byte) (*StateMachine, error) {
	var raw rawMachine
	if err := strictUnmarshal(definition, &raw, map[string]bool{"Comment": true, "StartAt": true, "States": true, "TimeoutSeconds": true, "Version": true, "QueryLanguage": true}); err != nil {
		return nil, &ValidationError{Problems: []string{err.Error()}}
	}
	var problems []string
	if raw.QueryLanguage != "" && raw.QueryLanguage != "JSONPath" && raw.QueryLanguage != "JSONata" {
		problems = append(problems, fmt.Sprintf("/QueryLanguage: must be JSONPath or JSONata, not %q", raw.QueryLanguage))
	}
	sm := parseMachine(&raw, "", raw.QueryLanguage == "JSONata", &problems)
	checkUniqueNames(sm, map[string]bool{}, &problems)
	if raw.TimeoutSeconds != nil {
		if t, ok := positiveInt(*raw.TimeoutSeconds); ok {
			sm.timeoutSeconds = t
		} else {
			problems = append(problems, "/TimeoutSeconds: must be a positive integer")
		}
	}
	if len(problems) > 0 {
		return nil, &ValidationError{Problems: problems}
	}
	return sm, nil
}

// strictUnmarshal decodes an object after checking its keys against allowed.
func strictUnmarshal(b []byte, v any, allowed map[string]bool) error {
	var keys map[string]json.RawMessage
	if err := json.Unmarshal(b, &keys); err != nil {
		return fmt.Errorf("not a JSON object: %w", err)
	}
	var unknown []string
	for k := range keys {
		if !allowed[k] {
			unknown = append(unknown, k)
		}
	}
	if len(unknown) > 0 {
		sort.Strings(unknown)
		return fmt.Errorf("unsupported fields %s", strings.Join(unknown, ", "))
	}
	d := json.NewDecoder(bytes.NewReader(b))
	return d.Decode(v)
}

func positiveInt(f float64) (int, bool) {
	if f != math.Trunc(f) || f < 1 || f > 99999999 {
		return 0, false
	}
	return int(f), true
}

func parseMachine(raw *rawMachine, where string, topJSONata bool, problems *[]string) *StateMachine {
	sm := &StateMachine{startAt: raw.StartAt, states: map[string]*state{}}
	if raw.StartAt == "" {
		*problems = append(*problems, where+"/StartAt: missing")
	}
	if len(raw.States) == 0 {
		*problems = append(*problems, where+"/States: missing or empty")
	}
	names := make([]string, 0, len(raw.States))
	for n := range raw.States {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		loc := where + "/States/" + n
		if len(n) == 0 || len(n) > 80 {
			*problems = append(*problems, loc+": a state name must have 1 to 80 characters")
		}
		if st := parseState(n, raw.States[n], loc, topJSONata, problems); st != nil {
			sm.states[n] = st
		}
	}
	if raw.StartAt != "" && len(raw.States) > 0 {
		if _, ok := raw.States[raw.StartAt]; !ok {
			*problems = append(*problems, fmt.Sprintf("%s/StartAt: state %q does not exist", where, raw.StartAt))
		}
	}
	// targets exist
	target := func(loc, name string) {
		if _, ok := raw.States[name]; !ok {
			*problems = append(*problems, fmt.Sprintf("%s: state %q does not exist", loc, name))
		}
	}
	for _, n := range names {
		st := sm.states[n]
		if st == nil {
			continue
		}
		loc := where + "/States/" + n
		if st.next != "" {
			target(loc+"/Next", st.next)
		}
		for i, c := range st.catch {
			if c.next != "" {
				target(fmt.Sprintf("%s/Catch[%d]/Next", loc, i), c.next)
			}
		}
		for i, c := range st.choices {
			target(fmt.Sprintf("%s/Choices[%d]/Next", loc, i), c.next)
		}
		if st.def != "" {
			target(loc+"/Default", st.def)
		}
	}
	// every state reachable from StartAt
	if _, ok := sm.states[raw.StartAt]; ok {
		seen := map[string]bool{}
		stack := []string{raw.StartAt}
		for len(stack) > 0 {
			n := stack[len(stack)-1]
			stack = stack[:len(stack)-1]
			if seen[n] {
				continue
			}
			seen[n] = true
			st := sm.states[n]
			if st == nil {
				continue
			}
			for _, t := range st.successors() {
				if !seen[t] {
					stack = append(stack, t)
				}
			}
		}
		for _, n := range names {
			if !seen[n] {
				*problems = append(*problems, fmt.Sprintf("%s/States/%s: not reachable from StartAt", where, n))
			}
		}
	}
	return sm
}

func (st *state) successors() []string {
	var out []string
	if st.next != "" {
		out = append(out, st.next)
	}
	for _, c := range st.catch {
		out = append(out, c.next)
	}
	for _, c := range st.choices {
		out = append(out, c.next)
	}
	if st.def != "" {
		out = append(out, st.def)
	}
	return out
}

// mustPath parses a path field; loc ends with "/Field" (add prefixes the state).
func mustPath(s, loc string, add func(string, ...any)) *jsonPath {
	p, err := parsePath(s)
	if err != nil {
		add("%s: %v", loc[strings.LastIndex(loc, "/"):], err)
		return nil
	}
	return p
}

func parseOptPath(b json.RawMessage, loc string, reference bool, add func(string, ...any)) optPath {
	if len(b) == 0 {
		return optPath{}
	}
	if string(b) == "null" {
		return optPath{null: true}
	}
	var s string
	if err := json.Unmarshal(b, &s); err != nil {
		add("%s: must be a string or null", loc[strings.LastIndex(loc, "/"):])
		return optPath{}
	}
	p, err := parsePath(s)
	if err != nil {
		add("%s: %v", loc[strings.LastIndex(loc, "/"):], err)
		return optPath{}
	}
	if reference && !p.reference() {
		add("%s: %q is not a reference path", loc[strings.LastIndex(loc, "/"):], s)
		return optPath{}
	}
	return optPath{path: p}
}

func checkErrorEquals(names []string, loc string, last bool, problems *[]string) {
	if len(names) == 0 {
		*problems = append(*problems, loc+"/ErrorEquals: missing or empty")
	}
	for _, n := range names {
		if n == ErrAll {
			if len(names) != 1 {
				*problems = append(*problems, loc+"/ErrorEquals: States.ALL must appear alone")
			}
			if !last {
				*problems = append(*problems, loc+"/ErrorEquals: States.ALL must be in the last retrier or catcher")
			}
		} else if strings.HasPrefix(n, "States.") && !predefinedErrors[n] {
			*problems = append(*problems, fmt.Sprintf("%s/ErrorEquals: %q is not a predefined error", loc, n))
		}
	}
}

func parseRetrier(r rawRetrier, loc string, last bool, problems *[]string) retrier {
	add := func(format string, a ...any) { *problems = append(*problems, loc+fmt.Sprintf(format, a...)) }
	checkErrorEquals(r.ErrorEquals, loc, last, problems)
	rt := retrier{errorEquals: r.ErrorEquals, interval: 1, maxAttempts: 3, backoffRate: 2}
	if r.IntervalSeconds != nil {
		if _, ok := positiveInt(*r.IntervalSeconds); !ok {
			add("/IntervalSeconds: must be a positive integer")
		}
		rt.interval = *r.IntervalSeconds
	}
	if r.MaxAttempts != nil {
		if *r.MaxAttempts != math.Trunc(*r.MaxAttempts) || *r.MaxAttempts < 0 || *r.MaxAttempts > 99999999 {
			add("/MaxAttempts: must be a non-negative integer")
		}
		rt.maxAttempts = int(*r.MaxAttempts)
	}
	if r.BackoffRate != nil {
		if *r.BackoffRate < 1 {
			add("/BackoffRate: must be at least 1.0")
		}
		rt.backoffRate = *r.BackoffRate
	}
	if r.MaxDelaySeconds != nil {
		if _, ok := positiveInt(*r.MaxDelaySeconds); !ok {
			add("/MaxDelaySeconds: must be a positive integer")
		}
		rt.maxDelay = *r.MaxDelaySeconds
	}
	if r.JitterStrategy != nil {
		switch *r.JitterStrategy {
		case "FULL":
			rt.jitterFull = true
		case "NONE":
		default:
			add("/JitterStrategy: must be FULL or NONE")
		}
	}
	return rt
}

// parseTimestamp accepts the RFC 3339 profile of ISO 8601 Step Functions uses.
func parseTimestamp(s string) (time.Time, error) {
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil || !strings.ContainsAny(s[len(s)-1:], "Zz0123456789") {
		return time.Time{}, fmt.Errorf("%q is not an RFC 3339 timestamp", s)
	}
	if strings.ContainsAny(s, "tz") {
		return time.Time{}, fmt.Errorf("%q: T and Z must be upper case", s)
	}
	return t, nil
}

// checkUniqueNames reports state names used twice anywhere in the definition: AWS
// requires them unique across the whole state machine, branches and Map processors
// included (the ASL specification, "States").
func checkUniqueNames(sm *StateMachine, seen map[string]bool, problems *[]string) {
	names := make([]string, 0, len(sm.states))
	for n := range sm.states {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		if seen[n] {
			*problems = append(*problems, fmt.Sprintf("/States/%s: a state with this name already exists (state names must be unique in the whole state machine)", n))
		}
		seen[n] = true
		for _, b := range sm.states[n].branches {
			checkUniqueNames(b, seen, problems)
		}
	}
}

// supportedResource reports whether the engine runs a Task resource. Anything else is
// rejected when the definition is created, naming the resource, rather than accepted
// and failed when reached.
func supportedResource(r string) bool {
	base, _ := baseResource(r)
	switch base {
	case resourceLambdaInvoke, resourceSQSSend:
		return true
	}
	return r == base && isFunctionARN(r)
}

func isFunctionARN(r string) bool {
	return strings.HasPrefix(r, "arn:aws:lambda:") && strings.Contains(r, ":function:")
}
