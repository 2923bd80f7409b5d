package statemachine

import (
	_ "embed"
	"slices"
)

//go:embed pipeline.asl.json
var pipelineDefinition []byte

//go:embed remove.asl.json
var removeDefinition []byte

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

// PipelineVariables lists the variables Pipeline uses, sorted.
func PipelineVariables() []string {
	return []string{
		VarDetectLabelsFunctionArn,
		VarExtractMetadataFunctionArn,
		VarFailureQueueURL,
		VarIndexDocumentFunctionArn,
		VarMakeThumbnailFunctionArn,
	}
}

// RemoveVariables lists the variables Remove uses, sorted.
func RemoveVariables() []string {
	return []string{VarFailureQueueURL, VarRemoveDocumentFunctionArn}
}

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
