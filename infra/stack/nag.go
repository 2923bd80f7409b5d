package stack

import (
	"regexp"
	"strings"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsiam"
	"github.com/aws/constructs-go/constructs/v10"
	"github.com/aws/jsii-runtime-go"
	"github.com/cdklabs/cdk-nag-go/cdknag/v2"

	"github.com/imagepipe/imagepipe/statemachine"
)

// ApplyNag runs the cdk-nag AwsSolutions pack over scope on every synth: an
// unsuppressed finding is an error annotation, which fails `cdk synth`.
func ApplyNag(scope constructs.IConstruct) {
	awscdk.Aspects_Of(scope).Add(cdknag.NewAwsSolutionsChecks(&cdknag.NagPackProps{Verbose: jsii.Bool(true)}), nil)
}

// rule is a suppression; appliesTo are the exact finding strings it covers
// ("Resource::<Images9BF4D4C2.Arn>/upload/*"), or, written /like this/, a regular
// expression for what CDK-owned constructs generate.
func rule(id, reason string, appliesTo ...string) *cdknag.NagPackSuppression {
	s := &cdknag.NagPackSuppression{Id: jsii.String(id), Reason: jsii.String(reason)}
	if len(appliesTo) > 0 {
		var a []any
		for _, r := range appliesTo {
			if len(r) > 1 && strings.HasPrefix(r, "/") && strings.HasSuffix(r, "/") {
				a = append(a, &cdknag.RegexAppliesTo{Regex: jsii.String(r)})
			} else {
				a = append(a, jsii.String(r))
			}
		}
		s.AppliesTo = &a
	}
	return s
}

// NagRule and Suppress are rule and suppress for the app's other stacks (the
// delivery pipeline's).
func NagRule(id, reason string, appliesTo ...string) *cdknag.NagPackSuppression {
	return rule(id, reason, appliesTo...)
}

// Suppress records rules on c and its children.
func Suppress(c constructs.IConstruct, rules ...*cdknag.NagPackSuppression) { suppress(c, rules...) }

func suppress(c constructs.IConstruct, rules ...*cdknag.NagPackSuppression) {
	cdknag.NagSuppressions_AddResourceSuppressions(c, &rules, jsii.Bool(true))
}

const basicExecution = "AWSLambdaBasicExecutionRole only allows creating log streams and putting events in the function's own log groups; it is the AWS-maintained minimum for a Lambda."

// Finding strings cdk-nag reports for this stack's grants.
const (
	basicExecutionPolicy = "Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole"
	anyResource          = "Resource::*"
)

// logicalID is the CloudFormation logical id of c's resource, as findings name it.
func (s *ImagePipe) logicalID(c constructs.IConstruct) string {
	return *s.Stack.GetLogicalId(c.Node().DefaultChild().(awscdk.CfnElement))
}

// objectsFinding is the finding for objects under prefix of the images bucket.
func (s *ImagePipe) objectsFinding(prefix string) string {
	return "Resource::<" + s.logicalID(s.Bucket) + ".Arn>/" + prefix + "*"
}

// executionFindings are the findings for executionArns(Pipeline, Remove).
func (s *ImagePipe) executionFindings() []string {
	return []string{s.executionFinding(s.Pipeline), s.executionFinding(s.Remove)}
}

// executionFinding is the finding for executionArns(sm).
func (s *ImagePipe) executionFinding(sm constructs.IConstruct) string {
	return "Resource::arn:<AWS::Partition>:states:<AWS::Region>:<AWS::AccountId>:execution:<" + s.logicalID(sm) + ".Name>:*"
}

// executeAPIFinding matches the finding for execute-api:Invoke on method and path
// of the API's stage. The ARN names the stack's region and account literally or as
// pseudo parameters, depending on the synth's environment, hence a pattern for those
// two fields only.
func (s *ImagePipe) executeAPIFinding(method, path string) string {
	return "/^" + regexp.QuoteMeta("Resource::arn:<AWS::Partition>:execute-api:") + "(<AWS::Region>|[a-z0-9-]+):(<AWS::AccountId>|[0-9]+):" +
		regexp.QuoteMeta("<"+s.logicalID(s.API)+">/"+StageName+"/"+method+path) + "$/"
}

