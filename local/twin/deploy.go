package twin

import (
	"fmt"
	"log/slog"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/imagepipe/imagepipe/local/apigw"
	"github.com/imagepipe/imagepipe/local/cfn"
	"github.com/imagepipe/imagepipe/local/lambdart"
	"github.com/imagepipe/imagepipe/local/s3edge"
	"github.com/imagepipe/imagepipe/local/sfn"
	"github.com/imagepipe/imagepipe/statemachine"
)

// FunctionMetadataKey names, on each AWS::Lambda::Function the CDK app builds from
// functions/cmd/<name>, that name (infra/stack.FunctionMetadataKey).
const FunctionMetadataKey = "imagepipe:function"

// deployment is what the twin creates from one resolved template: each list is one
// service's share, read from the template by the readers in resourceReaders.
type deployment struct {
	template *cfn.Template
	buckets  []string
	events   map[string]bool // buckets that send their changes to EventBridge
	// uploadExpiry is each bucket's AbortIncompleteMultipartUpload rule, in days.
	uploadExpiry map[string]func(key string) int
	// expiration is each bucket's lifecycle Expiration rules.
	expiration map[string][]s3edge.ExpirationRule
	cors       map[string][]corsRule // each bucket's CORS rules
	queues     []queueSpec
	machines   []machineSpec
	rules      []ruleSpec
	functions  []lambdart.Function
	commands   map[string]string // function ARN → functions/cmd/<name>
	api        []apigw.Resource
	domains    []string // OpenSearch domain names
	// dataNodes is each domain's ClusterConfig.InstanceCount (1 when unset).
	dataNodes map[string]int
	cognito   []*cfn.Resource
	// standIns counts the resources of each type the twin does not run itself.
	standIns map[string]int
}

type queueSpec struct {
	name  string
	attrs map[string]string
}

type machineSpec struct {
	logicalID, name, definition, role, kind string
}

type ruleSpec struct {
	name    string
	pattern map[string]any
	targets []ruleTargetSpec
}

// ruleTargetSpec is a rule's Step Functions target: the machine, the role EventBridge
// starts it as, and the dead-letter queue (an SQS ARN, or "") for what it cannot
// deliver.
type ruleTargetSpec struct {
	arn, role, dlq string
}

// resourceReaders reads the resource types the twin runs. Every other type must be
// in standIns (with what stands in for it) or the deployment fails: nothing in a
// template is dropped silently.
var resourceReaders = map[string]func(d *deployment, r *cfn.Resource, fnDir string) error{
	"AWS::S3::Bucket":                          readBucket,
	"Custom::S3BucketNotifications":            readBucketNotifications,
	"AWS::SQS::Queue":                          readQueue,
	"AWS::StepFunctions::StateMachine":         readStateMachine,
	"AWS::Events::Rule":                        readRule,
	"AWS::Lambda::Function":                    readFunction,
	"AWS::OpenSearchService::Domain":           readDomain,
	"AWS::ApiGateway::RestApi":                 readAPI,
	"AWS::ApiGateway::Resource":                readAPI,
	"AWS::ApiGateway::Method":                  readAPI,
	"AWS::ApiGateway::RequestValidator":        readAPI,
	"AWS::ApiGateway::GatewayResponse":         readAPI,
	"AWS::ApiGateway::Deployment":              readAPI,
	"AWS::ApiGateway::Stage":                   readAPI,
	"AWS::Cognito::UserPool":                   readCognito,
	"AWS::Cognito::UserPoolClient":             readCognito,
	"AWS::Cognito::UserPoolGroup":              readCognito,
	"AWS::Cognito::IdentityPool":               readCognito,
	"AWS::Cognito::IdentityPoolRoleAttachment": readCognito,
}

// cdkHandler stands for the functions that run CDK's custom resources.
const cdkHandler = "AWS::Lambda::Function (CDK custom-resource handler)"

