package stack

import (
	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/constructs-go/constructs/v10"
	"github.com/aws/jsii-runtime-go"
	"github.com/cdklabs/cdk-nag-go/cdknag/v2"
)

// ApplyNag runs the cdk-nag AwsSolutions pack over scope on every synth: an
// unsuppressed finding is an error annotation, which fails `cdk synth`.
func ApplyNag(scope constructs.IConstruct) {
	awscdk.Aspects_Of(scope).Add(cdknag.NewAwsSolutionsChecks(&cdknag.NagPackProps{Verbose: jsii.Bool(true)}), nil)
}

func rule(id, reason string, appliesTo ...string) *cdknag.NagPackSuppression {
	s := &cdknag.NagPackSuppression{Id: jsii.String(id), Reason: jsii.String(reason)}
	if len(appliesTo) > 0 {
		var a []any
		for _, r := range appliesTo {
			a = append(a, &cdknag.RegexAppliesTo{Regex: jsii.String(r)})
		}
		s.AppliesTo = &a
	}
	return s
}

func suppress(c constructs.IConstruct, rules ...*cdknag.NagPackSuppression) {
	cdknag.NagSuppressions_AddResourceSuppressions(c, &rules, jsii.Bool(true))
}

const basicExecution = "AWSLambdaBasicExecutionRole only allows creating log streams and putting events in the function's own log groups; it is the AWS-maintained minimum for a Lambda."

