package iam

import (
	"encoding/json"
	"maps"
	"os"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/imagepipe/imagepipe/local/cfn"
)

// The committed synthesized template; IMAGEPIPE_CFN_TEMPLATE points the tests at
// another one.
const snapshotPath = "../../infra/snapshot/ImagePipe.template.json"

var twinEnv = Env{Partition: "aws", Region: "us-east-1", Account: "000000000000"}

func loadSnapshot(t testing.TB) []byte {
	t.Helper()
	p := os.Getenv("IMAGEPIPE_CFN_TEMPLATE")
	if p == "" {
		p = snapshotPath
	}
	raw, err := cfn.Load(p)
	if err != nil {
		t.Fatalf("the snapshot template (make snapshot): %v", err)
	}
	return raw
}

// stack is the resolved snapshot and the names the checks need.
type stack struct {
	tmpl    *cfn.Template
	p       *Policies
	who     map[string]string // "make-thumbnail", "pipeline", "guest"... → a session of its role
	fn      map[string]string // function command → function ARN
	sm      map[string]string // state machine name → ARN
	queue   string            // the failure queue's ARN
	apiID   string
	cognito map[string]string // the identity pool's id
}

func readStack(t testing.TB, raw []byte) *stack {
	t.Helper()
	tmpl, err := cfn.Resolve(raw, cfn.Options{StackName: "ImagePipe", Region: twinEnv.Region, Account: twinEnv.Account,
		Attr: func(r *cfn.Resource, attr string) (any, bool) { // the twin's queue URLs
			if r.Type == "AWS::SQS::Queue" && (attr == "Ref" || attr == "QueueUrl") {
				return "http://127.0.0.1:4566/" + twinEnv.Account + "/" + r.Name, true
			}
			return nil, false
		}})
	if err != nil {
		t.Fatal(err)
	}
	p, err := FromTemplate(tmpl, twinEnv)
	if err != nil {
		t.Fatal(err)
	}
	s := &stack{tmpl: tmpl, p: p, who: map[string]string{}, fn: map[string]string{}, sm: map[string]string{}, cognito: map[string]string{}}
	session := func(roleARN, name string) string {
		return "arn:aws:sts::" + twinEnv.Account + ":assumed-role/" + roleARN[strings.LastIndex(roleARN, "/")+1:] + "/" + name
	}
	for _, id := range tmpl.Order {
		r := tmpl.Resources[id]
		switch r.Type {
		case "AWS::Lambda::Function":
			if cmd, _ := r.Metadata["imagepipe:function"].(string); cmd != "" {
				role, _ := cfn.Str(r.Properties, "Role")
				s.who[cmd], s.fn[cmd] = session(role, r.Name), twinEnv.ARN("lambda", "us-east-1", twinEnv.Account, "function:"+r.Name)
			}
		case "AWS::StepFunctions::StateMachine":
			role, _ := cfn.Str(r.Properties, "RoleArn")
			key := strings.ToLower(strings.TrimPrefix(r.Name, "ImagePipe-"))
			if key == "redrive" { // the redrive job, not the redrive function
				key = "redrive-job"
			}
			s.who[key], s.sm[key] = session(role, "execution"), r.PhysicalID
		case "AWS::Events::Rule":
			role, _ := cfn.Str(r.Properties, "Targets", "0", "RoleArn")
			target, _ := cfn.Str(r.Properties, "Targets", "0", "Arn")
			s.who[strings.ToLower(target[strings.LastIndex(target, "-")+1:])+"-events"] = session(role, "rule")
		case "AWS::Cognito::IdentityPoolRoleAttachment":
			guest, _ := cfn.Str(r.Properties, "Roles", "unauthenticated")
			user, _ := cfn.Str(r.Properties, "Roles", "authenticated")
			s.who["guest"], s.who["user"] = session(guest, "CognitoIdentityCredentials"), session(user, "CognitoIdentityCredentials")
			s.cognito["guest"], s.cognito["user"] = guest, user
			s.cognito["pool"], _ = cfn.Str(r.Properties, "IdentityPoolId")
		case "AWS::SQS::Queue":
			if strings.HasSuffix(r.Name, "FailureQueue") {
				s.queue = twinEnv.ARN("sqs", "us-east-1", twinEnv.Account, r.Name)
			}
		case "AWS::ApiGateway::RestApi":
			s.apiID = r.PhysicalID
		}
	}
	return s
}

