package iam

import (
	"strings"
)

// Policy variables (${aws:username}, ${cognito-identity.amazonaws.com:sub}) in
// Resource, NotResource and condition values, as "IAM policy elements: Variables
// and tags" describes them: replaced by the request context's value of the key;
// ${key, 'default'} gives a default; ${$} is a dollar sign. A variable that does
// not resolve (the key absent, or holding several values) makes the statement
// not apply, as IAM's "might cause the entire statement to be invalid" says.
// The twin refuses rather than guess in two cases: ${*} and ${?} (a literal
// wildcard character, which its glob cannot express) are unsupported, and a
// context value holding * or ? does not resolve (it would act as a wildcard).

// variable is one ${...} of a pattern.
type variable struct {
	key, def   string
	hasDefault bool
	literal    string // "$" for ${$}; "*" or "?" (unsupported)
}

// variables lists a pattern's ${...}; ok is false when one is malformed.
func variables(pattern string) (vars []variable, ok bool) {
	rest := pattern
	for {
		i := strings.Index(rest, "${")
		if i < 0 {
			return vars, true
		}
		j := strings.IndexByte(rest[i:], '}')
		if j < 0 {
			return nil, false
		}
		v, ok := parseVariable(rest[i+2 : i+j])
		if !ok {
			return nil, false
		}
		vars = append(vars, v)
		rest = rest[i+j+1:]
	}
}

func parseVariable(inner string) (variable, bool) {
	inner = strings.TrimSpace(inner)
	switch inner {
	case "$", "*", "?":
		return variable{literal: inner}, true
	case "":
		return variable{}, false
	}
	key, def, hasDef := strings.Cut(inner, ",")
	v := variable{key: strings.TrimSpace(key), hasDefault: hasDef}
	if hasDef {
		def = strings.TrimSpace(def)
		if len(def) < 2 || def[0] != '\'' || def[len(def)-1] != '\'' {
			return variable{}, false
		}
		v.def = strings.ReplaceAll(def[1:len(def)-1], "''", "'")
	}
	return v, v.key != "" && !strings.ContainsAny(v.key, " '")
}

// expand replaces a pattern's variables from the request context (lower-case
// keys); ok is false when one does not resolve.
func expand(pattern string, rc map[string][]string) (string, bool) {
	if !strings.Contains(pattern, "${") {
		return pattern, true
	}
	var b strings.Builder
	rest := pattern
	for {
		i := strings.Index(rest, "${")
		if i < 0 {
			b.WriteString(rest)
			return b.String(), true
		}
		j := strings.IndexByte(rest[i:], '}')
		if j < 0 {
			return "", false
		}
		v, ok := parseVariable(rest[i+2 : i+j])
		if !ok || v.literal == "*" || v.literal == "?" {
			return "", false
		}
		b.WriteString(rest[:i])
		switch vals := rc[strings.ToLower(v.key)]; {
		case v.literal != "":
			b.WriteString(v.literal)
		case len(vals) == 1 && vals[0] != "" && !strings.ContainsAny(vals[0], "*?"):
			b.WriteString(vals[0])
		case v.hasDefault:
			b.WriteString(v.def)
		default:
			return "", false
		}
		rest = rest[i+j+1:]
	}
}

// unsupportedVariable names a variable in the statement the twin cannot
// evaluate: a malformed one, ${*} or ${?}, or one whose key it does not supply.
func (p *Policies) unsupportedVariable(s *Statement) string {
	patterns := append(append([]string{}, s.Resource...), s.NotResource...)
	for _, c := range s.Conditions {
		patterns = append(patterns, c.Values...)
	}
	for _, pat := range patterns {
		if !strings.Contains(pat, "${") {
			continue
		}
		vars, ok := variables(pat)
		if !ok {
			return "the malformed policy variable in " + pat
		}
		for _, v := range vars {
			switch {
			case v.literal == "*" || v.literal == "?":
				return "the policy variable ${" + v.literal + "} in " + pat
			case v.literal == "" && !p.keys[strings.ToLower(v.key)]:
				return "the policy variable ${" + v.key + "} in " + pat + ", a key the twin does not supply"
			}
		}
	}
	return ""
}
