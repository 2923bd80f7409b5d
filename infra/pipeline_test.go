package main

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/assertions"
	"github.com/aws/aws-cdk-go/awscdk/v2/cxapi"
	"github.com/aws/jsii-runtime-go"

	"github.com/imagepipe/imagepipe/infra/stack"
)

type obj = map[string]any

// appProps are the app stack's props as main makes them without context, with
// stand-in bootstraps so that the tests do not need `make build`.
func appProps(t *testing.T) stack.Props {
	dir := t.TempDir()
	for _, name := range stack.FunctionNames() {
		if err := os.MkdirAll(filepath.Join(dir, name), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, name, "bootstrap"), []byte("#!/bin/sh\n"), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	return stack.Props{LambdaDir: dir}
}

// template is a stack's synthesized template, decoded, after checking that cdk-nag
// left no unsuppressed finding (errors or warnings of our own resources).
func template(t *testing.T, st awscdk.Stack) obj {
	t.Helper()
	for _, find := range []func(*string, any) *[]*cxapi.SynthesisMessage{
		assertions.Annotations_FromStack(st).FindError, assertions.Annotations_FromStack(st).FindWarning,
	} {
		for _, m := range *find(jsii.String("*"), assertions.Match_StringLikeRegexp(jsii.String("AwsSolutions-.*"))) {
			msg := fmt.Sprint(m.Entry.Data)
			if p, ok := m.Entry.Data.(*string); ok {
				msg = *p
			}
			if strings.HasPrefix(*m.Id, "/"+*st.Node().Path()+"/") && !knownAppWarning(msg) {
				t.Errorf("cdk-nag: %s: %s", *m.Id, msg[:min(len(msg), 120)])
			}
		}
	}
	raw, err := json.Marshal(assertions.Template_FromStack(st, nil).ToJSON())
	if err != nil {
		t.Fatal(err)
	}
	var out obj
	if err := json.Unmarshal(raw, &out); err != nil {
		t.Fatal(err)
	}
	return out
}

// knownAppWarning: the app stack's cdk-nag warnings, the same in the default synth
// (CloudFront geo restriction and WAF, API WAF, optional MFA), which this change
// leaves as they are.
func knownAppWarning(msg string) bool {
	for _, id := range []string{"AwsSolutions-CFR1", "AwsSolutions-CFR2", "AwsSolutions-APIG3", "AwsSolutions-COG2"} {
		if strings.HasPrefix(msg, id+":") {
			return true
		}
	}
	return false
}

func resources(tpl obj, typ string) map[string]obj {
	out := map[string]obj{}
	for id, r := range tpl["Resources"].(obj) {
		if r.(obj)["Type"] == typ {
			out[id] = r.(obj)["Properties"].(obj)
		}
	}
	return out
}

func one(t *testing.T, tpl obj, typ string) obj {
	t.Helper()
	rs := resources(tpl, typ)
	if len(rs) != 1 {
		t.Fatalf("%d %s, want 1", len(rs), typ)
	}
	for _, p := range rs {
		return p
	}
	return nil
}

// statements are the Allow statements of the inline policies of the role whose
// RoleName is name, as action → resources (JSON).
func statements(t *testing.T, tpl obj, roleName string) map[string][]string {
	t.Helper()
	var logical string
	for id, p := range resources(tpl, "AWS::IAM::Role") {
		if p["RoleName"] == roleName {
			logical = id
		}
	}
	if logical == "" {
		t.Fatalf("no role named %s", roleName)
	}
	out := map[string][]string{}
	for _, p := range resources(tpl, "AWS::IAM::Policy") {
		if !slices.ContainsFunc(p["Roles"].([]any), func(r any) bool { return reflect.DeepEqual(r, obj{"Ref": logical}) }) {
			continue
		}
		for _, s := range p["PolicyDocument"].(obj)["Statement"].([]any) {
			st := s.(obj)
			acts, ok := st["Action"].([]any)
			if !ok {
				acts = []any{st["Action"]}
			}
			res, ok := st["Resource"].([]any)
			if !ok {
				res = []any{st["Resource"]}
			}
			for _, a := range acts {
				for _, r := range res {
					b, _ := json.Marshal(r)
					out[a.(string)] = append(out[a.(string)], string(b))
				}
			}
		}
	}
	return out
}

func TestDeliveryPipeline(t *testing.T) {
	app := awscdk.NewApp(nil)
	cfg := DeliveryConfig{
		ConnectionArn: "arn:aws:codeconnections:eu-west-1:123456789012:connection/abc", Repo: "octo/imagepipe", Branch: "release",
		SynthArgs: synthArgs(map[string]string{ContextPipeline: "true", ContextConnectionArn: "arn:aws:codeconnections:eu-west-1:123456789012:connection/abc", "redriveSchedule": "rate(1 hour)"}),
	}
	d, err := NewDelivery(app, "ImagePipe", cfg, appProps(t))
	if err != nil {
		t.Fatal(err)
	}
	stack.ApplyNag(app)
	tpl := template(t, d.Stack)

	pipe := one(t, tpl, "AWS::CodePipeline::Pipeline")
	if pipe["PipelineType"] != "V2" || pipe["Name"] != "ImagePipe" {
		t.Errorf("pipeline type %v name %v, want V2 ImagePipe", pipe["PipelineType"], pipe["Name"])
	}
	var stages []string
	actions := map[string]obj{}
	for _, s := range pipe["Stages"].([]any) {
		stages = append(stages, s.(obj)["Name"].(string))
		for _, a := range s.(obj)["Actions"].([]any) {
			actions[a.(obj)["Name"].(string)] = a.(obj)
		}
	}
	if strings.Join(stages, ",") != "Source,Build,UpdatePipeline,Assets,Deploy" {
		t.Errorf("stages %v", stages)
	}
	src := actions["octo_imagepipe"]
	if src == nil || src["ActionTypeId"].(obj)["Provider"] != "CodeStarSourceConnection" ||
		src["Configuration"].(obj)["ConnectionArn"] != cfg.ConnectionArn || src["Configuration"].(obj)["FullRepositoryId"] != "octo/imagepipe" || src["Configuration"].(obj)["BranchName"] != "release" {
		t.Errorf("source action %v", src)
	}
	// The deploy stage deploys the app stack by its own name, then smoke-tests it.
	prepare, deploy, smoke := actions["ImagePipe.Prepare"], actions["ImagePipe.Deploy"], actions["SmokeTest"]
	if prepare == nil || deploy == nil || smoke == nil {
		t.Fatalf("deploy stage actions: %v", sortedKeys(actions))
	}
	if prepare["Configuration"].(obj)["StackName"] != "ImagePipe" || smoke["RunOrder"].(float64) <= deploy["RunOrder"].(float64) {
		t.Errorf("deploy %v then smoke at run order %v", prepare["Configuration"], smoke["RunOrder"])
	}
	if env := smoke["Configuration"].(obj)["EnvironmentVariables"].(string); !strings.Contains(env, `"name":"SMOKE_TEST_ROLE_ARN"`) || !strings.Contains(env, "."+stack.OutputSmokeTestRoleArn+"}") {
		t.Errorf("smoke step environment %s: want SMOKE_TEST_ROLE_ARN from the stack's output", env)
	}

	projects := map[string]obj{}
	for id, p := range resources(tpl, "AWS::CodeBuild::Project") {
		projects[id] = p
	}
	synth, smokeProject := projectOf(t, projects, actions["Synth"]), projectOf(t, projects, smoke)
	for name, p := range map[string]obj{"synth": synth, "smoke": smokeProject} {
		env := p["Environment"].(obj)
		if env["Image"] != BuildImage || env["Type"] != "ARM_CONTAINER" {
			t.Errorf("%s: image %v on %v, want %s on ARM_CONTAINER", name, env["Image"], env["Type"], BuildImage)
		}
	}
	if synth["Environment"].(obj)["ComputeType"] != "BUILD_GENERAL1_LARGE" || synth["TimeoutInMinutes"] != float64(120) {
		t.Errorf("synth: %v, %v minutes", synth["Environment"].(obj)["ComputeType"], synth["TimeoutInMinutes"])
	}
	spec := synth["Source"].(obj)["BuildSpec"].(string)
	for _, want := range []string{"node-v" + NodeVersion + "-linux-arm64.tar.gz", `"bash .ci/run"`, `make synth CDK_ARGS=`, `-c pipeline=true`, `redriveSchedule=rate(1 hour)`} {
		if !strings.Contains(spec, want) {
			t.Errorf("synth buildspec lacks %q:\n%s", want, spec)
		}
	}
	if spec := smokeProject["Source"].(obj)["BuildSpec"].(string); !strings.Contains(spec, `./imagepipe smoke --stack ImagePipe --role-arn \"$SMOKE_TEST_ROLE_ARN\"`) {
		t.Errorf("smoke buildspec:\n%s", spec)
	}
	// The smoke step's role may assume the app stack's smoke-test role, nothing else of its own.
	got := statements(t, tpl, SmokeStepRoleName("ImagePipe"))
	if r := got["sts:AssumeRole"]; len(r) != 1 || !strings.Contains(r[0], `:role/ImagePipe-SmokeTest"`) {
		t.Errorf("smoke step role sts:AssumeRole on %v", r)
	}

	appTpl := template(t, d.App.Stack)
	if _, ok := appTpl["Outputs"].(obj)[stack.OutputSmokeTestRoleArn]; !ok {
		t.Error("the app stack has no SmokeTestRoleArn output")
	}
	checkSmokeTestRole(t, appTpl, SmokeStepRoleName("ImagePipe"))
}

// projectOf is the CodeBuild project a pipeline action runs.
func projectOf(t *testing.T, projects map[string]obj, action obj) obj {
	t.Helper()
	ref := action["Configuration"].(obj)["ProjectName"].(obj)["Ref"].(string)
	p, ok := projects[ref]
	if !ok {
		t.Fatalf("no project %s", ref)
	}
	return p
}

// checkSmokeTestRole holds the app stack's smoke-test role to what `imagepipe smoke`
// calls, each on this stack's own resources, and its trust to the named roles.
func checkSmokeTestRole(t *testing.T, tpl obj, trusted ...string) {
	t.Helper()
	var role obj
	for _, p := range resources(tpl, "AWS::IAM::Role") {
		if p["RoleName"] == stack.SmokeTestRoleName("ImagePipe") {
			role = p
		}
	}
	if role == nil {
		t.Fatal("no smoke-test role")
	}
	trust, _ := json.Marshal(role["AssumeRolePolicyDocument"])
	for _, name := range trusted {
		if !strings.Contains(string(trust), `":role/`+name+`"`) || !strings.Contains(string(trust), `"aws:PrincipalArn"`) {
			t.Errorf("trust %s: want aws:PrincipalArn naming %s", trust, name)
		}
	}
	got := statements(t, tpl, stack.SmokeTestRoleName("ImagePipe"))
	want := map[string]string{ // action → a part of its one resource
		"cloudformation:DescribeStacks": `{"Ref":"AWS::StackId"}`,
		"s3:PutObject":                  `/upload/smoke/*"`,
		"s3:DeleteObject":               `/upload/smoke/*"`,
		"s3:GetObject":                  `/thumbnail/smoke/*"`,
		"s3:ListBucket":                 `{"Fn::GetAtt":["Images`,
		"execute-api:Invoke":            `/prod/GET/images"`,
		"states:ListExecutions":         `{"Ref":"Pipeline`,
		"states:DescribeExecution":      `:execution:`,
		"sqs:ReceiveMessage":            `{"Fn::GetAtt":["FailureQueue`,
		"sqs:DeleteMessage":             `{"Fn::GetAtt":["FailureQueue`,
		"sqs:ChangeMessageVisibility":   `{"Fn::GetAtt":["FailureQueue`,
	}
	if !reflect.DeepEqual(sortedKeys(got), sortedKeys(want)) {
		t.Errorf("smoke-test role actions %v, want %v", sortedKeys(got), sortedKeys(want))
	}
	for a, part := range want {
		if r := got[a]; len(r) != 1 || !strings.Contains(r[0], part) {
			t.Errorf("%s on %v, want one resource with %s", a, r, part)
		}
	}
}

func sortedKeys[V any](m map[string]V) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	slices.Sort(out)
	return out
}

