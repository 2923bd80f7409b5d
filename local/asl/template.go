package asl

import (
	"fmt"
	"sort"
	"strings"
)

// A payload template (Parameters, ResultSelector, ItemSelector): JSON whose keys
// ending in ".$" take their value from a path or an intrinsic function.
type template struct {
	lit    any
	fields []tmplField // object
	items  []*template // array
	kind   tmplKind
	path   *jsonPath
	call   *intrinsicCall
	source string
}

type tmplKind int

const (
	tmplLit tmplKind = iota
	tmplObject
	tmplArray
	tmplPath
	tmplCall
)

type tmplField struct {
	key string
	val *template
}

// compileTemplate checks v and reports each problem with its location.
func compileTemplate(v any, where string, problems *[]string) *template {
	switch x := v.(type) {
	case map[string]any:
		t := &template{kind: tmplObject}
		keys := make([]string, 0, len(x))
		for k := range x {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		for _, k := range keys {
			if strings.HasSuffix(k, ".$") {
				s, ok := x[k].(string)
				if !ok {
					*problems = append(*problems, fmt.Sprintf("%s/%s: the value of a field ending in .$ must be a path or an intrinsic function string", where, k))
					continue
				}
				t.fields = append(t.fields, tmplField{key: strings.TrimSuffix(k, ".$"), val: compileDynamic(s, where+"/"+k, problems)})
				continue
			}
			t.fields = append(t.fields, tmplField{key: k, val: compileTemplate(x[k], where+"/"+k, problems)})
		}
		return t
	case []any:
		t := &template{kind: tmplArray}
		for i, e := range x {
			t.items = append(t.items, compileTemplate(e, fmt.Sprintf("%s[%d]", where, i), problems))
		}
		return t
	}
	return &template{kind: tmplLit, lit: v}
}

// compileDynamic compiles a path or intrinsic (the value of a .$ field, ErrorPath…).
func compileDynamic(s, where string, problems *[]string) *template {
	if strings.HasPrefix(s, "$") {
		p, err := parsePath(s)
		if err != nil {
			*problems = append(*problems, fmt.Sprintf("%s: %v", where, err))
			return &template{kind: tmplLit}
		}
		return &template{kind: tmplPath, path: p, source: s}
	}
	if strings.HasPrefix(s, "States.") {
		c, err := parseIntrinsic(s)
		if err != nil {
			*problems = append(*problems, fmt.Sprintf("%s: %v", where, err))
			return &template{kind: tmplLit}
		}
		return &template{kind: tmplCall, call: c, source: s}
	}
	*problems = append(*problems, fmt.Sprintf("%s: %q is neither a JSONPath nor an intrinsic function", where, s))
	return &template{kind: tmplLit}
}

// eval builds the JSON value; a path that matches nothing fails with
// States.ParameterPathFailure, an intrinsic with States.IntrinsicFailure.
func (t *template) eval(env *evalEnv, field string) (any, error) {
	switch t.kind {
	case tmplObject:
		out := make(map[string]any, len(t.fields))
		for _, f := range t.fields {
			v, err := f.val.eval(env, f.key)
			if err != nil {
				return nil, err
			}
			out[f.key] = v
		}
		return out, nil
	case tmplArray:
		out := make([]any, len(t.items))
		for i, it := range t.items {
			v, err := it.eval(env, field)
			if err != nil {
				return nil, err
			}
			out[i] = v
		}
		return out, nil
	case tmplPath:
		v, err := env.path(t.path)
		if err != nil {
			return nil, &stateError{name: ErrParameterPathFailure,
				cause: fmt.Sprintf("The JSONPath '%s' specified for the field '%s.$' could not be found in the input '%s'", t.source, field, encodeString(env.input))}
		}
		return v, nil
	case tmplCall:
		return t.call.eval(env)
	}
	return t.lit, nil
}