// standIns says, for each resource type the twin does not create, what stands in for
// it; `imagepipe serve` lists them once at start.
var standIns = map[string]string{
	"AWS::IAM::Role":                       "enforced on the edge (local/iam): each function signs as a session of its role",
	"AWS::IAM::Policy":                     "enforced on the edge (local/iam)",
	"AWS::S3::BucketPolicy":                "enforced on the edge (local/iam)",
	"AWS::SQS::QueuePolicy":                "enforced on the edge (local/iam)",
	"AWS::Lambda::Permission":              "read; the twin's own services (Step Functions, API Gateway) invoke functions without the check",
	"AWS::Logs::LogGroup":                  "the twin's own log (stderr, JSON)",
	"AWS::CloudWatch::Alarm":               "nothing: the twin keeps no metrics",
	"AWS::CloudWatch::Dashboard":           "nothing: the twin keeps no metrics",
	"AWS::SNS::Topic":                      "nothing: alarms do not fire on the twin",
	"AWS::SNS::TopicPolicy":                "nothing",
	"AWS::CloudFront::Distribution":        "the web listener (--http-addr) serves web/dist",
	"AWS::CloudFront::OriginAccessControl": "the web listener (--http-addr) serves web/dist",
	"Custom::CDKBucketDeployment":          "the web listener serves web/dist directly",
	"AWS::Lambda::LayerVersion":            "nothing: used only by CDK's deployment custom resource",
	"AWS::ApiGateway::Account":             "nothing: the API's logs go to the twin's log",
	"AWS::CDK::Metadata":                   "nothing: CDK's version record",
	// readFunction counts the functions CDK adds to run its custom resources here.
	cdkHandler: "the twin does what their custom resources do (bucket notifications, the web app)",
}

// readDeployment sorts a resolved template's resources into the twin's services.
// fnDir holds the bootstraps built for this machine (build/twin/<name>/bootstrap).
func readDeployment(t *cfn.Template, fnDir string) (*deployment, error) {
	d := &deployment{events: map[string]bool{}, uploadExpiry: map[string]func(string) int{}, expiration: map[string][]s3edge.ExpirationRule{}, cors: map[string][]corsRule{}, commands: map[string]string{}, standIns: map[string]int{}}
	var unknown []string
	d.template = t
	for _, id := range t.Order {
		r := t.Resources[id]
		if !r.Active {
			continue
		}
		if read, ok := resourceReaders[r.Type]; ok {
			if err := read(d, r, fnDir); err != nil {
				return nil, fmt.Errorf("resource %s (%s): %w", r.LogicalID, r.Type, err)
			}
			continue
		}
		if _, ok := standIns[r.Type]; ok {
			d.standIns[r.Type]++
			continue
		}
		unknown = append(unknown, r.LogicalID+" ("+r.Type+")")
	}
	if len(unknown) > 0 {
		return nil, fmt.Errorf("the twin cannot deploy these resources (no emulation and nothing stands in): %s", strings.Join(unknown, ", "))
	}
	return d, nil
}

// logStandIns lists, once, what the twin does not run and what stands in for it.
func (d *deployment) logStandIns(log *slog.Logger) {
	for _, typ := range slices.Sorted(maps.Keys(d.standIns)) {
		log.Info("not emulated", "type", typ, "count", d.standIns[typ], "standIn", standIns[typ])
	}
}

func readBucket(d *deployment, r *cfn.Resource, _ string) error {
	if err := unsupported(r, "ObjectLockEnabled", "ReplicationConfiguration", "WebsiteConfiguration"); err != nil {
		return err
	}
	d.buckets = append(d.buckets, r.Name)
	d.uploadExpiry[r.Name] = s3edge.AbortIncompleteUploadDays(r.Properties["LifecycleConfiguration"])
	exp, err := s3edge.ExpirationRules(r.Properties["LifecycleConfiguration"])
	if err != nil {
		return fmt.Errorf("property %w", err)
	}
	d.expiration[r.Name] = exp
	rules, err := readCORS(r.Properties["CorsConfiguration"])
	if err != nil {
		return err
	}
	d.cors[r.Name] = rules
	if nc, ok := r.Properties["NotificationConfiguration"].(map[string]any); ok {
		if _, on := nc["EventBridgeConfiguration"]; on {
			d.events[r.Name] = true
		}
	}
	return nil
}

// readCORS reads a bucket's CorsConfiguration.
func readCORS(v any) ([]corsRule, error) {
	if v == nil {
		return nil, nil
	}
	raw, _ := cfn.Get(v, "CorsRules")
	list, _ := raw.([]any)
	if len(list) == 0 {
		return nil, fmt.Errorf("property CorsConfiguration has no CorsRules")
	}
	var out []corsRule
	for i := range list {
		at := strconv.Itoa(i)
		var r corsRule
		var e error
		if r.origins, e = cfn.Strs(v, "CorsRules", at, "AllowedOrigins"); e != nil {
			return nil, fmt.Errorf("property CorsConfiguration.CorsRules[%d].AllowedOrigins: %w", i, e)
		}
		if r.methods, e = cfn.Strs(v, "CorsRules", at, "AllowedMethods"); e != nil {
			return nil, fmt.Errorf("property CorsConfiguration.CorsRules[%d].AllowedMethods: %w", i, e)
		}
		r.headers, _ = cfn.Strs(v, "CorsRules", at, "AllowedHeaders")
		r.expose, _ = cfn.Strs(v, "CorsRules", at, "ExposedHeaders")
		if n, ok := cfn.Num(v, "CorsRules", at, "MaxAge"); ok {
			r.maxAge = int(n)
		}
		out = append(out, r)
	}
	return out, nil
}

