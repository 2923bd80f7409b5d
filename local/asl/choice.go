package asl

import (
	"encoding/json"
	"fmt"
	"sort"
	"strings"
)

type choiceRule struct {
	next      string
	condition *jsonataExpr // JSONata rule
	output    *template    // JSONata rule: the state's output when it matches
	assign    *template
	and, or   []*choiceRule
	not       *choiceRule
	variable  *jsonPath
	op        string // comparison operator without the Path suffix
	byPath    bool
	value     any
	valuePath *jsonPath
}

var comparisonOps = map[string]string{ // operator → type of its literal
	"StringEquals": "string", "StringLessThan": "string", "StringGreaterThan": "string",
	"StringLessThanEquals": "string", "StringGreaterThanEquals": "string", "StringMatches": "string",
	"NumericEquals": "number", "NumericLessThan": "number", "NumericGreaterThan": "number",
	"NumericLessThanEquals": "number", "NumericGreaterThanEquals": "number",
	"BooleanEquals":   "boolean",
	"TimestampEquals": "timestamp", "TimestampLessThan": "timestamp", "TimestampGreaterThan": "timestamp",
	"TimestampLessThanEquals": "timestamp", "TimestampGreaterThanEquals": "timestamp",
	"IsNull": "boolean", "IsPresent": "boolean", "IsNumeric": "boolean", "IsString": "boolean",
	"IsBoolean": "boolean", "IsTimestamp": "boolean",
}

// parseChoice reads one JSONPath choice rule: a boolean combination (And, Or, Not)
// or one comparison of Variable.
func parseChoice(b json.RawMessage, loc string, top bool, problems *[]string) *choiceRule {
	add := func(format string, a ...any) { *problems = append(*problems, loc+fmt.Sprintf(format, a...)) }
	var m map[string]json.RawMessage
	if err := json.Unmarshal(b, &m); err != nil {
		add(": not an object")
		return &choiceRule{}
	}
	r := &choiceRule{}
	if n, ok := m["Next"]; ok {
		if !top {
			add("/Next: only top-level choice rules have Next")
		}
		_ = json.Unmarshal(n, &r.next)
	} else if top {
		add("/Next: missing")
	}
	ops := choiceOperators(m, add)
	if len(ops) != 1 {
		sort.Strings(ops)
		add(": needs exactly one operator, has %d %v", len(ops), ops)
		return r
	}
	switch op := ops[0]; op {
	case "And", "Or", "Not":
		parseLogical(r, m, op, loc, add, problems)
	default:
		parseComparison(r, m, op, add)
	}
	return r
}

// choiceOperators lists a rule's operator fields, reporting unknown fields.
func choiceOperators(m map[string]json.RawMessage, add func(string, ...any)) []string {
	var ops []string
	for k := range m {
		switch k {
		case "Next", "Comment", "Variable":
		case "And", "Or", "Not":
			ops = append(ops, k)
		default:
			base := strings.TrimSuffix(k, "Path")
			if _, ok := comparisonOps[k]; ok {
				ops = append(ops, k)
			} else if _, ok := comparisonOps[base]; ok && base != "StringMatches" && !strings.HasPrefix(base, "Is") {
				ops = append(ops, k)
			} else {
				add(": unsupported field %q", k)
			}
		}
	}
	return ops
}

func parseLogical(r *choiceRule, m map[string]json.RawMessage, op, loc string, add func(string, ...any), problems *[]string) {
	if _, ok := m["Variable"]; ok {
		add("/Variable: not allowed with %s", op)
	}
	if op == "Not" {
		r.not = parseChoice(m["Not"], loc+"/Not", false, problems)
		return
	}
	var list []json.RawMessage
	if err := json.Unmarshal(m[op], &list); err != nil || len(list) == 0 {
		add("/%s: must be a non-empty array of rules", op)
		return
	}
	for i, e := range list {
		sub := parseChoice(e, fmt.Sprintf("%s/%s[%d]", loc, op, i), false, problems)
		if op == "And" {
			r.and = append(r.and, sub)
		} else {
			r.or = append(r.or, sub)
		}
	}
}

// parseComparison reads Variable and a comparison against a literal or a path.
func parseComparison(r *choiceRule, m map[string]json.RawMessage, op string, add func(string, ...any)) {
	var vs string
	if err := json.Unmarshal(m["Variable"], &vs); err != nil {
		add("/Variable: missing or not a string")
		return
	}
	vp, err := parsePath(vs)
	if err != nil {
		add("/Variable: %v", err)
		return
	}
	r.variable, r.op = vp, op
	if _, ok := comparisonOps[op]; !ok {
		r.op, r.byPath = strings.TrimSuffix(op, "Path"), true
		var ps string
		if err := json.Unmarshal(m[op], &ps); err != nil {
			add("/%s: must be a path string", op)
			return
		}
		if r.valuePath, err = parsePath(ps); err != nil {
			add("/%s: %v", op, err)
		}
		return
	}
	v, err := decodeJSON(m[op])
	if err != nil {
		add("/%s: %v", op, err)
		return
	}
	ok := false
	switch comparisonOps[op] {
	case "string":
		_, ok = v.(string)
	case "number":
		_, ok = v.(json.Number)
	case "boolean":
		_, ok = v.(bool)
	case "timestamp":
		if s, isStr := v.(string); isStr {
			_, perr := parseTimestamp(s)
			ok = perr == nil
		}
	}
	if !ok {
		add("/%s: must be a %s", op, comparisonOps[op])
	}
	r.value = v
}

