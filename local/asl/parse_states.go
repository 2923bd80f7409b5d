package asl

import (
	"encoding/json"
	"fmt"
	"math"
	"strings"
	"time"
)

// state is one parsed state. The common fields come first; each state type's
// parser (stateParsers) fills its own group.
type state struct {
	name, typ  string
	jsonata    bool // QueryLanguage JSONata
	next       string
	end        bool
	inputPath  optPath
	outputPath optPath
	resultPath optPath
	parameters *template // JSONPath Parameters; JSONata Arguments
	selector   *template // ResultSelector
	output     *template // JSONata Output
	assign     *template // Assign: variable name → value
	result     any
	hasResult  bool
	retry      []retrier
	catch      []catcher

	// Task
	resource         string
	timeoutSeconds   int
	timeoutPath      *jsonPath
	heartbeatSeconds int
	heartbeatPath    *jsonPath

	// Parallel, Map
	branches       []*StateMachine
	itemsPath      optPath
	items          *template // JSONata Items
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
	waitExpr      *template // JSONata Seconds or Timestamp
	waitIsSeconds bool

	// Fail
	errName, cause     string
	errorDyn, causeDyn *template
}

// rawState holds every field any state type may carry.
type rawState struct {
	Type, Comment        string
	QueryLanguage        string
	Next                 *string
	End                  *bool
	InputPath            json.RawMessage
	OutputPath           json.RawMessage
	ResultPath           json.RawMessage
	Parameters           json.RawMessage
	Arguments            json.RawMessage
	ResultSelector       json.RawMessage
	Output               json.RawMessage
	Assign               json.RawMessage
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
	Items                json.RawMessage
	ItemSelector         json.RawMessage
	MaxConcurrency       *float64
	MaxConcurrencyPath   *string
	Choices              []json.RawMessage
	Default              *string
	Seconds              json.RawMessage
	SecondsPath          *string
	Timestamp            json.RawMessage
	TimestampPath        *string
	Error, Cause         json.RawMessage
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
	Output      json.RawMessage
	Assign      json.RawMessage
	Comment     string
}

var commonFields = []string{"Type", "Comment", "QueryLanguage"}

// allowedFields per state type and query language (the ASL specification and
// AWS's JSONata page: JSONata states have Arguments/Output/Items instead of the
// JSONPath fields; both have Assign).
var allowedFields = map[bool]map[string][]string{
	false: {
		"Pass":     {"Next", "End", "InputPath", "OutputPath", "ResultPath", "Parameters", "Result", "Assign"},
		"Task":     {"Next", "End", "InputPath", "OutputPath", "ResultPath", "Parameters", "ResultSelector", "Retry", "Catch", "Resource", "TimeoutSeconds", "TimeoutSecondsPath", "HeartbeatSeconds", "HeartbeatSecondsPath", "Credentials", "Assign"},
		"Choice":   {"InputPath", "OutputPath", "Choices", "Default", "Assign"},
		"Wait":     {"Next", "End", "InputPath", "OutputPath", "Seconds", "SecondsPath", "Timestamp", "TimestampPath", "Assign"},
		"Succeed":  {"InputPath", "OutputPath"},
		"Fail":     {"Error", "Cause", "ErrorPath", "CausePath"},
		"Parallel": {"Next", "End", "InputPath", "OutputPath", "ResultPath", "Parameters", "ResultSelector", "Retry", "Catch", "Branches", "Assign"},
		"Map":      {"Next", "End", "InputPath", "OutputPath", "ResultPath", "Parameters", "ItemSelector", "ResultSelector", "Retry", "Catch", "Iterator", "ItemProcessor", "ItemsPath", "MaxConcurrency", "MaxConcurrencyPath", "Assign"},
	},
	true: {
		"Pass":     {"Next", "End", "Output", "Assign"},
		"Task":     {"Next", "End", "Arguments", "Output", "Assign", "Retry", "Catch", "Resource", "TimeoutSeconds", "HeartbeatSeconds", "Credentials"},
		"Choice":   {"Choices", "Default", "Output", "Assign"},
		"Wait":     {"Next", "End", "Seconds", "Timestamp", "Output", "Assign"},
		"Succeed":  {"Output"},
		"Fail":     {"Error", "Cause"},
		"Parallel": {"Next", "End", "Arguments", "Output", "Assign", "Retry", "Catch", "Branches"},
		"Map":      {"Next", "End", "Items", "ItemSelector", "Output", "Assign", "Retry", "Catch", "ItemProcessor", "MaxConcurrency"},
	},
}

