package cfn

import (
	"encoding/json"
	"errors"
	"reflect"
	"strings"
	"testing"
)

// TestIntrinsics resolves one property, Thing's Properties.Value, per case.
func TestIntrinsics(t *testing.T) {
	stackID := "arn:aws:cloudformation:us-east-1:000000000000:stack/ImagePipe/" + uuidFrom("stack/ImagePipe")
	cases := []struct {
		name, expr, want string
		params           map[string]string
	}{
		{"Ref string parameter", `{"Ref": "Env"}`, `"dev"`, nil},
		{"Ref overridden parameter", `{"Ref": "Env"}`, `"prod"`, map[string]string{"Env": "prod"}},
		{"Ref list parameter", `{"Ref": "Subnets"}`, `["a", "b", "c"]`, nil},
		{"Ref Number parameter is a string", `{"Ref": "Count"}`, `"3"`, nil},
		{"Ref SSM parameter given a value", `{"Ref": "Boot"}`, `"21"`, map[string]string{"Boot": "21"}},
		{"Ref AWS::Region", `{"Ref": "AWS::Region"}`, `"us-east-1"`, nil},
		{"Ref AWS::AccountId", `{"Ref": "AWS::AccountId"}`, `"000000000000"`, nil},
		{"Ref AWS::Partition", `{"Ref": "AWS::Partition"}`, `"aws"`, nil},
		{"Ref AWS::StackName", `{"Ref": "AWS::StackName"}`, `"ImagePipe"`, nil},
		{"Ref AWS::StackId", `{"Ref": "AWS::StackId"}`, `"` + stackID + `"`, nil},
		{"Ref AWS::URLSuffix", `{"Ref": "AWS::URLSuffix"}`, `"amazonaws.com"`, nil},
		{"Ref AWS::NotificationARNs", `{"Ref": "AWS::NotificationARNs"}`, `[]`, nil},
		{"Ref AWS::NoValue in a list", `["a", {"Ref": "AWS::NoValue"}, "b"]`, `["a", "b"]`, nil},
		{"Ref AWS::NoValue in an object", `{"Keep": 1, "Drop": {"Ref": "AWS::NoValue"}}`, `{"Keep": 1}`, nil},
		{"Ref bucket is its name", `{"Ref": "Images2D38C313"}`, `"images"`, nil},
		{"Ref queue is its URL", `{"Ref": "QueueABC"}`, `"https://sqs.us-east-1.amazonaws.com/000000000000/ImagePipe-Queue"`, nil},
		{"Ref function is its name", `{"Ref": "Fn123"}`, `"ImagePipe-Fn"`, nil},
		{"GetAtt list form", `{"Fn::GetAtt": ["Images2D38C313", "Arn"]}`, `"arn:aws:s3:::images"`, nil},
		{"GetAtt string form", `{"Fn::GetAtt": "Fn123.Arn"}`, `"arn:aws:lambda:us-east-1:000000000000:function:ImagePipe-Fn"`, nil},
		{"GetAtt attribute from a Ref", `{"Fn::GetAtt": ["QueueABC", {"Ref": "Attr"}]}`, `"arn:aws:sqs:us-east-1:000000000000:ImagePipe-Queue"`, nil},
		{"GetAtt role of nested construct", `{"Fn::GetAtt": ["FnRoleDEF", "Arn"]}`, `"arn:aws:iam::000000000000:role/ImagePipe-FnRoleDEF"`, nil},
		{"Join", `{"Fn::Join": ["", ["arn:", {"Ref": "AWS::Partition"}, ":s3:::", {"Ref": "Images2D38C313"}, "/*"]]}`, `"arn:aws:s3:::images/*"`, nil},
		{"Join an intrinsic list", `{"Fn::Join": ["+", {"Ref": "Subnets"}]}`, `"a+b+c"`, nil},
		{"Join empty list", `{"Fn::Join": [",", []]}`, `""`, nil},
		{"Sub pseudo, resource, attribute", `{"Fn::Sub": "${AWS::Region}/${Images2D38C313}/${QueueABC.QueueName}"}`, `"us-east-1/images/ImagePipe-Queue"`, nil},
		{"Sub parameter", `{"Fn::Sub": "env-${Env}"}`, `"env-dev"`, nil},
		{"Sub literal ${!}", `{"Fn::Sub": "${!Literal} and ${!AWS::Region}"}`, `"${Literal} and ${AWS::Region}"`, nil},
		{"Sub unclosed is literal", `{"Fn::Sub": "a ${b"}`, `"a ${b"`, nil},
		{"Sub map form", `{"Fn::Sub": ["${Greeting}, ${Who} in ${AWS::Region}", {"Greeting": "hello", "Who": {"Ref": "Env"}}]}`, `"hello, dev in us-east-1"`, nil},
		{"Sub map shadows a resource", `{"Fn::Sub": ["${QueueABC}", {"QueueABC": "mine"}]}`, `"mine"`, nil},
		{"Select number index", `{"Fn::Select": [1, ["x", "y", "z"]]}`, `"y"`, nil},
		{"Select string index", `{"Fn::Select": ["2", {"Ref": "Subnets"}]}`, `"c"`, nil},
		{"Select from Split (CDK's name from an ARN)", `{"Fn::Select": [6, {"Fn::Split": [":", {"Fn::GetAtt": ["Fn123", "Arn"]}]}]}`, `"ImagePipe-Fn"`, nil},
		{"Split", `{"Fn::Split": ["|", "a|b||c"]}`, `["a", "b", "", "c"]`, nil},
		{"If true", `{"Fn::If": ["IsDev", "yes", "no"]}`, `"yes"`, nil},
		{"If false", `{"Fn::If": ["IsProd", "yes", "no"]}`, `"no"`, nil},
		{"If does not evaluate the other branch", `{"Fn::If": ["IsProd", {"Ref": "ProdOnly"}, "none"]}`, `"none"`, nil},
		{"If chooses a resource that exists", `{"Fn::If": ["IsProd", {"Ref": "ProdOnly"}, "none"]}`, `"https://sqs.us-east-1.amazonaws.com/000000000000/ImagePipe-ProdOnly"`, map[string]string{"Env": "prod"}},
		{"If NoValue drops the key", `{"A": {"Fn::If": ["IsProd", 1, {"Ref": "AWS::NoValue"}]}}`, `{}`, nil},
		{"GetAZs empty", `{"Fn::GetAZs": ""}`, `["us-east-1a", "us-east-1b", "us-east-1c"]`, nil},
		{"GetAZs Ref region", `{"Fn::Select": [0, {"Fn::GetAZs": {"Ref": "AWS::Region"}}]}`, `"us-east-1a"`, nil},
		{"Base64", `{"Fn::Base64": {"Fn::Sub": "#!/bin/sh\necho ${Env}"}}`, `"IyEvYmluL3NoCmVjaG8gZGV2"`, nil},
		{"FindInMap", `{"Fn::FindInMap": ["Sizes", "prod", "Memory"]}`, `1769`, nil},
		{"FindInMap with Ref key", `{"Fn::FindInMap": ["Sizes", {"Ref": "Env"}, "Name"]}`, `"small"`, nil},
		{"FindInMap DefaultValue", `{"Fn::FindInMap": ["Sizes", "test", "Name", {"DefaultValue": "none"}]}`, `"none"`, nil},
		{"Condition is a plain key outside Conditions", `{"Condition": {"StringEquals": {"aws:SourceAccount": {"Ref": "AWS::AccountId"}}}}`, `{"Condition": {"StringEquals": {"aws:SourceAccount": "000000000000"}}}`, nil},
		{"literals pass through", `{"N": 1.5, "B": true, "Z": null, "S": "s"}`, `{"N": 1.5, "B": true, "Z": null, "S": "s"}`, nil},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			doc := withThing(fixture(), map[string]any{"Value": j(t, c.expr)})
			tp := mustResolve(t, doc, Options{Parameters: c.params})
			got := tp.Resources["Thing"].Properties["Value"]
			if want := j(t, c.want); !reflect.DeepEqual(got, want) {
				gb, _ := json.Marshal(got)
				t.Errorf("got %s, want %s", gb, c.want)
			}
		})
	}
}

