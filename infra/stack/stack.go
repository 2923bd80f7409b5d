// Package stack is the imagepipe CDK stack: the images bucket and its EventBridge
// rules, the two state machines, the Lambdas, the failure queue, the OpenSearch
// domain, the IAM-authorized REST API, Cognito identity, the website and the alarms.
package stack

import (
	"fmt"
	"slices"

	"github.com/aws/aws-cdk-go/awscdk/v2"
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
	// RedriveSchedule, an EventBridge rate(...) or cron(...) expression, runs the
	// redrive Lambda on a schedule; "" reads the "redriveSchedule" context, and
	// without either the Lambda runs only on demand.
	RedriveSchedule string
}

// SearchSize is the OpenSearch domain's capacity.
type SearchSize struct {
	DomainName    string  // default "imagepipe"
	InstanceType  string  // default "t3.small.search"
	InstanceCount float64 // default 1; more than 1 spreads nodes over two zones
	VolumeGiB     float64 // default 10
}

// ImagePipe is the synthesized stack and the resources tests and extensions reach.
type ImagePipe struct {
	awscdk.Stack
	Bucket            awss3.Bucket
	Functions         map[string]awslambda.Function
	Pipeline          awsstepfunctions.StateMachine
	Remove            awsstepfunctions.StateMachine
	FailureQueue      awssqs.Queue
	EventDeadLetters  awssqs.Queue
	Search            awsopensearchservice.Domain
	UnauthRole        awsiam.Role
	AuthRole          awsiam.Role
	pipelineVariables map[string]*string
	removeVariables   map[string]*string
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
	props.Search = props.Search.withDefaults()
	s := &ImagePipe{Stack: awscdk.NewStack(scope, jsii.String(id), &props.StackProps)}
	awscdk.Tags_Of(s.Stack).Add(jsii.String("project"), jsii.String("imagepipe"), nil)

	logBucket := s.newAccessLogBucket()
	site := s.newWebsite(logBucket)
	s.newImagesBucket(logBucket, site.origin)
	s.newQueues()
	s.newSearchDomain(props.Search)
	s.newFunctions(props.LambdaDir, specs, site.origin, props.Search.DomainName, props.Faults)
	if err := s.newStateMachines(props.Express); err != nil {
		return nil, err
	}
	s.newRedrive(props.LambdaDir, specs, props.RedriveSchedule)
	s.newRules()
	api := s.newAPI(site.origin)
	identity := s.newIdentity(api)
	s.newLoadTester(props.LambdaDir, specs)
	s.deployWebsite(site, props.WebDist, api, identity)
	dashboard := s.newOperations(props.AlarmEmail, api)
	s.newOutputs(api, identity, site, dashboard)
	suppressFindings(s)
	return s, nil
}