// stateParsers fill each state type's own fields (set in init: Parallel and Map
// parse nested machines, which parse states).
var stateParsers map[string]func(st *state, r *rawState, p *stateParse)

func init() {
	stateParsers = map[string]func(st *state, r *rawState, p *stateParse){
		"Pass": parsePass, "Task": parseTask, "Choice": parseChoiceState, "Wait": parseWait,
		"Succeed": func(*state, *rawState, *stateParse) {}, "Fail": parseFail,
		"Parallel": parseParallel, "Map": parseMap,
	}
}

// stateParse is the context of one state's parse: where it is, its problems.
type stateParse struct {
	loc        string
	topJSONata bool // the definition's QueryLanguage is JSONata
	problems   *[]string
}

func (p *stateParse) add(format string, a ...any) {
	*p.problems = append(*p.problems, p.loc+fmt.Sprintf(format, a...))
}

// parseState reads one state: its type, the fields its type and query language
// allow, the common fields, then its type's own.
func parseState(name string, b json.RawMessage, loc string, topJSONata bool, problems *[]string) *state {
	p := &stateParse{loc: loc, topJSONata: topJSONata, problems: problems}
	var head struct{ Type, QueryLanguage string }
	if err := json.Unmarshal(b, &head); err != nil {
		p.add(": not a JSON object with a string Type: %v", err)
		return nil
	}
	jsonata := topJSONata
	switch head.QueryLanguage {
	case "":
	case "JSONata":
		jsonata = true
	case "JSONPath":
		if topJSONata {
			p.add(": 'QueryLanguage' can not be 'JSONPath' if set to 'JSONata' for whole state machine")
		}
		jsonata = false
	default:
		p.add("/QueryLanguage: must be JSONPath or JSONata, not %q", head.QueryLanguage)
	}
	fields, ok := allowedFields[jsonata][head.Type]
	if !ok {
		p.add("/Type: %q is not a state type", head.Type)
		return nil
	}
	allowed := map[string]bool{}
	for _, f := range append(fields, commonFields...) {
		allowed[f] = true
	}
	var r rawState
	if err := strictUnmarshal(b, &r, allowed); err != nil {
		p.add(": %v", err)
		return nil
	}
	st := &state{name: name, typ: head.Type, jsonata: jsonata}
	parseCommon(st, &r, p)
	stateParsers[head.Type](st, &r, p)
	return st
}

// parseCommon reads the transitions, the data fields and the error handling.
func parseCommon(st *state, r *rawState, p *stateParse) {
	if r.Next != nil {
		st.next = *r.Next
	}
	st.end = r.End != nil && *r.End
	if terminal := st.typ == "Choice" || st.typ == "Succeed" || st.typ == "Fail"; !terminal {
		switch {
		case r.Next != nil && st.end:
			p.add(": Next and End are mutually exclusive")
		case r.Next == nil && !st.end:
			p.add(": needs Next or \"End\": true")
		case r.Next != nil && *r.Next == "":
			p.add("/Next: empty")
		}
	}
	st.inputPath = parseOptPath(r.InputPath, p.loc+"/InputPath", false, p.add)
	st.outputPath = parseOptPath(r.OutputPath, p.loc+"/OutputPath", false, p.add)
	st.resultPath = parseOptPath(r.ResultPath, p.loc+"/ResultPath", true, p.add)
	st.parameters = p.payload(r.Parameters, "Parameters", false)
	if st.jsonata {
		st.parameters = p.payload(r.Arguments, "Arguments", true)
	}
	st.selector = p.payload(r.ResultSelector, "ResultSelector", false)
	st.output = p.payload(r.Output, "Output", true)
	st.assign = p.assignments(r.Assign, st.jsonata)
	for i, rr := range r.Retry {
		st.retry = append(st.retry, parseRetrier(rr, fmt.Sprintf("%s/Retry[%d]", p.loc, i), i == len(r.Retry)-1, p.problems))
	}
	for i, rc := range r.Catch {
		st.catch = append(st.catch, p.catcher(rc, i, i == len(r.Catch)-1, st.jsonata))
	}
}

