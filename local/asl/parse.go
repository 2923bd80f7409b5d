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
}

type state struct {
	name, typ  string
	next       string
	end        bool
	inputPath  optPath
	outputPath optPath
	resultPath optPath
	parameters *template
	selector   *template // ResultSelector
	result     any
	hasResult  bool
	retry      []retrier
	catch      []catcher

	// Task
	resource         string
	timeoutSeconds   int
	timeoutPath      *jsonPath
	heartbeatSeconds int

	// Parallel, Map
	branches       []*StateMachine
	itemsPath      optPath
	itemSelector   *template
	maxConcurrency int
	maxConcPath    *jsonPath

	// Choice
	choices []*choiceRule
	def     string

	// Wait
	seconds       int
	hasSeconds    bool
	secondsPath   *jsonPath
	timestamp     time.Time
	hasTimestamp  bool
	timestampPath *jsonPath

	// Fail
	errName, cause     string
	errorDyn, causeDyn *template
}

// rawState is the second pass: every field any state type may carry.
type rawState struct {
	Type, Comment        string
	Next                 *string
	End                  *bool
	InputPath            json.RawMessage
	OutputPath           json.RawMessage
	ResultPath           json.RawMessage
	Parameters           json.RawMessage
	ResultSelector       json.RawMessage
	Result               json.RawMessage
	Retry                []rawRetrier
	Catch                []rawCatcher
	Resource             *string
	TimeoutSeconds       *float64
	TimeoutSecondsPath   *string
	HeartbeatSeconds     *float64
	HeartbeatSecondsPath *string
	Credentials          json.RawMessage
	Branches             []rawMachine
	Iterator             *rawMachine
	ItemProcessor        *rawProcessor
	ItemsPath            json.RawMessage
	ItemSelector         json.RawMessage
	MaxConcurrency       *float64
	MaxConcurrencyPath   *string
	Choices              []json.RawMessage
	Default              *string
	Seconds              *float64
	SecondsPath          *string
	Timestamp            *string
	TimestampPath        *string
	Error, Cause         *string
	ErrorPath            *string
	CausePath            *string
}

type rawProcessor struct {
	rawMachine
	ProcessorConfig *struct {
		Mode          string
		ExecutionType string
	}
}

type rawMachine struct {
	Comment        string
	StartAt        string
	States         map[string]json.RawMessage
	TimeoutSeconds *float64
	Version        string
	QueryLanguage  string
}

type rawRetrier struct {
	ErrorEquals     []string
	IntervalSeconds *float64
	MaxAttempts     *float64
	BackoffRate     *float64
	MaxDelaySeconds *float64
	JitterStrategy  *string
	Comment         string
}

type rawCatcher struct {
	ErrorEquals []string
	Next        string
	ResultPath  json.RawMessage
	Comment     string
}

var commonFields = []string{"Type", "Comment"}

var allowedFields = map[string][]string{
	"Pass":     {"Next", "End", "InputPath", "OutputPath", "ResultPath", "Parameters", "Result"},
	"Task":     {"Next", "End", "InputPath", "OutputPath", "ResultPath", "Parameters", "ResultSelector", "Retry", "Catch", "Resource", "TimeoutSeconds", "TimeoutSecondsPath", "HeartbeatSeconds", "HeartbeatSecondsPath", "Credentials"},
	"Choice":   {"InputPath", "OutputPath", "Choices", "Default"},
	"Wait":     {"Next", "End", "InputPath", "OutputPath", "Seconds", "SecondsPath", "Timestamp", "TimestampPath"},
	"Succeed":  {"InputPath", "OutputPath"},
	"Fail":     {"Error", "Cause", "ErrorPath", "CausePath"},
	"Parallel": {"Next", "End", "InputPath", "OutputPath", "ResultPath", "Parameters", "ResultSelector", "Retry", "Catch", "Branches"},
	"Map":      {"Next", "End", "InputPath", "OutputPath", "ResultPath", "Parameters", "ItemSelector", "ResultSelector", "Retry", "Catch", "Iterator", "ItemProcessor", "ItemsPath", "MaxConcurrency", "MaxConcurrencyPath"},
}

var predefinedErrors = map[string]bool{
	ErrAll: true, ErrRuntime: true, ErrTimeout: true, ErrTaskFailed: true, ErrDataLimitExceeded: true,
	ErrPermissions: true, ErrResultPathMatchFailure: true, ErrParameterPathFailure: true,
	ErrBranchFailed: true, ErrNoChoiceMatched: true, ErrIntrinsicFailure: true,
	ErrExceedToleratedFailureThreshold: true, ErrHeartbeatTimeout: true,
	"States.ItemReaderFailed": true, "States.ResultWriterFailed": true, "States.QueryEvaluationError": true,
}