func TestDeliverySources(t *testing.T) {
	app := awscdk.NewApp(nil)
	d, err := NewDelivery(app, "ImagePipe", DeliveryConfig{}, appProps(t))
	if err != nil {
		t.Fatal(err)
	}
	stack.ApplyNag(app)
	src := resources(template(t, d.Stack), "AWS::CodePipeline::Pipeline")
	raw, _ := json.Marshal(src)
	if !strings.Contains(string(raw), `"RepositoryName":"imagepipe"`) || !strings.Contains(string(raw), `"BranchName":"main"`) {
		t.Errorf("default source: want CodeCommit imagepipe on main: %.400s", raw)
	}
	for _, cfg := range []DeliveryConfig{
		{ConnectionArn: "arn:aws:codeconnections:us-east-1:1:connection/x", Repo: "no-owner"},
		{ConnectionArn: "arn:aws:codeconnections:us-east-1:1:connection/x", Repo: "a/b", CodeCommitRepo: "c"},
	} {
		if _, err := NewDelivery(awscdk.NewApp(nil), "ImagePipe", cfg, appProps(t)); err == nil {
			t.Errorf("%+v: no error", cfg)
		}
	}
}

func TestGitHubDeploy(t *testing.T) {
	app := awscdk.NewApp(nil)
	g, err := NewGitHubDeploy(app, "ImagePipe", GitHubConfig{Repo: "octo/imagepipe"}, nil)
	if err != nil {
		t.Fatal(err)
	}
	props := appProps(t)
	props.SmokeTestPrincipals = []string{GitHubDeployRoleName("ImagePipe")}
	s, err := stack.New(app, "ImagePipe", props)
	if err != nil {
		t.Fatal(err)
	}
	stack.ApplyNag(app)
	tpl := template(t, g.Stack)
	oidc := one(t, tpl, "AWS::IAM::OIDCProvider")
	if oidc["Url"] != "https://token.actions.githubusercontent.com" || !reflect.DeepEqual(oidc["ClientIdList"], []any{"sts.amazonaws.com"}) {
		t.Errorf("OIDC provider %v", oidc)
	}
	role := one(t, tpl, "AWS::IAM::Role")
	trust, _ := json.Marshal(role["AssumeRolePolicyDocument"])
	for _, want := range []string{`"sts:AssumeRoleWithWebIdentity"`, `"token.actions.githubusercontent.com:aud":"sts.amazonaws.com"`,
		`"token.actions.githubusercontent.com:sub":"repo:octo/imagepipe:environment:production"`} {
		if !strings.Contains(string(trust), want) {
			t.Errorf("trust %s lacks %s", trust, want)
		}
	}
	got := statements(t, tpl, GitHubDeployRoleName("ImagePipe"))
	if len(got) != 1 || len(got["sts:AssumeRole"]) != 5 {
		t.Fatalf("deploy role may %v, want only sts:AssumeRole on the 4 bootstrap roles and the smoke-test role", got)
	}
	bootstrap := regexp.MustCompile(`:role/cdk-hnb659fds-(deploy|file-publishing|image-publishing|lookup)-role-"`)
	for _, r := range got["sts:AssumeRole"] {
		if !bootstrap.MatchString(r) && !strings.Contains(r, `:role/ImagePipe-SmokeTest"`) || strings.Contains(r, "*") {
			t.Errorf("sts:AssumeRole on %s", r)
		}
	}
	checkSmokeTestRole(t, template(t, s.Stack), GitHubDeployRoleName("ImagePipe"))

	// An account's existing provider is used, not created again.
	app = awscdk.NewApp(nil)
	g, err = NewGitHubDeploy(app, "ImagePipe", GitHubConfig{Repo: "octo/imagepipe", Environment: "prod", ProviderArn: "arn:aws:iam::123456789012:oidc-provider/token.actions.githubusercontent.com"}, nil)
	if err != nil {
		t.Fatal(err)
	}
	tpl = template(t, g.Stack)
	if n := len(resources(tpl, "AWS::IAM::OIDCProvider")); n != 0 {
		t.Errorf("%d OIDC providers with githubOidcProviderArn given", n)
	}
	trust, _ = json.Marshal(one(t, tpl, "AWS::IAM::Role")["AssumeRolePolicyDocument"])
	if !strings.Contains(string(trust), `"Federated":"arn:aws:iam::123456789012:oidc-provider/token.actions.githubusercontent.com"`) || !strings.Contains(string(trust), ":environment:prod\"") {
		t.Errorf("trust %s", trust)
	}
	if _, err := NewGitHubDeploy(awscdk.NewApp(nil), "ImagePipe", GitHubConfig{Repo: "octo"}, nil); err == nil {
		t.Error("githubRepo without an owner: no error")
	}
}

