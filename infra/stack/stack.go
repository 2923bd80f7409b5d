// Package stack is the imagepipe CDK stack: the images bucket and its EventBridge
// rules, the pipeline's two state machines and the redrive job, the Lambdas, the failure queue, the OpenSearch
// domain, the IAM-authorized REST API, Cognito identity, the website and the alarms.
package stack

import (
	"fmt"
	"slices"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsapigateway"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsevents"
	"github.com/aws/aws-cdk-go/awscdk/v2/awseventstargets"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsiam"
	"github.com/aws/aws-cdk-go/awscdk/v2/awslambda"
	"github.com/aws/aws-cdk-go/awscdk/v2/awslogs"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsopensearchservice"
	"github.com/aws/aws-cdk-go/awscdk/v2/awss3"
	"github.com/aws/aws-cdk-go/awscdk/v2/awssqs"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsstepfunctions"
	"github.com/aws/constructs-go/constructs/v10"
	"github.com/aws/jsii-runtime-go"

	"github.com/imagepipe/imagepipe/functions/pipeline"
	"github.com/imagepipe/imagepipe/statemachine"
)

// SearchIndex is the OpenSearch index the functions read and write.
const SearchIndex = "images"

// Props configures the stack; main.go fills it from CDK context.
type Props struct {
	awscdk.StackProps
	// LambdaDir holds <function>/bootstrap for every Lambda (build/lambda).
	LambdaDir string
	// WebDist is the built web app (web/dist); empty skips the website deployment
	// (the bucket and distribution are still created).
	WebDist string
	// Express selects an Express state machine instead of Standard.
	Express bool
	// AlarmEmail, when set, subscribes an address to the alarm topic.
	AlarmEmail string
	// Search sizes the OpenSearch domain.
	Search SearchSize
	// Faults sets FAULT_MODE per pipeline function (ParseFaults); nil reads the
	// "faults" context.
	Faults map[string]string
	// RedriveSchedule, an EventBridge rate(...) or cron(...) expression, starts the
	// redrive job (the Redrive state machine) on a schedule; "" reads the "redriveSchedule" context, and
	// without either the Lambda runs only on demand.
	RedriveSchedule string
	// ReservedConcurrency reserves the FunctionSpec's concurrency (detect-labels 20,
	// the load tester 2); false reads the "reservedConcurrency" context. Off by
	// default: see ContextReservedConcurrency.
	ReservedConcurrency bool
	// DevOrigin is one more origin the API's and the images bucket's CORS allow
	// (e.g. http://localhost:5173 for `npm run dev` against AWS); "" reads the
	// "devOrigin" context, and without either only the website's origin is allowed.
	DevOrigin string
	// LogExecutionData keeps executions' input and output (EXIF and GPS included) in
	// the state machines' logs; false reads the "logExecutionData" context.
	LogExecutionData bool
	// PrivateFields is who the search API shows GPS position, serial numbers and
	// owner fields to (PrivateFieldsSignedIn, PrivateFieldsIAM); "" reads the
	// "privateFields" context, and the default is PrivateFieldsSignedIn.
	PrivateFields string
	// SmokeTestPrincipals names the roles of this account (by role name) that may
	// assume the smoke-test role: the delivery pipeline's smoke step, the GitHub
	// deploy role. Empty (the default): no smoke-test role (smoketest.go).
	SmokeTestPrincipals []string
}

// SearchSize is the OpenSearch domain's capacity.
type SearchSize struct {
	DomainName    string  // default DomainNameFor(the stack name): "imagepipe" for ImagePipe
	InstanceType  string  // default "t3.small.search"
	InstanceCount float64 // default 1; more than 1 must be even: the nodes span two zones
	VolumeGiB     float64 // default 10
}

// ImagePipe is the synthesized stack and the resources tests and extensions reach.
type ImagePipe struct {
	awscdk.Stack
	Bucket    awss3.Bucket
	Functions map[string]awslambda.Function
	Pipeline  awsstepfunctions.StateMachine
	Remove    awsstepfunctions.StateMachine
	// RedriveJob runs the redrive Lambda in rounds (statemachine/redrive.asl.json).
	RedriveJob       awsstepfunctions.StateMachine
	FailureQueue     awssqs.Queue
	EventDeadLetters awssqs.Queue
	Search           awsopensearchservice.Domain
	API              awsapigateway.RestApi
	UnauthRole       awsiam.Role
	AuthRole         awsiam.Role
	// OperatorRole is the role of the user pool's operators group (OperatorsGroup).
	OperatorRole awsiam.Role
	// SmokeTestRole is what `imagepipe smoke --role-arn` assumes in CI; nil unless
	// Props.SmokeTestPrincipals names someone.
	SmokeTestRole       awsiam.Role
	SmokeTestRoleOutput awscdk.CfnOutput
	pipelineVariables   map[string]*string
	removeVariables     map[string]*string
}

