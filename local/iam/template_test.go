package iam

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/imagepipe/imagepipe/local/cfn"
)

// resolveResources resolves a template with the given resources in code.
func resolveResources(t *testing.T, resources map[string]any) (*cfn.Template, error) {
	t.Helper()
	raw, err := json.Marshal(map[string]any{"Resources": resources})
	if err != nil {
		t.Fatal(err)
	}
	tmpl, err := cfn.Resolve(raw, cfn.Options{StackName: "S", Account: "111122223333"})
	if err != nil {
		t.Fatal(err)
	}
	return tmpl, nil
}

func doc(stmts ...string) map[string]any {
	var v map[string]any
	if err := json.Unmarshal([]byte(`{"Version":"2012-10-17","Statement":[`+strings.Join(stmts, ",")+`]}`), &v); err != nil {
		panic(err)
	}
	return v
}

func TestFromTemplateAttachments(t *testing.T) {
	lambdaTrust := doc(`{"Effect":"Allow","Principal":{"Service":"lambda.amazonaws.com"},"Action":"sts:AssumeRole"}`)
	tmpl, _ := resolveResources(t, map[string]any{
		"Managed": map[string]any{"Type": "AWS::IAM::ManagedPolicy", "Properties": map[string]any{
			"PolicyDocument": doc(`{"Effect":"Allow","Action":"sqs:SendMessage","Resource":"*"}`)}},
		"Shared": map[string]any{"Type": "AWS::IAM::ManagedPolicy", "Properties": map[string]any{
			"Roles":          []any{map[string]any{"Ref": "Worker"}},
			"PolicyDocument": doc(`{"Effect":"Allow","Action":"sns:Publish","Resource":"*"}`)}},
		"Worker": map[string]any{"Type": "AWS::IAM::Role", "Properties": map[string]any{
			"Path": "/service/", "AssumeRolePolicyDocument": lambdaTrust,
			"Policies": []any{map[string]any{"PolicyName": "inline", "PolicyDocument": doc(`{"Effect":"Allow","Action":"s3:GetObject","Resource":"arn:aws:s3:::b/*"}`)}},
			"ManagedPolicyArns": []any{map[string]any{"Ref": "Managed"}, "arn:aws:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole",
				"arn:aws:iam::aws:policy/AmazonS3FullAccess"}}},
		"Fn": map[string]any{"Type": "AWS::Lambda::Function", "Properties": map[string]any{
			"Role": map[string]any{"Fn::GetAtt": []any{"Worker", "Arn"}}, "Runtime": "provided.al2023", "Handler": "x", "Code": map[string]any{"ZipFile": "x"}}},
		"Permission": map[string]any{"Type": "AWS::Lambda::Permission", "Properties": map[string]any{
			"Action": "lambda:InvokeFunction", "FunctionName": map[string]any{"Ref": "Fn"}, "Principal": "events.amazonaws.com",
			"SourceArn": "arn:aws:events:us-east-1:111122223333:rule/R", "SourceAccount": "111122223333"}},
		"ExternalBucketPolicy": map[string]any{"Type": "AWS::S3::BucketPolicy", "Properties": map[string]any{
			"Bucket":         "not-in-this-template",
			"PolicyDocument": doc(`{"Effect":"Deny","Principal":"*","Action":"s3:*","Resource":"arn:aws:s3:::not-in-this-template/*"}`)}},
	})
	p, err := FromTemplate(tmpl, testEnv)
	if err != nil {
		t.Fatal(err)
	}
	role := "arn:aws:iam::111122223333:role/service/S-Worker"
	session := "arn:aws:sts::111122223333:assumed-role/S-Worker/s"
	for _, c := range []struct{ action, resource, reason string }{
		{"s3:GetObject", "arn:aws:s3:::b/k", "role S-Worker inline policy inline"},
		{"sqs:SendMessage", "q", "managed policy Managed"},
		{"sns:Publish", "t", "managed policy Shared"},
		{"logs:PutLogEvents", "g", "AWS managed policy service-role/AWSLambdaBasicExecutionRole"},
	} {
		want(t, p.Authorize(session, c.action, c.resource, secure()), true, c.reason)
	}
	// An AWS managed policy the twin has no text for gives nothing, and says so.
	want(t, p.Authorize(session, "s3:PutObject", "arn:aws:s3:::b/k", secure()), false, "AmazonS3FullAccess")
	if w := strings.Join(p.Warnings(), "\n"); !strings.Contains(w, role+": managed policies the twin has no text for: arn:aws:iam::aws:policy/AmazonS3FullAccess") {
		t.Errorf("warnings %q", w)
	}
	want(t, p.CanAssume(role, "lambda.amazonaws.com", "sts:AssumeRole", nil), true, "trust policy")
	fn := "arn:aws:lambda:us-east-1:111122223333:function:S-Fn"
	rule := map[string][]string{"aws:SecureTransport": {"true"}, "aws:SourceArn": {"arn:aws:events:us-east-1:111122223333:rule/R"}, "aws:SourceAccount": {"111122223333"}}
	want(t, p.Authorize("events.amazonaws.com", "lambda:InvokeFunction", fn, rule), true, "Lambda permission of "+fn)
	// A permission without a Qualifier is on the unqualified ARN only, as Lambda's
	// AddPermission makes it.
	want(t, p.Authorize("events.amazonaws.com", "lambda:InvokeFunction", fn+":live", rule), false, "no statement")
	rule["aws:SourceArn"] = []string{"arn:aws:events:us-east-1:111122223333:rule/Other"}
	want(t, p.Authorize("events.amazonaws.com", "lambda:InvokeFunction", fn, rule), false, "no statement")
	want(t, p.Authorize(session, "s3:GetObject", "arn:aws:s3:::not-in-this-template/k", secure()), false, "bucket policy of not-in-this-template")
}

func TestFromTemplateRefusals(t *testing.T) {
	for name, resources := range map[string]map[string]any{
		"permissions boundary": {"R": map[string]any{"Type": "AWS::IAM::Role", "Properties": map[string]any{
			"AssumeRolePolicyDocument": doc(`{"Effect":"Allow","Principal":{"Service":"lambda.amazonaws.com"},"Action":"sts:AssumeRole"}`),
			"PermissionsBoundary":      "arn:aws:iam::aws:policy/PowerUserAccess"}}},
		"policy on a user": {"P": map[string]any{"Type": "AWS::IAM::Policy", "Properties": map[string]any{
			"PolicyName": "p", "Users": []any{"u"}, "PolicyDocument": doc(`{"Effect":"Allow","Action":"*","Resource":"*"}`)}}},
		"statement without Action": {"P": map[string]any{"Type": "AWS::IAM::Policy", "Properties": map[string]any{
			"PolicyName": "p", "Roles": []any{"r"}, "PolicyDocument": doc(`{"Effect":"Allow","Resource":"*"}`)}}},
		"bad effect": {"P": map[string]any{"Type": "AWS::IAM::Policy", "Properties": map[string]any{
			"PolicyName": "p", "Roles": []any{"r"}, "PolicyDocument": doc(`{"Effect":"Maybe","Action":"*","Resource":"*"}`)}}},
	} {
		tmpl, _ := resolveResources(t, resources)
		if _, err := FromTemplate(tmpl, testEnv); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
}