// The default app (no context) has no smoke-test role: `make test-snapshot` holds
// the whole template, this the one fact the delivery code could change.
func TestNoSmokeTestRoleByDefault(t *testing.T) {
	s, err := stack.New(awscdk.NewApp(nil), "ImagePipe", appProps(t))
	if err != nil {
		t.Fatal(err)
	}
	if s.SmokeTestRole != nil {
		t.Error("a smoke-test role without SmokeTestPrincipals")
	}
}

// The outputs `imagepipe smoke` reads (local/smoke/aws.go) are the app stack's.
func TestSmokeReadsTheStacksOutputs(t *testing.T) {
	src, err := os.ReadFile("../local/smoke/aws.go")
	if err != nil {
		t.Fatal(err)
	}
	s, err := stack.New(awscdk.NewApp(nil), "ImagePipe", appProps(t))
	if err != nil {
		t.Fatal(err)
	}
	outputs := assertions.Template_FromStack(s.Stack, nil).ToJSON()
	raw, _ := json.Marshal((*outputs)["Outputs"])
	names := regexp.MustCompile(`Output[A-Za-z]+\s*=\s*"([A-Za-z]+)"`).FindAllStringSubmatch(string(src), -1)
	if len(names) < 4 {
		t.Fatalf("found %d output names in local/smoke/aws.go", len(names))
	}
	for _, m := range names {
		if !strings.Contains(string(raw), `"`+m[1]+`":`) {
			t.Errorf("local/smoke reads output %s, which the stack does not have", m[1])
		}
	}
}

