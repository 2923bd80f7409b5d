package stack

import (
	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsapigateway"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsiam"
	"github.com/aws/jsii-runtime-go"

	"github.com/imagepipe/imagepipe/statemachine"
)

// Route is one method of the REST API: its HTTP method and resource path.
type Route struct{ Method, Path string }

// OperationsRoutes are the operators' API (functions/cmd/operations), all on the
// operations function; only OperatorRole may invoke them.
var OperationsRoutes = []Route{
	{"GET", "/executions"},
	{"GET", "/executions/{arn}"},
	{"POST", "/executions/{arn}/redrive"},
	{"POST", "/executions/{arn}/stop"},
	{"GET", "/failures"},
	{"POST", "/failures/redrive"},
	{"POST", "/failures/discard"},
	// Deletes one upload (body {"key"}): the remove pipeline does the rest. The
	// document id cannot name it (a hash of bucket/key), hence POST with the key.
	{"POST", "/images/delete"},
}

// executeAPIPath is path as an execute-api resource: each {param} becomes *.
func executeAPIPath(path string) string {
	out := []byte{}
	for i := 0; i < len(path); i++ {
		if path[i] == '{' {
			for i < len(path) && path[i] != '}' {
				i++
			}
			out = append(out, '*')
			continue
		}
		out = append(out, path[i])
	}
	return string(out)
}

// newOperationsFunction is the operations Lambda: its role may list both state
// machines' executions, read, redrive and stop them, peek at the failure queue
// (receive, hand back, count), invoke the redrive Lambda, and start and follow the
// redrive job, and delete uploads (POST /images/delete); nothing else (no other
// object, no index, no message deletes: discarding is the redrive Lambda's).
func (s *ImagePipe) newOperationsFunction(dir string, specs []FunctionSpec, webOrigin *string) {
	var spec FunctionSpec
	for _, sp := range specs {
		if sp.Name == FnOperations {
			spec = sp
		}
	}
	redrive := s.Functions[FnRedrive]
	fn := NewGoFunction(s.Stack, constructID(FnOperations)+"Function", dir, spec, map[string]*string{
		"PIPELINE_STATE_MACHINE_ARN": s.Pipeline.StateMachineArn(),
		"REMOVE_STATE_MACHINE_ARN":   s.Remove.StateMachineArn(),
		"FAILURE_QUEUE_URL":          s.FailureQueue.QueueUrl(),
		"REDRIVE_FUNCTION_NAME":      redrive.FunctionName(),
		"REDRIVE_STATE_MACHINE_ARN":  s.RedriveJob.StateMachineArn(),
		"ALLOWED_ORIGIN":             webOrigin,
		"IMAGES_BUCKET":              s.Bucket.BucketName(),
	})
	s.Functions[FnOperations] = fn
	// POST /images/delete deletes the upload only; the remove pipeline deletes the
	// thumbnail, preview and document with its own roles.
	fn.AddToRolePolicy(s.objectsStatement([]string{"s3:DeleteObject"}, statemachine.PrefixUpload))
	fn.AddToRolePolicy(awsiam.NewPolicyStatement(&awsiam.PolicyStatementProps{
		Actions:   jsii.Strings("states:ListExecutions"),
		Resources: jsii.Strings(*s.Pipeline.StateMachineArn(), *s.Remove.StateMachineArn()),
	}))
	fn.AddToRolePolicy(awsiam.NewPolicyStatement(&awsiam.PolicyStatementProps{
		Actions: jsii.Strings("states:DescribeExecution", "states:GetExecutionHistory", "states:DescribeStateMachineForExecution",
			"states:RedriveExecution", "states:StopExecution"),
		Resources: executionArns(s.Pipeline, s.Remove),
	}))
	// POST /failures/redrive starts the redrive job; the page follows it.
	fn.AddToRolePolicy(awsiam.NewPolicyStatement(&awsiam.PolicyStatementProps{
		Actions:   jsii.Strings("states:StartExecution"),
		Resources: jsii.Strings(*s.RedriveJob.StateMachineArn()),
	}))
	fn.AddToRolePolicy(awsiam.NewPolicyStatement(&awsiam.PolicyStatementProps{
		Actions:   jsii.Strings("states:DescribeExecution", "states:GetExecutionHistory", "states:DescribeStateMachineForExecution"),
		Resources: executionArns(s.RedriveJob),
	}))
	fn.AddToRolePolicy(awsiam.NewPolicyStatement(&awsiam.PolicyStatementProps{
		Actions:   jsii.Strings("sqs:ReceiveMessage", "sqs:ChangeMessageVisibility", "sqs:GetQueueAttributes"),
		Resources: jsii.Strings(*s.FailureQueue.QueueArn()),
	}))
	// The function itself, not its versions (grantInvoke would add <arn>:*).
	fn.AddToRolePolicy(awsiam.NewPolicyStatement(&awsiam.PolicyStatementProps{
		Actions:   jsii.Strings("lambda:InvokeFunction"),
		Resources: jsii.Strings(*redrive.FunctionArn()),
	}))
}

// addOperationsRoutes puts OperationsRoutes on api, IAM-authorized, with a CORS
// preflight that allows POST (the search API's allows GET only). images is the
// search API's /images resource, which /images/delete goes under.
func (s *ImagePipe) addOperationsRoutes(api awsapigateway.RestApi, images awsapigateway.IResource, validator awsapigateway.IRequestValidator, origins []*string) {
	opts := &awsapigateway.ResourceOptions{DefaultCorsPreflightOptions: &awsapigateway.CorsOptions{
		AllowOrigins: jsii.Strings(strs(origins)...),
		AllowMethods: jsii.Strings("GET", "POST", "OPTIONS"),
		AllowHeaders: jsii.Strings(corsHeaders...),
		MaxAge:       awscdk.Duration_Hours(jsii.Number(1)),
	}}
	// One integration; no test-invoke permissions (the console's Test button), so
	// the function's resource policy names only the stage's methods.
	integration := awsapigateway.NewLambdaIntegration(s.Functions[FnOperations], &awsapigateway.LambdaIntegrationOptions{AllowTestInvoke: jsii.Bool(false)})
	resources := map[string]awsapigateway.IResource{"": api.Root(), "/images": images}
	var resource func(path string) awsapigateway.IResource
	resource = func(path string) awsapigateway.IResource {
		if r, ok := resources[path]; ok {
			return r
		}
		i := len(path) - 1
		for path[i] != '/' {
			i--
		}
		r := resource(path[:i]).AddResource(jsii.String(path[i+1:]), opts)
		resources[path] = r
		return r
	}
	for _, rt := range OperationsRoutes {
		mo := &awsapigateway.MethodOptions{AuthorizationType: awsapigateway.AuthorizationType_IAM}
		if executeAPIPath(rt.Path) != rt.Path {
			mo.RequestParameters = &map[string]*bool{"method.request.path.arn": jsii.Bool(true)}
			mo.RequestValidator = validator
		}
		resource(rt.Path).AddMethod(jsii.String(rt.Method), integration, mo)
	}
}