// check is one call a principal of the stack makes, and whether IAM allows it.
type check struct {
	who, action, resource string
	ctx                   map[string][]string
	allowed               bool
}

func (c check) String() string {
	verdict := "may not"
	if c.allowed {
		verdict = "may"
	}
	return c.who + " " + verdict + " " + c.action + " " + c.resource
}

const sub = "us-east-1:0b6ad7f1-93b6-4bfc-a3e3-6de2e0c5c9a1"

// checks: what each function's code does (functions/...) and its neighbours
// must not, what the state machines' Task integrations and the rules' targets
// need, and what the web app's Cognito roles do.
func (s *stack) checks() []check {
	obj := func(key string) string { return "arn:aws:s3:::images/" + key }
	es := func(path string) string {
		return twinEnv.ARN("es", "us-east-1", twinEnv.Account, "domain/imagepipe/"+path)
	}
	api := func(method, path string) string { return ExecuteAPIArn(twinEnv, s.apiID, "prod", method, path) }
	web := map[string][]string{"cognito-identity.amazonaws.com:sub": {sub}, "s3:if-none-match": {"*"}}
	execution := twinEnv.ARN("states", "us-east-1", twinEnv.Account, "execution:ImagePipe-Pipeline:0b6ad7f1")
	cs := []check{
		{"extract-metadata", "s3:GetObject", obj("upload/2024/IMG_0200.jpg"), nil, true},
		{"extract-metadata", "s3:GetObject", obj("thumbnail/2024/IMG_0200.jpg"), nil, false},
		{"extract-metadata", "s3:PutObject", obj("upload/2024/IMG_0200.jpg"), nil, false},
		{"detect-labels", "rekognition:DetectLabels", "*", nil, true},
		{"detect-labels", "s3:GetObject", obj("upload/2024/IMG_0200.jpg"), nil, true},
		{"detect-labels", "s3:PutObject", obj("thumbnail/2024/IMG_0200.jpg"), nil, false},
		{"make-thumbnail", "s3:GetObject", obj("upload/2024/IMG_0200.jpg"), nil, true},
		{"make-thumbnail", "s3:PutObject", obj("thumbnail/2024/IMG_0200.jpg"), nil, true},
		{"make-thumbnail", "s3:PutObject", obj("preview/2024/IMG_0200.jpg"), nil, true},
		{"make-thumbnail", "s3:PutObject", obj("upload/2024/IMG_0200.jpg"), nil, false},
		{"make-thumbnail", "s3:DeleteObject", obj("thumbnail/2024/IMG_0200.jpg"), nil, false},
		{"make-thumbnail", "rekognition:DetectLabels", "*", nil, false},
		{"index-document", "es:ESHttpPut", es("images"), nil, true},
		{"index-document", "es:ESHttpPut", es("images/_mapping"), nil, true},
		{"index-document", "es:ESHttpGet", es("images/_doc/3f2a"), nil, true},
		{"index-document", "es:ESHttpPut", es("images/_doc/3f2a"), nil, true},
		{"index-document", "s3:GetObject", obj("upload/2024/IMG_0200.jpg"), nil, false},
		{"remove-document", "s3:DeleteObject", obj("thumbnail/2024/IMG_0200.jpg"), nil, true},
		{"remove-document", "s3:DeleteObject", obj("preview/2024/IMG_0200.jpg"), nil, true},
		{"remove-document", "es:ESHttpDelete", es("images/_doc/3f2a"), nil, true},
		{"remove-document", "s3:DeleteObject", obj("upload/2024/IMG_0200.jpg"), nil, false},
		{"search", "es:ESHttpPost", es("images/_search"), nil, true},
		{"search", "s3:GetObject", obj("thumbnail/2024/IMG_0200.jpg"), nil, true},
		{"search", "s3:GetObject", obj("upload/2024/IMG_0200.jpg"), nil, false},
		{"ping", "es:ESHttpGet", es("images/_count"), nil, true},
		{"ping", "s3:GetObject", obj("upload/2024/IMG_0200.jpg"), nil, false},
		{"redrive", "sqs:ReceiveMessage", s.queue, nil, true},
		{"redrive", "sqs:DeleteMessage", s.queue, nil, true},
		{"redrive", "sqs:SendMessage", s.queue, nil, false},
		{"redrive", "states:StartExecution", s.sm["pipeline"], nil, true},
		{"redrive", "states:ListExecutions", s.sm["pipeline"], nil, true},
		{"redrive", "states:RedriveExecution", execution, nil, true},
		{"redrive", "sqs:GetQueueAttributes", s.queue, nil, true},
		{"redrive", "states:StartExecution", s.sm["redrive-job"], nil, false},
		{"redrive-job", "lambda:InvokeFunction", s.fn["redrive"], nil, true},
		{"redrive-job", "lambda:InvokeFunction", s.fn["index-document"], nil, false},
		{"redrive-job", "states:StartExecution", s.sm["pipeline"], nil, false},
		{"redrive-job", "sqs:ReceiveMessage", s.queue, nil, false},
		{"load-tester", "s3:PutObject", obj("upload/load/4f1c/0001.jpg"), nil, true},
		{"load-tester", "s3:PutObject", obj("upload/2024/IMG_0200.jpg"), nil, false},
		{"pipeline", "sqs:SendMessage", s.queue, nil, true},
		{"pipeline", "lambda:InvokeFunction", s.fn["remove-document"], nil, false},
		{"remove", "lambda:InvokeFunction", s.fn["remove-document"], nil, true},
		{"remove", "sqs:SendMessage", s.queue, nil, true},
		{"remove", "lambda:InvokeFunction", s.fn["make-thumbnail"], nil, false},
		{"pipeline-events", "states:StartExecution", s.sm["pipeline"], nil, true},
		{"pipeline-events", "states:StartExecution", s.sm["remove"], nil, false},
		{"remove-events", "states:StartExecution", s.sm["remove"], nil, true},
		{"remove-events", "states:StartExecution", s.sm["pipeline"], nil, false},
		{"guest", "execute-api:Invoke", api("GET", "/images"), nil, true},
		{"guest", "execute-api:Invoke", api("GET", "/ping"), nil, false},
		// Web identities upload through POST /uploads (presign-upload's POST policy),
		// never with S3 permissions of their own.
		{"guest", "execute-api:Invoke", api("POST", "/uploads"), nil, true},
		{"guest", "s3:PutObject", obj("upload/" + sub + "/a.jpg"), web, false},
		{"guest", "execute-api:Invoke", api("GET", "/failures"), nil, false},
		{"user", "execute-api:Invoke", api("GET", "/executions"), nil, false},
		{"user", "execute-api:Invoke", api("GET", "/ping"), nil, true},
	}
	for _, fn := range []string{"extract-metadata", "detect-labels", "make-thumbnail", "index-document"} {
		cs = append(cs, check{"pipeline", "lambda:InvokeFunction", s.fn[fn], nil, true},
			check{"pipeline", "lambda:InvokeFunction", s.fn[fn] + ":$LATEST", nil, true})
	}
	return cs
}

