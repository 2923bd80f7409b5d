package statemachine

import (
	_ "embed"
	"slices"
)

//go:embed pipeline.asl.json
var pipelineDefinition []byte

//go:embed remove.asl.json
var removeDefinition []byte

//go:embed redrive.asl.json
var redriveDefinition []byte

// Substitution variable names: the ${Name} placeholders of the definitions. The CDK
// app passes them as DefinitionSubstitutions; the twin deploys them from the
// template through Substitute.
const (
	VarExtractMetadataFunctionArn = "ExtractMetadataFunctionArn"
	VarDetectLabelsFunctionArn    = "DetectLabelsFunctionArn"
	VarMakeThumbnailFunctionArn   = "MakeThumbnailFunctionArn"
	VarIndexDocumentFunctionArn   = "IndexDocumentFunctionArn"
	VarRemoveDocumentFunctionArn  = "RemoveDocumentFunctionArn"
	VarFailureQueueURL            = "FailureQueueUrl"
	VarRedriveFunctionArn         = "RedriveFunctionArn"
)

// State names that other code refers to (the failure message's "state" field names
// one of the Task or Parallel states).
const (
	StateProcessImage       = "ProcessImage"
	StateExtractMetadata    = "ExtractMetadata"
	StateDetectLabels       = "DetectLabels"
	StateMakeThumbnail      = "MakeThumbnail"
	StateIndexDocument      = "IndexDocument"
	StateRemoveDocument     = "RemoveDocument"
	StateSendToFailureQueue = "SendToFailureQueue"
	StateFailed             = "Failed"
)

// Pipeline returns the "Object Created" definition (pipeline.asl.json), with its
// ${...} variables unsubstituted. The caller owns the returned copy.
func Pipeline() []byte { return slices.Clone(pipelineDefinition) }

// Remove returns the "Object Deleted" definition (remove.asl.json), unsubstituted.
func Remove() []byte { return slices.Clone(removeDefinition) }

// Redrive returns the redrive job's definition (redrive.asl.json), unsubstituted:
// the redrive Lambda in rounds over one snapshot of the failure queue.
func Redrive() []byte { return slices.Clone(redriveDefinition) }

// PipelineVariables lists the variables Pipeline uses, sorted: its steps' function
// ARNs (the Steps table) and the failure queue's URL.
func PipelineVariables() []string { return MachineVariables(MachinePipeline) }

// RemoveVariables lists the variables Remove uses, sorted.
func RemoveVariables() []string { return MachineVariables(MachineRemove) }

// MachineVariables lists a machine's variables, sorted: each of its steps' Variable
// and VarFailureQueueURL.
func MachineVariables(machine string) []string {
	vars := []string{VarFailureQueueURL}
	for _, st := range Steps() {
		if st.Machine == machine {
			vars = append(vars, st.Variable)
		}
	}
	slices.Sort(vars)
	return slices.Compact(vars)
}

// RedriveVariables lists the variables Redrive uses, sorted.
func RedriveVariables() []string { return []string{VarRedriveFunctionArn} }

// Redrive job facts that callers rely on: its error names, the rounds' bounds, and
// the most message ids one job takes.
const (
	StateRedriveRound        = "Round"
	ErrRedriveInvalidInput   = "InvalidRedriveInput"
	ErrRedriveRoundsExceeded = "RedriveRoundsExceeded"
	RedriveMaxRounds         = 60
	RedriveRoundSeconds      = 30
	RedriveMaxMessageIDs     = 100
)

// RetryableLambdaErrors are the Lambda service errors every Lambda Task retries.
// Lambda.ClientExecutionTimeoutException is AWS's recommended addition for lambda:invoke.
func RetryableLambdaErrors() []string {
	return []string{
		"Lambda.ServiceException",
		"Lambda.AWSLambdaException",
		"Lambda.SdkClientException",
		"Lambda.TooManyRequestsException",
		"Lambda.ClientExecutionTimeoutException",
	}
}