// readBucketNotifications reads CDK's notification custom resource, which is how
// `eventBridgeEnabled: true` reaches a bucket.
func readBucketNotifications(d *deployment, r *cfn.Resource, _ string) error {
	bucket, _ := r.Properties["BucketName"].(string)
	nc, _ := r.Properties["NotificationConfiguration"].(map[string]any)
	for k := range nc {
		if k != "EventBridgeConfiguration" {
			return fmt.Errorf("NotificationConfiguration.%s: only EventBridge notifications are emulated", k)
		}
	}
	if _, on := nc["EventBridgeConfiguration"]; on {
		d.events[bucket] = true
	}
	return nil
}

// queueAttributes maps AWS::SQS::Queue properties to SetQueueAttributes names.
var queueAttributes = map[string]string{
	"DelaySeconds": "DelaySeconds", "MaximumMessageSize": "MaximumMessageSize",
	"MessageRetentionPeriod": "MessageRetentionPeriod", "ReceiveMessageWaitTimeSeconds": "ReceiveMessageWaitTimeSeconds",
	"VisibilityTimeout": "VisibilityTimeout",
}

func readQueue(d *deployment, r *cfn.Resource, _ string) error {
	q := queueSpec{name: r.Name, attrs: map[string]string{}}
	for prop, v := range r.Properties {
		switch prop {
		case "Tags", "QueueName", "SqsManagedSseEnabled", "KmsMasterKeyId", "KmsDataKeyReusePeriodSeconds":
			// Encryption at rest and tags change nothing a caller can observe.
		default:
			attr, ok := queueAttributes[prop]
			if !ok {
				return fmt.Errorf("property %s is not emulated", prop)
			}
			q.attrs[attr] = jsonScalar(v)
		}
	}
	d.queues = append(d.queues, q)
	return nil
}

func readStateMachine(d *deployment, r *cfn.Resource, _ string) error {
	def, ok := r.Properties["DefinitionString"].(string)
	if !ok {
		return fmt.Errorf("only DefinitionString is supported (DefinitionS3Location and Definition are not)")
	}
	vars := map[string]string{}
	if subs, ok := r.Properties["DefinitionSubstitutions"].(map[string]any); ok {
		for k, v := range subs {
			s, ok := v.(string)
			if !ok {
				return fmt.Errorf("DefinitionSubstitutions.%s is not a string", k)
			}
			vars[k] = s
		}
	}
	resolved, err := statemachine.Substitute([]byte(def), vars)
	if err != nil {
		return err
	}
	kind, _ := r.Properties["StateMachineType"].(string)
	if kind == "" {
		kind = "STANDARD"
	}
	if kind != sfn.TypeStandard && kind != sfn.TypeExpress {
		return fmt.Errorf("StateMachineType %s: not a state machine type (STANDARD or EXPRESS)", kind)
	}
	role, _ := r.Properties["RoleArn"].(string)
	name := r.Name
	d.machines = append(d.machines, machineSpec{logicalID: r.LogicalID, name: name, definition: string(resolved), role: role, kind: kind})
	return nil
}

func readRule(d *deployment, r *cfn.Resource, _ string) error {
	if state, _ := r.Properties["State"].(string); state != "" && state != "ENABLED" {
		return nil // a disabled rule matches nothing
	}
	if bus, _ := r.Properties["EventBusName"].(string); bus != "" && bus != "default" {
		return fmt.Errorf("EventBusName %s: only the default bus carries S3's events", bus)
	}
	pattern, ok := r.Properties["EventPattern"].(map[string]any)
	if !ok {
		return fmt.Errorf("only rules with an EventPattern are emulated (ScheduleExpression is not)")
	}
	rule := ruleSpec{name: r.Name, pattern: pattern}
	targets, _ := r.Properties["Targets"].([]any)
	for i, x := range targets {
		t, _ := x.(map[string]any)
		for k := range t {
			switch k {
			case "Arn", "Id", "RoleArn", "DeadLetterConfig", "RetryPolicy":
			default:
				return fmt.Errorf("property Targets[%d].%s is not emulated", i, k)
			}
		}
		arn, _ := t["Arn"].(string)
		if !strings.Contains(arn, ":states:") {
			return fmt.Errorf("property Targets[%d]: only Step Functions targets are emulated, not %s", i, arn)
		}
		role, _ := t["RoleArn"].(string)
		if role == "" {
			return fmt.Errorf("property Targets[%d]: a Step Functions target needs a RoleArn", i)
		}
		dlq, _ := cfn.Str(t, "DeadLetterConfig", "Arn")
		rule.targets = append(rule.targets, ruleTargetSpec{arn: arn, role: role, dlq: dlq})
	}
	d.rules = append(d.rules, rule)
	return nil
}