// eval applies the rule to the state's effective input. A missing Variable is a
// States.Runtime failure except for IsPresent, which is what it asks.
func (r *choiceRule) eval(env *evalEnv) (bool, error) {
	switch {
	case r.and != nil:
		for _, s := range r.and {
			ok, err := s.eval(env)
			if err != nil || !ok {
				return false, err
			}
		}
		return true, nil
	case r.or != nil:
		for _, s := range r.or {
			ok, err := s.eval(env)
			if err != nil || ok {
				return ok, err
			}
		}
		return false, nil
	case r.not != nil:
		ok, err := r.not.eval(env)
		return !ok, err
	}
	v, err := env.path(r.variable)
	missing := err != nil
	if r.op == "IsPresent" {
		want, _ := r.value.(bool)
		return !missing == want, nil
	}
	if missing {
		return false, &stateError{name: ErrRuntime, cause: fmt.Sprintf("Invalid path '%s': The choice state's condition path references an invalid value.", r.variable.raw)}
	}
	want := r.value
	if r.byPath {
		w, err := env.path(r.valuePath)
		if err != nil {
			return false, &stateError{name: ErrRuntime, cause: fmt.Sprintf("Invalid path '%s': The choice state's condition path references an invalid value.", r.valuePath.raw)}
		}
		want = w
	}
	return compare(r.op, v, want), nil
}

func compare(op string, v, want any) bool {
	switch op {
	case "IsNull", "IsNumeric", "IsString", "IsBoolean", "IsTimestamp":
		var is bool
		switch op {
		case "IsNull":
			is = v == nil
		case "IsNumeric":
			_, is = toFloat(v)
		case "IsString":
			_, is = v.(string)
		case "IsBoolean":
			_, is = v.(bool)
		case "IsTimestamp":
			if s, ok := v.(string); ok {
				_, err := parseTimestamp(s)
				is = err == nil
			}
		}
		w, _ := want.(bool)
		return is == w
	case "BooleanEquals":
		a, ok1 := v.(bool)
		b, ok2 := want.(bool)
		return ok1 && ok2 && a == b
	case "StringMatches":
		a, ok1 := v.(string)
		b, ok2 := want.(string)
		return ok1 && ok2 && wildcardMatch(b, a)
	}
	if strings.HasPrefix(op, "String") {
		a, ok1 := v.(string)
		b, ok2 := want.(string)
		if !ok1 || !ok2 {
			return false
		}
		return ordered(op, strings.Compare(a, b))
	}
	if strings.HasPrefix(op, "Numeric") {
		a, ok1 := toFloat(v)
		b, ok2 := toFloat(want)
		if !ok1 || !ok2 {
			return false
		}
		c := 0
		if a < b {
			c = -1
		} else if a > b {
			c = 1
		}
		return ordered(op, c)
	}
	if strings.HasPrefix(op, "Timestamp") {
		as, ok1 := v.(string)
		bs, ok2 := want.(string)
		if !ok1 || !ok2 {
			return false
		}
		a, err1 := parseTimestamp(as)
		b, err2 := parseTimestamp(bs)
		if err1 != nil || err2 != nil {
			return false
		}
		return ordered(op, a.Compare(b))
	}
	return false
}

func ordered(op string, c int) bool {
	switch {
	case strings.HasSuffix(op, "LessThanEquals"):
		return c <= 0
	case strings.HasSuffix(op, "GreaterThanEquals"):
		return c >= 0
	case strings.HasSuffix(op, "LessThan"):
		return c < 0
	case strings.HasSuffix(op, "GreaterThan"):
		return c > 0
	case strings.HasSuffix(op, "Equals"):
		return c == 0
	}
	return false
}

// wildcardMatch implements StringMatches: * matches any run of characters; \* and
// \\ are literal.
func wildcardMatch(pattern, s string) bool {
	type tok struct {
		star bool
		r    rune
	}
	var toks []tok
	rs := []rune(pattern)
	for i := 0; i < len(rs); i++ {
		if rs[i] == '\\' && i+1 < len(rs) {
			i++
			toks = append(toks, tok{r: rs[i]})
		} else if rs[i] == '*' {
			toks = append(toks, tok{star: true})
		} else {
			toks = append(toks, tok{r: rs[i]})
		}
	}
	in := []rune(s)
	// classic two-pointer glob match with backtracking to the last star
	ti, si, starT, starS := 0, 0, -1, 0
	for si < len(in) {
		switch {
		case ti < len(toks) && !toks[ti].star && toks[ti].r == in[si]:
			ti++
			si++
		case ti < len(toks) && toks[ti].star:
			starT, starS = ti, si
			ti++
		case starT >= 0:
			ti = starT + 1
			starS++
			si = starS
		default:
			return false
		}
	}
	for ti < len(toks) && toks[ti].star {
		ti++
	}
	return ti == len(toks)
}
