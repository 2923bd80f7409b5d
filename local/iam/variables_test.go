package iam

import (
	"testing"
)

func TestExpand(t *testing.T) {
	rc := map[string][]string{
		"cognito-identity.amazonaws.com:sub": {"us-east-1:abc"},
		"aws:principalaccount":               {"111122223333"},
		"aws:sourceip":                       {"10.0.0.1", "10.0.0.2"},
		"s3:prefix":                          {"a*"},
	}
	for pattern, want := range map[string]string{
		"arn:aws:s3:::images/upload/${cognito-identity.amazonaws.com:sub}/*": "arn:aws:s3:::images/upload/us-east-1:abc/*",
		"${Cognito-Identity.amazonaws.com:SUB}":                              "us-east-1:abc", // keys ignore case
		"${aws:username, 'nobody'}/x":                                        "nobody/x",
		"${ aws:username , 'it''s' }":                                        "it's",
		"cost ${$}5":                                                         "cost $5",
		"no variables":                                                       "no variables",
	} {
		if got, ok := expand(pattern, rc); !ok || got != want {
			t.Errorf("expand(%q) = %q, %v; want %q", pattern, got, ok, want)
		}
	}
	for _, pattern := range []string{
		"${aws:username}",      // absent
		"${aws:SourceIp}",      // several values
		"${s3:prefix}",         // a wildcard in the value
		"${aws:username",       // unterminated
		"${aws:username, bad}", // unquoted default
		"${*}",
	} {
		if got, ok := expand(pattern, rc); ok {
			t.Errorf("expand(%q) = %q, want no resolution", pattern, got)
		}
	}
}

// Policy variables from the IAM user guide's "Variables and tags": a statement
// whose variable does not resolve does not apply; variables work in condition
// values too.
func TestPolicyVariables(t *testing.T) {
	p := New(testEnv)
	p.Attach(roleARN, mustPolicy(t, "home", `{"Statement":[
		{"Effect":"Allow","Action":"s3:PutObject","Resource":"arn:aws:s3:::images/upload/${cognito-identity.amazonaws.com:sub}/*","Condition":{"Null":{"s3:if-none-match":"false"}}},
		{"Effect":"Allow","Action":"sqs:SendMessage","Resource":"*","Condition":{"StringEquals":{"aws:SourceAccount":"${aws:PrincipalAccount}"}}}]}`))
	ctx := func(kv ...string) map[string][]string {
		m := secure()
		for i := 0; i+1 < len(kv); i += 2 {
			m[kv[i]] = []string{kv[i+1]}
		}
		return m
	}
	me := "cognito-identity.amazonaws.com:sub"
	want(t, p.Authorize(roleARN, "s3:PutObject", "arn:aws:s3:::images/upload/us-east-1:abc/a.jpg", ctx(me, "us-east-1:abc", "s3:if-none-match", "*")), true, "home statement 1")
	want(t, p.Authorize(roleARN, "s3:PutObject", "arn:aws:s3:::images/upload/us-east-1:xyz/a.jpg", ctx(me, "us-east-1:abc", "s3:if-none-match", "*")), false, "no statement")
	want(t, p.Authorize(roleARN, "s3:PutObject", "arn:aws:s3:::images/upload/us-east-1:abc/a.jpg", ctx(me, "us-east-1:abc")), false, "no statement")
	want(t, p.Authorize(roleARN, "s3:PutObject", "arn:aws:s3:::images/upload/${cognito-identity.amazonaws.com:sub}/a.jpg", ctx("s3:if-none-match", "*")), false, "no statement")
	want(t, p.Authorize(roleARN, "sqs:SendMessage", "q", ctx("aws:SourceAccount", "111122223333")), true, "home statement 2")
	want(t, p.Authorize(roleARN, "sqs:SendMessage", "q", ctx("aws:SourceAccount", "444455556666")), false, "no statement")
	if w := p.Warnings(); len(w) != 0 {
		t.Errorf("warnings %q", w)
	}
}
