package cfn

import (
	"reflect"
	"strings"
	"testing"
)

func TestNames(t *testing.T) {
	long := strings.Repeat("VeryLong", 12) // 96 characters
	cases := []struct {
		name, typ, path   string
		props             map[string]any
		wantName, wantRef string
	}{
		{"bucket: lower-cased construct id", "AWS::S3::Bucket", "ImagePipe/AccessLogs/Resource", nil, "accesslogs", "accesslogs"},
		{"bucket: name in the template wins", "AWS::S3::Bucket", "ImagePipe/Images/Resource", map[string]any{"BucketName": "my-Photos"}, "my-Photos", "my-Photos"},
		{"bucket: no cdk path, logical id", "AWS::S3::Bucket", "", nil, "thing", "thing"},
		{"queue", "AWS::SQS::Queue", "ImagePipe/FailureQueue/Resource", nil, "ImagePipe-FailureQueue", "https://sqs.us-east-1.amazonaws.com/000000000000/ImagePipe-FailureQueue"},
		{"queue: QueueName wins", "AWS::SQS::Queue", "ImagePipe/Q/Resource", map[string]any{"QueueName": "jobs"}, "jobs", "https://sqs.us-east-1.amazonaws.com/000000000000/jobs"},
		{"queue: truncated to 80", "AWS::SQS::Queue", "ImagePipe/" + long + "/Resource", nil, ("ImagePipe-" + long)[:80], ""},
		{"fifo queue keeps .fifo", "AWS::SQS::Queue", "ImagePipe/" + long + "/Resource", map[string]any{"FifoQueue": true}, ("ImagePipe-" + long)[:75] + ".fifo", ""},
		{"function: nested construct uses the logical id", "AWS::Lambda::Function", "ImagePipe/Api/Default/images/GET/Resource", nil, "ImagePipe-Thing", "ImagePipe-Thing"},
		{"function: truncated to 64", "AWS::Lambda::Function", "ImagePipe/" + long + "/Resource", nil, ("ImagePipe-" + long)[:64], ""},
		{"function: FunctionName wins", "AWS::Lambda::Function", "ImagePipe/F/Resource", map[string]any{"FunctionName": "search"}, "search", "search"},
		{"state machine", "AWS::StepFunctions::StateMachine", "ImagePipe/Pipeline/Resource", nil, "ImagePipe-Pipeline", "arn:aws:states:us-east-1:000000000000:stateMachine:ImagePipe-Pipeline"},
		{"state machine: name wins", "AWS::StepFunctions::StateMachine", "ImagePipe/P/Resource", map[string]any{"StateMachineName": "pipeline"}, "pipeline", "arn:aws:states:us-east-1:000000000000:stateMachine:pipeline"},
		{"role", "AWS::IAM::Role", "ImagePipe/GuestRole/Resource", nil, "ImagePipe-GuestRole", "ImagePipe-GuestRole"},
		{"role: truncated to 64", "AWS::IAM::Role", "ImagePipe/" + long + "/Resource", nil, ("ImagePipe-" + long)[:64], ""},
		{"log group", "AWS::Logs::LogGroup", "ImagePipe/PipelineLogs/Resource", nil, "ImagePipe-PipelineLogs", "ImagePipe-PipelineLogs"},
		{"log group: name wins", "AWS::Logs::LogGroup", "ImagePipe/L/Resource", map[string]any{"LogGroupName": "/aws/lambda/x"}, "/aws/lambda/x", "/aws/lambda/x"},
		{"rule", "AWS::Events::Rule", "ImagePipe/ObjectCreated/Resource", nil, "ImagePipe-ObjectCreated", "ImagePipe-ObjectCreated"},
		{"rule on a custom bus", "AWS::Events::Rule", "ImagePipe/R/Resource", map[string]any{"Name": "r", "EventBusName": "arn:aws:events:us-east-1:000000000000:event-bus/mine"}, "r", "mine|r"},
		{"topic", "AWS::SNS::Topic", "ImagePipe/Alarms/Resource", nil, "ImagePipe-Alarms", "arn:aws:sns:us-east-1:000000000000:ImagePipe-Alarms"},
		{"rest api: Name wins, Ref is a generated id", "AWS::ApiGateway::RestApi", "ImagePipe/Api/Resource", map[string]any{"Name": "imagepipe"}, "imagepipe", genID(10, "Thing")},
		{"stage: Ref is the stage name", "AWS::ApiGateway::Stage", "ImagePipe/Api/DeploymentStage.prod/Resource", map[string]any{"StageName": "prod"}, "prod", "prod"},
		{"api resource", "AWS::ApiGateway::Resource", "ImagePipe/Api/Default/images/Resource", nil, "", genID(6, "Thing")},
		{"deployment", "AWS::ApiGateway::Deployment", "ImagePipe/Api/Deployment/Resource", nil, "", genID(6, "Thing")},
		{"user pool", "AWS::Cognito::UserPool", "ImagePipe/Users/Resource", nil, "ImagePipe-Users", "us-east-1_" + genID(9, "Thing")},
		{"user pool client", "AWS::Cognito::UserPoolClient", "ImagePipe/Users/Web/Resource", nil, "ImagePipe-Thing", genID(26, "Thing")},
		{"identity pool: word characters only", "AWS::Cognito::IdentityPool", "ImagePipe/Identities", nil, "ImagePipe_Identities", "us-east-1:" + uuidFrom("Thing")},
		{"opensearch: lower-cased, 28 characters", "AWS::OpenSearchService::Domain", "ImagePipe/SearchDomainForImages/Resource", nil, "imagepipe-searchdomainforima", "imagepipe-searchdomainforima"},
		{"opensearch: DomainName wins", "AWS::OpenSearchService::Domain", "ImagePipe/Search/Resource", map[string]any{"DomainName": "imagepipe"}, "imagepipe", "imagepipe"},
		{"distribution", "AWS::CloudFront::Distribution", "ImagePipe/Cdn/Resource", nil, "", "E" + strings.ToUpper(genID(13, "Thing"))},
		{"origin access control: nested name", "AWS::CloudFront::OriginAccessControl", "ImagePipe/Cdn/Origin1/S3OriginAccessControl/Resource", map[string]any{"OriginAccessControlConfig": map[string]any{"Name": "oac"}}, "oac", "E" + strings.ToUpper(genID(13, "Thing"))},
		{"layer", "AWS::Lambda::LayerVersion", "ImagePipe/Layer/Resource", nil, "ImagePipe-Layer", "arn:aws:lambda:us-east-1:000000000000:layer:ImagePipe-Layer:1"},
		{"unmodelled type: placeholder", "AWS::Lambda::Permission", "ImagePipe/Api/Default/images/GET/ApiPermission.X", nil, "", "ImagePipe-Thing"},
		{"custom resource: placeholder", "Custom::S3BucketNotifications", "ImagePipe/Images/Notifications/Resource", nil, "", "ImagePipe-Thing"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			doc := map[string]any{"Resources": map[string]any{"Thing": resource(c.typ, c.path, c.props)}}
			if c.path == "" {
				delete(doc["Resources"].(map[string]any)["Thing"].(map[string]any), "Metadata")
			}
			r := mustResolve(t, doc, Options{}).Resources["Thing"]
			if r.Name != c.wantName {
				t.Errorf("Name = %q, want %q", r.Name, c.wantName)
			}
			if c.wantRef != "" && r.PhysicalID != c.wantRef {
				t.Errorf("PhysicalID = %q, want %q", r.PhysicalID, c.wantRef)
			}
		})
	}
}