// New builds the stack. It fails before synthesis when a Lambda bootstrap is missing.
func New(scope constructs.Construct, id string, props Props) (*ImagePipe, error) {
	specs := functionSpecs()
	if err := checkBootstraps(props.LambdaDir, specs); err != nil {
		return nil, err
	}
	if props.Faults == nil {
		f, err := ParseFaults(contextString(scope, ContextFaults))
		if err != nil {
			return nil, err
		}
		props.Faults = f
	}
	for name := range props.Faults {
		if !slices.Contains(FaultFunctions, name) {
			return nil, fmt.Errorf("faults: %q is not a pipeline function", name)
		}
	}
	if props.RedriveSchedule == "" {
		props.RedriveSchedule = contextString(scope, ContextRedriveSchedule)
	}
	if props.RedriveSchedule != "" {
		if err := CheckSchedule(props.RedriveSchedule); err != nil {
			return nil, err
		}
	}
	if err := props.readContext(scope); err != nil {
		return nil, err
	}
	if !props.ReservedConcurrency {
		for i := range specs {
			specs[i].ReservedConcurrency = 0
		}
	}
	s := &ImagePipe{Stack: awscdk.NewStack(scope, jsii.String(id), &props.StackProps)}
	props.Search = props.Search.withDefaults(*s.Stack.StackName())
	if err := props.Search.Check(); err != nil {
		return nil, err
	}
	awscdk.Tags_Of(s.Stack).Add(jsii.String("project"), jsii.String("imagepipe"), nil)

	logBucket := s.newAccessLogBucket()
	site := s.newWebsite(logBucket)
	origins := []*string{site.origin}
	if props.DevOrigin != "" {
		origins = append(origins, jsii.String(props.DevOrigin))
	}
	s.newImagesBucket(logBucket, origins)
	s.newQueues()
	s.newSearchDomain(props.Search)
	s.newFunctions(props.LambdaDir, specs, functionSettings{
		webOrigin: site.origin, faults: props.Faults, privateFields: props.PrivateFields, replicas: props.Search.Replicas(),
	})
	s.restrictDomainToFunctions(props.Search.DomainName)
	if err := s.newStateMachines(props.Express, props.LogExecutionData); err != nil {
		return nil, err
	}
	s.newRedrive(props.LambdaDir, specs, props.RedriveSchedule, props.LogExecutionData)
	s.newOperationsFunction(props.LambdaDir, specs, site.origin)
	s.newRules()
	api := s.newAPI(site.origin, origins)
	s.API = api
	identity := s.newIdentity(api)
	s.newLoadTester(props.LambdaDir, specs)
	s.grantOperators()
	s.deployWebsite(site, props.WebDist, api, identity)
	dashboard := s.newOperations(props.AlarmEmail, api, props.Search)
	s.newOutputs(api, identity, site, dashboard)
	if len(props.SmokeTestPrincipals) > 0 {
		s.newSmokeTestRole(props.SmokeTestPrincipals)
	}
	suppressFindings(s)
	return s, nil
}

// readContext fills the settings Props leaves at their zero value from CDK context.
func (p *Props) readContext(scope constructs.Construct) error {
	var err error
	if !p.ReservedConcurrency {
		if p.ReservedConcurrency, err = ParseBool(ContextReservedConcurrency, contextString(scope, ContextReservedConcurrency), false); err != nil {
			return err
		}
	}
	if !p.LogExecutionData {
		if p.LogExecutionData, err = ParseBool(ContextLogExecutionData, contextString(scope, ContextLogExecutionData), false); err != nil {
			return err
		}
	}
	dev := p.DevOrigin
	if dev == "" {
		dev = contextString(scope, ContextDevOrigin)
	}
	if p.DevOrigin, err = ParseDevOrigin(dev); err != nil {
		return err
	}
	pf := p.PrivateFields
	if pf == "" {
		pf = contextString(scope, ContextPrivateFields)
	}
	p.PrivateFields, err = CheckPrivateFields(pf)
	return err
}

