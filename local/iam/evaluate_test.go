package iam

import (
	"strings"
	"testing"
)

var testEnv = Env{Partition: "aws", Region: "us-east-1", Account: "111122223333"}

const (
	roleARN    = "arn:aws:iam::111122223333:role/service/Worker"
	sessionARN = "arn:aws:sts::111122223333:assumed-role/Worker/i-0abc"
	otherRole  = "arn:aws:iam::111122223333:role/Other"
)

func mustPolicy(t *testing.T, name, doc string) *Policy {
	t.Helper()
	p, err := ParsePolicy(name, []byte(doc))
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func secure() map[string][]string { return map[string][]string{"aws:SecureTransport": {"true"}} }

// want checks one decision: allowed or not, and a fragment of its reason.
func want(t *testing.T, d Decision, allowed bool, reason string) {
	t.Helper()
	if d.Allowed != allowed || !strings.Contains(d.Reason, reason) {
		t.Errorf("%v: want allowed=%v with a reason containing %q", d, allowed, reason)
	}
}

// The IAM user guide's "Policy evaluation logic" and "The difference between
// explicit and implicit denies": an explicit Deny in any policy wins; without
// one, an Allow is needed; without one, the request is implicitly denied.
func TestDenyPrecedence(t *testing.T) {
	p := New(testEnv)
	p.Attach(roleARN, mustPolicy(t, "allow-s3", `{"Statement":[{"Effect":"Allow","Action":"s3:*","Resource":"*"}]}`))
	p.Attach(roleARN, mustPolicy(t, "deny-delete", `{"Statement":{"Sid":"NoDelete","Effect":"Deny","Action":"s3:DeleteObject","Resource":"arn:aws:s3:::images/*"}}`))
	want(t, p.Authorize(roleARN, "s3:GetObject", "arn:aws:s3:::images/a.jpg", secure()), true, "allow-s3 statement 1")
	d := p.Authorize(roleARN, "s3:DeleteObject", "arn:aws:s3:::images/a.jpg", secure())
	want(t, d, false, "explicitly denied by identity-based deny-delete statement 1 (NoDelete)")
	if !d.Explicit || d.Message() != "User: "+roleARN+" is not authorized to perform: s3:DeleteObject on resource: arn:aws:s3:::images/a.jpg with an explicit deny in an identity-based policy" {
		t.Errorf("message %q", d.Message())
	}
	d = p.Authorize(roleARN, "sqs:SendMessage", "arn:aws:sqs:us-east-1:111122223333:q", secure())
	want(t, d, false, "no statement allows sqs:SendMessage")
	if d.Explicit || !strings.HasSuffix(d.Message(), "because no identity-based policy allows the sqs:SendMessage action") {
		t.Errorf("implicit deny: %+v %q", d, d.Message())
	}
	// Another principal has none of this role's policies.
	want(t, p.Authorize(otherRole, "s3:GetObject", "arn:aws:s3:::images/a.jpg", secure()), false, "no statement allows")
}

func TestRoleSessions(t *testing.T) {
	p := New(testEnv)
	p.Attach(roleARN, mustPolicy(t, "p", `{"Statement":[{"Effect":"Allow","Action":"sqs:SendMessage","Resource":"*"}]}`))
	// A session names its role without the role's path.
	want(t, p.Authorize(sessionARN, "sqs:SendMessage", "*", secure()), true, "p statement 1")
	want(t, p.Authorize("arn:aws:sts::111122223333:assumed-role/Other/s", "sqs:SendMessage", "*", secure()), false, "no statement")
}

func TestNotActionNotResource(t *testing.T) {
	p := New(testEnv)
	// "Allow everything but IAM" (the user guide's NotAction example).
	p.Attach(roleARN, mustPolicy(t, "not-iam", `{"Statement":[{"Effect":"Allow","NotAction":"iam:*","Resource":"*"}]}`))
	// "Deny every bucket but images" (NotResource with Deny).
	p.Attach(roleARN, mustPolicy(t, "only-images", `{"Statement":[{"Effect":"Deny","Action":"s3:*","NotResource":["arn:aws:s3:::images","arn:aws:s3:::images/*"]}]}`))
	want(t, p.Authorize(roleARN, "s3:GetObject", "arn:aws:s3:::images/x", secure()), true, "not-iam")
	want(t, p.Authorize(roleARN, "iam:CreateUser", "*", secure()), false, "no statement allows")
	want(t, p.Authorize(roleARN, "s3:GetObject", "arn:aws:s3:::secrets/x", secure()), false, "only-images")
	want(t, p.Authorize(roleARN, "sqs:SendMessage", "arn:aws:sqs:us-east-1:111122223333:q", secure()), true, "not-iam")

	q := New(testEnv)
	q.Attach(roleARN, mustPolicy(t, "deny-not-get", `{"Statement":[{"Effect":"Allow","Action":"s3:*","Resource":"*"},{"Effect":"Deny","NotAction":["s3:Get*","s3:List*"],"Resource":"*"}]}`))
	want(t, q.Authorize(roleARN, "s3:GetObjectTagging", "arn:aws:s3:::b/k", secure()), true, "statement 1")
	want(t, q.Authorize(roleARN, "s3:PutObject", "arn:aws:s3:::b/k", secure()), false, "statement 2")
}

func TestWildcards(t *testing.T) {
	p := New(testEnv)
	p.Attach(roleARN, mustPolicy(t, "w", `{"Statement":[
		{"Effect":"Allow","Action":"S3:get*","Resource":"arn:aws:s3:::images/upload/*"},
		{"Effect":"Allow","Action":"sqs:?eceiveMessage","Resource":"arn:aws:sqs:*:111122223333:Failure?"},
		{"Effect":"Allow","Action":"lambda:InvokeFunction","Resource":["arn:aws:lambda:us-east-1:111122223333:function:fn","arn:aws:lambda:us-east-1:111122223333:function:fn:*"]}]}`))
	cases := []struct {
		action, resource string
		allowed          bool
	}{
		{"s3:GetObject", "arn:aws:s3:::images/upload/a/b.jpg", true}, // actions ignore case; * spans '/'
		{"s3:getobjectversion", "arn:aws:s3:::images/upload/x", true},
		{"s3:GetObject", "arn:aws:s3:::images/Upload/x", false}, // resources do not
		{"s3:GetObject", "arn:aws:s3:::images/upload", false},
		{"s3:PutObject", "arn:aws:s3:::images/upload/x", false},
		{"sqs:ReceiveMessage", "arn:aws:sqs:eu-west-1:111122223333:Failure1", true},
		{"sqs:ReceiveMessage", "arn:aws:sqs:eu-west-1:111122223333:Failure12", false}, // ? is one character
		{"lambda:InvokeFunction", "arn:aws:lambda:us-east-1:111122223333:function:fn", true},
		{"lambda:InvokeFunction", "arn:aws:lambda:us-east-1:111122223333:function:fn:$LATEST", true},
		{"lambda:InvokeFunction", "arn:aws:lambda:us-east-1:111122223333:function:fn2", false},
	}
	for _, c := range cases {
		if d := p.Authorize(roleARN, c.action, c.resource, secure()); d.Allowed != c.allowed {
			t.Errorf("%s on %s: %v", c.action, c.resource, d)
		}
	}
}

// Resource-based policies in one account: "If either the identity-based policy or
// the resource-based policy within the same account allows the request and the
// other doesn't, the request is still allowed"; an explicit Deny in either wins.
func TestResourceBasedPolicies(t *testing.T) {
	p := New(testEnv)
	bucket := "arn:aws:s3:::images"
	p.Attach(roleARN, mustPolicy(t, "id", `{"Statement":[{"Effect":"Allow","Action":"s3:PutObject","Resource":"arn:aws:s3:::images/*"}]}`))
	p.AttachResource(bucket, mustPolicy(t, "bucket policy", `{"Statement":[
		{"Sid":"EnforceSSL","Effect":"Deny","Principal":{"AWS":"*"},"Action":"s3:*","Resource":["arn:aws:s3:::images","arn:aws:s3:::images/*"],"Condition":{"Bool":{"aws:SecureTransport":"false"}}},
		{"Sid":"OtherReads","Effect":"Allow","Principal":{"AWS":"`+otherRole+`"},"Action":"s3:GetObject","Resource":"arn:aws:s3:::images/public/*"},
		{"Sid":"AccountOnly","Effect":"Allow","Principal":{"AWS":"arn:aws:iam::111122223333:root"},"Action":"s3:ListBucket","Resource":"arn:aws:s3:::images"},
		{"Sid":"NoDelete","Effect":"Deny","Principal":"*","Action":"s3:DeleteObject","Resource":"arn:aws:s3:::images/*"}]}`))
	want(t, p.Authorize(sessionARN, "s3:PutObject", "arn:aws:s3:::images/a", secure()), true, "identity-based")
	want(t, p.Authorize(otherRole, "s3:GetObject", "arn:aws:s3:::images/public/a", secure()), true, "resource-based bucket policy statement 2 (OtherReads)")
	want(t, p.Authorize(otherRole, "s3:GetObject", "arn:aws:s3:::images/private/a", secure()), false, "no statement")
	// Naming the account delegates to the account's IAM policies; it grants nothing by itself.
	want(t, p.Authorize(otherRole, "s3:ListBucket", bucket, secure()), false, "no statement")
	d := p.Authorize(roleARN, "s3:DeleteObject", "arn:aws:s3:::images/a", secure())
	want(t, d, false, "explicitly denied by resource-based bucket policy statement 4 (NoDelete)")
	if !strings.HasSuffix(d.Message(), "with an explicit deny in a resource-based policy") {
		t.Errorf("message %q", d.Message())
	}
	// A policy on another bucket does not apply; nor does one on a bucket whose name
	// merely starts the same.
	want(t, p.Authorize(roleARN, "s3:DeleteObject", "arn:aws:s3:::images2/a", secure()), false, "no statement")
	// Plain HTTP: the enforceSSL Deny applies even to what the role may do.
	want(t, p.Authorize(roleARN, "s3:PutObject", "arn:aws:s3:::images/a", map[string][]string{"aws:SecureTransport": {"false"}}), false, "EnforceSSL")
	// A context that does not say: the Deny is not dropped.
	d = p.Authorize(roleARN, "s3:PutObject", "arn:aws:s3:::images/a", nil)
	want(t, d, false, "no aws:SecureTransport")
	// Anonymous callers are named only by "*".
	want(t, p.Authorize("", "s3:GetObject", "arn:aws:s3:::images/public/a", secure()), false, "no statement")
	if m := p.Authorize("", "s3:GetObject", "arn:aws:s3:::images/public/a", secure()).Message(); !strings.HasPrefix(m, "User: anonymous ") || !strings.HasSuffix(m, "no resource-based policy allows the s3:GetObject action") {
		t.Errorf("anonymous message %q", m)
	}
}

func TestServicePrincipalsAndTrust(t *testing.T) {
	p := New(testEnv)
	fn := "arn:aws:lambda:us-east-1:111122223333:function:search"
	p.AttachResource(fn, mustPolicy(t, "permission", `{"Statement":[{"Effect":"Allow","Principal":{"Service":"apigateway.amazonaws.com"},
		"Action":"lambda:InvokeFunction","Resource":"`+fn+`","Condition":{"ArnLike":{"AWS:SourceArn":"arn:aws:execute-api:us-east-1:111122223333:abc/prod/GET/images"}}}]}`))
	src := func(arn string) map[string][]string {
		return map[string][]string{"aws:SecureTransport": {"true"}, "aws:SourceArn": {arn}}
	}
	want(t, p.Authorize("apigateway.amazonaws.com", "lambda:InvokeFunction", fn, src("arn:aws:execute-api:us-east-1:111122223333:abc/prod/GET/images")), true, "permission")
	want(t, p.Authorize("apigateway.amazonaws.com", "lambda:InvokeFunction", fn, src("arn:aws:execute-api:us-east-1:111122223333:abc/prod/GET/ping")), false, "no statement")
	want(t, p.Authorize("events.amazonaws.com", "lambda:InvokeFunction", fn, src("arn:aws:execute-api:us-east-1:111122223333:abc/prod/GET/images")), false, "no statement")

	guest := "arn:aws:iam::111122223333:role/Guest"
	p.AttachTrust(guest, mustPolicy(t, "trust", `{"Statement":[{"Effect":"Allow","Principal":{"Federated":"cognito-identity.amazonaws.com"},
		"Action":"sts:AssumeRoleWithWebIdentity","Condition":{"StringEquals":{"cognito-identity.amazonaws.com:aud":"us-east-1:pool"},
		"ForAnyValue:StringLike":{"cognito-identity.amazonaws.com:amr":"unauthenticated"}}}]}`))
	web := func(aud string, amr ...string) map[string][]string {
		return map[string][]string{"cognito-identity.amazonaws.com:aud": {aud}, "cognito-identity.amazonaws.com:amr": amr}
	}
	want(t, p.CanAssume(guest, "cognito-identity.amazonaws.com", "sts:AssumeRoleWithWebIdentity", web("us-east-1:pool", "unauthenticated")), true, "trust")
	want(t, p.CanAssume(guest, "cognito-identity.amazonaws.com", "sts:AssumeRoleWithWebIdentity", web("us-east-1:pool", "authenticated", "cognito-idp.us-east-1.amazonaws.com/pool")), false, "no statement")
	want(t, p.CanAssume(guest, "cognito-identity.amazonaws.com", "sts:AssumeRoleWithWebIdentity", web("us-east-1:other", "unauthenticated")), false, "no statement")
	want(t, p.CanAssume(guest, "lambda.amazonaws.com", "sts:AssumeRole", nil), false, "no statement")
}

// Unsupported operators, keys and policy variables deny, naming what.
func TestUnsupportedDenies(t *testing.T) {
	for name, c := range map[string]struct{ cond, reason string }{
		"operator":        {`{"BinaryEquals":{"aws:SourceArn":"QmluYXJ5"}}`, "operator BinaryEquals"},
		"key":             {`{"StringEquals":{"aws:SourceVpce":"vpce-1"}}`, "condition key aws:SourceVpce"},
		"set on Null":     {`{"NullIfExists":{"aws:SourceArn":"true"}}`, "operator NullIfExists"},
		"policy variable": {``, "policy variable"},
	} {
		t.Run(name, func(t *testing.T) {
			res := `"arn:aws:s3:::images/*"`
			cond := ""
			if c.cond == "" {
				res = `"arn:aws:s3:::images/${aws:username}/*"`
			} else {
				cond = `,"Condition":` + c.cond
			}
			p := New(testEnv)
			p.Attach(roleARN, mustPolicy(t, "all", `{"Statement":[{"Effect":"Allow","Action":"s3:*","Resource":"*"}]}`))
			p.Attach(roleARN, mustPolicy(t, "odd", `{"Statement":[{"Effect":"Allow","Action":"s3:GetObject","Resource":`+res+cond+`}]}`))
			d := p.Authorize(roleARN, "s3:GetObject", "arn:aws:s3:::images/bob/a", secure())
			want(t, d, false, c.reason)
			if !d.Explicit || !strings.Contains(d.Message(), c.reason) {
				t.Errorf("message %q", d.Message())
			}
			// Statements that do not apply to the request do not matter.
			want(t, p.Authorize(roleARN, "s3:PutObject", "arn:aws:s3:::images/bob/a", secure()), true, "all")
			if w := p.Warnings(); len(w) != 1 || !strings.Contains(w[0], c.reason) {
				t.Errorf("warnings %q", w)
			}
		})
	}
	p := New(testEnv)
	p.ModelKeys("s3:prefix")
	p.Attach(roleARN, mustPolicy(t, "list", `{"Statement":[{"Effect":"Allow","Action":"s3:ListBucket","Resource":"*","Condition":{"StringLike":{"s3:prefix":"upload/*"}}}]}`))
	want(t, p.Authorize(roleARN, "s3:ListBucket", "arn:aws:s3:::images", map[string][]string{"s3:prefix": {"upload/2024/"}}), true, "list")
}