// TestGetAttValues checks each type's attributes against the shapes in the
// CloudFormation User Guide's "Return values" sections.
func TestGetAttValues(t *testing.T) {
	doc := map[string]any{"Resources": map[string]any{
		"Bucket":   resource("AWS::S3::Bucket", "ImagePipe/Images/Resource", nil),
		"Queue":    resource("AWS::SQS::Queue", "ImagePipe/Failures/Resource", nil),
		"Role":     resource("AWS::IAM::Role", "ImagePipe/Role/Resource", map[string]any{"Path": "/service-role/"}),
		"Logs":     resource("AWS::Logs::LogGroup", "ImagePipe/Logs/Resource", nil),
		"Rule":     resource("AWS::Events::Rule", "ImagePipe/Rule/Resource", nil),
		"Api":      resource("AWS::ApiGateway::RestApi", "ImagePipe/Api/Resource", map[string]any{"Name": "imagepipe"}),
		"Pool":     resource("AWS::Cognito::UserPool", "ImagePipe/Users/Resource", nil),
		"Client":   resource("AWS::Cognito::UserPoolClient", "ImagePipe/Users/Web/Resource", map[string]any{"ClientName": "web"}),
		"Ids":      resource("AWS::Cognito::IdentityPool", "ImagePipe/Ids", nil),
		"Search":   resource("AWS::OpenSearchService::Domain", "ImagePipe/Search/Resource", map[string]any{"DomainName": "imagepipe"}),
		"Cdn":      resource("AWS::CloudFront::Distribution", "ImagePipe/Cdn/Resource", nil),
		"Topic":    resource("AWS::SNS::Topic", "ImagePipe/Alarms/Resource", map[string]any{"TopicName": "alarms"}),
		"Alarm":    resource("AWS::CloudWatch::Alarm", "ImagePipe/Alarm/Resource", map[string]any{"AlarmName": "a"}),
		"Machine":  resource("AWS::StepFunctions::StateMachine", "ImagePipe/Pipeline/Resource", nil),
		"Managed":  resource("AWS::IAM::ManagedPolicy", "ImagePipe/Managed/Resource", nil),
		"Table":    resource("AWS::DynamoDB::Table", "ImagePipe/Table/Resource", nil),
		"Bus":      resource("AWS::Events::EventBus", "ImagePipe/Bus/Resource", map[string]any{"Name": "bus"}),
		"Validate": resource("AWS::ApiGateway::RequestValidator", "ImagePipe/Api/Validator/Resource", nil),
	}}
	tp := mustResolve(t, doc, Options{})
	cases := []struct{ id, attr, want string }{
		{"Bucket", "Arn", "arn:aws:s3:::images"},
		{"Bucket", "DomainName", "images.s3.amazonaws.com"},
		{"Bucket", "RegionalDomainName", "images.s3.us-east-1.amazonaws.com"},
		{"Bucket", "DualStackDomainName", "images.s3.dualstack.us-east-1.amazonaws.com"},
		{"Bucket", "WebsiteURL", "http://images.s3-website-us-east-1.amazonaws.com"},
		{"Queue", "Arn", "arn:aws:sqs:us-east-1:000000000000:ImagePipe-Failures"},
		{"Queue", "QueueName", "ImagePipe-Failures"},
		{"Queue", "QueueUrl", "https://sqs.us-east-1.amazonaws.com/000000000000/ImagePipe-Failures"},
		{"Role", "Arn", "arn:aws:iam::000000000000:role/service-role/ImagePipe-Role"},
		{"Role", "RoleId", "AROA" + strings.ToUpper(genID(17, "Role"))},
		{"Logs", "Arn", "arn:aws:logs:us-east-1:000000000000:log-group:ImagePipe-Logs:*"},
		{"Rule", "Arn", "arn:aws:events:us-east-1:000000000000:rule/ImagePipe-Rule"},
		{"Api", "RestApiId", genID(10, "Api")},
		{"Api", "RootResourceId", genID(10, "Api", "RootResourceId")},
		{"Pool", "Arn", "arn:aws:cognito-idp:us-east-1:000000000000:userpool/us-east-1_" + genID(9, "Pool")},
		{"Pool", "ProviderName", "cognito-idp.us-east-1.amazonaws.com/us-east-1_" + genID(9, "Pool")},
		{"Pool", "ProviderURL", "https://cognito-idp.us-east-1.amazonaws.com/us-east-1_" + genID(9, "Pool")},
		{"Pool", "UserPoolId", "us-east-1_" + genID(9, "Pool")},
		{"Client", "ClientId", genID(26, "Client")},
		{"Client", "Name", "web"},
		{"Ids", "Id", "us-east-1:" + uuidFrom("Ids")},
		{"Ids", "Name", "ImagePipe_Ids"},
		{"Search", "Arn", "arn:aws:es:us-east-1:000000000000:domain/imagepipe"},
		{"Search", "DomainArn", "arn:aws:es:us-east-1:000000000000:domain/imagepipe"},
		{"Search", "DomainEndpoint", "search-imagepipe-" + genID(26, "Search", "DomainEndpoint") + ".us-east-1.es.amazonaws.com"},
		{"Search", "Id", "000000000000/imagepipe"},
		{"Cdn", "Id", "E" + strings.ToUpper(genID(13, "Cdn"))},
		{"Cdn", "DomainName", "d" + genID(13, "Cdn", "DomainName") + ".cloudfront.net"},
		{"Topic", "TopicArn", "arn:aws:sns:us-east-1:000000000000:alarms"},
		{"Topic", "TopicName", "alarms"},
		{"Alarm", "Arn", "arn:aws:cloudwatch:us-east-1:000000000000:alarm:a"},
		{"Machine", "Arn", "arn:aws:states:us-east-1:000000000000:stateMachine:ImagePipe-Pipeline"},
		{"Machine", "Name", "ImagePipe-Pipeline"},
		{"Managed", "PolicyArn", "arn:aws:iam::000000000000:policy/ImagePipe-Managed"},
		{"Table", "Arn", "arn:aws:dynamodb:us-east-1:000000000000:table/ImagePipe-Table"},
		{"Bus", "Arn", "arn:aws:events:us-east-1:000000000000:event-bus/bus"},
		{"Validate", "RequestValidatorId", genID(6, "Validate")},
	}
	for _, c := range cases {
		got, err := tp.GetAtt(c.id, c.attr)
		if err != nil || got != c.want {
			t.Errorf("GetAtt(%s, %s) = %v, %v; want %q", c.id, c.attr, got, err, c.want)
		}
	}
	if _, err := tp.GetAtt("Client", "ClientSecret"); err == nil {
		t.Error("ClientSecret: want an error (only the twin's Cognito knows it)")
	}
}