// functionFindings are, per function, the wildcard findings its grants cause and
// why each is acceptable: nothing is suppressed on a function that does not have it.
func (s *ImagePipe) functionFindings() map[string][]*cdknag.NagPackSuppression {
	xray := "X-Ray's PutTraceSegments and PutTelemetryRecords (active tracing) support no resource-level permissions: \"*\" is the only valid resource. No other action of this role has it (infra test TestDeployedStackReview/WildcardResources)."
	derived := func(verb string) *cdknag.NagPackSuppression {
		return rule("AwsSolutions-IAM5", verb+" the thumbnail and preview of any image: keys under thumbnail/ and preview/ of the images bucket only.",
			s.objectsFinding("thumbnail/"), s.objectsFinding("preview/"))
	}
	out := map[string][]*cdknag.NagPackSuppression{
		FnSearch: {derived("Presigns GETs of"), rule("AwsSolutions-IAM5", xray, anyResource),
			rule("AwsSolutions-IAM5", "Reads documents by id (GET /images/_doc/{id}, for GET /images/{id}): the wildcard is the document id, in the one index of the one domain.",
				"Resource::<"+s.logicalID(s.Search)+".Arn>/"+SearchIndex+"/_doc/*")},
		FnPing: {rule("AwsSolutions-IAM5", xray, anyResource)},
		FnPresignUpload: {
			rule("AwsSolutions-IAM5", "Signs POST policies that act as this role: any new key under upload/ of the images bucket; each policy narrows it to one key under the caller's own upload/<identity id>/ prefix.", s.objectsFinding("upload/")),
			rule("AwsSolutions-IAM5", xray, anyResource),
		},
		FnRedrive: {
			rule("AwsSolutions-IAM5", "RedriveExecution acts on executions, whose names are only known at run time: the wildcard is the execution name under each of this stack's two state machines.", s.executionFindings()...),
			rule("AwsSolutions-IAM5", xray, anyResource),
		},
		FnOperations: {
			rule("AwsSolutions-IAM5", "The operators' API reads, redrives and stops executions, whose names are only known at run time: the wildcard is the execution name under each of this stack's two state machines, and under the redrive job it starts and follows.", append(s.executionFindings(), s.executionFinding(s.RedriveJob))...),
			rule("AwsSolutions-IAM5", "POST /images/delete deletes the upload an operator names: s3:DeleteObject only, on keys under upload/ of the images bucket only (the remove pipeline deletes the derived objects); the wildcard is the object key.", s.objectsFinding("upload/")),
			rule("AwsSolutions-IAM5", xray, anyResource),
		},
		FnLoadTester: {
			rule("AwsSolutions-IAM5", "Puts generated images under upload/load/ of the images bucket: the wildcard is the object key below that prefix.", s.objectsFinding("upload/load/")),
			rule("AwsSolutions-IAM5", xray, anyResource),
		},
	}
	for _, st := range statemachine.Steps() {
		out[st.Function] = s.stepFindings(st, xray)
	}
	for name := range out {
		out[name] = append(out[name], rule("AwsSolutions-IAM4", basicExecution, basicExecutionPolicy))
	}
	return out
}

// stepFindings are the wildcard findings a step's row of statemachine.Steps causes:
// one per object prefix (the wildcard is the key below it), one per index path with
// a wildcard (the document id), and Resource::* for actions without resource-level
// permissions and X-Ray.
func (s *ImagePipe) stepFindings(st statemachine.Step, xray string) []*cdknag.NagPackSuppression {
	var out []*cdknag.NagPackSuppression
	var prefixes []string
	actions := map[string][]string{} // per prefix
	for _, o := range st.Objects {
		for _, p := range o.Prefixes {
			if actions[p] == nil {
				prefixes = append(prefixes, p)
			}
			actions[p] = append(actions[p], o.Actions...)
		}
	}
	for _, p := range prefixes {
		out = append(out, rule("AwsSolutions-IAM5", strings.Join(actions[p], ", ")+" on any key under "+p+
			" of the images bucket, and nothing else of it: the wildcard is the object key.", s.objectsFinding(p)))
	}
	var paths []string
	verbs := map[string][]string{} // per wildcard path
	for _, g := range st.Index {
		for _, p := range g.Paths {
			if !strings.HasSuffix(p, "/*") {
				continue
			}
			if verbs[p] == nil {
				paths = append(paths, p)
			}
			verbs[p] = append(verbs[p], g.Actions...)
		}
	}
	for _, p := range paths {
		out = append(out, rule("AwsSolutions-IAM5", strings.Join(verbs[p], ", ")+" /"+indexPath(strings.TrimSuffix(p, "*"))+
			"{id}: the wildcard is the document id, in the one index of the one domain.",
			"Resource::<"+s.logicalID(s.Search)+".Arn>/"+indexPath(p)))
	}
	reason := xray
	if len(st.Actions) > 0 {
		reason = strings.Join(st.Actions, ", ") + " and " + xray
	}
	return append(out, rule("AwsSolutions-IAM5", reason, anyResource))
}

