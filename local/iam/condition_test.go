package iam

import (
	"testing"
)

// The condition operators as "IAM JSON policy elements: Condition operators" and
// "Conditions with multiple context keys or values" describe them.
func TestConditionOperators(t *testing.T) {
	const amr = "cognito-identity.amazonaws.com:amr"
	ctx := map[string][]string{
		"aws:sourcearn":        {"arn:aws:states:us-east-1:111122223333:stateMachine:Pipeline"},
		"aws:sourceaccount":    {"111122223333"},
		"aws:securetransport":  {"true"},
		"aws:sourceip":         {"10.1.2.3"},
		"aws:currenttime":      {"2024-06-01T12:00:00Z"},
		"aws:epochtime":        {"1717243200"},
		amr:                    {"authenticated", "cognito-idp.us-east-1.amazonaws.com/us-east-1_pool"},
		"aws:requestedregion":  {"us-east-1"},
		"aws:principalaccount": {"111122223333"},
	}
	cases := []struct {
		op, key string
		values  []string
		want    bool
	}{
		{"StringEquals", "aws:SourceAccount", []string{"111122223333"}, true},
		{"StringEquals", "AWS:SOURCEACCOUNT", []string{"111122223333"}, true}, // keys ignore case
		{"StringEquals", "aws:RequestedRegion", []string{"US-EAST-1"}, false}, // values do not
		{"StringEqualsIgnoreCase", "aws:RequestedRegion", []string{"US-EAST-1"}, true},
		{"StringEquals", "aws:SourceAccount", []string{"1", "111122223333"}, true}, // values are ORed
		{"StringEquals", "aws:PrincipalOrgID", []string{"o-1"}, false},             // absent key: no match
		{"StringNotEquals", "aws:PrincipalOrgID", []string{"o-1"}, true},           // absent key: a negated operator holds
		{"StringNotEquals", "aws:SourceAccount", []string{"1", "111122223333"}, false},
		{"StringNotEquals", "aws:SourceAccount", []string{"1", "2"}, true}, // negated values are NORed
		{"StringLike", "aws:RequestedRegion", []string{"us-*-?"}, true},
		{"StringLike", "aws:RequestedRegion", []string{"eu-*"}, false},
		{"StringNotLike", "aws:RequestedRegion", []string{"eu-*"}, true},
		{"ForAnyValue:StringLike", amr, []string{"authenticated"}, true},
		{"ForAnyValue:StringLike", amr, []string{"unauthenticated"}, false},
		{"ForAnyValue:StringLike", "cognito-identity.amazonaws.com:sub", []string{"*"}, false}, // no values: none matches
		{"ForAllValues:StringLike", amr, []string{"authenticated", "cognito-idp.*"}, true},
		{"ForAllValues:StringLike", amr, []string{"authenticated"}, false},
		{"ForAllValues:StringLike", "cognito-identity.amazonaws.com:sub", []string{"x"}, true}, // every one of no values
		{"ArnLike", "aws:SourceArn", []string{"arn:aws:states:us-east-1:111122223333:stateMachine:*"}, true},
		{"ArnLike", "aws:SourceArn", []string{"arn:aws:states:*:*:stateMachine:Pipe*"}, true},
		{"ArnLike", "aws:SourceArn", []string{"arn:aws:states:us-east-1:111122223333:*"}, true}, // the last part holds the rest
		{"ArnLike", "aws:SourceArn", []string{"arn:aws:states:us-east-1:*:activity:*"}, false},
		{"ArnLike", "aws:SourceArn", []string{"arn:aws:*"}, true}, // fewer than six parts: one glob
		{"ArnEquals", "aws:SourceArn", []string{"arn:aws:states:us-east-1:111122223333:stateMachine:Pipeline"}, true},
		{"ArnEquals", "aws:SourceArn", []string{"arn:aws:states:us-east-1:111122223333:stateMachine:pipeline"}, false},
		{"ArnNotLike", "aws:SourceArn", []string{"arn:aws:sqs:*"}, true},
		{"ArnNotEquals", "aws:SourceArnMissing", []string{"x"}, true},
		{"Bool", "aws:SecureTransport", []string{"TRUE"}, true},
		{"Bool", "aws:SecureTransport", []string{"false"}, false},
		{"Bool", "aws:ViaAWSService", []string{"false"}, false}, // absent: no match, so a Deny on false does not apply
		{"BoolIfExists", "aws:ViaAWSService", []string{"false"}, true},
		{"StringEqualsIfExists", "aws:SourceAccount", []string{"1"}, false}, // present: checked
		{"Null", "aws:SourceVpc", []string{"true"}, true},
		{"Null", "aws:SourceAccount", []string{"true"}, false},
		{"Null", "aws:SourceAccount", []string{"false"}, true},
		{"NumericLessThan", "aws:EpochTime", []string{"1717243201"}, true},
		{"NumericGreaterThanEquals", "aws:EpochTime", []string{"1717243200"}, true},
		{"NumericEquals", "aws:EpochTime", []string{"not a number"}, false},
		{"NumericNotEquals", "aws:EpochTime", []string{"1"}, true},
		{"DateGreaterThan", "aws:CurrentTime", []string{"2024-01-01T00:00:00Z"}, true},
		{"DateLessThan", "aws:CurrentTime", []string{"2024-01-01"}, false},
		{"DateLessThanEquals", "aws:EpochTime", []string{"1717243200"}, true}, // epoch seconds on both sides
		{"IpAddress", "aws:SourceIp", []string{"10.0.0.0/8"}, true},
		{"IpAddress", "aws:SourceIp", []string{"10.1.2.3"}, true},
		{"IpAddress", "aws:SourceIp", []string{"192.168.0.0/16"}, false},
		{"NotIpAddress", "aws:SourceIp", []string{"192.168.0.0/16"}, true},
	}
	for _, c := range cases {
		cond := newCondition(c.op, c.key, c.values)
		if !cond.supported {
			t.Errorf("%s is not supported", c.op)
			continue
		}
		if got := evalCondition(cond, ctx); got != c.want {
			t.Errorf("%s %s %q: %v, want %v", c.op, c.key, c.values, got, c.want)
		}
	}
}