// payload compiles a payload template (JSONPath: ".$" fields; JSONata: "{% %}"
// strings); nil when absent.
func (p *stateParse) payload(b json.RawMessage, field string, jsonata bool) *template {
	if len(b) == 0 {
		return nil
	}
	v, err := decodeJSON(b)
	if err != nil {
		p.add("/%s: %v", field, err)
		return nil
	}
	if jsonata {
		return compileJSONataTemplate(v, field, p.loc+"/"+field, p.problems)
	}
	return compileTemplate(v, p.loc+"/"+field, p.problems)
}

// assignments compiles Assign: an object of variable names.
func (p *stateParse) assignments(b json.RawMessage, jsonata bool) *template {
	t := p.payload(b, "Assign", jsonata)
	if t == nil {
		return nil
	}
	if t.kind != tmplObject {
		p.add("/Assign: must be an object of variable names")
		return nil
	}
	for _, f := range t.fields {
		if f.key == "" || !isVarStart(f.key[0]) || strings.ContainsAny(f.key, ".[]$ ") {
			p.add("/Assign/%s: not a valid variable name", f.key)
		}
	}
	return t
}

func (p *stateParse) catcher(rc rawCatcher, i int, last, jsonata bool) catcher {
	cl := fmt.Sprintf("%s/Catch[%d]", p.loc, i)
	checkErrorEquals(rc.ErrorEquals, cl, last, p.problems)
	if rc.Next == "" {
		*p.problems = append(*p.problems, cl+"/Next: missing")
	}
	sub := &stateParse{loc: cl, topJSONata: p.topJSONata, problems: p.problems}
	c := catcher{errorEquals: rc.ErrorEquals, next: rc.Next, assign: sub.assignments(rc.Assign, jsonata)}
	switch {
	case jsonata && len(rc.ResultPath) > 0:
		sub.add("/ResultPath: not a JSONata field (use Output)")
	case !jsonata && len(rc.Output) > 0:
		sub.add("/Output: a JSONata field (use ResultPath)")
	case jsonata:
		c.output = sub.payload(rc.Output, "Output", true)
	default:
		c.resultPath = parseOptPath(rc.ResultPath, cl+"/ResultPath", true, sub.add)
	}
	return c
}

func parsePass(st *state, r *rawState, p *stateParse) {
	if len(r.Result) > 0 {
		v, err := decodeJSON(r.Result)
		if err != nil {
			p.add("/Result: %v", err)
		}
		st.result, st.hasResult = v, true
	}
}

func parseTask(st *state, r *rawState, p *stateParse) {
	if r.Resource == nil || *r.Resource == "" {
		p.add("/Resource: missing")
	} else {
		st.resource = *r.Resource
		if !supportedResource(st.resource) {
			p.add("/Resource: %q is not supported by the local engine: it runs arn:aws:states:::lambda:invoke and arn:aws:states:::sqs:sendMessage (each also with .waitForTaskToken) and Lambda function ARNs", st.resource)
		}
	}
	if r.TimeoutSeconds != nil && r.TimeoutSecondsPath != nil {
		p.add(": TimeoutSeconds and TimeoutSecondsPath are mutually exclusive")
	}
	if r.TimeoutSeconds != nil {
		if t, ok := positiveInt(*r.TimeoutSeconds); ok {
			st.timeoutSeconds = t
		} else {
			p.add("/TimeoutSeconds: must be a positive integer")
		}
	}
	if r.TimeoutSecondsPath != nil {
		st.timeoutPath = mustPath(*r.TimeoutSecondsPath, p.loc+"/TimeoutSecondsPath", p.add)
	}
	if r.HeartbeatSeconds != nil {
		if t, ok := positiveInt(*r.HeartbeatSeconds); ok {
			st.heartbeatSeconds = t
			if st.timeoutSeconds > 0 && t >= st.timeoutSeconds {
				p.add("/HeartbeatSeconds: must be smaller than TimeoutSeconds")
			}
		} else {
			p.add("/HeartbeatSeconds: must be a positive integer")
		}
	}
	if r.HeartbeatSecondsPath != nil {
		if r.HeartbeatSeconds != nil {
			p.add(": HeartbeatSeconds and HeartbeatSecondsPath are mutually exclusive")
		}
		st.heartbeatPath = mustPath(*r.HeartbeatSecondsPath, p.loc+"/HeartbeatSecondsPath", p.add)
	}
}

