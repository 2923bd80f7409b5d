package cfn

import (
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
)

// param is one parameter's value in effect.
type param struct {
	typ   string
	value any  // string, or []any of strings for list types
	ssm   bool // an SSM-typed parameter with no value in Options: Ref to it is an error
}

// readParameters settles every parameter's value as CloudFormation would at create
// time: Options.Parameters, else the Default; list types split on commas; Number
// values checked (Ref still returns them as strings, as CloudFormation does).
func (r *resolver) readParameters() error {
	decl, _ := r.t.Raw["Parameters"].(map[string]any)
	for _, name := range sortedKeys(r.opts.Parameters) {
		if _, ok := decl[name]; !ok {
			return &Error{Where: "parameter " + name, Err: errors.New("a value is given in Options.Parameters but the template declares no such parameter")}
		}
	}
	r.params = map[string]param{}
	r.t.Parameters = map[string]any{}
	for _, name := range sortedKeys(decl) {
		p, err := r.readParameter(name, decl[name])
		if err != nil {
			return &Error{Where: "parameter " + name, Err: err}
		}
		r.params[name] = p
		if !p.ssm {
			r.t.Parameters[name] = p.value
		}
	}
	return nil
}

func (r *resolver) readParameter(name string, d any) (param, error) {
	def, ok := d.(map[string]any)
	if !ok {
		return param{}, errors.New("not an object")
	}
	typ, _ := def["Type"].(string)
	if typ == "" {
		return param{}, errors.New("no Type")
	}
	val, given := r.opts.Parameters[name]
	if !given {
		switch dv := def["Default"].(type) {
		case nil:
			return param{}, errors.New("has no Default and no value in Options.Parameters")
		case string:
			val = dv
		case float64:
			val = strconv.FormatFloat(dv, 'f', -1, 64)
		default:
			return param{}, fmt.Errorf("its Default %v is not a string", dv)
		}
		// The Default of an SSM-typed parameter names a Parameter Store key, not the value.
		if strings.HasPrefix(typ, "AWS::SSM::Parameter::Value<") {
			return param{typ: typ, ssm: true}, nil
		}
	}
	if allowed, ok := def["AllowedValues"].([]any); ok && !slices.ContainsFunc(allowed, func(a any) bool { return scalarString(a) == val }) {
		return param{}, fmt.Errorf("value %q is not one of AllowedValues %v", val, allowed)
	}
	p := param{typ: typ, value: val}
	if typ == "Number" || typ == "List<Number>" {
		for _, f := range strings.Split(val, ",") {
			if _, err := strconv.ParseFloat(strings.TrimSpace(f), 64); err != nil {
				return param{}, fmt.Errorf("value %q is not a %s", val, typ)
			}
		}
	}
	if typ == "CommaDelimitedList" || strings.HasPrefix(typ, "List<") || strings.HasPrefix(typ, "AWS::SSM::Parameter::Value<List<") {
		var list []any
		for _, f := range strings.Split(val, ",") {
			list = append(list, strings.TrimSpace(f))
		}
		p.value = list
	}
	return p, nil
}

// scalarString is a scalar JSON value as CloudFormation compares it: as a string.
func scalarString(v any) string {
	switch v := v.(type) {
	case string:
		return v
	case float64:
		return strconv.FormatFloat(v, 'f', -1, 64)
	case bool:
		return strconv.FormatBool(v)
	}
	return fmt.Sprint(v)
}