func TestNoValueDropsTheProperty(t *testing.T) {
	tp := mustResolve(t, withThing(fixture(), map[string]any{"Value": j(t, `{"Ref": "AWS::NoValue"}`), "Other": "x"}), Options{})
	props := tp.Resources["Thing"].Properties
	if _, ok := props["Value"]; ok || props["Other"] != "x" {
		t.Errorf("Properties = %v, want only Other", props)
	}
}

func TestConditions(t *testing.T) {
	tp := mustResolve(t, fixture(), Options{})
	want := map[string]bool{"IsProd": false, "IsDev": true, "ThreeOK": true, "Both": true, "Either": false, "InRegion": true}
	if !reflect.DeepEqual(tp.Conditions, want) {
		t.Errorf("dev: %v, want %v", tp.Conditions, want)
	}
	tp = mustResolve(t, fixture(), Options{Parameters: map[string]string{"Env": "prod", "Count": "4"}, Region: "eu-west-1"})
	want = map[string]bool{"IsProd": true, "IsDev": false, "ThreeOK": false, "Both": false, "Either": true, "InRegion": false}
	if !reflect.DeepEqual(tp.Conditions, want) {
		t.Errorf("prod: %v, want %v", tp.Conditions, want)
	}
}

func TestConditionalResourceAndOutput(t *testing.T) {
	doc := fixture()
	doc["Outputs"] = map[string]any{
		"Prod":   map[string]any{"Condition": "IsProd", "Value": map[string]any{"Ref": "ProdOnly"}},
		"Bucket": map[string]any{"Value": map[string]any{"Fn::GetAtt": []any{"Images2D38C313", "RegionalDomainName"}}},
	}
	tp := mustResolve(t, doc, Options{})
	if r := tp.Resources["ProdOnly"]; r.Active || r.Properties != nil || r.PhysicalID != "" {
		t.Errorf("ProdOnly = active %v, props %v, id %q; want not created", r.Active, r.Properties, r.PhysicalID)
	}
	if len(tp.OfType("AWS::SQS::Queue")) != 1 {
		t.Errorf("OfType(queue) = %v, want only QueueABC", tp.OfType("AWS::SQS::Queue"))
	}
	want := map[string]any{"Bucket": "images.s3.us-east-1.amazonaws.com"}
	if !reflect.DeepEqual(tp.Outputs, want) {
		t.Errorf("Outputs = %v, want %v", tp.Outputs, want)
	}
	tp = mustResolve(t, doc, Options{Parameters: map[string]string{"Env": "prod"}})
	if !tp.Resources["ProdOnly"].Active || tp.Outputs["Prod"] != "https://sqs.us-east-1.amazonaws.com/000000000000/ImagePipe-ProdOnly" {
		t.Errorf("prod: ProdOnly active %v, Outputs %v", tp.Resources["ProdOnly"].Active, tp.Outputs)
	}
}

