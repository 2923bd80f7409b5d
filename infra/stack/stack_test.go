package stack_test

import (
	"encoding/json"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/assertions"
	"github.com/aws/jsii-runtime-go"

	"github.com/imagepipe/imagepipe/infra/stack"
	"github.com/imagepipe/imagepipe/statemachine"
)

type obj = map[string]any

// lambdaDir makes a stand-in build/lambda: one tiny bootstrap per function, so the
// tests do not depend on `make build`.
func lambdaDir(t *testing.T) string {
	dir := t.TempDir()
	for _, name := range stack.FunctionNames() {
		if err := os.MkdirAll(filepath.Join(dir, name), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, name, "bootstrap"), []byte("#!/bin/sh\n"), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

func webDist(t *testing.T) string {
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "index.html"), []byte("<!doctype html><title>imagepipe</title>"), 0o644); err != nil {
		t.Fatal(err)
	}
	return dir
}

func TestMissingBootstrapFailsEarly(t *testing.T) {
	app := awscdk.NewApp(nil)
	_, err := stack.New(app, "Missing", stack.Props{LambdaDir: t.TempDir()})
	if err == nil || !strings.Contains(err.Error(), "make build") {
		t.Fatalf("err = %v, want a hint to run make build", err)
	}
}

// TestStack synthesizes the stack once (with cdk-nag, as main does) and checks the
// template's properties.
func TestStack(t *testing.T) {
	defer jsii.Close()
	app := awscdk.NewApp(nil)
	s, err := stack.New(app, "ImagePipe", stack.Props{LambdaDir: lambdaDir(t), WebDist: webDist(t), AlarmEmail: "ops@example.com"})
	if err != nil {
		t.Fatal(err)
	}
	stack.ApplyNag(app)
	tpl := assertions.Template_FromStack(s.Stack, nil)
	raw, err := json.Marshal(tpl.ToJSON())
	if err != nil {
		t.Fatal(err)
	}
	if out := os.Getenv("IMAGEPIPE_TEMPLATE_OUT"); out != "" {
		// For the CloudFormation schema check that `make test-infra` runs next.
		if err := os.WriteFile(out, raw, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	var template obj
	if err := json.Unmarshal(raw, &template); err != nil {
		t.Fatal(err)
	}
	resources := template["Resources"].(obj)
	byType := func(typ string) map[string]obj {
		out := map[string]obj{}
		for id, r := range resources {
			if r.(obj)["Type"] == typ {
				out[id] = r.(obj)
			}
		}
		return out
	}
	props := func(r obj) obj { p, _ := r["Properties"].(obj); return p }
	logicalID := func(prefix, typ string) string {
		for id := range byType(typ) {
			if strings.HasPrefix(id, prefix) {
				return id
			}
		}
		t.Fatalf("no %s named %s*", typ, prefix)
		return ""
	}

	t.Run("NagClean", func(t *testing.T) {
		errs := assertions.Annotations_FromStack(s.Stack).FindError(jsii.String("*"), assertions.Match_StringLikeRegexp(jsii.String("AwsSolutions-.*")))
		for _, e := range *errs {
			t.Errorf("cdk-nag: %s: %v", *e.Id, e.Entry.Data)
		}
	})

	t.Run("StateMachines", func(t *testing.T) {
		machines := byType("AWS::StepFunctions::StateMachine")
		if len(machines) != 3 {
			t.Fatalf("%d state machines, want 3 (pipeline, removal, redrive job)", len(machines))
		}
		queue := logicalID("FailureQueue", "AWS::SQS::Queue")
		job := logicalID(statemachine.MachineRedrive, "AWS::StepFunctions::StateMachine")
		for id, m := range machines {
			if id == job {
				continue // TestStack/RedriveJob
			}
			p := props(m)
			def, ok := p["DefinitionString"].(string)
			if !ok {
				t.Fatalf("%s: DefinitionString is not a literal: %v", id, p["DefinitionString"])
			}
			subs, _ := p["DefinitionSubstitutions"].(obj)
			for _, v := range statemachine.Variables([]byte(def)) {
				if subs[v] == nil {
					t.Errorf("%s: ${%s} is not provided by the stack", id, v)
				}
			}
			if !reflect.DeepEqual(subs[statemachine.VarFailureQueueURL], obj{"Ref": queue}) {
				t.Errorf("%s: FailureQueueUrl = %v, want Ref %s", id, subs[statemachine.VarFailureQueueURL], queue)
			}
			for v, sub := range subs {
				if v == statemachine.VarFailureQueueURL {
					continue
				}
				// ExtractMetadataFunctionArn -> Fn::GetAtt [ExtractMetadataFunction..., Arn]
				want := strings.TrimSuffix(v, "Arn")
				ga, _ := sub.(obj)["Fn::GetAtt"].([]any)
				if len(ga) != 2 || !strings.HasPrefix(ga[0].(string), want) || ga[1] != "Arn" {
					t.Errorf("%s: ${%s} = %v, want the Arn of %s", id, v, sub, want)
				}
			}
			if p["TracingConfiguration"].(obj)["Enabled"] != true {
				t.Errorf("%s: no X-Ray tracing", id)
			}
			if p["LoggingConfiguration"].(obj)["Level"] != "ALL" {
				t.Errorf("%s: logging level %v", id, p["LoggingConfiguration"])
			}
			if p["StateMachineType"] != "STANDARD" {
				t.Errorf("%s: type %v, want STANDARD by default", id, p["StateMachineType"])
			}
			vars := map[string]string{}
			for v := range subs {
				vars[v] = "sub:" + v
			}
			out, err := statemachine.Substitute([]byte(def), vars)
			if err != nil {
				t.Fatalf("%s: %v", id, err)
			}
			checkDefinition(t, id, out)
		}
	})

	t.Run("RedriveJob", func(t *testing.T) {
		checkRedriveJob(t, template, logicalID(statemachine.MachineRedrive, "AWS::StepFunctions::StateMachine"), logicalID("RedriveFunction", "AWS::Lambda::Function"))
	})

	t.Run("Rules", func(t *testing.T) {
		bucket := logicalID("Images", "AWS::S3::Bucket")
		want := map[string]statemachine.Pattern{
			"Pipeline": statemachine.ObjectCreatedPattern("BUCKET"),
			"Remove":   statemachine.ObjectDeletedPattern("BUCKET"),
		}
		found := 0
		for id, r := range byType("AWS::Events::Rule") {
			p := props(r)
			pattern, _ := json.Marshal(p["EventPattern"])
			pattern = []byte(strings.ReplaceAll(string(pattern), `{"Ref":"`+bucket+`"}`, `"BUCKET"`))
			targets := p["Targets"].([]any)
			if len(targets) != 1 {
				t.Fatalf("%s: %d targets", id, len(targets))
			}
			tg := targets[0].(obj)
			arn, _ := tg["Arn"].(obj)["Ref"].(string)
			for machine, w := range want {
				if !strings.HasPrefix(arn, machine) {
					continue
				}
				found++
				wj, _ := json.Marshal(w)
				var a, b any
				_ = json.Unmarshal(pattern, &a)
				_ = json.Unmarshal(wj, &b)
				if !reflect.DeepEqual(a, b) {
					t.Errorf("%s: pattern %s, want %s", id, pattern, wj)
				}
				if tg["DeadLetterConfig"] == nil || tg["RetryPolicy"] == nil {
					t.Errorf("%s: target lacks a dead-letter queue or retry policy: %v", id, tg)
				}
			}
		}
		if found != 2 {
			t.Errorf("%d rules target the state machines, want 2", found)
		}
	})

	t.Run("IAMOnEveryMethod", func(t *testing.T) {
		methods := byType("AWS::ApiGateway::Method")
		gets := 0
		for id, m := range methods {
			p := props(m)
			if p["HttpMethod"] == "OPTIONS" {
				continue
			}
			if p["HttpMethod"] == "GET" {
				gets++
			}
			if p["AuthorizationType"] != "AWS_IAM" {
				t.Errorf("%s %v: AuthorizationType %v", id, p["HttpMethod"], p["AuthorizationType"])
			}
		}
		// /images, /images/{id}, /ping; the operators' /executions, /executions/{arn}, /failures
		if gets != 6 {
			t.Errorf("%d GET methods, want 6", gets)
		}
		tpl.HasResourceProperties(jsii.String("AWS::ApiGateway::Method"), &map[string]any{
			"HttpMethod":         "GET",
			"RequestParameters":  map[string]any{"method.request.querystring.search": false},
			"RequestValidatorId": assertions.Match_AnyValue(),
		})
		tpl.HasResourceProperties(jsii.String("AWS::ApiGateway::Stage"), &map[string]any{
			"StageName":        stack.StageName,
			"AccessLogSetting": assertions.Match_ObjectLike(&map[string]any{"DestinationArn": assertions.Match_AnyValue()}),
			"MethodSettings":   assertions.Match_ArrayWith(&[]any{assertions.Match_ObjectLike(&map[string]any{"ThrottlingRateLimit": 50})}),
			"TracingEnabled":   true,
		})
	})

	t.Run("GuestRole", func(t *testing.T) {
		role := logicalID("GuestRole", "AWS::IAM::Role")
		var stmts []any
		for _, p := range byType("AWS::IAM::Policy") {
			pp := props(p)
			for _, r := range pp["Roles"].([]any) {
				if reflect.DeepEqual(r, obj{"Ref": role}) {
					stmts = append(stmts, pp["PolicyDocument"].(obj)["Statement"].([]any)...)
				}
			}
		}
		var actions []string
		for _, st := range stmts {
			m := st.(obj)
			if m["Effect"] != "Allow" {
				t.Errorf("unexpected statement %v", m)
			}
			switch a := m["Action"].(type) {
			case string:
				actions = append(actions, a)
			case []any:
				for _, x := range a {
					actions = append(actions, x.(string))
				}
			}
			res, _ := json.Marshal(m["Resource"])
			switch {
			case strings.Contains(string(res), "execute-api"):
				if !strings.Contains(string(res), "/prod/GET/images") && !strings.Contains(string(res), "/prod/POST/uploads") {
					t.Errorf("guests may invoke %s", res)
				}
			default:
				t.Errorf("guests reach %s", res)
			}
		}
		slices.Sort(actions)
		if want := []string{"execute-api:Invoke"}; !reflect.DeepEqual(actions, want) {
			t.Errorf("guest actions = %v, want %v", actions, want)
		}
	})

	t.Run("BucketsBlockPublicAccess", func(t *testing.T) {
		buckets := byType("AWS::S3::Bucket")
		if len(buckets) < 3 {
			t.Fatalf("%d buckets, want images, website and access logs", len(buckets))
		}
		all := obj{"BlockPublicAcls": true, "BlockPublicPolicy": true, "IgnorePublicAcls": true, "RestrictPublicBuckets": true}
		for id, b := range buckets {
			if !reflect.DeepEqual(props(b)["PublicAccessBlockConfiguration"], all) {
				t.Errorf("%s: PublicAccessBlockConfiguration = %v", id, props(b)["PublicAccessBlockConfiguration"])
			}
			if props(b)["BucketEncryption"] == nil {
				t.Errorf("%s: not encrypted", id)
			}
		}
		images := props(resources[logicalID("Images", "AWS::S3::Bucket")].(obj))
		if images["NotificationConfiguration"] == nil && !hasEventBridge(resources) {
			t.Errorf("images bucket does not send EventBridge notifications")
		}
	})

	t.Run("Lambdas", func(t *testing.T) {
		fns := map[string]obj{}
		for id, f := range byType("AWS::Lambda::Function") {
			if p := props(f); p["Runtime"] == "provided.al2023" {
				fns[id] = p
			}
		}
		if len(fns) != len(stack.FunctionNames()) {
			t.Fatalf("%d provided.al2023 functions, want %d", len(fns), len(stack.FunctionNames()))
		}
		for id, p := range fns {
			if !reflect.DeepEqual(p["Architectures"], []any{"arm64"}) || p["Handler"] != "bootstrap" {
				t.Errorf("%s: architectures %v, handler %v", id, p["Architectures"], p["Handler"])
			}
			if p["TracingConfig"].(obj)["Mode"] != "Active" {
				t.Errorf("%s: X-Ray off", id)
			}
			// Opt-in (reservedConcurrency): a default deploy reserves nothing.
			if _, reserved := p["ReservedConcurrentExecutions"]; reserved {
				t.Errorf("%s: reserved concurrency %v without the reservedConcurrency context", id, p["ReservedConcurrentExecutions"])
			}
		}
	})

	t.Run("FailureQueue", func(t *testing.T) {
		q := props(resources[logicalID("FailureQueue", "AWS::SQS::Queue")].(obj))
		if q["MessageRetentionPeriod"] != float64(14*24*3600) || q["SqsManagedSseEnabled"] != true {
			t.Errorf("failure queue: %v", q)
		}
		tpl.HasResourceProperties(jsii.String("AWS::CloudWatch::Alarm"), &map[string]any{
			"MetricName": "ApproximateNumberOfMessagesVisible",
			"Dimensions": []any{map[string]any{"Name": "QueueName", "Value": map[string]any{"Fn::GetAtt": []any{logicalID("FailureQueue", "AWS::SQS::Queue"), "QueueName"}}}},
		})
	})

	t.Run("SearchDomain", func(t *testing.T) {
		tpl.HasResourceProperties(jsii.String("AWS::OpenSearchService::Domain"), &map[string]any{
			"EncryptionAtRestOptions":     map[string]any{"Enabled": true},
			"NodeToNodeEncryptionOptions": map[string]any{"Enabled": true},
			"DomainEndpointOptions":       assertions.Match_ObjectLike(&map[string]any{"EnforceHTTPS": true}),
		})
	})

	t.Run("NoFaultsByDefault", func(t *testing.T) {
		for id, f := range byType("AWS::Lambda::Function") {
			env, _ := props(f)["Environment"].(obj)
			vars, _ := env["Variables"].(obj)
			if _, ok := vars["FAULT_MODE"]; ok {
				t.Errorf("%s: FAULT_MODE set without the faults context", id)
			}
		}
	})

	t.Run("RedriveLeastPrivilege", func(t *testing.T) {
		fnID := logicalID("RedriveFunction", "AWS::Lambda::Function")
		fn := props(resources[fnID].(obj))
		vars := fn["Environment"].(obj)["Variables"].(obj)
		queue := logicalID("FailureQueue", "AWS::SQS::Queue")
		if !reflect.DeepEqual(vars["FAILURE_QUEUE_URL"], obj{"Ref": queue}) || vars["REDRIVE_MODE"] != "queue" ||
			vars["PIPELINE_STATE_MACHINE_ARN"] == nil || vars["REMOVE_STATE_MACHINE_ARN"] == nil || vars["OPENSEARCH_ENDPOINT"] != nil {
			t.Errorf("redrive environment: %v", vars)
		}
		role := fn["Role"].(obj)["Fn::GetAtt"].([]any)[0].(string)
		got := map[string][]string{} // action → resources
		for _, p := range byType("AWS::IAM::Policy") {
			pp := props(p)
			for _, r := range pp["Roles"].([]any) {
				if !reflect.DeepEqual(r, obj{"Ref": role}) {
					continue
				}
				for _, st := range pp["PolicyDocument"].(obj)["Statement"].([]any) {
					m := st.(obj)
					res, _ := json.Marshal(m["Resource"])
					for _, a := range asStrings(m["Action"]) {
						got[a] = append(got[a], string(res))
					}
				}
			}
		}
		var actions []string
		for a := range got {
			actions = append(actions, a)
		}
		slices.Sort(actions)
		want := []string{"sqs:ChangeMessageVisibility", "sqs:DeleteMessage", "sqs:GetQueueAttributes", "sqs:ReceiveMessage", "states:DescribeExecution", "states:ListExecutions", "states:RedriveExecution", "states:StartExecution", "xray:PutTelemetryRecords", "xray:PutTraceSegments"}
		if !reflect.DeepEqual(actions, want) {
			t.Errorf("redrive actions = %v, want %v", actions, want)
		}
		for _, a := range []string{"sqs:ReceiveMessage", "sqs:DeleteMessage", "sqs:ChangeMessageVisibility", "sqs:GetQueueAttributes"} {
			for _, r := range got[a] {
				if r != `{"Fn::GetAtt":["`+queue+`","Arn"]}` {
					t.Errorf("%s on %s, want the failure queue only", a, r)
				}
			}
		}
		for _, a := range []string{"states:StartExecution", "states:ListExecutions", "states:RedriveExecution"} {
			joined := strings.Join(got[a], " ")
			if !strings.Contains(joined, "Pipeline") || !strings.Contains(joined, "Remove") || strings.Contains(joined, `"*"`) {
				t.Errorf("%s on %s, want both state machines only", a, joined)
			}
		}
		if !strings.Contains(strings.Join(got["states:RedriveExecution"], " "), ":execution:") {
			t.Errorf("RedriveExecution not on executions: %v", got["states:RedriveExecution"])
		}
		// Not among the OpenSearch domain's principals.
		domain, _ := json.Marshal(props(resources[logicalID("Search", "AWS::OpenSearchService::Domain")].(obj))["AccessPolicies"])
		if strings.Contains(string(domain), role) {
			t.Errorf("redrive role may call the search domain: %s", domain)
		}
	})

	// roleActions is action → resources (JSON) over the inline policies of a role.
	roleActions := func(role string) map[string][]string {
		got := map[string][]string{}
		for _, p := range byType("AWS::IAM::Policy") {
			pp := props(p)
			for _, r := range pp["Roles"].([]any) {
				if !reflect.DeepEqual(r, obj{"Ref": role}) {
					continue
				}
				for _, st := range pp["PolicyDocument"].(obj)["Statement"].([]any) {
					m := st.(obj)
					res, _ := json.Marshal(m["Resource"])
					for _, a := range asStrings(m["Action"]) {
						got[a] = append(got[a], string(res))
					}
				}
			}
		}
		return got
	}

	t.Run("LoadTester", func(t *testing.T) {
		fnID := logicalID("LoadTesterFunction", "AWS::Lambda::Function")
		fn := props(resources[fnID].(obj))
		vars := fn["Environment"].(obj)["Variables"].(obj)
		if !reflect.DeepEqual(vars["IMAGES_BUCKET"], obj{"Ref": logicalID("Images", "AWS::S3::Bucket")}) || vars["OPENSEARCH_ENDPOINT"] != nil || len(vars) != 1 {
			t.Errorf("load-tester environment: %v", vars)
		}
		if fn["Timeout"] != float64(360) {
			t.Errorf("load-tester timeout %v, want 360 s (5-minute runs and a margin)", fn["Timeout"])
		}
		got := roleActions(fn["Role"].(obj)["Fn::GetAtt"].([]any)[0].(string))
		var actions []string
		for a := range got {
			actions = append(actions, a)
		}
		slices.Sort(actions)
		if want := []string{"s3:PutObject", "xray:PutTelemetryRecords", "xray:PutTraceSegments"}; !reflect.DeepEqual(actions, want) {
			t.Errorf("load-tester actions = %v, want %v", actions, want)
		}
		if puts := got["s3:PutObject"]; len(puts) != 1 || !strings.Contains(puts[0], `/upload/load/*`) {
			t.Errorf("s3:PutObject on %v, want upload/load/* of the images bucket only", puts)
		}

		invokes := func(role string) []string {
			return roleActions(logicalID(role, "AWS::IAM::Role"))["lambda:InvokeFunction"]
		}
		operator := strings.Join(invokes("OperatorRole"), " ")
		if !strings.Contains(operator, `"Fn::GetAtt":["`+fnID+`","Arn"]`) {
			t.Errorf("operators may not invoke the load tester: %s", operator)
		}
		for _, id := range []string{"Search", "Ping", "ExtractMetadata", "MakeThumbnail", "DetectLabels", "IndexDocument", "RemoveDocument"} {
			if strings.Contains(operator, `"`+id+`Function`) {
				t.Errorf("operators may invoke %s: %s", id, operator)
			}
		}
		if user := invokes("UserRole"); len(user) != 0 {
			t.Errorf("signed-in users (not operators) may invoke %v", user)
		}
		if guest := invokes("GuestRole"); len(guest) != 0 {
			t.Errorf("guests may invoke %v", guest)
		}
		for _, p := range byType("AWS::Lambda::Permission") {
			if reflect.DeepEqual(props(p)["FunctionName"], obj{"Fn::GetAtt": []any{fnID, "Arn"}}) {
				t.Errorf("a resource policy opens the load tester: %v", props(p))
			}
		}
		domain, _ := json.Marshal(props(resources[logicalID("Search", "AWS::OpenSearchService::Domain")].(obj))["AccessPolicies"])
		if role := fn["Role"].(obj)["Fn::GetAtt"].([]any)[0].(string); strings.Contains(string(domain), role) {
			t.Errorf("load-tester role may call the search domain: %s", domain)
		}
	})

	t.Run("MemoryFromMeasurements", func(t *testing.T) {
		for id, f := range byType("AWS::Lambda::Function") {
			p := props(f)
			if p["Runtime"] != "provided.al2023" {
				continue
			}
			m, _ := p["MemorySize"].(float64)
			if m < 128 || (int(m)%64 != 0 && m != 1769) {
				t.Errorf("%s: MemorySize %v, want a 64 MB step (or 1769, one vCPU) of at least 128", id, p["MemorySize"])
			}
		}
	})

	t.Run("NoRedriveScheduleByDefault", func(t *testing.T) {
		for id, r := range byType("AWS::Events::Rule") {
			if props(r)["ScheduleExpression"] != nil {
				t.Errorf("%s: a schedule without the redriveSchedule context", id)
			}
		}
	})

	t.Run("Outputs", func(t *testing.T) {
		outputs := template["Outputs"].(obj)
		for _, name := range []string{"BucketName", "ApiUrl", "IdentityPoolId", "UserPoolId", "UserPoolClientId", "WebsiteUrl", "StateMachineArn", "FailureQueueUrl", "DashboardUrl", "RedriveFunctionName", "RedriveStateMachineArn", "LoadTesterFunctionName", "OperatorsGroup"} {
			if outputs[name] == nil {
				t.Errorf("no output %s", name)
			}
		}
	})
}

func hasEventBridge(resources obj) bool {
	for _, r := range resources {
		b, _ := json.Marshal(r)
		if strings.Contains(string(b), `"EventBridgeConfiguration"`) {
			return true
		}
	}
	return false
}

// checkDefinition re-checks, on the substituted definition from the template, what
// statemachine's tests check on the source: a branch per parallel step, jittered
// retries on every Task, Catch towards sqs:sendMessage on the failure queue and then
// Fail.
func checkDefinition(t *testing.T, id string, def []byte) {
	t.Helper()
	var sm obj
	if err := json.Unmarshal(def, &sm); err != nil {
		t.Fatalf("%s: %v", id, err)
	}
	states := sm["States"].(obj)
	if p, ok := states[statemachine.StateProcessImage].(obj); ok {
		want := 0
		for _, st := range statemachine.Steps() {
			if st.Parallel {
				want++
			}
		}
		if n := len(p["Branches"].([]any)); n != want {
			t.Errorf("%s: Parallel has %d branches, the table %d parallel steps", id, n, want)
		}
	} else if _, ok := states[statemachine.StateRemoveDocument]; !ok {
		t.Fatalf("%s: neither the pipeline nor the removal definition", id)
	}
	notify := states[statemachine.StateSendToFailureQueue].(obj)
	if notify["Resource"] != "arn:aws:states:::sqs:sendMessage" ||
		notify["Parameters"].(obj)["QueueUrl"] != "sub:"+statemachine.VarFailureQueueURL {
		t.Errorf("%s: failure path %v", id, notify)
	}
	if states[notify["Next"].(string)].(obj)["Type"] != "Fail" {
		t.Errorf("%s: failure path does not end in Fail", id)
	}
	var walk func(states obj)
	walk = func(states obj) {
		for name, v := range states {
			st := v.(obj)
			if st["Type"] == "Task" {
				retry, _ := st["Retry"].([]any)
				catch, _ := st["Catch"].([]any)
				if len(retry) == 0 || len(catch) == 0 {
					t.Errorf("%s/%s: Retry %v, Catch %v", id, name, retry, catch)
				}
				for _, r := range retry {
					if r.(obj)["JitterStrategy"] != "FULL" {
						t.Errorf("%s/%s: retry without full jitter", id, name)
					}
				}
			}
			for _, b := range asSlice(st["Branches"]) {
				walk(b.(obj)["States"].(obj))
			}
		}
	}
	walk(states)
}

func asSlice(v any) []any { s, _ := v.([]any); return s }

func asStrings(v any) []string {
	switch a := v.(type) {
	case string:
		return []string{a}
	case []any:
		var out []string
		for _, x := range a {
			out = append(out, x.(string))
		}
		return out
	}
	return nil
}

// checkRedriveJob: the Redrive state machine is STANDARD, logged and traced, gets the
// redrive function's ARN as its one substitution, and its role may invoke that
// function and no other.
func checkRedriveJob(t *testing.T, template obj, job, fn string) {
	t.Helper()
	resources := template["Resources"].(obj)
	p := resources[job].(obj)["Properties"].(obj)
	subs, _ := p["DefinitionSubstitutions"].(obj)
	want := obj{statemachine.VarRedriveFunctionArn: obj{"Fn::GetAtt": []any{fn, "Arn"}}}
	if !reflect.DeepEqual(subs, want) {
		t.Errorf("substitutions %v, want %v", subs, want)
	}
	if p["DefinitionString"] != string(statemachine.Redrive()) {
		t.Errorf("DefinitionString is not statemachine/redrive.asl.json")
	}
	if p["StateMachineType"] != "STANDARD" || p["TracingConfiguration"].(obj)["Enabled"] != true || p["LoggingConfiguration"].(obj)["Level"] != "ALL" {
		t.Errorf("type, tracing, logging: %v %v %v", p["StateMachineType"], p["TracingConfiguration"], p["LoggingConfiguration"])
	}
	role, _ := p["RoleArn"].(obj)["Fn::GetAtt"].([]any)
	var invoke []string
	for id, r := range resources {
		r := r.(obj)
		if r["Type"] != "AWS::IAM::Policy" {
			continue
		}
		pp := r["Properties"].(obj)
		if b, _ := json.Marshal(pp["Roles"]); len(role) == 0 || !strings.Contains(string(b), `"`+role[0].(string)+`"`) {
			continue
		}
		for _, st := range pp["PolicyDocument"].(obj)["Statement"].([]any) {
			st := st.(obj)
			a, _ := json.Marshal(st["Action"])
			res, _ := json.Marshal(st["Resource"])
			if strings.Contains(string(a), "lambda:") {
				invoke = append(invoke, string(res))
				if string(a) != `"lambda:InvokeFunction"` {
					t.Errorf("%s: job role lambda actions %s", id, a)
				}
			}
		}
	}
	if len(invoke) != 1 || strings.Count(invoke[0], `"Fn::GetAtt"`) != 2 || strings.Count(invoke[0], `"`+fn+`"`) != 2 {
		t.Errorf("job role invokes %v, want the redrive function (and its versions) only", invoke)
	}
}
