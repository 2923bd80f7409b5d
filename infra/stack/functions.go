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
	// ReservedConcurrency caps parallel invocations when the deploy reserves
	// concurrency (Props.ReservedConcurrency); 0: never reserved.
	ReservedConcurrency float64
}

// Memory settings of the pipeline's four functions are the sizes `imagepipe tune`
// chose (local/cost/tuned.json; TestMemorySizesAreTheTunedOnes holds them to it):
// each function measured under the twin's Runtime API at 128-3008 MB, in cgroups
// giving it that size's CPU share and memory limit, on 1, 12 and 24 MP photos, with
// S3, Rekognition and OpenSearch answering after stated latencies; the cheapest size
// whose p95 stays within 1.5x (or +100 ms) of the fastest size's on every photo.
// make-thumbnail: 512 MB (0.29 vCPU) costs $2.57 per million against $9.15 at
// 1769 MB, within that bound, because its reduced-scale decode is short beside its
// S3 reads and writes. extract-metadata and index-document wait on S3 and OpenSearch
// alone: 128 MB. The others fit in 128 MB (peaks from `make lambda-figures`: 10-19 MB
// idle).
func functionSpecs() []FunctionSpec {
	return []FunctionSpec{
		{Name: FnExtractMetadata, Description: "Reads format, dimensions and EXIF from an uploaded image", MemoryMiB: 128, Timeout: awscdk.Duration_Seconds(jsii.Number(30))},
		// Rekognition allows about 50 DetectLabels calls a second per account by
		// default (5 in smaller regions); 20 concurrent calls of ~0.5 s stay under
		// it. The reservation applies only with -c reservedConcurrency=true. A JPEG or PNG that
		// Rekognition takes is sent as an S3 reference (one 128 KiB header read);
		// anything else is rendered to a JPEG first, which peaks at 127 MB for a 12 MP
		// GIF and 426 MB for a 24 MP TIFF: 1024 MB renders up to about 60 MP. tune
		// keeps this as its floor (its JPEGs need only 128 MB: $1.10 against $7.42 per
		// million).
		{Name: FnDetectLabels, Description: "Detects labels with Amazon Rekognition", MemoryMiB: 1024, Timeout: awscdk.Duration_Seconds(jsii.Number(30)), ReservedConcurrency: 20},
		{Name: FnMakeThumbnail, Description: "Writes the thumbnail and preview of an uploaded image", MemoryMiB: 512, Timeout: awscdk.Duration_Seconds(jsii.Number(60))},
		{Name: FnIndexDocument, Description: "Upserts the image's search document", MemoryMiB: 128, Timeout: awscdk.Duration_Seconds(jsii.Number(30))},
		{Name: FnRemoveDocument, Description: "Removes a deleted image's document, thumbnail and preview", MemoryMiB: 128, Timeout: awscdk.Duration_Seconds(jsii.Number(30))},
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

// Lambda names (directories under functions/cmd and build/lambda).
const (
	FnExtractMetadata = "extract-metadata"
	FnDetectLabels    = "detect-labels"
	FnMakeThumbnail   = "make-thumbnail"
	FnIndexDocument   = "index-document"
	FnRemoveDocument  = "remove-document"
	FnSearch          = "search"
	FnPing            = "ping"
	FnPresignUpload   = "presign-upload"
	FnRedrive         = "redrive"
	FnLoadTester      = "load-tester"
	FnOperations      = "operations"
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