func (s *stack) authorize(c check) Decision {
	return s.p.Authorize(s.who[c.who], c.action, c.resource, Merge(map[string][]string{"aws:SecureTransport": {"true"}}, c.ctx))
}

func TestSnapshotRoles(t *testing.T) {
	s := readStack(t, loadSnapshot(t))
	for _, c := range s.checks() {
		if s.who[c.who] == "" {
			t.Fatalf("%s: no such principal in the template", c.who)
		}
		if d := s.authorize(c); d.Allowed != c.allowed {
			t.Errorf("%s: %v", c, d)
		}
	}
	if w := s.p.Warnings(); len(w) > 0 {
		t.Errorf("the snapshot uses what the twin cannot evaluate:\n%s", strings.Join(w, "\n"))
	}
}

// The bucket and queue policies' enforceSSL Deny (Bool aws:SecureTransport false)
// refuses plain HTTP even to the roles that may make the call.
func TestSnapshotEnforceSSL(t *testing.T) {
	s := readStack(t, loadSnapshot(t))
	plain := map[string][]string{"aws:SecureTransport": {"false"}}
	for _, c := range []check{
		{"make-thumbnail", "s3:PutObject", "arn:aws:s3:::images/thumbnail/a.jpg", nil, false},
		{"pipeline", "sqs:SendMessage", s.queue, nil, false},
	} {
		d := s.p.Authorize(s.who[c.who], c.action, c.resource, plain)
		if d.Allowed || !d.Explicit || d.PolicyType != "resource-based" {
			t.Errorf("%s over plain HTTP: %v", c, d)
		}
		if d := s.p.Authorize(s.who[c.who], c.action, c.resource, nil); d.Allowed || !strings.Contains(d.Reason, "aws:SecureTransport") {
			t.Errorf("%s with no aws:SecureTransport in the context: %v", c, d)
		}
	}
}