// TestErrors: every error names where it happened; unsupported things wrap ErrUnsupported.
func TestErrors(t *testing.T) {
	cases := []struct {
		name, expr, want string
		unsupported      bool
	}{
		{"Fn::Cidr", `{"Foo": ["a", "b", {"Fn::Cidr": ["10.0.0.0/16", 6, 5]}]}`, "resource Thing, Properties.Value.Foo[2]: Fn::Cidr is not supported by the twin", true},
		{"Fn::ImportValue", `{"Fn::ImportValue": "Shared-Vpc"}`, `resource Thing, Properties.Value: Fn::ImportValue is not supported by the twin: it deploys one stack, so no other stack exports "Shared-Vpc"`, true},
		{"Fn::Transform", `{"Fn::Transform": {"Name": "AWS::Include"}}`, "resource Thing, Properties.Value: Fn::Transform is not supported by the twin", true},
		{"Fn::ToJsonString", `{"Fn::ToJsonString": {}}`, "Fn::ToJsonString is not supported by the twin (AWS::LanguageExtensions)", true},
		{"unknown function", `{"Fn::Frobnicate": 1}`, "resource Thing, Properties.Value: Fn::Frobnicate is not supported by the twin (not a function CloudFormation documents)", true},
		{"nested path", `{"Fn::Join": ["", ["a", {"Fn::Cidr": []}]]}`, "resource Thing, Properties.Value.Fn::Join[1][1]: Fn::Cidr is not supported", true},
		{"key with dots", `{"method.request.querystring.search": {"Fn::Cidr": []}}`, `resource Thing, Properties.Value["method.request.querystring.search"]: Fn::Cidr`, true},
		{"Ref to nothing", `{"Ref": "Nope"}`, "resource Thing, Properties.Value: Ref Nope: no resource, parameter or pseudo parameter is named Nope", false},
		{"Sub to nothing", `{"Fn::Sub": "x-${Nope}"}`, "resource Thing, Properties.Value: Fn::Sub Nope: no resource", false},
		{"Sub attribute to nothing", `{"Fn::Sub": "x-${Nope.Arn}"}`, "Fn::Sub Nope: no resource", false},
		{"GetAtt to nothing", `{"Fn::GetAtt": ["Nope", "Arn"]}`, "resource Thing, Properties.Value: Fn::GetAtt Nope: no resource", false},
		{"GetAtt on a parameter", `{"Fn::GetAtt": ["Env", "Arn"]}`, "Fn::GetAtt Env: no resource", false},
		{"GetAtt unknown attribute", `{"Fn::GetAtt": ["Images2D38C313", "Nope"]}`, "resource Thing, Properties.Value: Fn::GetAtt Images2D38C313.Nope: attribute Nope of AWS::S3::Bucket is not supported by the twin", true},
		{"GetAtt unknown type", `{"Fn::GetAtt": "Odd.Arn"}`, "Fn::GetAtt Odd.Arn: resource type AWS::Foo::Bar is not supported by the twin", true},
		{"GetAtt custom resource", `{"Fn::GetAtt": "Handler.Url"}`, "Fn::GetAtt Handler.Url: attributes of Custom::Thing come from its handler", true},
		{"GetAtt string without dot", `{"Fn::GetAtt": "Handler"}`, `Fn::GetAtt "Handler" is not LogicalId.Attribute`, false},
		{"Ref unmodelled type", `{"Ref": "PolicyXYZ"}`, "resource Thing, Properties.Value: Ref PolicyXYZ: a Ref to AWS::S3::BucketPolicy is not supported by the twin", true},
		{"Ref custom resource", `{"Ref": "Handler"}`, "Ref Handler: a Ref to Custom::Thing is not supported by the twin", true},
		{"Ref not created", `{"Ref": "ProdOnly"}`, "Ref ProdOnly: resource ProdOnly is not created (its condition IsProd is false)", false},
		{"Sub attribute not created", `{"Fn::Sub": "${ProdOnly.Arn}"}`, "Fn::Sub ${ProdOnly.Arn}: resource ProdOnly is not created", false},
		{"Ref SSM parameter", `{"Ref": "Boot"}`, "Ref Boot: parameter of type AWS::SSM::Parameter::Value<String> is read from SSM Parameter Store", false},
		{"Ref not a name", `{"Ref": ["a"]}`, "a Ref takes a name, not a list", false},
		{"Join non-string", `{"Fn::Join": ["", ["a", 1]]}`, "resource Thing, Properties.Value.Fn::Join[1][1]: Fn::Join joins strings, not 1", false},
		{"Join arity", `{"Fn::Join": [""]}`, "Fn::Join takes 2 arguments, not 1", false},
		{"Select out of range", `{"Fn::Select": [3, ["a", "b", "c"]]}`, "resource Thing, Properties.Value: Fn::Select index 3 is out of range for a list of 3", false},
		{"Select negative", `{"Fn::Select": ["-1", ["a"]]}`, "Fn::Select index \"-1\" is out of range", false},
		{"Select not a list", `{"Fn::Select": [0, "abc"]}`, "Fn::Select selects from a list", false},
		{"Split empty delimiter", `{"Fn::Split": ["", "abc"]}`, "Fn::Split takes [delimiter, string]", false},
		{"Sub list value", `{"Fn::Sub": "${Subnets}"}`, "Fn::Sub ${Subnets} is a list, not a string", false},
		{"Sub bad form", `{"Fn::Sub": ["a"]}`, "Fn::Sub takes a string or [string, {variables}], not a list of 1", false},
		{"If unknown condition", `{"Fn::If": ["Nope", 1, 2]}`, "resource Thing, Properties.Value: Fn::If: no condition named Nope", false},
		{"If arity", `{"Fn::If": ["IsProd", 1]}`, "Fn::If takes [condition, value if true, value if false]", false},
		{"Equals outside Conditions", `{"Fn::Equals": ["a", "a"]}`, "Fn::Equals is only valid in the Conditions section", false},
		{"Condition function outside Conditions", `{"Fn::Not": [true]}`, "Fn::Not is only valid in the Conditions section", false},
		{"FindInMap missing", `{"Fn::FindInMap": ["Sizes", "test", "Name"]}`, "Fn::FindInMap: mapping Sizes has no key test", false},
		{"FindInMap missing second key", `{"Fn::FindInMap": ["Sizes", "dev", "CPU"]}`, "Fn::FindInMap: mapping Sizes.dev has no key CPU", false},
		{"FindInMap no mapping", `{"Fn::FindInMap": ["Nope", "dev", "CPU"]}`, "Fn::FindInMap: no mapping Nope", false},
		{"Base64 of a list", `{"Fn::Base64": ["a"]}`, "Fn::Base64 encodes a string, not a list", false},
		{"GetAZs of a number", `{"Fn::GetAZs": 1}`, "Fn::GetAZs takes a region, not 1", false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := resolveDoc(t, withThing(fixture(), map[string]any{"Value": j(t, c.expr)}), Options{})
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("error = %v, want it to contain %q", err, c.want)
			}
			var e *Error
			if !errors.As(err, &e) {
				t.Errorf("error %T is not an *Error", err)
			}
			if got := errors.Is(err, ErrUnsupported); got != c.unsupported {
				t.Errorf("errors.Is(err, ErrUnsupported) = %v, want %v", got, c.unsupported)
			}
		})
	}
}