// suppressFindings records, next to the resource, why each remaining AwsSolutions
// finding is acceptable. Wildcards are only suppressed where they name one prefix of
// one bucket, one index of one domain, or an action without resource-level permissions.
func suppressFindings(s *ImagePipe) {
	for _, fn := range s.Functions {
		suppress(fn,
			rule("AwsSolutions-IAM4", basicExecution, `/^Policy::arn:<AWS::Partition>:iam::aws:policy\/service-role\/AWSLambdaBasicExecutionRole$/`),
			rule("AwsSolutions-IAM5", "Grant* scopes S3 access to one key prefix (upload/, thumbnail/ or preview/) of the images bucket; the action wildcards (s3:GetObject*, s3:List*, s3:DeleteObject*...) are CDK's read/put/delete groups on that prefix only.",
				`/^Action::s3:[A-Za-z]+\*$/`, `/^Resource::<Images[A-Za-z0-9]+\.Arn>\/(upload|upload\/load|thumbnail|preview)\/\*$/`),
			rule("AwsSolutions-IAM5", "OpenSearch access is limited to the documents of the one index (images/*) of the one domain.",
				`/^Resource::<Search[A-Za-z0-9]+\.Arn>\/images\/\*$/`),
			rule("AwsSolutions-IAM5", "rekognition:DetectLabels and X-Ray's PutTraceSegments/PutTelemetryRecords support no resource-level permissions, so \"*\" is the only valid resource.",
				`/^Resource::\*$/`),
		)
	}
	suppress(s.Functions[FnRedrive], rule("AwsSolutions-IAM5",
		"RedriveExecution acts on executions, whose names are only known at run time: the wildcard is the execution name under this stack's two state machines (the name is taken from each one's ARN), as CDK's grantRedriveExecution writes it.",
		`/^Resource::arn:<AWS::Partition>:states:(<AWS::Region>|[a-z0-9-]+):<AWS::AccountId>:execution:\{"Fn::Select":\[6,\{"Fn::Split":\[":",\{"Ref":"(Pipeline|Remove)[A-Za-z0-9]+"\}\]\}\]\}:\*$/`))
	for _, sm := range []constructs.IConstruct{s.Pipeline, s.Remove} {
		suppress(sm, rule("AwsSolutions-IAM5",
			"The state machine may invoke only its own functions; lambda:InvokeFunction on <arn>:* covers their versions and aliases, which CDK's grantInvoke adds. X-Ray and CloudWatch Logs delivery actions support no resource-level permissions.",
			`/^Resource::<[A-Za-z0-9]+Function[A-Za-z0-9]+\.Arn>:\*$/`, `/^Resource::\*$/`))
	}
	for _, q := range []constructs.IConstruct{s.FailureQueue, s.EventDeadLetters} {
		suppress(q, rule("AwsSolutions-SQS3", "This queue is itself the dead-letter destination (failed executions, undeliverable events); a queue behind it would only move the problem. Its depth is alarmed."))
	}
	suppress(s.Search,
		rule("AwsSolutions-OS1", "The domain is reached only by Lambdas outside any VPC with SigV4-signed requests; its resource policy admits only the functions' roles, so a VPC adds NAT cost without narrowing access."),
		rule("AwsSolutions-OS3", "Access is restricted by IAM principal (the functions' roles) in the domain's resource policy rather than by source IP, which Lambda does not have a fixed one of."),
		rule("AwsSolutions-OS4", "The default domain is one small data node for an idle-cheap demo; dedicated masters are a sizing choice (searchInstanceCount context) for production."),
		rule("AwsSolutions-OS7", "Zone awareness is enabled when searchInstanceCount > 1; the default single node cannot span zones. The index is derived data, rebuilt by redriving the bucket."),
		rule("AwsSolutions-OS9", "Slow logs are a performance diagnostic, not an audit trail; publishing them needs a CloudWatch Logs resource policy per domain. Enable when tuning queries."),
	)
	suppress(s.UnauthRole, rule("AwsSolutions-IAM5", "Guests may put objects only under upload/ of the images bucket: the wildcard is the object key below that prefix.",
		`/^Resource::<Images[A-Za-z0-9]+\.Arn>\/upload\/\*$/`))
	suppress(s.AuthRole,
		rule("AwsSolutions-IAM5", "Signed-in users may put objects only under upload/ of the images bucket: the wildcard is the object key below that prefix.",
			`/^Resource::<Images[A-Za-z0-9]+\.Arn>\/upload\/\*$/`),
		rule("AwsSolutions-IAM5", "Signed-in users may invoke the load tester only; lambda:InvokeFunction on <arn>:* covers its versions and aliases, which CDK's grantInvoke adds.",
			`/^Resource::<LoadTesterFunction[A-Za-z0-9]+\.Arn>:\*$/`))

	stack := s.Stack
	byPath := func(path string, rules ...*cdknag.NagPackSuppression) {
		if stack.Node().TryFindChild(jsii.String(firstSegment(path))) == nil {
			return
		}
		cdknag.NagSuppressions_AddResourceSuppressionsByPath(stack, jsii.String("/"+*stack.StackName()+"/"+path), &rules, jsii.Bool(true))
	}
	cdknag.NagSuppressions_AddStackSuppressions(stack, &[]*cdknag.NagPackSuppression{
		rule("AwsSolutions-CFR4", "The distribution uses the default *.cloudfront.net certificate, for which CloudFront does not allow choosing the minimum TLS version; a custom domain and certificate lift it to TLSv1.2_2021."),
		rule("AwsSolutions-COG4", "The API is authorized with AWS_IAM (SigV4 with Cognito identity pool credentials), which covers guests as well as signed-in users; a user pool authorizer would lock guests out."),
		rule("AwsSolutions-COG7", "Guest (unauthenticated) identities are intended: a visitor may search and upload under upload/ only, as the unauthenticated role states; everything else needs sign-in."),
		rule("AwsSolutions-COG8", "The Plus feature plan (threat protection) is billed per monthly active user; the demo's user pool has no sensitive data behind it. Enable for production."),
	}, nil)
	// CDK-owned singleton Lambdas (S3 notifications setup, web deployment).
	for _, id := range []string{"BucketNotificationsHandler050a0587b7544547bf325f094a3db834", "Custom::CDKBucketDeployment8693BB64968944B69AAFB0CC9EB8756C512MiB"} {
		byPath(id,
			rule("AwsSolutions-IAM4", basicExecution+" (a CDK-provided deployment-time function)."),
			rule("AwsSolutions-IAM5", "A CDK-provided deployment-time function: its wildcards are the object keys of the website bucket it syncs and CDK's asset bucket, or bucket notification configuration, which has no resource-level permissions."),
			rule("AwsSolutions-L1", "A CDK-provided deployment-time function whose runtime the aws-cdk-lib version pins; it runs only during deploys."),
		)
	}
	byPath("Api", rule("AwsSolutions-IAM4", "API Gateway's account-level CloudWatch role uses the AWS-managed AmazonAPIGatewayPushToCloudWatchLogs policy, the documented way to enable execution logging."))
}

func firstSegment(path string) string {
	for i, r := range path {
		if r == '/' {
			return path[:i]
		}
	}
	return path
}