// suppressFindings records, next to the resource, why each remaining AwsSolutions
// finding is acceptable, naming the exact finding (appliesTo) wherever our own code
// makes it. Wildcards are only suppressed where they name one prefix of one bucket,
// the documents of one index, executions of this stack's machines, or actions
// without resource-level permissions.
func suppressFindings(s *ImagePipe) {
	for name, rules := range s.functionFindings() {
		suppress(s.Functions[name], rules...)
	}
	machines := map[string]constructs.IConstruct{statemachine.MachinePipeline: s.Pipeline, statemachine.MachineRemove: s.Remove}
	for m, sm := range machines {
		var versions []string
		for _, st := range statemachine.Steps() {
			if st.Machine == m {
				versions = append(versions, "Resource::<"+s.logicalID(s.Functions[st.Function])+".Arn>:*")
			}
		}
		suppress(sm,
			rule("AwsSolutions-IAM5", "The state machine may invoke only its own functions; lambda:InvokeFunction on <arn>:* covers their versions and aliases, which CDK's grantInvoke adds.", versions...),
			rule("AwsSolutions-IAM5", "X-Ray and CloudWatch Logs delivery actions support no resource-level permissions: \"*\" is the only valid resource.", anyResource))
	}
	for _, q := range []constructs.IConstruct{s.FailureQueue, s.EventDeadLetters} {
		suppress(q, rule("AwsSolutions-SQS3", "This queue is itself the dead-letter destination (failed executions, undeliverable events); a queue behind it would only move the problem. Its depth is alarmed."))
	}
	suppress(s.Search,
		rule("AwsSolutions-OS1", "The domain is reached only by Lambdas outside any VPC with SigV4-signed requests; its resource policy admits only the five functions' roles, each on its own paths, so a VPC adds NAT cost without narrowing access."),
		rule("AwsSolutions-OS3", "Access is restricted by IAM principal (the functions' roles) in the domain's resource policy rather than by source IP, which Lambda does not have a fixed one of."),
		rule("AwsSolutions-OS4", "The default domain is one small data node for an idle-cheap demo; dedicated masters are a sizing choice (searchInstanceCount context) for production."),
		rule("AwsSolutions-OS7", "Zone awareness is enabled when searchInstanceCount > 1 (an even count, two zones); the default single node cannot span zones. The index is derived data, rebuilt by redriving the bucket."),
		rule("AwsSolutions-OS9", "Slow logs are a performance diagnostic, not an audit trail; publishing them needs a CloudWatch Logs resource policy per domain. Enable when tuning queries."),
	)
	for _, r := range []struct {
		role awsiam.Role
		who  string
	}{{s.UnauthRole, "Guests"}, {s.AuthRole, "Signed-in users"}, {s.OperatorRole, "Operators"}} {
		suppress(r.role,
			rule("AwsSolutions-IAM5", r.who+" may read one search document by id (GET /images/{id}): the wildcard is the {id} path parameter of that one method.", s.executeAPIFinding("GET", "/images/*")))
	}
	var ops []string
	for _, rt := range OperationsRoutes {
		if p := executeAPIPath(rt.Path); p != rt.Path {
			ops = append(ops, s.executeAPIFinding(rt.Method, p))
		}
	}
	suppress(s.OperatorRole, rule("AwsSolutions-IAM5", "Operators may call the operators' API on any execution of this stack: the wildcard is the {arn} path parameter of those methods (the function checks it names an execution of this stack's state machines).", ops...))
	suppress(s.RedriveJob,
		rule("AwsSolutions-IAM5", "The redrive job may invoke only the redrive function; lambda:InvokeFunction on <arn>:* covers its versions and aliases, which CDK's grantInvoke adds.",
			"Resource::<"+s.logicalID(s.Functions[FnRedrive])+".Arn>:*"),
		rule("AwsSolutions-IAM5", "X-Ray and CloudWatch Logs delivery actions support no resource-level permissions: \"*\" is the only valid resource.", anyResource))

	if s.SmokeTestRole != nil {
		suppress(s.SmokeTestRole, rule("AwsSolutions-IAM5",
			"The smoke test touches only its own objects (keys under upload/smoke/ and thumbnail/smoke/ of the images bucket: a run id and a file name) and reads the pipeline's executions, whose names are only known at run time (the name below the one state machine).",
			s.objectsFinding("upload/"+SmokeTestPrefix), s.objectsFinding("thumbnail/"+SmokeTestPrefix), s.executionFindings()[0]))
	}

	stack := s.Stack
	byPath := func(path string, rules ...*cdknag.NagPackSuppression) {
		if stack.Node().TryFindChild(jsii.String(firstSegment(path))) == nil {
			return
		}
		// The construct path, not the stack name: inside a Stage (the delivery
		// pipeline's) the stack's path is <pipeline>/<stage>/<id>.
		cdknag.NagSuppressions_AddResourceSuppressionsByPath(stack, jsii.String("/"+*stack.Node().Path()+"/"+path), &rules, jsii.Bool(true))
	}
	cdknag.NagSuppressions_AddStackSuppressions(stack, &[]*cdknag.NagPackSuppression{
		rule("AwsSolutions-CFR4", "The distribution uses the default *.cloudfront.net certificate, for which CloudFront does not allow choosing the minimum TLS version; a custom domain and certificate lift it to TLSv1.2_2021."),
		rule("AwsSolutions-COG4", "The API is authorized with AWS_IAM (SigV4 with Cognito identity pool credentials), which covers guests as well as signed-in users; a user pool authorizer would lock guests out."),
		rule("AwsSolutions-COG7", "Guest (unauthenticated) identities are intended: a visitor may search and ask presign-upload (POST /uploads) for one upload under its own upload/<identity id>/ prefix, as the unauthenticated role states; everything else needs sign-in."),
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