func readFunction(d *deployment, r *cfn.Resource, fnDir string) error {
	cmd, _ := r.Metadata[FunctionMetadataKey].(string)
	if cmd == "" {
		// CDK's own handlers (bucket notifications, bucket deployment) are what
		// their custom resources would run; the twin does those itself.
		d.standIns[cdkHandler]++
		return nil
	}
	p := r.Properties
	fn := lambdart.Function{
		Name:        r.Name,
		ARN:         FunctionARN(r.Name),
		Bootstrap:   filepath.Join(fnDir, cmd, "bootstrap"),
		Env:         map[string]string{},
		Timeout:     3 * time.Second,
		MemoryMB:    128,
		Runtime:     str(p, "Runtime"),
		Handler:     str(p, "Handler"),
		Description: str(p, "Description"),
		Role:        str(p, "Role"),
	}
	if v, ok := p["Timeout"].(float64); ok {
		fn.Timeout = time.Duration(v) * time.Second
	}
	if v, ok := p["MemorySize"].(float64); ok {
		fn.MemoryMB = int(v)
	}
	if v, ok := p["ReservedConcurrentExecutions"].(float64); ok {
		fn.ReservedConcurrency = int(v)
	}
	fn.Architecture = "x86_64"
	if archs, ok := p["Architectures"].([]any); ok && len(archs) == 1 {
		fn.Architecture, _ = archs[0].(string)
	}
	if env, ok := p["Environment"].(map[string]any); ok {
		vars, _ := env["Variables"].(map[string]any)
		for k, v := range vars {
			s, ok := v.(string)
			if !ok {
				return fmt.Errorf("Environment.Variables.%s is not a string", k)
			}
			fn.Env[k] = s
		}
	}
	if lc, ok := p["LoggingConfig"].(map[string]any); ok {
		fn.LogGroup, _ = lc["LogGroup"].(string)
	}
	if _, err := os.Stat(fn.Bootstrap); err != nil {
		return fmt.Errorf("function %s: no bootstrap at %s: run `make twin-lambdas` (it builds functions/cmd/%s for this machine)", fn.Name, fn.Bootstrap, cmd)
	}
	d.functions = append(d.functions, fn)
	d.commands[fn.ARN] = cmd
	return nil
}

func readDomain(d *deployment, r *cfn.Resource, _ string) error {
	d.domains = append(d.domains, r.Name)
	n := 1
	if v, ok := cfn.Num(r.Properties, "ClusterConfig", "InstanceCount"); ok {
		if v < 1 || v != float64(int(v)) {
			return fmt.Errorf("property ClusterConfig.InstanceCount %v is not a whole number of nodes", v)
		}
		n = int(v)
	}
	if d.dataNodes == nil {
		d.dataNodes = map[string]int{}
	}
	d.dataNodes[r.Name] = n
	return nil
}

func readCognito(d *deployment, r *cfn.Resource, _ string) error {
	d.cognito = append(d.cognito, r)
	return nil
}

func readAPI(d *deployment, r *cfn.Resource, _ string) error {
	d.api = append(d.api, apigw.Resource{LogicalID: r.LogicalID, Type: r.Type, PhysicalID: r.PhysicalID, Properties: r.Properties})
	return nil
}

// unsupported fails on the first named property the resource sets: the twin would
// not honour it, and a silent difference is worse than a refusal.
func unsupported(r *cfn.Resource, props ...string) error {
	for _, p := range props {
		if _, ok := r.Properties[p]; ok {
			return fmt.Errorf("property %s is not emulated", p)
		}
	}
	return nil
}

// jsonScalar writes a template number as an integer where it is one (1209600, not
// 1.2096e+06), as CloudFormation passes it on.
func jsonScalar(v any) string {
	if f, ok := v.(float64); ok {
		return strconv.FormatFloat(f, 'f', -1, 64)
	}
	return fmt.Sprint(v)
}

func str(props map[string]any, key string) string {
	s, _ := props[key].(string)
	return s
}
