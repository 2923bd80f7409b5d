package statemachine

import "slices"

// The state machines' names as the CDK app's construct ids give them.
const (
	MachinePipeline = "Pipeline"
	MachineRemove   = "Remove"
	// MachineRedrive is the redrive job (redrive.asl.json): it runs the redrive
	// Lambda, which is no step of the pipeline, so it has no row in Steps.
	MachineRedrive = "Redrive"
)

// Step is one Task of a state machine and the Lambda function that runs it: what
// the CDK app deploys for it (settings, role, environment) and how the definitions
// reach it.
type Step struct {
	Function string // functions/cmd/<name> and the function's construct
	State    string // the Task state in the definition
	Variable string // the ${Variable} its FunctionName comes through
	Machine  string // MachinePipeline or MachineRemove
	Parallel bool   // a branch of the pipeline's Parallel state

	Description    string
	MemoryMiB      int
	TimeoutSeconds int
	// ReservedConcurrency caps parallel invocations when the deploy reserves
	// concurrency (the reservedConcurrency context); 0: never reserved.
	ReservedConcurrency int
	// Objects is every S3 request the code makes on the images bucket. A step that
	// gets objects is also granted s3:ListBucket, so that a missing key answers 404
	// (NoSuchKey), not 403, and a deleted upload is told from a refusal.
	Objects []ObjectAccess
	// Index is every request the code sends to the OpenSearch index. A step with
	// any gets OPENSEARCH_ENDPOINT and OPENSEARCH_INDEX; one that may create the
	// index (PUT on the index itself) gets OPENSEARCH_REPLICAS too.
	Index []IndexAccess
	// Actions are IAM actions without resource-level permissions (Resource "*").
	Actions []string
}

// ObjectAccess is S3 actions on key prefixes of the images bucket.
type ObjectAccess struct {
	Actions  []string
	Prefixes []string
}

// IndexAccess is OpenSearch HTTP actions (es:ESHttp*) on paths below /<index>/; ""
// is the index itself.
type IndexAccess struct {
	Actions []string
	Paths   []string
}

// CreatesIndex reports whether the step may create the index (PUT /<index>).
func (s Step) CreatesIndex() bool {
	for _, a := range s.Index {
		if slices.Contains(a.Actions, "es:ESHttpPut") && slices.Contains(a.Paths, "") {
			return true
		}
	}
	return false
}

// Key prefixes of the images bucket.
const (
	PrefixUpload    = "upload/"
	PrefixThumbnail = "thumbnail/"
	PrefixPreview   = "preview/"
)

