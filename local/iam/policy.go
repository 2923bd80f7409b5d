package iam

import (
	"encoding/json"
	"fmt"
	"sort"
	"strconv"
	"strings"
)

// Policy is a parsed policy document.
type Policy struct {
	Name       string // where it comes from, for reasons: "role X policy Y"
	Statements []*Statement
}

// Statement is one statement of a policy document.
type Statement struct {
	Sid    string
	Allow  bool // Effect: Allow; false is Deny
	Action []string
	// NotAction, NotResource, NotPrincipal: the statement applies to everything
	// but what they list.
	NotAction               []string
	Resource, NotResource   []string
	Principal, NotPrincipal *Principals // resource-based and trust policies only
	Conditions              []Condition
	// Source names the statement in decisions: "<policy> statement <n> (<Sid>)".
	Source string
}

// Principals is a Principal or NotPrincipal element.
type Principals struct {
	Any       bool // "*" or {"AWS": "*"}
	AWS       []string
	Service   []string
	Federated []string
}

// Condition is one operator, key and values of a Condition element.
type Condition struct {
	Operator string // as written: "ForAnyValue:StringLike", "BoolIfExists"...
	Key      string // as written; keys compare case-insensitively
	Values   []string

	op        string // the base operator: "StringLike"
	set       string // "", "ForAnyValue" or "ForAllValues"
	ifExists  bool
	supported bool
}

// ParsePolicy reads a policy document: JSON text, or resolved template JSON
// (map[string]any). name says where it comes from in decisions.
func ParsePolicy(name string, doc any) (*Policy, error) {
	if b, ok := doc.([]byte); ok {
		var v any
		if err := json.Unmarshal(b, &v); err != nil {
			return nil, fmt.Errorf("policy %s: %w", name, err)
		}
		doc = v
	}
	m, ok := doc.(map[string]any)
	if !ok {
		return nil, fmt.Errorf("policy %s: the document is %T, not an object", name, doc)
	}
	var raw []any
	switch s := m["Statement"].(type) {
	case []any:
		raw = s
	case map[string]any:
		raw = []any{s} // a single statement may be written without a list
	default:
		return nil, fmt.Errorf("policy %s: no Statement", name)
	}
	p := &Policy{Name: name}
	for i, x := range raw {
		sm, ok := x.(map[string]any)
		if !ok {
			return nil, fmt.Errorf("policy %s: statement %d is not an object", name, i+1)
		}
		s, err := parseStatement(sm)
		if err != nil {
			return nil, fmt.Errorf("policy %s statement %d: %w", name, i+1, err)
		}
		s.Source = fmt.Sprintf("%s statement %d", name, i+1)
		if s.Sid != "" {
			s.Source += " (" + s.Sid + ")"
		}
		p.Statements = append(p.Statements, s)
	}
	return p, nil
}

func parseStatement(m map[string]any) (*Statement, error) {
	s := &Statement{}
	s.Sid, _ = m["Sid"].(string)
	switch m["Effect"] {
	case "Allow":
		s.Allow = true
	case "Deny":
	default:
		return nil, fmt.Errorf("the Effect %v is neither Allow nor Deny", m["Effect"])
	}
	var err error
	for _, f := range []struct {
		name string
		dst  *[]string
	}{{"Action", &s.Action}, {"NotAction", &s.NotAction}, {"Resource", &s.Resource}, {"NotResource", &s.NotResource}} {
		if *f.dst, err = stringList(m[f.name], f.name); err != nil {
			return nil, err
		}
	}
	if (s.Action == nil) == (s.NotAction == nil) {
		return nil, fmt.Errorf("a statement needs exactly one of Action and NotAction")
	}
	if s.Principal, err = parsePrincipals(m["Principal"]); err != nil {
		return nil, err
	}
	if s.NotPrincipal, err = parsePrincipals(m["NotPrincipal"]); err != nil {
		return nil, err
	}
	if s.Conditions, err = parseConditions(m["Condition"]); err != nil {
		return nil, err
	}
	return s, nil
}

// stringList reads a string or a list of strings; absent is nil.
func stringList(v any, what string) ([]string, error) {
	switch x := v.(type) {
	case nil:
		return nil, nil
	case string:
		return []string{x}, nil
	case []any:
		out := make([]string, 0, len(x))
		for _, e := range x {
			s, ok := e.(string)
			if !ok {
				return nil, fmt.Errorf("%s holds %T, not a string", what, e)
			}
			out = append(out, s)
		}
		return out, nil
	}
	return nil, fmt.Errorf("%s is %T, not a string or a list", what, v)
}

func parsePrincipals(v any) (*Principals, error) {
	switch x := v.(type) {
	case nil:
		return nil, nil
	case string:
		if x != "*" {
			return nil, fmt.Errorf("the Principal %q: a string principal must be \"*\"", x)
		}
		return &Principals{Any: true}, nil
	case map[string]any:
		p := &Principals{}
		for k, e := range x {
			l, err := stringList(e, "Principal."+k)
			if err != nil {
				return nil, err
			}
			switch k {
			case "AWS":
				p.AWS = l
				for _, a := range l {
					p.Any = p.Any || a == "*"
				}
			case "Service":
				p.Service = l
			case "Federated":
				p.Federated = l
			default:
				return nil, fmt.Errorf("the Principal type %s is not modelled by the twin", k)
			}
		}
		return p, nil
	}
	return nil, fmt.Errorf("the Principal is %T, not \"*\" or an object", v)
}

func parseConditions(v any) ([]Condition, error) {
	if v == nil {
		return nil, nil
	}
	m, ok := v.(map[string]any)
	if !ok {
		return nil, fmt.Errorf("the Condition is %T, not an object", v)
	}
	var out []Condition
	for _, op := range sortedKeys(m) {
		keys, ok := m[op].(map[string]any)
		if !ok {
			return nil, fmt.Errorf("the Condition.%s is not an object", op)
		}
		for _, key := range sortedKeys(keys) {
			vals, err := conditionValues(keys[key])
			if err != nil {
				return nil, fmt.Errorf("the Condition.%s.%s: %w", op, key, err)
			}
			out = append(out, newCondition(op, key, vals))
		}
	}
	return out, nil
}

// conditionValues reads condition values: strings, booleans and numbers, alone
// or in a list, all compared as text.
func conditionValues(v any) ([]string, error) {
	list, ok := v.([]any)
	if !ok {
		list = []any{v}
	}
	out := make([]string, 0, len(list))
	for _, e := range list {
		switch x := e.(type) {
		case string:
			out = append(out, x)
		case bool:
			out = append(out, strconv.FormatBool(x))
		case float64:
			out = append(out, strconv.FormatFloat(x, 'f', -1, 64))
		default:
			return nil, fmt.Errorf("value %v (%T) is not a string, boolean or number", e, e)
		}
	}
	return out, nil
}

func newCondition(operator, key string, values []string) Condition {
	c := Condition{Operator: operator, Key: key, Values: values}
	op := operator
	if set, rest, ok := strings.Cut(op, ":"); ok {
		c.set, op = set, rest
	}
	c.op, c.ifExists = strings.CutSuffix(op, "IfExists")
	_, known := operators[c.op]
	c.supported = known && (c.set == "" || c.set == "ForAnyValue" || c.set == "ForAllValues") && !(c.ifExists && c.op == "Null")
	return c
}

func sortedKeys[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}