func TestTemplateErrors(t *testing.T) {
	cases := []struct {
		name  string
		edit  func(doc map[string]any)
		opts  Options
		want  string
		isErr error
	}{
		{"parameter without default", func(d map[string]any) {
			d["Parameters"].(map[string]any)["Need"] = map[string]any{"Type": "String"}
		}, Options{}, "parameter Need: has no Default and no value in Options.Parameters", nil},
		{"undeclared parameter given", nil, Options{Parameters: map[string]string{"Nope": "1"}}, "parameter Nope: a value is given in Options.Parameters but the template declares no such parameter", nil},
		{"value not allowed", nil, Options{Parameters: map[string]string{"Env": "qa"}}, `parameter Env: value "qa" is not one of AllowedValues`, nil},
		{"Number not a number", nil, Options{Parameters: map[string]string{"Count": "three"}}, `parameter Count: value "three" is not a Number`, nil},
		{"condition refers to a resource", func(d map[string]any) {
			d["Conditions"].(map[string]any)["Bad"] = j(t, `{"Fn::Equals": [{"Ref": "QueueABC"}, "x"]}`)
		}, Options{}, "condition Bad, Fn::Equals[0]: Ref QueueABC: conditions cannot refer to resources", nil},
		{"condition cycle", func(d map[string]any) {
			d["Conditions"].(map[string]any)["A"] = j(t, `{"Fn::Not": [{"Condition": "B"}]}`)
			d["Conditions"].(map[string]any)["B"] = j(t, `{"Fn::Not": [{"Condition": "A"}]}`)
		}, Options{}, "condition A: refers to itself through other conditions", nil},
		{"condition not boolean", func(d map[string]any) {
			d["Conditions"].(map[string]any)["Str"] = "yes"
		}, Options{}, "condition Str: evaluates to yes, not true or false", nil},
		{"resource condition unknown", func(d map[string]any) {
			d["Resources"].(map[string]any)["QueueABC"].(map[string]any)["Condition"] = "Nope"
		}, Options{}, "resource QueueABC, Condition: no condition named Nope", nil},
		{"DependsOn unknown", func(d map[string]any) {
			d["Resources"].(map[string]any)["QueueABC"].(map[string]any)["DependsOn"] = []any{"Nope"}
		}, Options{}, "resource QueueABC, DependsOn: no resource is named Nope", nil},
		{"dependency cycle", func(d map[string]any) {
			res := d["Resources"].(map[string]any)
			res["A"] = resource("AWS::SQS::Queue", "ImagePipe/A/Resource", map[string]any{"RedrivePolicy": j(t, `{"deadLetterTargetArn": {"Fn::GetAtt": ["B", "Arn"]}}`)})
			res["B"] = resource("AWS::SQS::Queue", "ImagePipe/B/Resource", map[string]any{"Tags": j(t, `[{"Key": "k", "Value": {"Fn::Sub": "${C}"}}]`)})
			res["C"] = resource("AWS::SQS::Queue", "ImagePipe/C/Resource", nil)
			res["C"].(map[string]any)["DependsOn"] = "A"
		}, Options{}, "template: dependency cycle: A -> B -> C -> A", nil},
		{"self reference", func(d map[string]any) {
			d["Resources"].(map[string]any)["QueueABC"].(map[string]any)["Properties"] = j(t, `{"QueueName": {"Fn::GetAtt": "QueueABC.QueueName"}}`)
		}, Options{}, "dependency cycle: QueueABC -> QueueABC", nil},
		{"same name twice", func(d map[string]any) {
			d["Resources"].(map[string]any)["Again"] = resource("AWS::S3::Bucket", "ImagePipe/Again/Resource", map[string]any{"BucketName": "images"})
		}, Options{}, `resource Images2D38C313: AWS::S3::Bucket "images" is also the name of Again`, nil},
		{"name not a string", func(d map[string]any) {
			d["Resources"].(map[string]any)["QueueABC"].(map[string]any)["Properties"] = j(t, `{"QueueName": ["a"]}`)
		}, Options{}, "resource QueueABC: name property Properties.QueueName is a list, not a name", nil},
		{"transform", func(d map[string]any) { d["Transform"] = "AWS::Serverless-2016-10-31" }, Options{}, "template, Transform: AWS::Serverless-2016-10-31 is not supported by the twin", ErrUnsupported},
		{"no resources", func(d map[string]any) { delete(d, "Resources") }, Options{}, "template: no Resources", nil},
		{"resource without type", func(d map[string]any) {
			d["Resources"].(map[string]any)["X"] = map[string]any{}
		}, Options{}, "resource X, Type: missing", nil},
		{"output error", func(d map[string]any) {
			d["Outputs"] = j(t, `{"Url": {"Value": {"Fn::GetAtt": ["QueueABC", "Nope"]}}}`)
		}, Options{}, "output Url, Value: Fn::GetAtt QueueABC.Nope: attribute Nope of AWS::SQS::Queue is not supported", ErrUnsupported},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			doc := fixture()
			if c.edit != nil {
				c.edit(doc)
			}
			_, err := resolveDoc(t, doc, c.opts)
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("error = %v, want it to contain %q", err, c.want)
			}
			if c.isErr != nil && !errors.Is(err, c.isErr) {
				t.Errorf("errors.Is(%v) = false", c.isErr)
			}
		})
	}
}

