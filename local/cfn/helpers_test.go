package cfn

import (
	"encoding/json"
	"maps"
	"testing"
)

// fixture is a small template in the shape CDK writes: parameters, mappings,
// conditions, and a few resources under ImagePipe/<id>/Resource.
func fixture() map[string]any {
	return map[string]any{
		"Parameters": map[string]any{
			"Env":     map[string]any{"Type": "String", "Default": "dev", "AllowedValues": []any{"dev", "prod"}},
			"Subnets": map[string]any{"Type": "CommaDelimitedList", "Default": "a, b,c"},
			"Count":   map[string]any{"Type": "Number", "Default": 3.0},
			"Attr":    map[string]any{"Type": "String", "Default": "Arn"},
			"Boot":    map[string]any{"Type": "AWS::SSM::Parameter::Value<String>", "Default": "/cdk-bootstrap/hnb659fds/version"},
		},
		"Mappings": map[string]any{
			"Sizes": map[string]any{
				"dev":  map[string]any{"Memory": 128.0, "Name": "small"},
				"prod": map[string]any{"Memory": 1769.0, "Name": "large"},
			},
		},
		"Conditions": map[string]any{
			"IsProd":   map[string]any{"Fn::Equals": []any{map[string]any{"Ref": "Env"}, "prod"}},
			"IsDev":    map[string]any{"Fn::Not": []any{map[string]any{"Condition": "IsProd"}}},
			"ThreeOK":  map[string]any{"Fn::Equals": []any{map[string]any{"Ref": "Count"}, 3.0}},
			"Both":     map[string]any{"Fn::And": []any{map[string]any{"Condition": "IsDev"}, map[string]any{"Condition": "ThreeOK"}}},
			"Either":   map[string]any{"Fn::Or": []any{map[string]any{"Condition": "IsProd"}, map[string]any{"Fn::Equals": []any{"x", "y"}}}},
			"InRegion": map[string]any{"Fn::Equals": []any{map[string]any{"Ref": "AWS::Region"}, "us-east-1"}},
		},
		"Resources": map[string]any{
			"Images2D38C313": resource("AWS::S3::Bucket", "ImagePipe/Images/Resource", nil),
			"QueueABC":       resource("AWS::SQS::Queue", "ImagePipe/Queue/Resource", nil),
			"FnRoleDEF":      resource("AWS::IAM::Role", "ImagePipe/Fn/ServiceRole/Resource", nil),
			"Fn123": resource("AWS::Lambda::Function", "ImagePipe/Fn/Resource", map[string]any{
				"Role": map[string]any{"Fn::GetAtt": []any{"FnRoleDEF", "Arn"}},
			}),
			"PolicyXYZ": resource("AWS::S3::BucketPolicy", "ImagePipe/Images/Policy/Resource", map[string]any{
				"Bucket": map[string]any{"Ref": "Images2D38C313"},
			}),
			"ProdOnly": withCondition(resource("AWS::SQS::Queue", "ImagePipe/ProdOnly/Resource", nil), "IsProd"),
			"Handler":  resource("Custom::Thing", "ImagePipe/Handler/Resource", nil),
			"Odd":      resource("AWS::Foo::Bar", "ImagePipe/Odd/Resource", nil),
		},
	}
}

func resource(typ, cdkPath string, props map[string]any) map[string]any {
	r := map[string]any{"Type": typ, "Metadata": map[string]any{"aws:cdk:path": cdkPath}}
	if props != nil {
		r["Properties"] = props
	}
	return r
}

func withCondition(r map[string]any, cond string) map[string]any {
	r["Condition"] = cond
	return r
}

// withThing adds resource Thing (an SQS queue) whose Properties are props.
func withThing(tmpl map[string]any, props map[string]any) map[string]any {
	res := maps.Clone(tmpl["Resources"].(map[string]any))
	res["Thing"] = resource("AWS::SQS::Queue", "ImagePipe/Thing/Resource", props)
	tmpl["Resources"] = res
	return tmpl
}

func resolveDoc(t *testing.T, doc map[string]any, opts Options) (*Template, error) {
	t.Helper()
	raw, err := json.Marshal(doc)
	if err != nil {
		t.Fatal(err)
	}
	if opts.StackName == "" {
		opts.StackName = "ImagePipe"
	}
	return Resolve(raw, opts)
}

func mustResolve(t *testing.T, doc map[string]any, opts Options) *Template {
	t.Helper()
	tp, err := resolveDoc(t, doc, opts)
	if err != nil {
		t.Fatalf("Resolve: %v", err)
	}
	return tp
}

// j parses JSON, to write template fragments readably in tables.
func j(t *testing.T, s string) any {
	t.Helper()
	var v any
	if err := json.Unmarshal([]byte(s), &v); err != nil {
		t.Fatalf("bad test JSON %s: %v", s, err)
	}
	return v
}