func TestOtherPartitionAndRegion(t *testing.T) {
	doc := map[string]any{"Resources": map[string]any{
		"Fn":     resource("AWS::Lambda::Function", "Other/Fn/Resource", nil),
		"Bucket": resource("AWS::S3::Bucket", "Other/Site/Resource", nil),
	}}
	tp := mustResolve(t, doc, Options{StackName: "Other", Region: "cn-north-1", Account: "123456789012", Partition: "aws-cn", URLSuffix: "amazonaws.com.cn"})
	if got, _ := tp.GetAtt("Fn", "Arn"); got != "arn:aws-cn:lambda:cn-north-1:123456789012:function:Other-Fn" {
		t.Errorf("Arn = %v", got)
	}
	if got, _ := tp.GetAtt("Bucket", "WebsiteURL"); got != "http://site.s3-website.cn-north-1.amazonaws.com.cn" {
		t.Errorf("WebsiteURL = %v", got)
	}
}

// TestAttr: the twin's values win; ok=false falls back; the callback sees the
// resolved resource; each attribute is asked once.
func TestAttr(t *testing.T) {
	doc := map[string]any{
		"Resources": map[string]any{
			"Search": resource("AWS::OpenSearchService::Domain", "ImagePipe/Search/Resource", map[string]any{"DomainName": "imagepipe"}),
			"Queue":  resource("AWS::SQS::Queue", "ImagePipe/FailureQueue/Resource", nil),
			"Fn": resource("AWS::Lambda::Function", "ImagePipe/Fn/Resource", map[string]any{
				"Environment": j(t, `{"Variables": {
					"OPENSEARCH_ENDPOINT": {"Fn::GetAtt": ["Search", "DomainEndpoint"]},
					"QUEUE": {"Ref": "Queue"},
					"QUEUE_URL": {"Fn::GetAtt": ["Queue", "QueueUrl"]},
					"QUEUE_ARN": {"Fn::GetAtt": ["Queue", "Arn"]},
					"NOTIFY": {"Fn::GetAtt": ["Hook", "Url"]},
					"HOOK": {"Ref": "Hook"}}}`),
			}),
			"Hook": resource("Custom::Hook", "ImagePipe/Hook/Resource", nil),
		},
	}
	asked := map[string]int{}
	attr := func(r *Resource, a string) (any, bool) {
		asked[r.LogicalID+"."+a]++
		if a == "Ref" && r.Type == "AWS::SQS::Queue" && r.PhysicalID != "https://sqs.us-east-1.amazonaws.com/000000000000/"+r.Name {
			t.Errorf("asked for Ref, PhysicalID = %q, want the package's URL", r.PhysicalID)
		}
		switch {
		case r.Type == "AWS::OpenSearchService::Domain" && a == "DomainEndpoint":
			return "http://127.0.0.1:4566/opensearch/us-east-1/" + r.Name, true
		case r.Type == "AWS::SQS::Queue" && a == "Ref":
			return "http://127.0.0.1:4566/000000000000/" + r.Name, true
		case r.Type == "Custom::Hook" && a == "Url":
			return "http://hook", true
		case r.Type == "Custom::Hook" && a == "Ref":
			return "hook-1", true
		}
		return nil, false
	}
	tp := mustResolve(t, doc, Options{Attr: attr})
	env, err := StrMap(tp.Resources["Fn"].Properties, "Environment", "Variables")
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]string{
		"OPENSEARCH_ENDPOINT": "http://127.0.0.1:4566/opensearch/us-east-1/imagepipe",
		"QUEUE":               "http://127.0.0.1:4566/000000000000/ImagePipe-FailureQueue",
		"QUEUE_URL":           "http://127.0.0.1:4566/000000000000/ImagePipe-FailureQueue", // follows the Ref the twin gave
		"QUEUE_ARN":           "arn:aws:sqs:us-east-1:000000000000:ImagePipe-FailureQueue",
		"NOTIFY":              "http://hook",
		"HOOK":                "hook-1", // a custom resource's Ref, given by the twin
	}
	if !reflect.DeepEqual(env, want) {
		t.Errorf("env = %v\nwant %v", env, want)
	}
	if id := tp.Resources["Hook"].PhysicalID; id != "hook-1" {
		t.Errorf("custom resource PhysicalID = %q, want the twin's", id)
	}
	if tp.Resources["Queue"].PhysicalID != want["QUEUE"] {
		t.Errorf("queue PhysicalID = %q", tp.Resources["Queue"].PhysicalID)
	}
	if _, err := tp.GetAtt("Search", "DomainEndpoint"); err != nil || asked["Search.DomainEndpoint"] != 1 {
		t.Errorf("DomainEndpoint asked %d times (err %v), want once", asked["Search.DomainEndpoint"], err)
	}

	bad := func(r *Resource, a string) (any, bool) { return 42.0, a == "Ref" && r.LogicalID == "Queue" }
	if _, err := resolveDoc(t, doc, Options{Attr: bad}); err == nil || !strings.Contains(err.Error(), "resource Queue: Options.Attr gave Ref 42, not a string") {
		t.Errorf("non-string Ref: %v", err)
	}
}