func (z SearchSize) withDefaults(stackName string) SearchSize {
	if z.DomainName == "" {
		z.DomainName = DomainNameFor(stackName)
	}
	if z.InstanceType == "" {
		z.InstanceType = "t3.small.search"
	}
	if z.InstanceCount == 0 {
		z.InstanceCount = 1
	}
	if z.VolumeGiB == 0 {
		z.VolumeGiB = 10
	}
	return z
}

func (s *ImagePipe) newAccessLogBucket() awss3.Bucket {
	// Target of S3 server access logs and CloudFront standard logs; CloudFront's
	// logging still writes through ACLs, hence BUCKET_OWNER_PREFERRED.
	return awss3.NewBucket(s.Stack, jsii.String("AccessLogs"), &awss3.BucketProps{
		BlockPublicAccess: awss3.BlockPublicAccess_BLOCK_ALL(),
		Encryption:        awss3.BucketEncryption_S3_MANAGED,
		EnforceSSL:        jsii.Bool(true),
		ObjectOwnership:   awss3.ObjectOwnership_BUCKET_OWNER_PREFERRED,
		LifecycleRules: &[]*awss3.LifecycleRule{{
			Id:         jsii.String("expire-logs"),
			Expiration: awscdk.Duration_Days(jsii.Number(90)),
		}},
		RemovalPolicy: awscdk.RemovalPolicy_RETAIN,
	})
}

// RejectedTag marks an upload the pipeline refused for good (not an image, too
// large, corrupt): the lifecycle rule below deletes it after RejectedDays. The
// functions that refuse an upload set it (s3:PutObjectTagging on upload/*).
var RejectedTag = struct{ Key, Value string }{pipeline.RejectedTagKey, pipeline.RejectedTagValue}

// RejectedDays is how long a refused upload stays for inspection.
const RejectedDays = 7

func (s *ImagePipe) newImagesBucket(logs awss3.Bucket, origins []*string) {
	s.Bucket = awss3.NewBucket(s.Stack, jsii.String("Images"), &awss3.BucketProps{
		BlockPublicAccess:      awss3.BlockPublicAccess_BLOCK_ALL(),
		Encryption:             awss3.BucketEncryption_S3_MANAGED,
		EnforceSSL:             jsii.Bool(true),
		EventBridgeEnabled:     jsii.Bool(true),
		ServerAccessLogsBucket: logs,
		ServerAccessLogsPrefix: jsii.String("images/"),
		Cors: &[]*awss3.CorsRule{{
			AllowedMethods: &[]awss3.HttpMethods{awss3.HttpMethods_PUT, awss3.HttpMethods_POST, awss3.HttpMethods_GET, awss3.HttpMethods_HEAD},
			AllowedOrigins: &origins,
			AllowedHeaders: jsii.Strings("*"),
			ExposedHeaders: jsii.Strings("ETag"),
			MaxAge:         jsii.Number(3000),
		}},
		LifecycleRules: &[]*awss3.LifecycleRule{{
			Id:                                  jsii.String("abort-incomplete-multipart-uploads"),
			AbortIncompleteMultipartUploadAfter: awscdk.Duration_Days(jsii.Number(1)),
		}, {
			// Uploads the pipeline refused are nobody's photos: they go after a week.
			Id:         jsii.String("expire-rejected-uploads"),
			Prefix:     jsii.String("upload/"),
			TagFilters: &map[string]any{RejectedTag.Key: RejectedTag.Value},
			Expiration: awscdk.Duration_Days(jsii.Number(RejectedDays)),
		}},
		// Uploaded photos are user data: a stack deletion keeps them.
		RemovalPolicy: awscdk.RemovalPolicy_RETAIN,
	})
}

func (s *ImagePipe) newQueues() {
	queue := func(id string) awssqs.Queue {
		return awssqs.NewQueue(s.Stack, jsii.String(id), &awssqs.QueueProps{
			Encryption:      awssqs.QueueEncryption_SQS_MANAGED,
			EnforceSSL:      jsii.Bool(true),
			RetentionPeriod: awscdk.Duration_Days(jsii.Number(14)),
		})
	}
	// {error, cause, state, input} of every failed execution, for `imagepipe redrive`.
	s.FailureQueue = queue("FailureQueue")
	// Events EventBridge could not deliver to a state machine after its retries.
	s.EventDeadLetters = queue("EventDeadLetters")
}

