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
)

// FunctionSpec is what differs between the Lambdas; everything else is a default of
// NewGoFunction. Adding a Lambda (redrive, load-tester) means one more spec in
// functionSpecs, a main under functions/cmd/<name>, and its grants in the stack.
type FunctionSpec struct {
	Name        string // the directory name under functions/cmd and build/lambda
	Description string
	MemoryMiB   float64
	Timeout     awscdk.Duration
	// ReservedConcurrency caps parallel invocations (0: unreserved).
	ReservedConcurrency float64
}

func functionSpecs() []FunctionSpec {
	return []FunctionSpec{
		{Name: FnExtractMetadata, Description: "Reads format, dimensions and EXIF from an uploaded image", MemoryMiB: 512, Timeout: awscdk.Duration_Seconds(jsii.Number(30))},
		// Rekognition allows about 50 DetectLabels calls a second per account by
		// default; 20 concurrent calls of ~0.5 s stay under it.
		{Name: FnDetectLabels, Description: "Detects labels with Amazon Rekognition", MemoryMiB: 256, Timeout: awscdk.Duration_Seconds(jsii.Number(30)), ReservedConcurrency: 20},
		{Name: FnMakeThumbnail, Description: "Writes the thumbnail and preview of an uploaded image", MemoryMiB: 1536, Timeout: awscdk.Duration_Seconds(jsii.Number(60))},
		{Name: FnIndexDocument, Description: "Upserts the image's search document", MemoryMiB: 256, Timeout: awscdk.Duration_Seconds(jsii.Number(30))},
		{Name: FnRemoveDocument, Description: "Removes a deleted image's document, thumbnail and preview", MemoryMiB: 256, Timeout: awscdk.Duration_Seconds(jsii.Number(30))},
		{Name: FnSearch, Description: "GET /images: searches the image documents", MemoryMiB: 256, Timeout: awscdk.Duration_Seconds(jsii.Number(10))},
		{Name: FnPing, Description: "GET /ping: counts the indexed documents", MemoryMiB: 128, Timeout: awscdk.Duration_Seconds(jsii.Number(10))},
		// A partial run (stopped near the timeout) is safe: the next run carries on.
		{Name: FnRedrive, Description: "Redrives failed work: failure queue to new executions, or RedriveExecution", MemoryMiB: 256, Timeout: awscdk.Duration_Minutes(jsii.Number(5))},
	}
}

// Lambda names (directories under functions/cmd and build/lambda).
const (
	FnExtractMetadata = "extract-metadata"
	FnDetectLabels    = "detect-labels"
	FnMakeThumbnail   = "make-thumbnail"
	FnIndexDocument   = "index-document"
	FnRemoveDocument  = "remove-document"
	FnSearch          = "search"
	FnPing            = "ping"
	FnRedrive         = "redrive"
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
	return awslambda.NewFunction(scope, jsii.String(id), props)
}