func parseParallel(st *state, r *rawState, p *stateParse) {
	if len(r.Branches) == 0 {
		p.add("/Branches: missing or empty")
	}
	for i := range r.Branches {
		st.branches = append(st.branches, parseMachine(&r.Branches[i], fmt.Sprintf("%s/Branches[%d]", p.loc, i), p.topJSONata, p.problems))
	}
}

func parseMap(st *state, r *rawState, p *stateParse) {
	var m *rawMachine
	switch {
	case r.ItemProcessor != nil && r.Iterator != nil:
		p.add(": Iterator and ItemProcessor are mutually exclusive")
	case r.ItemProcessor != nil:
		if pc := r.ItemProcessor.ProcessorConfig; pc != nil && pc.Mode != "" && pc.Mode != "INLINE" {
			p.add("/ItemProcessor/ProcessorConfig/Mode: %q is not supported (INLINE only)", pc.Mode)
		}
		m = &r.ItemProcessor.rawMachine
	case r.Iterator != nil:
		m = r.Iterator
	default:
		p.add(": needs ItemProcessor (or Iterator)")
	}
	if m != nil {
		st.branches = []*StateMachine{parseMachine(m, p.loc+"/ItemProcessor", p.topJSONata, p.problems)}
	}
	st.itemsPath = parseOptPath(r.ItemsPath, p.loc+"/ItemsPath", false, p.add)
	if st.itemsPath.null {
		p.add("/ItemsPath: must not be null")
	}
	st.items = p.payload(r.Items, "Items", true)
	if len(r.ItemSelector) > 0 && len(r.Parameters) > 0 {
		p.add(": ItemSelector and Parameters are mutually exclusive")
	}
	// In a Map state, Parameters is the legacy name of ItemSelector.
	if len(r.ItemSelector) > 0 {
		st.itemSelector = p.payload(r.ItemSelector, "ItemSelector", st.jsonata)
	} else if st.parameters != nil && !st.jsonata {
		st.itemSelector, st.parameters = st.parameters, nil
	}
	if r.MaxConcurrency != nil {
		if *r.MaxConcurrency != math.Trunc(*r.MaxConcurrency) || *r.MaxConcurrency < 0 {
			p.add("/MaxConcurrency: must be a non-negative integer")
		} else {
			st.maxConcurrency = int(*r.MaxConcurrency)
		}
	}
	if r.MaxConcurrencyPath != nil {
		if r.MaxConcurrency != nil {
			p.add(": MaxConcurrency and MaxConcurrencyPath are mutually exclusive")
		}
		st.maxConcPath = mustPath(*r.MaxConcurrencyPath, p.loc+"/MaxConcurrencyPath", p.add)
	}
}

func parseChoiceState(st *state, r *rawState, p *stateParse) {
	if len(r.Choices) == 0 {
		p.add("/Choices: missing or empty")
	}
	for i, c := range r.Choices {
		loc := fmt.Sprintf("%s/Choices[%d]", p.loc, i)
		if st.jsonata {
			st.choices = append(st.choices, parseJSONataChoice(c, loc, p))
		} else {
			st.choices = append(st.choices, parseChoice(c, loc, true, p.problems))
		}
	}
	if r.Default != nil {
		st.def = *r.Default
	}
}