// The OpenSearch domain's access policy is resource-based: in one account its
// Allow is enough on its own, beside the role's identity-based statements.
func TestSnapshotDomainAccessPolicy(t *testing.T) {
	s := readStack(t, loadSnapshot(t))
	doc := twinEnv.ARN("es", "us-east-1", twinEnv.Account, "domain/imagepipe/images/_doc/3f2a")
	by := s.p.allowedBy(s.who["index-document"], "es:ESHttpPut", doc, secure())
	if !slices.ContainsFunc(by, func(src string) bool { return strings.HasPrefix(src, "access policy of domain imagepipe") }) {
		t.Errorf("index-document's es:ESHttpPut on a document is allowed by %q; want the domain's access policy among them", by)
	}
	// A domain policy naming another role grants nothing to this one.
	if d := s.p.Authorize(s.who["extract-metadata"], "es:ESHttpDelete", doc, secure()); d.Allowed {
		t.Errorf("%v", d)
	}
}

func TestSnapshotTrust(t *testing.T) {
	s := readStack(t, loadSnapshot(t))
	role := func(who string) string { // the role ARN back from a session
		for _, r := range s.p.Roles() {
			if strings.HasSuffix(r, "/"+strings.Split(s.who[who], "/")[1]) {
				return r
			}
		}
		t.Fatalf("no role for %s", who)
		return ""
	}
	web := func(amr string) map[string][]string {
		return map[string][]string{"cognito-identity.amazonaws.com:aud": {s.cognito["pool"]}, "cognito-identity.amazonaws.com:amr": {amr}}
	}
	for _, c := range []struct {
		role, principal, action string
		ctx                     map[string][]string
		allowed                 bool
	}{
		{role("make-thumbnail"), "lambda.amazonaws.com", "sts:AssumeRole", nil, true},
		{role("make-thumbnail"), "states.amazonaws.com", "sts:AssumeRole", nil, false},
		{role("pipeline"), "states.amazonaws.com", "sts:AssumeRole", map[string][]string{"aws:SourceArn": {s.sm["pipeline"]}, "aws:SourceAccount": {twinEnv.Account}}, true},
		{role("pipeline"), "states.amazonaws.com", "sts:AssumeRole", map[string][]string{"aws:SourceArn": {s.sm["pipeline"]}, "aws:SourceAccount": {"999999999999"}}, false},
		{role("pipeline-events"), "events.amazonaws.com", "sts:AssumeRole", nil, true},
		{s.cognito["guest"], "cognito-identity.amazonaws.com", "sts:AssumeRoleWithWebIdentity", web("unauthenticated"), true},
		{s.cognito["guest"], "cognito-identity.amazonaws.com", "sts:AssumeRoleWithWebIdentity", web("authenticated"), false},
		{s.cognito["user"], "cognito-identity.amazonaws.com", "sts:AssumeRoleWithWebIdentity", web("authenticated"), true},
	} {
		if d := s.p.CanAssume(c.role, c.principal, c.action, Merge(secure(), c.ctx)); d.Allowed != c.allowed {
			t.Errorf("%s assuming %s: %v", c.principal, c.role, d)
		}
	}
	// API Gateway invokes the search function under the template's Lambda
	// permission for the method's ARN, and no other.
	src := func(method, path string) map[string][]string {
		return Merge(secure(), map[string][]string{"aws:SourceArn": {ExecuteAPIArn(twinEnv, s.apiID, "prod", method, path)}, "aws:SourceAccount": {twinEnv.Account}})
	}
	if d := s.p.Authorize("apigateway.amazonaws.com", "lambda:InvokeFunction", s.fn["search"], src("GET", "/images")); !d.Allowed {
		t.Errorf("API Gateway invoking search: %v", d)
	}
	if d := s.p.Authorize("apigateway.amazonaws.com", "lambda:InvokeFunction", s.fn["ping"], src("GET", "/images")); d.Allowed {
		t.Errorf("API Gateway invoking ping for /images: %v", d)
	}
}