// TestDeterministic: the same template gives the same names and ids every time.
func TestDeterministic(t *testing.T) {
	a := mustResolve(t, fixture(), Options{})
	b := mustResolve(t, fixture(), Options{})
	for id, r := range a.Resources {
		if r.PhysicalID != b.Resources[id].PhysicalID || r.Name != b.Resources[id].Name {
			t.Errorf("%s: %q/%q then %q/%q", id, r.Name, r.PhysicalID, b.Resources[id].Name, b.Resources[id].PhysicalID)
		}
	}
	if !reflect.DeepEqual(a.Order, b.Order) {
		t.Errorf("Order differs: %v / %v", a.Order, b.Order)
	}
}

func TestConstructID(t *testing.T) {
	cases := map[string]string{
		"ImagePipe/Images/Resource":                 "Images",
		"ImagePipe/Identities":                      "Identities",
		"ImagePipe/Api/Default/images/GET/Resource": "Logical",
		"ImagePipe/Fn/ServiceRole/Resource":         "Logical",
		"ImagePipe/CDKMetadata/Default":             "Logical",
		"":                                          "Logical",
		"ImagePipe/":                                "Logical",
	}
	for p, want := range cases {
		if got := constructID(&Resource{LogicalID: "Logical", Path: p}); got != want {
			t.Errorf("constructID(%q) = %q, want %q", p, got, want)
		}
	}
}
