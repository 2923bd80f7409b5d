package cfn

import (
	"fmt"
	"strings"
)

// subPart is a literal run of a Fn::Sub template, or a ${variable}.
type subPart struct {
	text  string
	isVar bool
}

// parseSub splits a Fn::Sub template. ${!Literal} stands for the text ${Literal};
// a "${" with no closing "}" is literal text.
func parseSub(s string) []subPart {
	var parts []subPart
	var lit strings.Builder
	for {
		i := strings.Index(s, "${")
		if i < 0 {
			break
		}
		j := strings.Index(s[i:], "}")
		if j < 0 {
			break
		}
		lit.WriteString(s[:i])
		name := s[i+2 : i+j]
		s = s[i+j+1:]
		if strings.HasPrefix(name, "!") {
			lit.WriteString("${" + name[1:] + "}")
			continue
		}
		if lit.Len() > 0 {
			parts = append(parts, subPart{text: lit.String()})
			lit.Reset()
		}
		parts = append(parts, subPart{text: name, isVar: true})
	}
	lit.WriteString(s)
	if lit.Len() > 0 {
		parts = append(parts, subPart{text: lit.String()})
	}
	return parts
}

// fnSub: "template" or ["template", {var: value}]. A variable is looked up in the
// map, then as a pseudo parameter, parameter or resource (Ref), then as
// LogicalId.Attribute (Fn::GetAtt).
func fnSub(r *resolver, sc scope, arg any, path string) (any, error) {
	var tmpl string
	vars := map[string]any{}
	switch a := arg.(type) {
	case string:
		tmpl = a
	case []any:
		if len(a) != 2 {
			return nil, &Error{Where: sc.where, Path: path, Err: fmt.Errorf("Fn::Sub takes a string or [string, {variables}], not a list of %d", len(a))}
		}
		s, ok := a[0].(string)
		m, ok2 := a[1].(map[string]any)
		if !ok || !ok2 {
			return nil, &Error{Where: sc.where, Path: path, Err: fmt.Errorf("Fn::Sub takes [string, {variables}], not [%s, %s]", describe(a[0]), describe(a[1]))}
		}
		tmpl = s
		for _, k := range sortedKeys(m) {
			v, err := r.eval(sc, m[k], keyPath(fnPath(path, "Fn::Sub")+"[1]", k))
			if err != nil {
				return nil, err
			}
			vars[k] = v
		}
	default:
		return nil, &Error{Where: sc.where, Path: path, Err: fmt.Errorf("Fn::Sub takes a string or [string, {variables}], not %s", describe(arg))}
	}
	var b strings.Builder
	for _, p := range parseSub(tmpl) {
		if !p.isVar {
			b.WriteString(p.text)
			continue
		}
		v, err := r.subVar(sc, vars, p.text)
		if err != nil {
			return nil, errAt(sc, path, prefixed("Fn::Sub ${"+p.text+"}", err))
		}
		s, ok := v.(string)
		if !ok {
			return nil, &Error{Where: sc.where, Path: path, Err: fmt.Errorf("Fn::Sub ${%s} is %s, not a string", p.text, describe(v))}
		}
		b.WriteString(s)
	}
	return b.String(), nil
}

func (r *resolver) subVar(sc scope, vars map[string]any, name string) (any, error) {
	if v, ok := vars[name]; ok {
		return v, nil
	}
	if res, attr, ok := strings.Cut(name, "."); ok {
		return r.getAttIn(sc, res, attr)
	}
	return r.ref(sc, name)
}

// subRefs lists the resources a Fn::Sub template refers to (for the dependency order).
func subRefs(tmpl string, vars map[string]any) []string {
	var out []string
	for _, p := range parseSub(tmpl) {
		if !p.isVar {
			continue
		}
		if _, ok := vars[p.text]; ok {
			continue
		}
		name, _, _ := strings.Cut(p.text, ".")
		out = append(out, name)
	}
	return out
}