// TestSnapshotStatementRemoved removes each statement of each identity-based
// policy from a copy of the template in turn: exactly the calls that statement
// alone allowed become denied; a call another statement also allows stays
// allowed, and every other decision is unchanged.
func TestSnapshotStatementRemoved(t *testing.T) {
	raw := loadSnapshot(t)
	full := readStack(t, raw)
	checks := full.checks()
	allowers := make([][]string, len(checks))
	for i, c := range checks {
		allowers[i] = full.p.allowedBy(full.who[c.who], c.action, c.resource, Merge(secure(), c.ctx))
	}
	var doc map[string]any
	if err := json.Unmarshal(raw, &doc); err != nil {
		t.Fatal(err)
	}
	resources := doc["Resources"].(map[string]any)
	exercised, denied := 0, 0
	for _, id := range slices.Sorted(maps.Keys(resources)) {
		res := resources[id].(map[string]any)
		if res["Type"] != "AWS::IAM::Policy" {
			continue
		}
		props := res["Properties"].(map[string]any)
		pd := props["PolicyDocument"].(map[string]any)
		stmts := pd["Statement"].([]any)
		for i := range stmts {
			source := "policy " + id + " statement " + strconv.Itoa(i+1)
			var affected []int
			for k := range checks {
				if slices.ContainsFunc(allowers[k], func(a string) bool { return a == source || strings.HasPrefix(a, source+" (") }) {
					affected = append(affected, k)
				}
			}
			if len(affected) == 0 {
				continue // a statement no call of the list uses (X-Ray, logs)
			}
			exercised++
			pd["Statement"] = slices.Delete(slices.Clone(stmts), i, i+1)
			mutated, _ := json.Marshal(doc)
			pd["Statement"] = stmts
			s := readStack(t, mutated)
			for k, c := range checks {
				want := c.allowed
				if slices.Contains(affected, k) {
					want = len(allowers[k]) > 1
				}
				d := s.authorize(c)
				if d.Allowed != want {
					t.Errorf("without %s: %s: %v", source, c, d)
				}
				if c.allowed && !d.Allowed {
					denied++
					if d.Explicit || !strings.HasSuffix(d.Message(), "because no identity-based policy allows the "+c.action+" action") {
						t.Errorf("without %s: %s: the denial should be IAM's implicit one: %q", source, c, d.Message())
					}
				}
			}
		}
	}
	if exercised < 20 || denied < 20 {
		t.Errorf("only %d statements exercised, %d calls denied by a removal: the checks no longer cover the template", exercised, denied)
	}
	t.Logf("%d statements removed in turn, %d calls denied", exercised, denied)
}
