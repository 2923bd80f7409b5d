package stack

import (
	"fmt"
	"os"
	"path/filepath"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awslambda"
	"github.com/aws/aws-cdk-go/awscdk/v2/awslogs"
	"github.com/aws/constructs-go/constructs/v10"
	"github.com/aws/jsii-runtime-go"

	"github.com/imagepipe/imagepipe/statemachine"
)

// FunctionSpec is what differs between the Lambdas; everything else is a default of
// NewGoFunction. The state machines' steps come from statemachine.Steps (settings,
// grants and environment alike); the other Lambdas are otherSpecs, each with its
// main under functions/cmd/<name> and its grants in the stack.
type FunctionSpec struct {
	Name        string // the directory name under functions/cmd and build/lambda
	Description string
	MemoryMiB   float64
	Timeout     awscdk.Duration
	// ReservedConcurrency caps parallel invocations when the deploy reserves
	// concurrency (Props.ReservedConcurrency); 0: never reserved.
	ReservedConcurrency float64
}

// functionSpecs lists every Lambda the stack deploys: the steps, then the others.
func functionSpecs() []FunctionSpec {
	var specs []FunctionSpec
	for _, st := range statemachine.Steps() {
		specs = append(specs, FunctionSpec{
			Name:                st.Function,
			Description:         st.Description,
			MemoryMiB:           float64(st.MemoryMiB),
			Timeout:             awscdk.Duration_Seconds(jsii.Number(st.TimeoutSeconds)),
			ReservedConcurrency: float64(st.ReservedConcurrency),
		})
	}
	return append(specs, otherSpecs()...)
}

// otherSpecs are the Lambdas that are not steps of a state machine. Memory: see
// statemachine.Steps; these peak at 10-19 MB idle.
func otherSpecs() []FunctionSpec {
	return []FunctionSpec{
		{Name: FnSearch, Description: "GET /images: searches the image documents", MemoryMiB: 128, Timeout: awscdk.Duration_Seconds(jsii.Number(10))},
		{Name: FnPing, Description: "GET /ping: counts the indexed documents", MemoryMiB: 128, Timeout: awscdk.Duration_Seconds(jsii.Number(10))},
		// Signs one POST policy per call (no I/O): the smallest size is plenty.
		{Name: FnPresignUpload, Description: "POST /uploads: a presigned S3 POST for one new key under the caller's upload prefix", MemoryMiB: 128, Timeout: awscdk.Duration_Seconds(jsii.Number(10))},
		// A partial run (stopped near the timeout) is safe: the next run carries on.
		{Name: FnRedrive, Description: "Redrives failed work: failure queue to new executions, or RedriveExecution", MemoryMiB: 128, Timeout: awscdk.Duration_Minutes(jsii.Number(5))},
		// Runs of at most 5 minutes (functions/cmd/load-tester) plus image generation
		// and stragglers. 1024 MB: two generated 12 MP frames (48 MB of RGBA each) and up
		// to 64 uploads of ~3 MB in flight, and more CPU for generating them. Only
		// operators may invoke it; with reservedConcurrency, two runs at a time.
		{Name: FnLoadTester, Description: "Uploads generated sample images under upload/load/ at a given rate (Status page)", MemoryMiB: 1024, Timeout: awscdk.Duration_Minutes(jsii.Number(6)), ReservedConcurrency: 2},
		// API Gateway waits 29 s for an integration; a redrive it invokes answers
		// within its 5 s budget (functions/cmd/redrive).
		{Name: FnOperations, Description: "Operators' API: executions, their history, redrive and stop; the failure queue", MemoryMiB: 128, Timeout: awscdk.Duration_Seconds(jsii.Number(29))},
	}
}

// Names of the Lambdas that are not steps (directories under functions/cmd and
// build/lambda); the steps' names are in statemachine.Steps.
const (
	FnSearch        = "search"
	FnPing          = "ping"
	FnPresignUpload = "presign-upload"
	FnRedrive       = "redrive"
	FnLoadTester    = "load-tester"
	FnOperations    = "operations"
)

// FunctionNames lists every Lambda the stack deploys.
func FunctionNames() []string {
	var names []string
	for _, s := range functionSpecs() {
		names = append(names, s.Name)
	}
	return names
}

// checkBootstraps reports the first missing build/lambda/<name>/bootstrap, so that a
// synth before `make build` fails with a useful message instead of a jsii panic.
func checkBootstraps(dir string, specs []FunctionSpec) error {
	for _, s := range specs {
		p := filepath.Join(dir, s.Name, "bootstrap")
		if _, err := os.Stat(p); err != nil {
			return fmt.Errorf("lambda %s: %w (run `make build` first)", s.Name, err)
		}
	}
	return nil
}

// NewGoFunction is a Go Lambda with the project's defaults: provided.al2023 on arm64,
// the bootstrap that `make build` leaves in codeDir/<name>/, X-Ray tracing, JSON logs
// kept for a month, and environment env.
func NewGoFunction(scope constructs.Construct, id string, codeDir string, spec FunctionSpec, env map[string]*string) awslambda.Function {
	logs := awslogs.NewLogGroup(scope, jsii.String(id+"Logs"), &awslogs.LogGroupProps{
		Retention:     awslogs.RetentionDays_ONE_MONTH,
		RemovalPolicy: awscdk.RemovalPolicy_DESTROY,
	})
	props := &awslambda.FunctionProps{
		Description:   jsii.String(spec.Description),
		Runtime:       awslambda.Runtime_PROVIDED_AL2023(),
		Architecture:  awslambda.Architecture_ARM_64(),
		Handler:       jsii.String("bootstrap"),
		Code:          awslambda.Code_FromAsset(jsii.String(filepath.Join(codeDir, spec.Name)), nil),
		MemorySize:    jsii.Number(spec.MemoryMiB),
		Timeout:       spec.Timeout,
		Tracing:       awslambda.Tracing_ACTIVE,
		LoggingFormat: awslambda.LoggingFormat_JSON,
		LogGroup:      logs,
		Environment:   &env,
	}
	if spec.ReservedConcurrency > 0 {
		props.ReservedConcurrentExecutions = jsii.Number(spec.ReservedConcurrency)
	}
	fn := awslambda.NewFunction(scope, jsii.String(id), props)
	// The twin builds this function's bootstrap from functions/cmd/<name>; the asset's
	// own path is a content hash that says nothing about which command it holds.
	fn.Node().DefaultChild().(awslambda.CfnFunction).AddMetadata(jsii.String(FunctionMetadataKey), spec.Name)
	return fn
}

// FunctionMetadataKey names, on each AWS::Lambda::Function, the functions/cmd/<name>
// its code is built from.
const FunctionMetadataKey = "imagepipe:function"