func (s *ImagePipe) newSearchDomain(size SearchSize) {
	multiAZ := size.InstanceCount > 1
	s.Search = awsopensearchservice.NewDomain(s.Stack, jsii.String("Search"), &awsopensearchservice.DomainProps{
		DomainName: jsii.String(size.DomainName),
		Version:    awsopensearchservice.EngineVersion_OPENSEARCH_2_19(),
		Capacity: &awsopensearchservice.CapacityConfig{
			DataNodes:                 jsii.Number(size.InstanceCount),
			DataNodeInstanceType:      jsii.String(size.InstanceType),
			MultiAzWithStandbyEnabled: jsii.Bool(false),
		},
		ZoneAwareness: &awsopensearchservice.ZoneAwarenessConfig{
			Enabled:               jsii.Bool(multiAZ),
			AvailabilityZoneCount: availabilityZones(multiAZ),
		},
		Ebs: &awsopensearchservice.EbsOptions{
			VolumeSize: jsii.Number(size.VolumeGiB),
			VolumeType: "GP3",
		},
		EncryptionAtRest:     &awsopensearchservice.EncryptionAtRestOptions{Enabled: jsii.Bool(true)},
		NodeToNodeEncryption: jsii.Bool(true),
		EnforceHttps:         jsii.Bool(true),
		TlsSecurityPolicy:    awsopensearchservice.TLSSecurityPolicy_TLS_1_2,
		// The index is derived data: redriving the bucket's objects rebuilds it.
		RemovalPolicy: awscdk.RemovalPolicy_DESTROY,
	})
}

func availabilityZones(multiAZ bool) *float64 {
	if multiAZ {
		return jsii.Number(2)
	}
	return nil
}

// contextString is a CDK context value as a string ("" when absent): -c gives
// strings, cdk.json and AppProps may give booleans and numbers.
func contextString(scope constructs.Construct, key string) string {
	switch v := scope.Node().TryGetContext(jsii.String(key)).(type) {
	case string:
		return v
	case bool, float64:
		return fmt.Sprint(v)
	}
	return ""
}

func constructID(name string) string {
	out := []rune{}
	upper := true
	for _, r := range name {
		if r == '-' {
			upper = true
			continue
		}
		if upper && r >= 'a' && r <= 'z' {
			r -= 'a' - 'A'
		}
		upper = false
		out = append(out, r)
	}
	return string(out)
}

// newStateMachines: the pipeline and the removal, from statemachine/*.asl.json.
// Their logs keep events for a month; the executions' input and output (EXIF, GPS
// position) only with logData, since Standard executions' own history already
// keeps them for 90 days.
func (s *ImagePipe) newStateMachines(express, logData bool) error {
	// Each machine's substitutions come from the steps' table: every step's function
	// ARN under its variable, and the failure queue's URL.
	vars := map[string]map[string]*string{}
	for _, m := range []string{statemachine.MachinePipeline, statemachine.MachineRemove} {
		vars[m] = map[string]*string{statemachine.VarFailureQueueURL: s.FailureQueue.QueueUrl()}
	}
	for _, st := range statemachine.Steps() {
		vars[st.Machine][st.Variable] = s.Functions[st.Function].FunctionArn()
	}
	for m, vs := range vars {
		for _, v := range statemachine.Variables(statemachine.Definition(m)) {
			if vs[v] == nil {
				return fmt.Errorf("%s definition: substitution variable ${%s} has no value", m, v)
			}
		}
	}
	s.pipelineVariables, s.removeVariables = vars[statemachine.MachinePipeline], vars[statemachine.MachineRemove]
	kind := awsstepfunctions.StateMachineType_STANDARD
	if express {
		kind = awsstepfunctions.StateMachineType_EXPRESS
	}
	s.Pipeline = s.newMachine(statemachine.MachinePipeline, statemachine.Pipeline(), s.pipelineVariables, kind, logData)
	s.Remove = s.newMachine(statemachine.MachineRemove, statemachine.Remove(), s.removeVariables, kind, logData)
	s.FailureQueue.GrantSendMessages(s.Pipeline)
	s.FailureQueue.GrantSendMessages(s.Remove)
	machines := map[string]awsstepfunctions.StateMachine{statemachine.MachinePipeline: s.Pipeline, statemachine.MachineRemove: s.Remove}
	for _, st := range statemachine.Steps() {
		s.Functions[st.Function].GrantInvoke(machines[st.Machine])
	}
	return nil
}

