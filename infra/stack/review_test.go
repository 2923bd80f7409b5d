package stack_test

import (
	"encoding/json"
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

// TestDeployedStackReview checks, on the default deploy, what issue 13's review of
// the template asked for: alarms on every silent failure (7), email usernames (8),
// deploys that fit new accounts (9), uploads and privacy (10-12), a least-privilege
// domain policy (13), specific cdk-nag suppressions and no dev origin or execution
// data by default (14).
func TestDeployedStackReview(t *testing.T) {
	defer jsii.Close()
	sy := synth(t, "ImagePipe", stack.Props{WebDist: webDist(t)}, nil)
	sy.nagClean(t)
	t.Run("Alarms", func(t *testing.T) { checkAlarms(t, sy) })
	t.Run("EmailIsTheUsername", func(t *testing.T) {
		p := sy.props(sy.logicalID("Users", "AWS::Cognito::UserPool"))
		if !reflect.DeepEqual(p["UsernameAttributes"], []any{"email"}) || p["AliasAttributes"] != nil {
			t.Errorf("UsernameAttributes %v, AliasAttributes %v: want the email as the username", p["UsernameAttributes"], p["AliasAttributes"])
		}
	})
	t.Run("NoReservedConcurrency", func(t *testing.T) {
		for id, f := range sy.byType("AWS::Lambda::Function") {
			if v, ok := props(f)["ReservedConcurrentExecutions"]; ok {
				t.Errorf("%s reserves %v without -c reservedConcurrency=true", id, v)
			}
		}
	})
	t.Run("SearchDomain", func(t *testing.T) { checkSearchDomain(t, sy, "imagepipe", 1, "0") })
	t.Run("Uploads", func(t *testing.T) { checkUploads(t, sy) })
	t.Run("PrivateFields", func(t *testing.T) {
		if got := sy.env("SearchFunction")["PRIVATE_FIELDS"]; got != stack.PrivateFieldsSignedIn {
			t.Errorf("search PRIVATE_FIELDS = %v, want %s", got, stack.PrivateFieldsSignedIn)
		}
	})
	t.Run("Operators", func(t *testing.T) { checkOperators(t, sy) })
	t.Run("OperationsAPI", func(t *testing.T) { checkOperationsAPI(t, sy) })
	t.Run("OperationsFunction", func(t *testing.T) { checkOperationsFunction(t, sy) })
	t.Run("DomainPolicy", func(t *testing.T) { checkDomainPolicy(t, sy, "imagepipe") })
	t.Run("WildcardResources", func(t *testing.T) { checkWildcards(t, sy) })
	t.Run("SpecificSuppressions", func(t *testing.T) { checkSuppressions(t, sy) })
	t.Run("NoDevOrigin", func(t *testing.T) { checkOrigins(t, sy, false) })
	t.Run("NoExecutionDataInLogs", func(t *testing.T) { checkExecutionData(t, sy, false) })
}

// TestDeployOptions synthesizes with every opt-in of the review: reserved
// concurrency, two search nodes, the dev origin, execution data in the logs, private
// fields for IAM principals only, under another stack name.
func TestDeployOptions(t *testing.T) {
	defer jsii.Close()
	sy := synth(t, "ImagePipeStaging", stack.Props{Search: stack.SearchSize{InstanceCount: 2}}, map[string]any{
		"reservedConcurrency": "true",
		"devOrigin":           "true",
		"logExecutionData":    true, // cdk.json may give booleans
		"privateFields":       "iam",
	})
	sy.nagClean(t)
	reserved := map[string]any{}
	for id, f := range sy.byType("AWS::Lambda::Function") {
		if v, ok := props(f)["ReservedConcurrentExecutions"]; ok {
			reserved[id[:strings.Index(id, "Function")]] = v
		}
	}
	if want := map[string]any{"DetectLabels": float64(20), "LoadTester": float64(2)}; !reflect.DeepEqual(reserved, want) {
		t.Errorf("reserved concurrency %v, want %v", reserved, want)
	}
	checkSearchDomain(t, sy, "imagepipestaging", 2, "1")
	checkDomainPolicy(t, sy, "imagepipestaging")
	checkOrigins(t, sy, true)
	checkExecutionData(t, sy, true)
	if got := sy.env("SearchFunction")["PRIVATE_FIELDS"]; got != stack.PrivateFieldsIAM {
		t.Errorf("search PRIVATE_FIELDS = %v, want iam", got)
	}
}

func TestDeployOptionErrors(t *testing.T) {
	for name, c := range map[string]struct {
		ctx   map[string]any
		size  stack.SearchSize
		wants string
	}{
		"odd node count":      {size: stack.SearchSize{InstanceCount: 3}, wants: "even"},
		"five nodes":          {size: stack.SearchSize{InstanceCount: 5}, wants: "use 4 or 6"},
		"fractional nodes":    {size: stack.SearchSize{InstanceCount: 1.5}, wants: "whole number"},
		"negative nodes":      {size: stack.SearchSize{InstanceCount: -2}, wants: "at least 1"},
		"small volume":        {size: stack.SearchSize{VolumeGiB: 5}, wants: "at least 10"},
		"bad domain name":     {size: stack.SearchSize{DomainName: "Image_Pipe"}, wants: "domain name"},
		"long domain name":    {size: stack.SearchSize{DomainName: "a23456789012345678901234567890"}, wants: "3 to 28"},
		"reserved: maybe":     {ctx: map[string]any{"reservedConcurrency": "maybe"}, wants: "reservedConcurrency"},
		"dev origin path":     {ctx: map[string]any{"devOrigin": "http://localhost:5173/app"}, wants: "devOrigin"},
		"dev origin scheme":   {ctx: map[string]any{"devOrigin": "ftp://localhost"}, wants: "devOrigin"},
		"dev origin wildcard": {ctx: map[string]any{"devOrigin": "https://*.example.com"}, wants: "devOrigin"},
		"execution data":      {ctx: map[string]any{"logExecutionData": "yes"}, wants: "logExecutionData"},
		"private fields":      {ctx: map[string]any{"privateFields": "everyone"}, wants: "privateFields"},
	} {
		ctx := c.ctx
		app := awscdk.NewApp(&awscdk.AppProps{Context: &ctx})
		_, err := stack.New(app, "ImagePipe", stack.Props{LambdaDir: lambdaDir(t), Search: c.size})
		if err == nil || !strings.Contains(err.Error(), c.wants) {
			t.Errorf("%s: err = %v, want one that says %q", name, err, c.wants)
		}
	}
}

func TestDomainNameFor(t *testing.T) {
	for stackName, want := range map[string]string{
		"ImagePipe":        "imagepipe",
		"ImagePipe-Prod-2": "imagepipe-prod-2",
		"A":                "a-search",
		"Ab":               "ab-search",
		"Abc":              "abc",
	} {
		if got := stack.DomainNameFor(stackName); got != want {
			t.Errorf("%s → %q, want %q", stackName, got, want)
		}
	}
	// Past 28 characters: a prefix and a hash of the whole name.
	eu, us := stack.DomainNameFor("ImagePipeForTheWholeCompanyEU"), stack.DomainNameFor("ImagePipeForTheWholeCompanyUS")
	if len(eu) != 28 || !strings.HasPrefix(eu, "imagepipeforthewholec-") || eu == us {
		t.Errorf("long names → %q and %q: want 28 characters, a shared prefix, different hashes", eu, us)
	}
	for _, n := range []string{"ImagePipe", "A", "ImagePipeForTheWholeCompanyEU", "X-------------------------------y"} {
		if err := (stack.SearchSize{DomainName: stack.DomainNameFor(n), InstanceCount: 1, VolumeGiB: 10}).Check(); err != nil {
			t.Errorf("%s: %v", n, err)
		}
	}
}

func TestParseDevOrigin(t *testing.T) {
	for in, want := range map[string]string{
		"": "", "false": "", "true": stack.DefaultDevOrigin, "TRUE": stack.DefaultDevOrigin,
		"http://localhost:3000": "http://localhost:3000", "https://dev.example.com": "https://dev.example.com",
	} {
		if got, err := stack.ParseDevOrigin(in); err != nil || got != want {
			t.Errorf("%q → %q, %v; want %q", in, got, err, want)
		}
	}
	for _, bad := range []string{"localhost:5173", "http://", "http://localhost:5173/", "http://u@localhost", "*", "http://localhost?x"} {
		if _, err := stack.ParseDevOrigin(bad); err == nil {
			t.Errorf("%q accepted", bad)
		}
	}
}

func checkAlarms(t *testing.T, sy *synthesized) {
	topic := sy.logicalID("Alarms", "AWS::SNS::Topic")
	type key struct{ metric, dimension string }
	found := map[key]obj{}
	for id, a := range sy.byType("AWS::CloudWatch::Alarm") {
		p := props(a)
		if !reflect.DeepEqual(p["AlarmActions"], []any{obj{"Ref": topic}}) {
			t.Errorf("%s: actions %v, want the alarm topic", id, p["AlarmActions"])
		}
		dims, _ := json.Marshal(p["Dimensions"])
		found[key{p["MetricName"].(string), string(dims)}] = p
	}
	want := func(metric, dimension string, threshold float64, cmp string, periods float64) {
		t.Helper()
		for k, p := range found {
			if k.metric == metric && strings.Contains(k.dimension, dimension) {
				if p["Threshold"] != threshold || p["ComparisonOperator"] != cmp || p["EvaluationPeriods"] != periods {
					t.Errorf("%s on %s: threshold %v %v over %v periods", metric, dimension, p["Threshold"], p["ComparisonOperator"], p["EvaluationPeriods"])
				}
				return
			}
		}
		t.Errorf("no alarm on %s of %s", metric, dimension)
	}
	const ge, le = "GreaterThanOrEqualToThreshold", "LessThanOrEqualToThreshold"
	for _, sm := range []string{"Pipeline", "Remove"} {
		id := sy.logicalID(sm, "AWS::StepFunctions::StateMachine")
		for _, m := range []string{"ExecutionsFailed", "ExecutionsTimedOut", "ExecutionsAborted", "ExecutionThrottled"} {
			want(m, `"Ref":"`+id+`"`, 1, ge, 1)
		}
	}
	domain := `"Ref":"` + sy.logicalID("Search", "AWS::OpenSearchService::Domain") + `"`
	want("ClusterStatus.red", domain, 1, ge, 1)
	want("ClusterStatus.yellow", domain, 1, ge, 1)
	want("ClusterIndexWritesBlocked", domain, 1, ge, 1)
	want("JVMMemoryPressure", domain, 95, ge, 3)
	want("FreeStorageSpace", domain, 10*1024/4, le, 1) // a quarter of the default 10 GiB, in MiB
	want("5XXError", `"ApiName"`, 1, ge, 1)
	want("ApproximateNumberOfMessagesVisible", sy.logicalID("FailureQueue", "AWS::SQS::Queue"), 1, ge, 1)
}

func checkSearchDomain(t *testing.T, sy *synthesized, name string, nodes float64, replicas string) {
	t.Helper()
	id := sy.logicalID("Search", "AWS::OpenSearchService::Domain")
	p := sy.props(id)
	cc := p["ClusterConfig"].(obj)
	if p["DomainName"] != name || cc["InstanceCount"] != nodes || cc["ZoneAwarenessEnabled"] != (nodes > 1) {
		t.Errorf("domain %v, cluster %v: want %s with %v nodes", p["DomainName"], cc, name, nodes)
	}
	if nodes > 1 && !reflect.DeepEqual(cc["ZoneAwarenessConfig"], obj{"AvailabilityZoneCount": float64(2)}) {
		t.Errorf("zone awareness %v, want 2 zones", cc["ZoneAwarenessConfig"])
	}
	endpoint := obj{"Fn::GetAtt": []any{id, "DomainEndpoint"}}
	for _, fn := range []string{"DetectLabels", "IndexDocument", "RemoveDocument", "Search", "Ping"} {
		env := sy.env(fn + "Function")
		if !reflect.DeepEqual(env["OPENSEARCH_ENDPOINT"], endpoint) || env["OPENSEARCH_INDEX"] != stack.SearchIndex {
			t.Errorf("%s: OPENSEARCH_ENDPOINT %v, OPENSEARCH_INDEX %v", fn, env["OPENSEARCH_ENDPOINT"], env["OPENSEARCH_INDEX"])
		}
		// The functions that may create the index say how many replicas it gets.
		if creates := fn == "IndexDocument" || fn == "RemoveDocument"; creates && env["OPENSEARCH_REPLICAS"] != replicas || !creates && env["OPENSEARCH_REPLICAS"] != nil {
			t.Errorf("%s: OPENSEARCH_REPLICAS %v, want %s on the index's writers only", fn, env["OPENSEARCH_REPLICAS"], replicas)
		}
	}
	for _, fn := range []string{"ExtractMetadata", "MakeThumbnail", "Redrive", "LoadTester"} {
		if v := sy.env(fn + "Function")["OPENSEARCH_ENDPOINT"]; v != nil {
			t.Errorf("%s does not use the index but gets OPENSEARCH_ENDPOINT %v", fn, v)
		}
	}
}

// checkUploads: web identities cannot write to the bucket at all; they may ask
// presign-upload (POST /uploads), whose role alone may put objects, and only under
// upload/; nobody but the pipeline reads uploads, and refused uploads expire.
func checkUploads(t *testing.T, sy *synthesized) {
	for _, role := range []string{"GuestRole", "UserRole", "OperatorRole"} {
		id := sy.logicalID(role, "AWS::IAM::Role")
		for a := range sy.actions(id) {
			if strings.HasPrefix(a, "s3:") {
				t.Errorf("%s may %s; uploads go through POST /uploads", role, a)
			}
		}
		if inv := strings.Join(sy.actions(id)["execute-api:Invoke"], " "); !strings.Contains(inv, "/prod/POST/uploads") {
			t.Errorf("%s may not invoke POST /uploads: %s", role, inv)
		}
	}
	presign := sy.actions(sy.functionRole("PresignUpload"))
	if puts := presign["s3:PutObject"]; len(puts) != 1 || !strings.HasSuffix(puts[0], `"/upload/*"]]}`) {
		t.Errorf("presign-upload: s3:PutObject on %v, want upload/* of the images bucket only", puts)
	}
	if env := sy.env("PresignUploadFunction"); env["IMAGES_BUCKET"] == nil || env["ALLOWED_ORIGIN"] == nil {
		t.Errorf("presign-upload environment %v: want IMAGES_BUCKET and ALLOWED_ORIGIN", env)
	}
	// Only the steps whose row of statemachine.Steps reads uploads may get them.
	readers := map[string]bool{}
	for id := range sy.byType("AWS::IAM::Role") {
		for a, res := range sy.actions(id) {
			if (strings.HasPrefix(a, "s3:GetObject") || a == "s3:*" || a == "s3:Get*") && strings.Contains(strings.Join(res, " "), "/upload/") {
				name, _, _ := strings.Cut(id, "FunctionServiceRole")
				readers[name] = true
			}
		}
	}
	got := sortedKeys(readers)
	var want []string
	for _, st := range statemachine.Steps() {
		for _, o := range st.Objects {
			if slices.Contains(o.Actions, "s3:GetObject") && slices.Contains(o.Prefixes, statemachine.PrefixUpload) {
				want = append(want, functionID(st.Function))
			}
		}
	}
	slices.Sort(want)
	if len(want) == 0 || !reflect.DeepEqual(got, want) {
		t.Errorf("roles that may read uploads: %v, want %v", got, want)
	}
	sy.tpl.HasResourceProperties(jsii.String("AWS::S3::Bucket"), &map[string]any{
		"LifecycleConfiguration": map[string]any{"Rules": assertions.Match_ArrayWith(&[]any{map[string]any{
			"Id": "expire-rejected-uploads", "Prefix": "upload/", "Status": "Enabled", "ExpirationInDays": stack.RejectedDays,
			"TagFilters": []any{map[string]any{"Key": stack.RejectedTag.Key, "Value": stack.RejectedTag.Value}},
		}})},
	})
	for _, fn := range []string{"ExtractMetadataFunction", "MakeThumbnailFunction"} {
		if tags := sy.actions(sy.functionRole(fn))["s3:PutObjectTagging"]; len(tags) != 1 || !strings.HasSuffix(tags[0], `"/upload/*"]]}`) {
			t.Errorf("%s: s3:PutObjectTagging on %v, want upload/* (to mark refused uploads)", fn, tags)
		}
	}
}

// checkOperators: the operators group has its own role, chosen from the ID token;
// only it may run the load tester, read the failure queue, redrive and list
// executions.
func checkOperators(t *testing.T, sy *synthesized) {
	role := sy.logicalID("OperatorRole", "AWS::IAM::Role")
	sy.tpl.HasResourceProperties(jsii.String("AWS::Cognito::UserPoolGroup"), &map[string]any{
		"GroupName":  stack.OperatorsGroup,
		"RoleArn":    map[string]any{"Fn::GetAtt": []any{role, "Arn"}},
		"UserPoolId": map[string]any{"Ref": sy.logicalID("Users", "AWS::Cognito::UserPool")},
	})
	attach := sy.props(sy.logicalID("IdentityRoles", "AWS::Cognito::IdentityPoolRoleAttachment"))
	mappings, _ := attach["RoleMappings"].(obj)
	if len(mappings) != 1 {
		t.Fatalf("role mappings %v", mappings)
	}
	for _, m := range mappings {
		m := m.(obj)
		provider, _ := json.Marshal(m["IdentityProvider"])
		if m["Type"] != "Token" || m["AmbiguousRoleResolution"] != "AuthenticatedRole" ||
			!strings.Contains(string(provider), "ProviderName") || !strings.Contains(string(provider), sy.logicalID("UsersWeb", "AWS::Cognito::UserPoolClient")) {
			t.Errorf("role mapping %v: want Token-based on the user pool client", m)
		}
	}
	trust, _ := json.Marshal(sy.props(role)["AssumeRolePolicyDocument"])
	for _, w := range []string{`"cognito-identity.amazonaws.com:aud":{"Ref":"Identities"}`, `"cognito-identity.amazonaws.com:amr":"authenticated"`} {
		if !strings.Contains(string(trust), w) {
			t.Errorf("operator role trust %s lacks %s", trust, w)
		}
	}
	got := sy.actions(role)
	// Executions and the failure queue go through the operators' API
	// (checkOperationsAPI), uploads through POST /uploads; the role itself reaches
	// none of them.
	if a, want := sortedKeys(got), []string{"execute-api:Invoke", "lambda:InvokeFunction"}; !reflect.DeepEqual(a, want) {
		t.Errorf("operator actions %v, want %v", a, want)
	}
	invoke := strings.Join(got["lambda:InvokeFunction"], " ")
	if !strings.Contains(invoke, `"`+sy.logicalID("LoadTesterFunction", "AWS::Lambda::Function")+`"`) || strings.Count(invoke, "Fn::GetAtt") != 1 {
		t.Errorf("operators may invoke %s, want the load tester only", invoke)
	}
	// Signed-in users and guests get none of it.
	for _, r := range []string{"UserRole", "GuestRole"} {
		for a := range sy.actions(sy.logicalID(r, "AWS::IAM::Role")) {
			if strings.HasPrefix(a, "lambda:") || strings.HasPrefix(a, "sqs:") || strings.HasPrefix(a, "states:") {
				t.Errorf("%s may %s", r, a)
			}
		}
	}
}

// searchPaths is, per index user, action → the paths below /images it may call:
// what functions/searchindex/opensearch.go sends.
var searchPaths = map[string]map[string][]string{
	"DetectLabels":   {"es:ESHttpPost": {"images/_search"}},
	"IndexDocument":  {"es:ESHttpPut": {"images", "images/_mapping", "images/_settings", "images/_doc/*"}, "es:ESHttpGet": {"images/_doc/*"}, "es:ESHttpPost": {"images/_search"}},
	"RemoveDocument": {"es:ESHttpPut": {"images", "images/_mapping", "images/_settings", "images/_doc/*"}, "es:ESHttpGet": {"images/_doc/*"}, "es:ESHttpDelete": {"images/_doc/*"}, "es:ESHttpPost": {"images/_search"}},
	"Search":         {"es:ESHttpGet": {"images/_search", "images/_doc/*"}, "es:ESHttpPost": {"images/_search"}},
	"Ping":           {"es:ESHttpGet": {"images/_count"}, "es:ESHttpPost": {"images/_count"}},
}

// checkDomainPolicy: the domain's resource policy and the roles' own policies name
// the same five roles, each with searchPaths, and nobody else.
func checkDomainPolicy(t *testing.T, sy *synthesized, domainName string) {
	t.Helper()
	domain := sy.logicalID("Search", "AWS::OpenSearchService::Domain")
	roleOf := map[string]string{}
	for fn := range searchPaths {
		roleOf[sy.functionRole(fn+"Function")] = fn
	}
	policy := map[string]map[string][]string{} // function → action → paths
	for _, st := range asSlice(sy.props(domain)["AccessPolicies"].(obj)["Statement"]) {
		m := st.(obj)
		ga, _ := m["Principal"].(obj)["AWS"].(obj)["Fn::GetAtt"].([]any)
		fn, ok := roleOf[ga[0].(string)]
		if !ok || m["Effect"] != "Allow" || m["Condition"] != nil {
			t.Errorf("domain policy statement %v: not one of the index users' roles", m)
			continue
		}
		for _, r := range asSlice(m["Resource"]) {
			addPath(t, policy, fn, m["Action"], r, ":domain/"+domainName+"/")
		}
		if r, ok := m["Resource"].(obj); ok {
			addPath(t, policy, fn, m["Action"], r, ":domain/"+domainName+"/")
		}
	}
	if !reflect.DeepEqual(policy, searchPaths) {
		t.Errorf("domain policy\n%v\nwant\n%v", policy, searchPaths)
	}
	// The roles' own policies: the same, on the domain's Arn attribute.
	identity := map[string]map[string][]string{}
	for id := range sy.byType("AWS::IAM::Role") {
		for _, st := range sy.statements(id) {
			for _, a := range st.actions {
				if !strings.HasPrefix(a, "es:") {
					continue
				}
				fn, ok := roleOf[id]
				if !ok {
					t.Errorf("%s (not an index user) may %s", id, a)
					continue
				}
				for _, r := range st.resources {
					var v any
					_ = json.Unmarshal([]byte(r), &v)
					addPath(t, identity, fn, a, v, "")
				}
			}
		}
	}
	if !reflect.DeepEqual(identity, searchPaths) {
		t.Errorf("roles' OpenSearch grants\n%v\nwant\n%v", identity, searchPaths)
	}
}

// addPath records the path below the domain that resource r (a Fn::Join) names.
func addPath(t *testing.T, into map[string]map[string][]string, fn string, actions any, r any, marker string) {
	t.Helper()
	b, _ := json.Marshal(r)
	parts := asSlice(asSlice(r.(obj)["Fn::Join"])[1])
	last, _ := parts[len(parts)-1].(string)
	path := ""
	switch {
	case marker != "" && strings.Contains(last, marker):
		path = last[strings.Index(last, marker)+len(marker):]
	case marker == "" && strings.HasPrefix(last, "/"):
		path = strings.TrimPrefix(last, "/")
	default:
		t.Errorf("%s: resource %s is not below the domain", fn, b)
		return
	}
	if into[fn] == nil {
		into[fn] = map[string][]string{}
	}
	for _, a := range asStrings(actions) {
		into[fn][a] = append(into[fn][a], path)
	}
}

// checkWildcards: "*" appears only for actions that have no resource-level
// permissions, so a suppression of Resource::* hides nothing else.
func checkWildcards(t *testing.T, sy *synthesized) {
	allowed := map[string]bool{"xray:PutTraceSegments": true, "xray:PutTelemetryRecords": true}
	// The actions a step's row lists as having no resource-level permissions, each
	// for that step's role only (rekognition:DetectLabels for detect-labels).
	tableActions := map[string]string{}
	for _, st := range statemachine.Steps() {
		for _, a := range st.Actions {
			tableActions[a] = functionID(st.Function)
		}
	}
	if tableActions["rekognition:DetectLabels"] != "DetectLabels" {
		t.Errorf("the Steps table does not give rekognition:DetectLabels to detect-labels: %v", tableActions)
	}
	machine := func(id string) bool {
		return strings.HasPrefix(id, "PipelineRole") || strings.HasPrefix(id, "RemoveRole") || strings.HasPrefix(id, "RedriveRole")
	}
	for id := range sy.byType("AWS::IAM::Role") {
		for _, st := range sy.statements(id) {
			if !slices.Contains(st.resources, `"*"`) {
				continue
			}
			for _, a := range st.actions {
				ok := allowed[a] || tableActions[a] != "" && strings.HasPrefix(id, tableActions[a]+"Function") ||
					// Step Functions' log delivery (CloudWatch Logs vended logs) and
					// its X-Ray sampling
					machine(id) && (strings.HasPrefix(a, "logs:") || strings.HasPrefix(a, "xray:GetSampling")) ||
					// CDK's own deployment-time functions
					strings.HasPrefix(id, "BucketNotificationsHandler") || strings.HasPrefix(id, "CustomCDKBucketDeployment")
				if !ok {
					t.Errorf("%s: %s on \"*\"", id, a)
				}
			}
		}
	}
}

// checkSuppressions: every suppression on a function names the exact findings it
// covers (no regular expressions, no unconditional IAM5), and no function carries
// the suppression of a grant it does not have.
func checkSuppressions(t *testing.T, sy *synthesized) {
	for id, p := range sy.byType("AWS::IAM::Policy") {
		if !strings.Contains(id, "Function") || strings.HasPrefix(id, "BucketNotifications") || strings.HasPrefix(id, "CustomCDK") {
			continue
		}
		policy, _ := json.Marshal(props(p)["PolicyDocument"])
		meta, _ := p["Metadata"].(obj)["cdk_nag"].(obj)
		for _, r := range asSlice(meta["rules_to_suppress"]) {
			r := r.(obj)
			applies := asSlice(r["applies_to"])
			if len(applies) == 0 {
				t.Errorf("%s: %s suppressed for every finding", id, r["id"])
			}
			for _, a := range applies {
				s, ok := a.(string)
				if !ok {
					t.Errorf("%s: %s suppressed by pattern %v", id, r["id"], a)
					continue
				}
				// Resource::<Images2D38C313.Arn>/upload/* must be a resource of this
				// policy: its logical id and its literal tail are in it.
				if res, ok := strings.CutPrefix(s, "Resource::"); ok && res != "*" {
					tail := res[strings.LastIndex(res, ">")+1:]
					ref := res[strings.LastIndex(res, "<")+1 : strings.LastIndex(res, ".")]
					if !strings.Contains(string(policy), `"`+tail+`"`) || !strings.Contains(string(policy), `"`+ref+`"`) {
						t.Errorf("%s: suppression of %s, which its policy %s does not grant", id, s, policy)
					}
				}
			}
		}
	}
}

// checkOrigins: the dev origin is in the API's and the images bucket's CORS only
// when asked for.
func checkOrigins(t *testing.T, sy *synthesized, dev bool) {
	t.Helper()
	found := 0
	for id, m := range sy.byType("AWS::ApiGateway::Method") {
		p := props(m)
		if p["HttpMethod"] != "OPTIONS" {
			continue
		}
		found++
		b, _ := json.Marshal(p["Integration"])
		if has := strings.Contains(string(b), stack.DefaultDevOrigin); has != dev {
			t.Errorf("%s: preflight allows %s: %v, want %v", id, stack.DefaultDevOrigin, has, dev)
		}
	}
	if found == 0 {
		t.Errorf("no preflight methods")
	}
	b, _ := json.Marshal(sy.props(sy.logicalID("Images", "AWS::S3::Bucket"))["CorsConfiguration"])
	if has := strings.Contains(string(b), stack.DefaultDevOrigin); has != dev {
		t.Errorf("images bucket CORS allows %s: %v, want %v: %s", stack.DefaultDevOrigin, has, dev, b)
	}
	if !strings.Contains(string(b), "cloudfront") && !strings.Contains(string(b), "DomainName") {
		t.Errorf("images bucket CORS lacks the website's origin: %s", b)
	}
}

func checkExecutionData(t *testing.T, sy *synthesized, want bool) {
	t.Helper()
	for id, m := range sy.byType("AWS::StepFunctions::StateMachine") {
		lc := props(m)["LoggingConfiguration"].(obj)
		if lc["IncludeExecutionData"] != want || lc["Level"] != "ALL" {
			t.Errorf("%s: logging %v, want IncludeExecutionData %v", id, lc, want)
		}
	}
}

// functionID is a function's construct id without "Function": extract-metadata is
// ExtractMetadata.
func functionID(name string) string {
	var b strings.Builder
	for _, part := range strings.Split(name, "-") {
		if part != "" {
			b.WriteString(strings.ToUpper(part[:1]) + part[1:])
		}
	}
	return b.String()
}
