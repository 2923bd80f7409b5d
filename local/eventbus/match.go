// Package eventbus is the twin's EventBridge: it matches events against the same
// patterns the CDK rules use (statemachine/patterns.go) and hands matches to targets.
package eventbus

import (
	"bytes"
	"encoding/json"
	"fmt"
	"sort"
	"strings"
)

// Pattern is a compiled EventBridge event pattern. It supports what the pipeline's
// rules use, with EventBridge semantics: nested objects, arrays of exact values
// (strings, numbers, booleans, null), and the operators prefix, suffix,
// equals-ignore-case, exists and anything-but (of exact values). Any other operator
// is an error at Compile, never a silent match.
type Pattern struct {
	fields []field
}

type field struct {
	name   string
	nested *Pattern  // an object pattern, or
	leaf   []matcher // an array of alternatives
}

type matcher struct {
	op    string // "exact", "prefix", "suffix", "equals-ignore-case", "exists", "anything-but"
	value any    // exact: string, float64, bool, nil; prefix/suffix/equals-ignore-case: string; exists: bool
	set   []any  // anything-but
}

// Compile validates p (as JSON-ready maps and slices, or anything that marshals to a
// JSON object) and compiles it.
func Compile(p any) (*Pattern, error) {
	b, err := json.Marshal(p)
	if err != nil {
		return nil, fmt.Errorf("event pattern: %w", err)
	}
	return CompileJSON(b)
}

// CompileJSON compiles a pattern written as JSON.
func CompileJSON(b []byte) (*Pattern, error) {
	v, err := decodeJSON(b)
	if err != nil {
		return nil, fmt.Errorf("event pattern: %w", err)
	}
	obj, ok := v.(map[string]any)
	if !ok {
		return nil, fmt.Errorf("event pattern: must be a JSON object")
	}
	return compileObject(obj, "")
}

func compileObject(obj map[string]any, path string) (*Pattern, error) {
	if len(obj) == 0 {
		return nil, fmt.Errorf("event pattern: %s: empty object", pathOr(path))
	}
	names := make([]string, 0, len(obj))
	for k := range obj {
		names = append(names, k)
	}
	sort.Strings(names)
	p := &Pattern{}
	for _, name := range names {
		at := path + "/" + name
		switch v := obj[name].(type) {
		case map[string]any:
			n, err := compileObject(v, at)
			if err != nil {
				return nil, err
			}
			p.fields = append(p.fields, field{name: name, nested: n})
		case []any:
			if len(v) == 0 {
				return nil, fmt.Errorf("event pattern: %s: empty array", at)
			}
			f := field{name: name}
			for _, alt := range v {
				m, err := compileMatcher(alt, at)
				if err != nil {
					return nil, err
				}
				f.leaf = append(f.leaf, m)
			}
			p.fields = append(p.fields, f)
		default:
			return nil, fmt.Errorf("event pattern: %s: must be an object or an array", at)
		}
	}
	return p, nil
}

func compileMatcher(v any, at string) (matcher, error) {
	switch v := v.(type) {
	case nil, string, float64, bool:
		return matcher{op: "exact", value: v}, nil
	case []any:
		return matcher{}, fmt.Errorf("event pattern: %s: nested arrays are not allowed", at)
	}
	obj := v.(map[string]any)
	if len(obj) != 1 {
		return matcher{}, fmt.Errorf("event pattern: %s: an operator object needs exactly one key", at)
	}
	for op, arg := range obj {
		switch op {
		case "prefix", "suffix", "equals-ignore-case":
			s, ok := arg.(string)
			if !ok {
				return matcher{}, fmt.Errorf("event pattern: %s: %s takes a string", at, op)
			}
			return matcher{op: op, value: s}, nil
		case "exists":
			b, ok := arg.(bool)
			if !ok {
				return matcher{}, fmt.Errorf("event pattern: %s: exists takes true or false", at)
			}
			return matcher{op: op, value: b}, nil
		case "anything-but":
			var set []any
			switch a := arg.(type) {
			case string, float64, bool, nil:
				set = []any{a}
			case []any:
				for _, x := range a {
					switch x.(type) {
					case string, float64, bool, nil:
					default:
						return matcher{}, fmt.Errorf("event pattern: %s: anything-but lists exact values only", at)
					}
				}
				set = a
			default:
				return matcher{}, fmt.Errorf("event pattern: %s: unsupported anything-but form", at)
			}
			return matcher{op: op, set: set}, nil
		default:
			return matcher{}, fmt.Errorf("event pattern: %s: unsupported operator %q", at, op)
		}
	}
	panic("unreachable")
}

func pathOr(p string) string {
	if p == "" {
		return "/"
	}
	return p
}

// Match reports whether the JSON event matches. An event that is not a JSON object
// matches nothing.
func (p *Pattern) Match(event []byte) bool {
	v, err := decodeJSON(event)
	if err != nil {
		return false
	}
	obj, ok := v.(map[string]any)
	return ok && p.matchObject(obj)
}

func (p *Pattern) matchObject(obj map[string]any) bool {
	for _, f := range p.fields {
		v, present := obj[f.name]
		if f.nested != nil {
			sub, _ := v.(map[string]any) // absent or not an object: only exists:false can match below
			if !f.nested.matchObject(sub) {
				return false
			}
			continue
		}
		if !matchLeaf(f.leaf, v, present) {
			return false
		}
	}
	return true
}

// matchLeaf: the field matches when any alternative matches its value, or, for an
// array value, any of its elements.
func matchLeaf(alts []matcher, v any, present bool) bool {
	if _, isObj := v.(map[string]any); isObj {
		// Leaf matchers apply to leaves; exists:true still sees a present field.
		for _, m := range alts {
			if m.op == "exists" && m.value == true {
				return true
			}
		}
		return false
	}
	values := []any{v}
	if arr, ok := v.([]any); ok {
		values = arr
	}
	for _, m := range alts {
		if m.op == "exists" {
			if m.value.(bool) == (present && len(values) > 0) {
				return true
			}
			continue
		}
		if !present {
			continue
		}
		for _, x := range values {
			if m.match(x) {
				return true
			}
		}
	}
	return false
}

func (m matcher) match(x any) bool {
	switch m.op {
	case "exact":
		return m.value == x
	case "prefix":
		s, ok := x.(string)
		return ok && strings.HasPrefix(s, m.value.(string))
	case "suffix":
		s, ok := x.(string)
		return ok && strings.HasSuffix(s, m.value.(string))
	case "equals-ignore-case":
		s, ok := x.(string)
		return ok && strings.EqualFold(s, m.value.(string))
	case "anything-but":
		for _, y := range m.set {
			if y == x {
				return false
			}
		}
		return true
	}
	return false
}

// Match compiles pattern and matches event (JSON bytes, or a value that marshals to
// a JSON object such as pipeline.ObjectEvent). An invalid pattern matches nothing.
func Match(pattern any, event any) bool {
	p, err := Compile(pattern)
	if err != nil {
		return false
	}
	b, ok := event.([]byte)
	if !ok {
		var err error
		if b, err = json.Marshal(event); err != nil {
			return false
		}
	}
	return p.Match(b)
}

// decodeJSON decodes one JSON value with numbers as float64, rejecting trailing data.
func decodeJSON(b []byte) (any, error) {
	dec := json.NewDecoder(bytes.NewReader(b))
	var v any
	if err := dec.Decode(&v); err != nil {
		return nil, err
	}
	if dec.More() {
		return nil, fmt.Errorf("trailing data after JSON value")
	}
	return v, nil
}