// Conditions of a statement are ANDed: every operator and every key must hold.
func TestConditionsAreANDed(t *testing.T) {
	p := New(testEnv)
	p.Attach(roleARN, mustPolicy(t, "p", `{"Statement":[{"Effect":"Allow","Action":"sqs:SendMessage","Resource":"*",
		"Condition":{"ArnEquals":{"aws:SourceArn":"arn:aws:events:us-east-1:111122223333:rule/R"},"StringEquals":{"aws:SourceAccount":"111122223333","aws:RequestedRegion":"us-east-1"}}}]}`))
	ctx := func(src, account, region string) map[string][]string {
		return map[string][]string{"aws:SecureTransport": {"true"}, "aws:SourceArn": {src}, "aws:SourceAccount": {account}, "aws:RequestedRegion": {region}}
	}
	rule := "arn:aws:events:us-east-1:111122223333:rule/R"
	want(t, p.Authorize(roleARN, "sqs:SendMessage", "*", ctx(rule, "111122223333", "us-east-1")), true, "p statement 1")
	want(t, p.Authorize(roleARN, "sqs:SendMessage", "*", ctx(rule, "111122223333", "eu-west-1")), false, "no statement")
	want(t, p.Authorize(roleARN, "sqs:SendMessage", "*", ctx(rule+"2", "111122223333", "us-east-1")), false, "no statement")
}

// Authorize fills the global keys IAM knows of the principal.
func TestGlobalKeys(t *testing.T) {
	p := New(testEnv)
	p.AttachResource("arn:aws:sqs:us-east-1:111122223333:q", mustPolicy(t, "q", `{"Statement":[{"Effect":"Allow","Principal":"*","Action":"sqs:*","Resource":"*",
		"Condition":{"ArnLike":{"aws:PrincipalArn":"arn:aws:iam::111122223333:role/service/*"},"StringEquals":{"aws:PrincipalAccount":"111122223333","aws:PrincipalType":"AssumedRole"}}}]}`))
	want(t, p.Authorize(sessionARN, "sqs:SendMessage", "arn:aws:sqs:us-east-1:111122223333:q", secure()), false, "no statement")
	p.noteRole(roleARN) // the role is known: its session maps to its full ARN, path included
	want(t, p.Authorize(sessionARN, "sqs:SendMessage", "arn:aws:sqs:us-east-1:111122223333:q", secure()), true, "q statement 1")
	want(t, p.Authorize(otherRole, "sqs:SendMessage", "arn:aws:sqs:us-east-1:111122223333:q", secure()), false, "no statement")
}

func TestGlob(t *testing.T) {
	for _, c := range []struct {
		p, s string
		want bool
	}{
		{"*", "", true}, {"", "", true}, {"a*b*c", "aXbYc", true}, {"a*b*c", "aXbY", false},
		{"a?c", "abc", true}, {"a?c", "ac", false}, {"*a", "bba", true}, {"**", "x", true}, {"a*", "b", false},
	} {
		if got := glob(c.p, c.s); got != c.want {
			t.Errorf("glob(%q, %q) = %v", c.p, c.s, got)
		}
	}
}
