package asl

import (
	"fmt"
	"strings"
)

// A payload template (Parameters, ResultSelector, ItemSelector): JSON whose keys
// ending in ".$" take their value from a path or an intrinsic function.
type template struct {
	x      *jsonataExpr // tmplJSONata
	loc    string       // tmplJSONata: the field, as AWS names it ("Arguments/FunctionName")
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
	tmplJSONata
)

type tmplField struct {
	key string
	val *template
}

// compileTemplate checks v and reports each problem with its location.
func compileTemplate(v any, where string, problems *[]string) *template {
	switch x := v.(type) {
	case *object:
		t := &template{kind: tmplObject}
		for i, k := range x.keys {
			if strings.HasSuffix(k, ".$") {
				s, ok := x.vals[i].(string)
				if !ok {
					*problems = append(*problems, fmt.Sprintf("%s/%s: the value of a field ending in .$ must be a path or an intrinsic function string", where, k))
					continue
				}
				t.fields = append(t.fields, tmplField{key: strings.TrimSuffix(k, ".$"), val: compileDynamic(s, where+"/"+k, problems)})
				continue
			}
			t.fields = append(t.fields, tmplField{key: k, val: compileTemplate(x.vals[i], where+"/"+k, problems)})
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

// eval builds the JSON value. A path that matches nothing, or an intrinsic function
// given arguments it cannot use, fails with States.Runtime: that is what AWS records
// (not the States.ParameterPathFailure and States.IntrinsicFailure the error-handling
// page names), and States.ALL does not catch it (DIFFERENCES.md).
func (t *template) eval(env *evalEnv, field string) (any, error) {
	switch t.kind {
	case tmplObject:
		out := newObject(len(t.fields))
		for _, f := range t.fields {
			v, err := f.val.eval(env, f.key)
			if err != nil {
				return nil, err
			}
			out.set(f.key, v)
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
			return nil, runtimeError("The JSONPath '%s' specified for the field '%s' could not be found in the input '%s'", t.source, dynField(field), encodeString(env.input))
		}
		return v, nil
	case tmplCall:
		return t.call.eval(env)
	case tmplJSONata:
		return t.x.eval(env, t.loc)
	}
	return t.lit, nil
}

// compileJSONataTemplate compiles a JSONata state's field: "{% %}" strings are
// expressions, anywhere in objects and arrays; everything else is literal. field is
// the location AWS's messages name ("Arguments/FunctionName").
func compileJSONataTemplate(v any, field, where string, problems *[]string) *template {
	switch x := v.(type) {
	case *object:
		t := &template{kind: tmplObject}
		for i, k := range x.keys {
			t.fields = append(t.fields, tmplField{key: k, val: compileJSONataTemplate(x.vals[i], field+"/"+k, where+"/"+k, problems)})
		}
		return t
	case []any:
		t := &template{kind: tmplArray}
		for i, e := range x {
			t.items = append(t.items, compileJSONataTemplate(e, fmt.Sprintf("%s[%d]", field, i), fmt.Sprintf("%s[%d]", where, i), problems))
		}
		return t
	case string:
		if body, ok := jsonataBody(x); ok {
			expr, err := compileJSONata(body)
			if err != nil {
				*problems = append(*problems, fmt.Sprintf("%s: %v", where, err))
				return &template{kind: tmplLit}
			}
			return &template{kind: tmplJSONata, x: expr, loc: field, source: x}
		}
	}
	return &template{kind: tmplLit, lit: v}
}

// dynField names a dynamic field as AWS's messages do: "key.$" in a payload template,
// the field itself (ErrorPath, CausePath) elsewhere.
func dynField(field string) string {
	switch field {
	case "ErrorPath", "CausePath":
		return field
	}
	return field + ".$"
}
