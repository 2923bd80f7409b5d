package cognito

import (
	"fmt"
	"path"
	"strings"

	"github.com/imagepipe/imagepipe/local/cfn"
)

// The built-in trust check, used when Options.AssumeRole is nil: STS's decision
// on sts:AssumeRoleWithWebIdentity by cognito-identity.amazonaws.com, from the
// role's AssumeRolePolicyDocument in the template. It knows what trust policies
// for identity pools are written with (Principal Federated, the String
// condition operators with ForAnyValue:/ForAllValues:); anything else in a
// statement that could apply denies, naming it, rather than be guessed at.

const (
	cognitoPrincipal = "cognito-identity.amazonaws.com"
	webIdentity      = "sts:AssumeRoleWithWebIdentity"
)

type trustStatement struct {
	deny       bool
	principals []string // Federated and "*"
	actions    []string
	notAction  bool
	conditions map[string]map[string][]string // operator → key → values
	unknown    string                         // an element the check cannot evaluate
}

func templateTrust(roles map[string]*cfn.Resource) (func(string, map[string][]string) error, error) {
	policies := map[string][]trustStatement{}
	for arn, r := range roles {
		doc, _ := cfn.Get(r.Properties, "AssumeRolePolicyDocument")
		sts, err := parseTrust(doc)
		if err != nil {
			return nil, configErr(r, "AssumeRolePolicyDocument", "%v", err)
		}
		policies[arn] = sts
	}
	return func(roleARN string, ctx map[string][]string) error {
		sts, ok := policies[roleARN]
		if !ok {
			return fmt.Errorf("role %s is not in the template", roleARN)
		}
		return decideTrust(sts, ctx)
	}, nil
}

func parseTrust(doc any) ([]trustStatement, error) {
	raw, _ := cfn.Get(doc, "Statement")
	list, ok := raw.([]any)
	if !ok && raw != nil {
		list = []any{raw}
	}
	var out []trustStatement
	for i, st := range list {
		m, ok := st.(map[string]any)
		if !ok {
			return nil, fmt.Errorf("statement %d is not an object", i)
		}
		ts := trustStatement{conditions: map[string]map[string][]string{}}
		effect, _ := m["Effect"].(string)
		ts.deny = effect == "Deny"
		ts.principals = principals(m["Principal"])
		if _, ok := m["NotPrincipal"]; ok {
			ts.unknown = "NotPrincipal"
		}
		if a, ok := m["NotAction"]; ok {
			ts.actions, ts.notAction = stringsOf(a), true
		} else {
			ts.actions = stringsOf(m["Action"])
		}
		cond, _ := m["Condition"].(map[string]any)
		for op, kv := range cond {
			keys, _ := kv.(map[string]any)
			ts.conditions[op] = map[string][]string{}
			for k, v := range keys {
				ts.conditions[op][strings.ToLower(k)] = stringsOf(v)
			}
		}
		out = append(out, ts)
	}
	return out, nil
}

func principals(p any) []string {
	switch x := p.(type) {
	case string:
		return []string{x}
	case map[string]any:
		out := stringsOf(x["Federated"])
		if aws := stringsOf(x["AWS"]); len(aws) == 1 && aws[0] == "*" {
			out = append(out, "*")
		}
		return out
	}
	return nil
}

func stringsOf(v any) []string {
	switch x := v.(type) {
	case string:
		return []string{x}
	case []any:
		var out []string
		for _, e := range x {
			if s, ok := e.(string); ok {
				out = append(out, s)
			}
		}
		return out
	}
	return nil
}

// decideTrust: an applying Deny wins, then an applying Allow; otherwise the
// implicit deny.
func decideTrust(sts []trustStatement, ctx map[string][]string) error {
	lower := map[string][]string{}
	for k, v := range ctx {
		lower[strings.ToLower(k)] = v
	}
	allowed := false
	for _, st := range sts {
		applies, err := st.applies(lower)
		if err != nil {
			return err
		}
		switch {
		case applies && st.deny:
			return fmt.Errorf("an explicit Deny in the trust policy")
		case applies:
			allowed = true
		}
	}
	if !allowed {
		return fmt.Errorf("no statement of the trust policy allows %s by %s with %v", webIdentity, cognitoPrincipal, ctx)
	}
	return nil
}

func (st trustStatement) applies(ctx map[string][]string) (bool, error) {
	if !matchAny(st.principals, cognitoPrincipal) {
		return false, nil
	}
	if matchAny(st.actions, webIdentity) == st.notAction {
		return false, nil
	}
	if st.unknown != "" {
		return false, fmt.Errorf("the trust policy uses %s, which the twin's check does not evaluate", st.unknown)
	}
	for op, keys := range st.conditions {
		for key, want := range keys {
			ok, err := condition(op, ctx[key], want)
			if err != nil {
				return false, err
			}
			if !ok {
				return false, nil
			}
		}
	}
	return true, nil
}

func matchAny(patterns []string, s string) bool {
	for _, p := range patterns {
		if ok, _ := path.Match(strings.ToLower(p), strings.ToLower(s)); ok || p == "*" {
			return true
		}
	}
	return false
}

// condition evaluates one condition key as IAM does: without a set prefix, a
// positive operator needs the key present with a value matching; ForAnyValue
// needs one context value matching; ForAllValues needs every context value to
// match (true when the key is absent); a negated operator is the negation of the
// match.
func condition(op string, have, want []string) (bool, error) {
	set, base, _ := strings.Cut(op, ":")
	if base == "" {
		set, base = "", op
	}
	negate := false
	var match func(v, p string) bool
	switch base {
	case "StringEquals":
		match = func(v, p string) bool { return v == p }
	case "StringNotEquals":
		match, negate = func(v, p string) bool { return v == p }, true
	case "StringEqualsIgnoreCase":
		match = strings.EqualFold
	case "StringLike":
		match = glob
	case "StringNotLike":
		match, negate = glob, true
	default:
		return false, fmt.Errorf("the trust policy uses condition operator %s, which the twin's check does not evaluate", op)
	}
	one := func(v string) bool {
		for _, p := range want {
			if match(v, p) {
				return true
			}
		}
		return false
	}
	switch set {
	case "ForAllValues":
		for _, v := range have {
			if one(v) == negate {
				return false, nil
			}
		}
		return true, nil
	case "ForAnyValue", "":
		if len(have) == 0 {
			return negate && set == "", nil
		}
		for _, v := range have {
			if one(v) != negate {
				return true, nil
			}
		}
		return false, nil
	}
	return false, fmt.Errorf("the trust policy uses condition operator %s, which the twin's check does not evaluate", op)
}

// glob is StringLike's matching: * any run of characters, ? one character.
func glob(s, pattern string) bool {
	if pattern == "" {
		return s == ""
	}
	switch pattern[0] {
	case '*':
		for i := 0; i <= len(s); i++ {
			if glob(s[i:], pattern[1:]) {
				return true
			}
		}
		return false
	case '?':
		return s != "" && glob(s[1:], pattern[1:])
	}
	return s != "" && s[0] == pattern[0] && glob(s[1:], pattern[1:])
}