func TestResolveNeedsAStackNameAndJSON(t *testing.T) {
	if _, err := Resolve([]byte(`{"Resources": {}}`), Options{}); err == nil || !strings.Contains(err.Error(), "StackName") {
		t.Errorf("no StackName: %v", err)
	}
	if _, err := Resolve([]byte(`Resources:`), Options{StackName: "S"}); err == nil || !strings.Contains(err.Error(), "template: not a JSON template") {
		t.Errorf("YAML: %v", err)
	}
}

func TestParseSub(t *testing.T) {
	cases := map[string][]subPart{
		"":                   nil,
		"plain":              {{text: "plain"}},
		"${A}":               {{text: "A", isVar: true}},
		"a${B.C}d":           {{text: "a"}, {text: "B.C", isVar: true}, {text: "d"}},
		"${!A}${B}":          {{text: "${A}"}, {text: "B", isVar: true}},
		"x${!A}y":            {{text: "x${A}y"}},
		"${A}${AWS::Region}": {{text: "A", isVar: true}, {text: "AWS::Region", isVar: true}},
		"${open":             {{text: "${open"}},
	}
	for in, want := range cases {
		if got := parseSub(in); !reflect.DeepEqual(got, want) {
			t.Errorf("parseSub(%q) = %+v, want %+v", in, got, want)
		}
	}
}
