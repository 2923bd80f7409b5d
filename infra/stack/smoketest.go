package stack

import (
	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsiam"
	"github.com/aws/jsii-runtime-go"
)

// SmokeTestPrefix is where `imagepipe smoke` uploads (upload/smoke/<run id>/…); its
// thumbnails and previews land under thumbnail/smoke/ and preview/smoke/.
const SmokeTestPrefix = "smoke/"

// SmokeTestRoleName is the name of the smoke-test role of stack stackName: fixed, so
// that the roles allowed to assume it can name it before it exists.
func SmokeTestRoleName(stackName string) string { return stackName + "-SmokeTest" }

// OutputSmokeTestRoleArn is the output that names the smoke-test role.
const OutputSmokeTestRoleArn = "SmokeTestRoleArn"

// newSmokeTestRole: what `imagepipe smoke` does against this stack and nothing more,
// for CI to assume (`--role-arn`) instead of running the test with its deploy rights.
// The roles named in principals (of this account) may assume it; they need not exist
// yet, since the trust names them in a condition, not as principals.
func (s *ImagePipe) newSmokeTestRole(principals []string) {
	var arns []string
	for _, name := range principals {
		arns = append(arns, *awscdk.Fn_Join(jsii.String(""), &[]*string{
			jsii.String("arn:"), awscdk.Aws_PARTITION(), jsii.String(":iam::"), awscdk.Aws_ACCOUNT_ID(), jsii.String(":role/" + name),
		}))
	}
	r := awsiam.NewRole(s.Stack, jsii.String("SmokeTestRole"), &awsiam.RoleProps{
		RoleName:    jsii.String(SmokeTestRoleName(*s.Stack.StackName())),
		Description: jsii.String("imagepipe smoke: upload under upload/smoke/, follow the run, clean up (assumed by CI after a deploy)"),
		AssumedBy: awsiam.NewAccountPrincipal(awscdk.Aws_ACCOUNT_ID()).WithConditions(&map[string]any{
			"ArnEquals": map[string]any{"aws:PrincipalArn": arns},
		}),
		MaxSessionDuration: awscdk.Duration_Hours(jsii.Number(1)),
	})
	add := func(actions []string, resources []string, cond map[string]any) {
		p := &awsiam.PolicyStatementProps{Actions: jsii.Strings(actions...), Resources: jsii.Strings(resources...)}
		if cond != nil {
			p.Conditions = &cond
		}
		r.AddToPolicy(awsiam.NewPolicyStatement(p))
	}
	objects := func(prefix string) string {
		return *s.Bucket.ArnForObjects(jsii.String(prefix + SmokeTestPrefix + "*"))
	}
	add([]string{"cloudformation:DescribeStacks"}, []string{*awscdk.Aws_STACK_ID()}, nil)
	add([]string{"s3:PutObject", "s3:DeleteObject"}, []string{objects("upload/")}, nil)
	add([]string{"s3:GetObject"}, []string{objects("thumbnail/")}, nil)
	add([]string{"s3:ListBucket"}, []string{*s.Bucket.BucketArn()}, map[string]any{
		"StringLike": map[string]any{"s3:prefix": []string{"thumbnail/" + SmokeTestPrefix + "*", "preview/" + SmokeTestPrefix + "*"}},
	})
	add([]string{"execute-api:Invoke"}, []string{*s.API.ArnForExecuteApi(jsii.String("GET"), jsii.String("/images"), jsii.String(StageName))}, nil)
	add([]string{"states:ListExecutions"}, []string{*s.Pipeline.StateMachineArn()}, nil)
	add([]string{"states:DescribeExecution"}, []string{*(*executionArns(s.Pipeline))[0]}, nil)
	add([]string{"sqs:ReceiveMessage", "sqs:DeleteMessage", "sqs:ChangeMessageVisibility"}, []string{*s.FailureQueue.QueueArn()}, nil)
	s.SmokeTestRole = r
	s.SmokeTestRoleOutput = awscdk.NewCfnOutput(s.Stack, jsii.String(OutputSmokeTestRoleArn), &awscdk.CfnOutputProps{
		Value:       r.RoleArn(),
		Description: jsii.String("Role `imagepipe smoke --role-arn` assumes after a deploy"),
	})
}