func (z SearchSize) withDefaults() SearchSize {
	if z.DomainName == "" {
		z.DomainName = "imagepipe"
	}
	if z.InstanceType == "" {
		z.InstanceType = "t3.small.search"
	}
	if z.InstanceCount < 1 {
		z.InstanceCount = 1
	}
	if z.VolumeGiB <= 0 {
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

func (s *ImagePipe) newImagesBucket(logs awss3.Bucket, webOrigin *string) {
	s.Bucket = awss3.NewBucket(s.Stack, jsii.String("Images"), &awss3.BucketProps{
		BlockPublicAccess:      awss3.BlockPublicAccess_BLOCK_ALL(),
		Encryption:             awss3.BucketEncryption_S3_MANAGED,
		EnforceSSL:             jsii.Bool(true),
		EventBridgeEnabled:     jsii.Bool(true),
		ServerAccessLogsBucket: logs,
		ServerAccessLogsPrefix: jsii.String("images/"),
		Cors: &[]*awss3.CorsRule{{
			AllowedMethods: &[]awss3.HttpMethods{awss3.HttpMethods_PUT, awss3.HttpMethods_POST, awss3.HttpMethods_GET, awss3.HttpMethods_HEAD},
			AllowedOrigins: jsii.Strings(*webOrigin, "http://localhost:5173"),
			AllowedHeaders: jsii.Strings("*"),
			ExposedHeaders: jsii.Strings("ETag"),
			MaxAge:         jsii.Number(3000),
		}},
		LifecycleRules: &[]*awss3.LifecycleRule{{
			Id:                                  jsii.String("abort-incomplete-multipart-uploads"),
			AbortIncompleteMultipartUploadAfter: awscdk.Duration_Days(jsii.Number(1)),
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

// contextString is a CDK context value given as a string ("" when absent).
func contextString(scope constructs.Construct, key string) string {
	v, _ := scope.Node().TryGetContext(jsii.String(key)).(string)
	return v
}

func (s *ImagePipe) newFunctions(dir string, specs []FunctionSpec, webOrigin *string, domainName string, faults map[string]string) {
	// A bare host name, as the domain reports it; the functions add https://. (The
	// twin resolves the same attribute to its own http:// URL.)
	endpoint := s.Search.DomainEndpoint()
	s.Functions = map[string]awslambda.Function{}
	for _, spec := range specs {
		if spec.Name == FnRedrive || spec.Name == FnLoadTester { // own env and grants: newRedrive, newLoadTester
			continue
		}
		env := map[string]*string{
			"IMAGES_BUCKET":       s.Bucket.BucketName(),
			"OPENSEARCH_ENDPOINT": endpoint,
			"OPENSEARCH_INDEX":    jsii.String(SearchIndex),
			"ALLOWED_ORIGIN":      webOrigin,
		}
		// Only the named functions get FAULT_MODE; a deploy without the context heals.
		if mode, ok := faults[spec.Name]; ok {
			env["FAULT_MODE"] = jsii.String(mode)
		}
		s.Functions[spec.Name] = NewGoFunction(s.Stack, constructID(spec.Name)+"Function", dir, spec, env)
	}
	fn := s.Functions
	uploads := jsii.String("upload/*")
	for _, name := range []string{FnExtractMetadata, FnDetectLabels, FnMakeThumbnail} {
		s.Bucket.GrantRead(fn[name], uploads)
	}
	// DetectLabels has no resource-level permissions: "*" is the only resource.
	fn[FnDetectLabels].AddToRolePolicy(awsiam.NewPolicyStatement(&awsiam.PolicyStatementProps{
		Actions:   jsii.Strings("rekognition:DetectLabels"),
		Resources: jsii.Strings("*"),
	}))
	for _, prefix := range []string{"thumbnail/*", "preview/*"} {
		s.Bucket.GrantPut(fn[FnMakeThumbnail], jsii.String(prefix))
		s.Bucket.GrantDelete(fn[FnRemoveDocument], jsii.String(prefix))
		s.Bucket.GrantRead(fn[FnSearch], jsii.String(prefix)) // presigned thumbnail URLs
	}
	for _, name := range []string{FnIndexDocument, FnRemoveDocument} {
		s.Search.GrantIndexReadWrite(jsii.String(SearchIndex), fn[name])
	}
	for _, name := range []string{FnSearch, FnPing} {
		s.Search.GrantIndexRead(jsii.String(SearchIndex), fn[name])
	}
	s.restrictDomainToFunctions(domainName)
}

// restrictDomainToFunctions writes the domain's resource policy straight onto the
// CfnDomain: only the functions' roles may call it. (Domain's accessPolicies prop
// would add a custom-resource Lambda for the same result.)
func (s *ImagePipe) restrictDomainToFunctions(domainName string) {
	var principals []awsiam.IPrincipal
	for _, name := range FunctionNames() {
		if name == FnRedrive || name == FnLoadTester { // never talk to the index
			continue
		}
		principals = append(principals, awsiam.NewArnPrincipal(s.Functions[name].Role().RoleArn()))
	}
	// The domain's own ARN cannot be a Ref here (a self-reference), so it is built
	// from the fixed domain name.
	policy := awsiam.NewPolicyDocument(&awsiam.PolicyDocumentProps{
		Statements: &[]awsiam.PolicyStatement{awsiam.NewPolicyStatement(&awsiam.PolicyStatementProps{
			Principals: &principals,
			Actions:    jsii.Strings("es:ESHttp*"),
			Resources: jsii.Strings(fmt.Sprintf("arn:%s:es:%s:%s:domain/%s/*",
				*awscdk.Aws_PARTITION(), *awscdk.Aws_REGION(), *awscdk.Aws_ACCOUNT_ID(), domainName)),
		})},
	})
	s.Search.Node().DefaultChild().(awsopensearchservice.CfnDomain).SetAccessPolicies(policy)
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

func (s *ImagePipe) newStateMachines(express bool) error {
	fn := s.Functions
	s.pipelineVariables = map[string]*string{
		statemachine.VarExtractMetadataFunctionArn: fn[FnExtractMetadata].FunctionArn(),
		statemachine.VarDetectLabelsFunctionArn:    fn[FnDetectLabels].FunctionArn(),
		statemachine.VarMakeThumbnailFunctionArn:   fn[FnMakeThumbnail].FunctionArn(),
		statemachine.VarIndexDocumentFunctionArn:   fn[FnIndexDocument].FunctionArn(),
		statemachine.VarFailureQueueURL:            s.FailureQueue.QueueUrl(),
	}
	s.removeVariables = map[string]*string{
		statemachine.VarRemoveDocumentFunctionArn: fn[FnRemoveDocument].FunctionArn(),
		statemachine.VarFailureQueueURL:           s.FailureQueue.QueueUrl(),
	}
	for name, vars := range map[string]map[string]*string{"pipeline": s.pipelineVariables, "remove": s.removeVariables} {
		def := statemachine.Pipeline()
		if name == "remove" {
			def = statemachine.Remove()
		}
		for _, v := range statemachine.Variables(def) {
			if vars[v] == nil {
				return fmt.Errorf("%s definition: substitution variable ${%s} has no value", name, v)
			}
		}
	}
	kind := awsstepfunctions.StateMachineType_STANDARD
	if express {
		kind = awsstepfunctions.StateMachineType_EXPRESS
	}
	newMachine := func(id string, def []byte, vars map[string]*string) awsstepfunctions.StateMachine {
		logs := awslogs.NewLogGroup(s.Stack, jsii.String(id+"Logs"), &awslogs.LogGroupProps{
			Retention:     awslogs.RetentionDays_ONE_MONTH,
			RemovalPolicy: awscdk.RemovalPolicy_DESTROY,
		})
		sm := awsstepfunctions.NewStateMachine(s.Stack, jsii.String(id), &awsstepfunctions.StateMachineProps{
			DefinitionBody:          awsstepfunctions.DefinitionBody_FromString(jsii.String(string(def))),
			DefinitionSubstitutions: &vars,
			StateMachineType:        kind,
			TracingEnabled:          jsii.Bool(true),
			Logs: &awsstepfunctions.LogOptions{
				Destination:          logs,
				Level:                awsstepfunctions.LogLevel_ALL,
				IncludeExecutionData: jsii.Bool(true),
			},
		})
		s.FailureQueue.GrantSendMessages(sm)
		return sm
	}
	s.Pipeline = newMachine("Pipeline", statemachine.Pipeline(), s.pipelineVariables)
	for _, name := range []string{FnExtractMetadata, FnDetectLabels, FnMakeThumbnail, FnIndexDocument} {
		fn[name].GrantInvoke(s.Pipeline)
	}
	s.Remove = newMachine("Remove", statemachine.Remove(), s.removeVariables)
	fn[FnRemoveDocument].GrantInvoke(s.Remove)
	return nil
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