// Steps is the one table of the pipeline's functions: the CDK app builds the
// functions (settings, grants, environment), the definitions' substitutions, invoke
// grants and fault switches from it, the cost model its execution time, and
// TestStepsMatchTheDefinitions holds it to the ASL. A new step is a row here, its
// handler (functions/cmd/<name>) and its Task in the ASL.
//
// Memory settings are the sizes `imagepipe tune` chose (local/cost/tuned.json;
// TestMemorySizesAreTheTunedOnes holds infra to it): each function measured under
// the twin's Runtime API at 128-3008 MB, in cgroups giving it that size's CPU share
// and memory limit, on 1, 12 and 24 MP photos, with S3, Rekognition and OpenSearch
// answering after stated latencies; the cheapest size whose p95 stays within 1.5x
// (or +100 ms) of the fastest size's on every photo. make-thumbnail: 512 MB (0.29
// vCPU) costs $2.57 per million against $9.15 at 1769 MB, within that bound,
// because its reduced-scale decode is short beside its S3 reads and writes.
// extract-metadata and index-document wait on S3 and OpenSearch alone: 128 MB.
// Peaks (`make lambda-figures`): every function fits in 128 MB of resident memory.
//
// Grants are what the code calls: functions/objects (S3), Rekognition's S3Object
// reads made with detect-labels' role, functions/searchindex/opensearch.go (its
// health checks and node discovery are off): OpenSearch.ensure PUTs /images,
// /images/_mapping and /images/_settings; Get GETs /images/_doc/{id}; upsertOnce
// PUTs it; Delete DELETEs it; FindByContentHash POSTs /images/_search.
// index-document runs Get, FindByContentHash and Upsert; remove-document runs Get,
// Reconcile (FindByContentHash, Upsert) and Delete. The steps that refuse an upload
// for good tag it (s3:PutObjectTagging) for the bucket's expiry rule.
func Steps() []Step {
	readUpload := ObjectAccess{[]string{"s3:GetObject"}, []string{PrefixUpload}}
	tagUpload := ObjectAccess{[]string{"s3:PutObjectTagging"}, []string{PrefixUpload}}
	writeIndex := IndexAccess{[]string{"es:ESHttpPut"}, []string{"", "_mapping", "_settings", "_doc/*"}}
	findByHash := IndexAccess{[]string{"es:ESHttpPost"}, []string{"_search"}}
	return []Step{
		{
			Function: "extract-metadata", State: StateExtractMetadata, Variable: VarExtractMetadataFunctionArn, Machine: MachinePipeline, Parallel: true,
			Description: "Reads format, dimensions and EXIF from an uploaded image", MemoryMiB: 128, TimeoutSeconds: 30,
			Objects: []ObjectAccess{readUpload, tagUpload},
		},
		{
			Function: "detect-labels", State: StateDetectLabels, Variable: VarDetectLabelsFunctionArn, Machine: MachinePipeline, Parallel: true,
			// Rekognition allows about 50 DetectLabels calls a second per account by
			// default (5 in smaller regions); 20 concurrent calls of ~0.5 s stay under
			// it. The reservation applies only with -c reservedConcurrency=true. A JPEG
			// or PNG that Rekognition takes is sent as an S3 reference (one 128 KiB
			// header read); anything else is rendered to a JPEG first, which peaks at
			// 127 MB for a 12 MP GIF and 426 MB for a 24 MP TIFF: 1024 MB renders up
			// to about 60 MP. tune keeps this as its floor (its JPEGs need only 128 MB:
			// $1.10 against $7.42 per million). It looks up labels already paid for
			// the same bytes (FindByObject: POST /images/_search, the only verb).
			Description: "Detects labels with Amazon Rekognition", MemoryMiB: 1024, TimeoutSeconds: 30, ReservedConcurrency: 20,
			Objects: []ObjectAccess{readUpload},
			Index:   []IndexAccess{{[]string{"es:ESHttpPost"}, []string{"_search"}}},
			// DetectLabels has no resource-level permissions.
			Actions: []string{"rekognition:DetectLabels"},
		},
		{
			Function: "make-thumbnail", State: StateMakeThumbnail, Variable: VarMakeThumbnailFunctionArn, Machine: MachinePipeline, Parallel: true,
			Description: "Writes the thumbnail and preview of an uploaded image", MemoryMiB: 512, TimeoutSeconds: 60,
			Objects: []ObjectAccess{readUpload, tagUpload, {[]string{"s3:PutObject"}, []string{PrefixThumbnail, PrefixPreview}}},
		},
		{
			Function: "index-document", State: StateIndexDocument, Variable: VarIndexDocumentFunctionArn, Machine: MachinePipeline,
			Description: "Upserts the image's search document", MemoryMiB: 128, TimeoutSeconds: 30,
			Index: []IndexAccess{writeIndex, {[]string{"es:ESHttpGet"}, []string{"_doc/*"}}, findByHash},
		},
		{
			Function: "remove-document", State: StateRemoveDocument, Variable: VarRemoveDocumentFunctionArn, Machine: MachineRemove,
			Description: "Removes a deleted image's document, thumbnail and preview", MemoryMiB: 128, TimeoutSeconds: 30,
			Objects: []ObjectAccess{{[]string{"s3:DeleteObject"}, []string{PrefixThumbnail, PrefixPreview}}},
			Index:   []IndexAccess{writeIndex, {[]string{"es:ESHttpGet", "es:ESHttpDelete"}, []string{"_doc/*"}}, findByHash},
		},
	}
}

// StepFunctions lists the steps' function names, in table order.
func StepFunctions() []string {
	var out []string
	for _, s := range Steps() {
		out = append(out, s.Function)
	}
	return out
}

// Definition returns a machine's definition, unsubstituted.
func Definition(machine string) []byte {
	switch machine {
	case MachineRemove:
		return Remove()
	case MachineRedrive:
		return Redrive()
	}
	return Pipeline()
}