func parseWait(st *state, r *rawState, p *stateParse) {
	n := 0
	if len(r.Seconds) > 0 {
		n++
		st.waitIsSeconds = true
		var f float64
		if st.jsonata && json.Unmarshal(r.Seconds, &f) != nil {
			st.waitExpr = p.payload(r.Seconds, "Seconds", true)
		} else if err := json.Unmarshal(r.Seconds, &f); err != nil || f != math.Trunc(f) || f < 0 {
			p.add("/Seconds: must be a non-negative integer")
		} else {
			st.seconds, st.hasSeconds = int(f), true
		}
	}
	if r.SecondsPath != nil {
		n++
		st.secondsPath = mustPath(*r.SecondsPath, p.loc+"/SecondsPath", p.add)
	}
	if len(r.Timestamp) > 0 {
		n++
		var s string
		if err := json.Unmarshal(r.Timestamp, &s); err != nil {
			p.add("/Timestamp: must be a string")
		} else if _, isExpr := jsonataBody(s); isExpr && st.jsonata {
			st.waitExpr = p.payload(r.Timestamp, "Timestamp", true)
		} else if t, err := parseTimestamp(s); err != nil {
			p.add("/Timestamp: %v", err)
		} else {
			st.timestamp, st.hasTimestamp = t, true
		}
	}
	if r.TimestampPath != nil {
		n++
		st.timestampPath = mustPath(*r.TimestampPath, p.loc+"/TimestampPath", p.add)
	}
	if n != 1 {
		p.add(": needs exactly one of Seconds, SecondsPath, Timestamp, TimestampPath")
	}
}

func parseFail(st *state, r *rawState, p *stateParse) {
	if len(r.Error) > 0 && r.ErrorPath != nil {
		p.add(": Error and ErrorPath are mutually exclusive")
	}
	if len(r.Cause) > 0 && r.CausePath != nil {
		p.add(": Cause and CausePath are mutually exclusive")
	}
	for _, f := range []struct {
		raw  json.RawMessage
		name string
		lit  *string
		dyn  **template
	}{{r.Error, "Error", &st.errName, &st.errorDyn}, {r.Cause, "Cause", &st.cause, &st.causeDyn}} {
		if len(f.raw) == 0 {
			continue
		}
		if err := json.Unmarshal(f.raw, f.lit); err != nil {
			p.add("/%s: must be a string", f.name)
		} else if _, isExpr := jsonataBody(*f.lit); isExpr && st.jsonata {
			*f.dyn = p.payload(f.raw, f.name, true)
		}
	}
	if r.ErrorPath != nil {
		st.errorDyn = compileDynamic(*r.ErrorPath, p.loc+"/ErrorPath", p.problems)
	}
	if r.CausePath != nil {
		st.causeDyn = compileDynamic(*r.CausePath, p.loc+"/CausePath", p.problems)
	}
}

// parseJSONataChoice reads a JSONata choice rule: Condition, Next, Output, Assign.
func parseJSONataChoice(b json.RawMessage, loc string, p *stateParse) *choiceRule {
	sub := &stateParse{loc: loc, topJSONata: p.topJSONata, problems: p.problems}
	var rc struct {
		Condition, Next, Comment string
		Output, Assign           json.RawMessage
	}
	if err := strictUnmarshal(b, &rc, map[string]bool{"Condition": true, "Next": true, "Comment": true, "Output": true, "Assign": true}); err != nil {
		sub.add(": %v", err)
		return &choiceRule{}
	}
	r := &choiceRule{next: rc.Next, output: sub.payload(rc.Output, "Output", true), assign: sub.assignments(rc.Assign, true)}
	if rc.Next == "" {
		sub.add("/Next: missing")
	}
	body, ok := jsonataBody(rc.Condition)
	if !ok {
		sub.add("/Condition: must be a JSONata expression {%% ... %%}")
		return r
	}
	x, err := compileJSONata(body)
	if err != nil {
		sub.add("/Condition: %v", err)
		return r
	}
	r.condition = x
	return r
}