// The delivery builds use the Go and Node.js the README names, and so does the
// GitHub workflow.
func TestToolchainIsTheREADMEs(t *testing.T) {
	readme, err := os.ReadFile("../README.md")
	if err != nil {
		t.Fatal(err)
	}
	m := regexp.MustCompile(`Go (\d+\.\d+), Node\.js (\d+)`).FindSubmatch(readme)
	if m == nil {
		t.Fatal(`README names no "Go X.Y, Node.js N"`)
	}
	if !strings.HasPrefix(GoVersion, string(m[1])+".") || !strings.HasPrefix(NodeVersion, string(m[2])+".") {
		t.Errorf("pipeline Go %s, Node.js %s; README Go %s, Node.js %s", GoVersion, NodeVersion, m[1], m[2])
	}
	for _, wf := range []string{"ci.yml", "deploy.yml"} {
		b, err := os.ReadFile("../.github/workflows/" + wf)
		if err != nil {
			t.Fatal(err)
		}
		for _, want := range []string{"golang:" + GoVersion + "-bookworm", "node-version: " + NodeVersion} {
			if !strings.Contains(string(b), want) {
				t.Errorf("%s does not name %s", wf, want)
			}
		}
	}
}

func TestSynthArgs(t *testing.T) {
	got := strings.Join(synthArgs(map[string]string{"pipeline": "true", "redriveSchedule": "rate(1 hour)", "alarmEmail": "", "faults": "a=b,c=rate=0.3"}), " ")
	want := `-c 'redriveSchedule=rate(1 hour)' -c faults=a=b,c=rate=0.3 -c pipeline=true`
	if got != want {
		t.Errorf("synthArgs %s, want %s", got, want)
	}
	if q := shellQuote("it's"); q != `'it'"'"'s'` {
		t.Errorf("shellQuote %s", q)
	}
}