// Parse reads and validates a definition (JSONPath query language), reporting every
// problem at once in a *ValidationError.
func Parse(definition []byte) (*StateMachine, error) {
	var raw rawMachine
	if err := strictUnmarshal(definition, &raw, map[string]bool{"Comment": true, "StartAt": true, "States": true, "TimeoutSeconds": true, "Version": true, "QueryLanguage": true}); err != nil {
		return nil, &ValidationError{Problems: []string{err.Error()}}
	}
	var problems []string
	if raw.QueryLanguage != "" && raw.QueryLanguage != "JSONPath" {
		problems = append(problems, fmt.Sprintf("/QueryLanguage: %q is not supported (JSONPath only)", raw.QueryLanguage))
	}
	sm := parseMachine(&raw, "", &problems)
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

func parseMachine(raw *rawMachine, where string, problems *[]string) *StateMachine {
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
		if st := parseState(n, raw.States[n], loc, problems); st != nil {
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

func parseState(name string, b json.RawMessage, loc string, problems *[]string) *state {
	add := func(format string, a ...any) { *problems = append(*problems, loc+fmt.Sprintf(format, a...)) }
	// first pass: the type
	var head struct{ Type string }
	if err := json.Unmarshal(b, &head); err != nil {
		add(": not a JSON object with a string Type: %v", err)
		return nil
	}
	fields, ok := allowedFields[head.Type]
	if !ok {
		add("/Type: %q is not a state type", head.Type)
		return nil
	}
	allowed := map[string]bool{}
	for _, f := range append(fields, commonFields...) {
		allowed[f] = true
	}
	// second pass: the concrete state
	var r rawState
	if err := strictUnmarshal(b, &r, allowed); err != nil {
		add(": %v", err)
		return nil
	}
	st := &state{name: name, typ: head.Type}
	if r.Next != nil {
		st.next = *r.Next
	}
	st.end = r.End != nil && *r.End
	terminal := head.Type == "Choice" || head.Type == "Succeed" || head.Type == "Fail"
	if !terminal {
		switch {
		case r.Next != nil && st.end:
			add(": Next and End are mutually exclusive")
		case r.Next == nil && !st.end:
			add(": needs Next or \"End\": true")
		case r.Next != nil && *r.Next == "":
			add("/Next: empty")
		}
	}
	st.inputPath = parseOptPath(r.InputPath, loc+"/InputPath", false, add)
	st.outputPath = parseOptPath(r.OutputPath, loc+"/OutputPath", false, add)
	st.resultPath = parseOptPath(r.ResultPath, loc+"/ResultPath", true, add)
	if len(r.Parameters) > 0 {
		st.parameters = compileRaw(r.Parameters, loc+"/Parameters", problems)
	}
	if len(r.ResultSelector) > 0 {
		st.selector = compileRaw(r.ResultSelector, loc+"/ResultSelector", problems)
	}
	if len(r.Result) > 0 {
		v, err := decodeJSON(r.Result)
		if err != nil {
			add("/Result: %v", err)
		}
		st.result, st.hasResult = v, true
	}
	for i, rr := range r.Retry {
		st.retry = append(st.retry, parseRetrier(rr, fmt.Sprintf("%s/Retry[%d]", loc, i), i == len(r.Retry)-1, problems))
	}
	for i, rc := range r.Catch {
		cl := fmt.Sprintf("%s/Catch[%d]", loc, i)
		checkErrorEquals(rc.ErrorEquals, cl, i == len(r.Catch)-1, problems)
		if rc.Next == "" {
			*problems = append(*problems, cl+"/Next: missing")
		}
		st.catch = append(st.catch, catcher{errorEquals: rc.ErrorEquals, next: rc.Next,
			resultPath: parseOptPath(rc.ResultPath, cl+"/ResultPath", true, func(f string, a ...any) { *problems = append(*problems, cl+fmt.Sprintf(f, a...)) })})
	}

	switch head.Type {
	case "Task":
		if r.Resource == nil || *r.Resource == "" {
			add("/Resource: missing")
		} else {
			st.resource = *r.Resource
		}
		if r.TimeoutSeconds != nil && r.TimeoutSecondsPath != nil {
			add(": TimeoutSeconds and TimeoutSecondsPath are mutually exclusive")
		}
		if r.TimeoutSeconds != nil {
			if t, ok := positiveInt(*r.TimeoutSeconds); ok {
				st.timeoutSeconds = t
			} else {
				add("/TimeoutSeconds: must be a positive integer")
			}
		}
		if r.TimeoutSecondsPath != nil {
			st.timeoutPath = mustPath(*r.TimeoutSecondsPath, loc+"/TimeoutSecondsPath", add)
		}
		if r.HeartbeatSeconds != nil {
			if t, ok := positiveInt(*r.HeartbeatSeconds); ok {
				st.heartbeatSeconds = t
				if st.timeoutSeconds > 0 && t >= st.timeoutSeconds {
					add("/HeartbeatSeconds: must be smaller than TimeoutSeconds")
				}
			} else {
				add("/HeartbeatSeconds: must be a positive integer")
			}
		}
		if r.HeartbeatSecondsPath != nil {
			mustPath(*r.HeartbeatSecondsPath, loc+"/HeartbeatSecondsPath", add)
		}
	case "Parallel":
		if len(r.Branches) == 0 {
			add("/Branches: missing or empty")
		}
		for i := range r.Branches {
			st.branches = append(st.branches, parseMachine(&r.Branches[i], fmt.Sprintf("%s/Branches[%d]", loc, i), problems))
		}
	case "Map":
		var m *rawMachine
		switch {
		case r.ItemProcessor != nil && r.Iterator != nil:
			add(": Iterator and ItemProcessor are mutually exclusive")
		case r.ItemProcessor != nil:
			if pc := r.ItemProcessor.ProcessorConfig; pc != nil && pc.Mode != "" && pc.Mode != "INLINE" {
				add("/ItemProcessor/ProcessorConfig/Mode: %q is not supported (INLINE only)", pc.Mode)
			}
			m = &r.ItemProcessor.rawMachine
		case r.Iterator != nil:
			m = r.Iterator
		default:
			add(": needs ItemProcessor (or Iterator)")
		}
		if m != nil {
			st.branches = []*StateMachine{parseMachine(m, loc+"/ItemProcessor", problems)}
		}
		st.itemsPath = parseOptPath(r.ItemsPath, loc+"/ItemsPath", false, add)
		if st.itemsPath.null {
			add("/ItemsPath: must not be null")
		}
		if len(r.ItemSelector) > 0 && len(r.Parameters) > 0 {
			add(": ItemSelector and Parameters are mutually exclusive")
		}
		// In a Map state, Parameters is the legacy name of ItemSelector.
		if len(r.ItemSelector) > 0 {
			st.itemSelector = compileRaw(r.ItemSelector, loc+"/ItemSelector", problems)
		} else if st.parameters != nil {
			st.itemSelector, st.parameters = st.parameters, nil
		}
		if r.MaxConcurrency != nil {
			if *r.MaxConcurrency != math.Trunc(*r.MaxConcurrency) || *r.MaxConcurrency < 0 {
				add("/MaxConcurrency: must be a non-negative integer")
			} else {
				st.maxConcurrency = int(*r.MaxConcurrency)
			}
		}
		if r.MaxConcurrencyPath != nil {
			if r.MaxConcurrency != nil {
				add(": MaxConcurrency and MaxConcurrencyPath are mutually exclusive")
			}
			st.maxConcPath = mustPath(*r.MaxConcurrencyPath, loc+"/MaxConcurrencyPath", add)
		}
	case "Choice":
		if len(r.Choices) == 0 {
			add("/Choices: missing or empty")
		}
		for i, c := range r.Choices {
			st.choices = append(st.choices, parseChoice(c, fmt.Sprintf("%s/Choices[%d]", loc, i), true, problems))
		}
		if r.Default != nil {
			st.def = *r.Default
		}
	case "Wait":
		n := 0
		if r.Seconds != nil {
			n++
			if *r.Seconds != math.Trunc(*r.Seconds) || *r.Seconds < 0 {
				add("/Seconds: must be a non-negative integer")
			}
			st.seconds, st.hasSeconds = int(*r.Seconds), true
		}
		if r.SecondsPath != nil {
			n++
			st.secondsPath = mustPath(*r.SecondsPath, loc+"/SecondsPath", add)
		}
		if r.Timestamp != nil {
			n++
			t, err := parseTimestamp(*r.Timestamp)
			if err != nil {
				add("/Timestamp: %v", err)
			}
			st.timestamp, st.hasTimestamp = t, true
		}
		if r.TimestampPath != nil {
			n++
			st.timestampPath = mustPath(*r.TimestampPath, loc+"/TimestampPath", add)
		}
		if n != 1 {
			add(": needs exactly one of Seconds, SecondsPath, Timestamp, TimestampPath")
		}
	case "Fail":
		if r.Error != nil && r.ErrorPath != nil {
			add(": Error and ErrorPath are mutually exclusive")
		}
		if r.Cause != nil && r.CausePath != nil {
			add(": Cause and CausePath are mutually exclusive")
		}
		if r.Error != nil {
			st.errName = *r.Error
		}
		if r.Cause != nil {
			st.cause = *r.Cause
		}
		if r.ErrorPath != nil {
			st.errorDyn = compileDynamic(*r.ErrorPath, loc+"/ErrorPath", problems)
		}
		if r.CausePath != nil {
			st.causeDyn = compileDynamic(*r.CausePath, loc+"/CausePath", problems)
		}
	}
	return st
}

func compileRaw(b json.RawMessage, loc string, problems *[]string) *template {
	v, err := decodeJSON(b)
	if err != nil {
		*problems = append(*problems, fmt.Sprintf("%s: %v", loc, err))
		return nil
	}
	return compileTemplate(v, loc, problems)
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
