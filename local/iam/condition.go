package iam

import (
	"fmt"
	"net/netip"
	"strconv"
	"strings"
	"time"
)

// opFunc compares one request value with one policy value.
type opFunc func(req, pol string) bool

// operators are the condition operators the twin evaluates, by base name; negated
// ones are marked in negated. Others (BinaryEquals...) deny with a message.
var operators = map[string]opFunc{
	"StringEquals":              func(a, b string) bool { return a == b },
	"StringNotEquals":           func(a, b string) bool { return a == b },
	"StringEqualsIgnoreCase":    strings.EqualFold,
	"StringNotEqualsIgnoreCase": strings.EqualFold,
	"StringLike":                func(a, b string) bool { return glob(b, a) },
	"StringNotLike":             func(a, b string) bool { return glob(b, a) },
	"ArnEquals":                 arnLike,
	"ArnNotEquals":              arnLike,
	"ArnLike":                   arnLike,
	"ArnNotLike":                arnLike,
	"Bool":                      strings.EqualFold,
	"Null":                      nil, // tests presence, see evalCondition
	"NumericEquals":             numeric(func(a, b float64) bool { return a == b }),
	"NumericNotEquals":          numeric(func(a, b float64) bool { return a == b }),
	"NumericLessThan":           numeric(func(a, b float64) bool { return a < b }),
	"NumericLessThanEquals":     numeric(func(a, b float64) bool { return a <= b }),
	"NumericGreaterThan":        numeric(func(a, b float64) bool { return a > b }),
	"NumericGreaterThanEquals":  numeric(func(a, b float64) bool { return a >= b }),
	"DateEquals":                date(func(a, b time.Time) bool { return a.Equal(b) }),
	"DateNotEquals":             date(func(a, b time.Time) bool { return a.Equal(b) }),
	"DateLessThan":              date(func(a, b time.Time) bool { return a.Before(b) }),
	"DateLessThanEquals":        date(func(a, b time.Time) bool { return !a.After(b) }),
	"DateGreaterThan":           date(func(a, b time.Time) bool { return a.After(b) }),
	"DateGreaterThanEquals":     date(func(a, b time.Time) bool { return !a.Before(b) }),
	"IpAddress":                 ipIn,
	"NotIpAddress":              ipIn,
}

// negated operators match when no policy value matches (the values are NOR'd),
// and when the key is absent.
var negated = map[string]bool{
	"StringNotEquals": true, "StringNotEqualsIgnoreCase": true, "StringNotLike": true,
	"ArnNotEquals": true, "ArnNotLike": true, "NumericNotEquals": true,
	"DateNotEquals": true, "NotIpAddress": true,
}

// evalCondition decides one condition against the request context (keys in lower
// case), as "IAM JSON policy elements: Condition operators" and "Conditions with
// multiple context keys or values" describe it.
func evalCondition(c Condition, ctx map[string][]string) bool {
	vals, present := ctx[strings.ToLower(c.Key)]
	present = present && len(vals) > 0
	if c.op == "Null" {
		want := len(c.Values) > 0 && strings.EqualFold(c.Values[0], "true")
		return want != present
	}
	if !present {
		switch {
		case c.ifExists:
			return true
		case c.set == "ForAllValues":
			return true // every one of no values matches
		case c.set == "ForAnyValue":
			return false
		}
		return negated[c.op]
	}
	one := func(v string) bool { // does request value v satisfy the operator?
		cmp := operators[c.op]
		matched := false
		for _, p := range c.Values {
			if cmp(v, p) {
				matched = true
				break
			}
		}
		return matched != negated[c.op]
	}
	if c.set == "ForAllValues" {
		for _, v := range vals {
			if !one(v) {
				return false
			}
		}
		return true
	}
	// ForAnyValue, and a single-valued operator on a key that happens to hold
	// several values: any one value satisfying it is enough for a positive
	// operator; a negated one needs all of them to satisfy it.
	if negated[c.op] && c.set == "" {
		for _, v := range vals {
			if !one(v) {
				return false
			}
		}
		return true
	}
	for _, v := range vals {
		if one(v) {
			return true
		}
	}
	return false
}

// arnLike compares an ARN with a pattern component by component (the six
// colon-separated parts), each part a case-sensitive glob. A pattern without six
// parts ("*") is one glob over the whole ARN.
func arnLike(arn, pattern string) bool {
	pp := strings.SplitN(pattern, ":", 6)
	if len(pp) < 6 {
		return glob(pattern, arn)
	}
	ap := strings.SplitN(arn, ":", 6)
	if len(ap) < 6 {
		return false
	}
	for i := range pp {
		if !glob(pp[i], ap[i]) {
			return false
		}
	}
	return true
}

func numeric(cmp func(a, b float64) bool) opFunc {
	return func(req, pol string) bool {
		a, err1 := strconv.ParseFloat(req, 64)
		b, err2 := strconv.ParseFloat(pol, 64)
		return err1 == nil && err2 == nil && cmp(a, b)
	}
}

func date(cmp func(a, b time.Time) bool) opFunc {
	return func(req, pol string) bool {
		a, ok1 := parseDate(req)
		b, ok2 := parseDate(pol)
		return ok1 && ok2 && cmp(a, b)
	}
}

// parseDate takes the forms IAM takes: ISO 8601 (with or without a time) and
// epoch seconds.
func parseDate(s string) (time.Time, bool) {
	for _, layout := range []string{time.RFC3339Nano, "2006-01-02T15:04:05Z0700", "2006-01-02"} {
		if t, err := time.Parse(layout, s); err == nil {
			return t, true
		}
	}
	if n, err := strconv.ParseInt(s, 10, 64); err == nil {
		return time.Unix(n, 0), true
	}
	return time.Time{}, false
}

func ipIn(req, pol string) bool {
	ip, err := netip.ParseAddr(req)
	if err != nil {
		return false
	}
	if !strings.Contains(pol, "/") {
		a, err := netip.ParseAddr(pol)
		return err == nil && a == ip.Unmap()
	}
	p, err := netip.ParsePrefix(pol)
	return err == nil && p.Contains(ip.Unmap())
}

// glob matches s against a pattern where * is any run of characters and ? is
// any one character; everything else matches itself.
func glob(pattern, s string) bool {
	p, i := 0, 0
	star, mark := -1, 0
	for i < len(s) {
		switch {
		case p < len(pattern) && (pattern[p] == '?' || pattern[p] == s[i]):
			p++
			i++
		case p < len(pattern) && pattern[p] == '*':
			star, mark = p, i
			p++
		case star >= 0:
			p, mark = star+1, mark+1
			i = mark
		default:
			return false
		}
	}
	for p < len(pattern) && pattern[p] == '*' {
		p++
	}
	return p == len(pattern)
}

// describeCondition is a condition as a policy writes it, for messages.
func describeCondition(c Condition) string {
	return fmt.Sprintf("%s {%q: %q}", c.Operator, c.Key, c.Values)
}