// newMachine is one state machine from its definition, with its own log group:
// events for a month, executions' input and output only with logData.
func (s *ImagePipe) newMachine(id string, def []byte, vars map[string]*string, kind awsstepfunctions.StateMachineType, logData bool) awsstepfunctions.StateMachine {
	logs := awslogs.NewLogGroup(s.Stack, jsii.String(id+"Logs"), &awslogs.LogGroupProps{
		Retention:     awslogs.RetentionDays_ONE_MONTH,
		RemovalPolicy: awscdk.RemovalPolicy_DESTROY,
	})
	return awsstepfunctions.NewStateMachine(s.Stack, jsii.String(id), &awsstepfunctions.StateMachineProps{
		DefinitionBody:          awsstepfunctions.DefinitionBody_FromString(jsii.String(string(def))),
		DefinitionSubstitutions: &vars,
		StateMachineType:        kind,
		TracingEnabled:          jsii.Bool(true),
		Logs: &awsstepfunctions.LogOptions{
			Destination:          logs,
			Level:                awsstepfunctions.LogLevel_ALL,
			IncludeExecutionData: jsii.Bool(logData),
		},
	})
}

// eventPattern turns a statemachine.Pattern (shared with the twin's router) into the
// rule's pattern, so that the deployed rule and the twin cannot drift.
func eventPattern(p statemachine.Pattern) *awsevents.EventPattern {
	strings := func(v any) *[]*string {
		var out []*string
		for _, x := range v.([]any) {
			out = append(out, jsii.String(x.(string)))
		}
		return &out
	}
	ep := &awsevents.EventPattern{}
	for k, v := range p {
		switch k {
		case "source":
			ep.Source = strings(v)
		case "detail-type":
			ep.DetailType = strings(v)
		case "detail":
			d := map[string]any(v.(statemachine.Pattern))
			ep.Detail = &d
		default:
			panic("eventPattern: unsupported top-level key " + k)
		}
	}
	return ep
}

// newRules starts the state machines from S3's events. A start StartExecution
// throttles (bucket 1,300, refill 300/s) is retried by EventBridge for up to 24 hours
// and 185 attempts, then dead-lettered, so the rule targets the state machine directly
// with no queue in front: everything downstream binds near 40-50 images/s (DetectLabels
// 50 TPS; one t3.small.search node, estimated), six times under StartExecution's 300/s,
// and at 300/s the detect-labels retrier's budget (50 x ~300 s = 15,000 images) is
// spent in 15,000 / (300 - 50) = 60 s, long before throttled starts matter. A queue
// with a fixed-rate poller pays off only once those are raised past ~300 images/s
// (README, "Capacity and quotas").
func (s *ImagePipe) newRules() {
	target := func(sm awsstepfunctions.StateMachine) awsevents.IRuleTarget {
		return awseventstargets.NewSfnStateMachine(sm, &awseventstargets.SfnStateMachineProps{
			DeadLetterQueue: s.EventDeadLetters,
			RetryAttempts:   jsii.Number(185),
			MaxEventAge:     awscdk.Duration_Hours(jsii.Number(24)),
		})
	}
	bucket := *s.Bucket.BucketName()
	awsevents.NewRule(s.Stack, jsii.String("ObjectCreated"), &awsevents.RuleProps{
		Description:  jsii.String("Object Created under upload/ starts the pipeline"),
		EventPattern: eventPattern(statemachine.ObjectCreatedPattern(bucket)),
		Targets:      &[]awsevents.IRuleTarget{target(s.Pipeline)},
	})
	awsevents.NewRule(s.Stack, jsii.String("ObjectDeleted"), &awsevents.RuleProps{
		Description:  jsii.String("Object Deleted under upload/ removes the document and thumbnails"),
		EventPattern: eventPattern(statemachine.ObjectDeletedPattern(bucket)),
		Targets:      &[]awsevents.IRuleTarget{target(s.Remove)},
	})
}
