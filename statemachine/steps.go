package statemachine

// The state machines' names as the CDK app's construct ids give them.
const (
	MachinePipeline = "Pipeline"
	MachineRemove   = "Remove"
	// MachineRedrive is the redrive job (redrive.asl.json): it runs the redrive
	// Lambda, which is no step of the pipeline, so it has no row in Steps.
	MachineRedrive = "Redrive"
)

// Step is one Task of a state machine and the Lambda function that runs it.
type Step struct {
	Function string // functions/cmd/<name> and the function's construct
	State    string // the Task state in the definition
	Variable string // the ${Variable} its FunctionName comes through
	Machine  string // MachinePipeline or MachineRemove
	Parallel bool   // a branch of the pipeline's Parallel state
}

// Steps is the one table of the pipeline's functions: the CDK app builds the
// definitions' substitutions, invoke grants and fault switches from it, the cost
// model its execution time, and TestStepsMatchTheDefinitions holds it to the ASL. A
// new step is a row here, its handler (functions/cmd/<name>) and its Task in the ASL.
func Steps() []Step {
	return []Step{
		{Function: "extract-metadata", State: StateExtractMetadata, Variable: VarExtractMetadataFunctionArn, Machine: MachinePipeline, Parallel: true},
		{Function: "detect-labels", State: StateDetectLabels, Variable: VarDetectLabelsFunctionArn, Machine: MachinePipeline, Parallel: true},
		{Function: "make-thumbnail", State: StateMakeThumbnail, Variable: VarMakeThumbnailFunctionArn, Machine: MachinePipeline, Parallel: true},
		{Function: "index-document", State: StateIndexDocument, Variable: VarIndexDocumentFunctionArn, Machine: MachinePipeline},
		{Function: "remove-document", State: StateRemoveDocument, Variable: VarRemoveDocumentFunctionArn, Machine: MachineRemove},
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
