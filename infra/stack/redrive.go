package stack

import (
	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsevents"
	"github.com/aws/aws-cdk-go/awscdk/v2/awseventstargets"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsiam"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsstepfunctions"
	"github.com/aws/jsii-runtime-go"

	"github.com/imagepipe/imagepipe/statemachine"
)

// newRedrive is the redrive Lambda (functions/cmd/redrive) and the redrive job that
// runs it in rounds (the Redrive state machine, statemachine/redrive.asl.json): on
// demand, and on a schedule when one is given. The Lambda's role may read, list and
// delete failure-queue messages, start executions of both pipeline state machines,
// and list and redrive their executions; nothing else (no bucket, no index). The
// job's role may invoke that one function.
func (s *ImagePipe) newRedrive(dir string, specs []FunctionSpec, schedule string, logData bool) {
	var spec FunctionSpec
	for _, sp := range specs {
		if sp.Name == FnRedrive {
			spec = sp
		}
	}
	fn := NewGoFunction(s.Stack, constructID(FnRedrive)+"Function", dir, spec, map[string]*string{
		"FAILURE_QUEUE_URL":          s.FailureQueue.QueueUrl(),
		"PIPELINE_STATE_MACHINE_ARN": s.Pipeline.StateMachineArn(),
		"REMOVE_STATE_MACHINE_ARN":   s.Remove.StateMachineArn(),
		"REDRIVE_MODE":               jsii.String("queue"),
	})
	s.Functions[FnRedrive] = fn
	// ChangeMessageVisibility: a run hands back the messages it leaves at its end.
	// GetQueueAttributes: the list action's approximate count.
	s.FailureQueue.Grant(fn, jsii.String("sqs:ReceiveMessage"), jsii.String("sqs:DeleteMessage"), jsii.String("sqs:ChangeMessageVisibility"),
		jsii.String("sqs:GetQueueAttributes"))
	for _, sm := range []awsstepfunctions.StateMachine{s.Pipeline, s.Remove} {
		sm.GrantStartExecution(fn)
		sm.Grant(fn, jsii.String("states:ListExecutions"))
	}
	fn.AddToRolePolicy(awsiam.NewPolicyStatement(&awsiam.PolicyStatementProps{
		Actions:   jsii.Strings("states:RedriveExecution", "states:DescribeExecution"),
		Resources: executionArns(s.Pipeline, s.Remove),
	}))
	// Always STANDARD: a job may run for up to an hour of rounds, past Express's five
	// minutes, and its history is how a caller follows it.
	s.RedriveJob = s.newMachine(statemachine.MachineRedrive, statemachine.Redrive(),
		map[string]*string{statemachine.VarRedriveFunctionArn: fn.FunctionArn()}, awsstepfunctions.StateMachineType_STANDARD, logData)
	fn.GrantInvoke(s.RedriveJob)
	if schedule == "" {
		return
	}
	awsevents.NewRule(s.Stack, jsii.String("RedriveSchedule"), &awsevents.RuleProps{
		Description: jsii.String("Starts the redrive job (failure queue to new executions)"),
		Schedule:    awsevents.Schedule_Expression(jsii.String(schedule)),
		Targets: &[]awsevents.IRuleTarget{awseventstargets.NewSfnStateMachine(s.RedriveJob, &awseventstargets.SfnStateMachineProps{
			// The job takes {messageIds?, includePermanent?} and refuses anything else,
			// such as the scheduled event itself.
			Input:         awsevents.RuleTargetInput_FromObject(map[string]any{}),
			RetryAttempts: jsii.Number(2),
			MaxEventAge:   awscdk.Duration_Hours(jsii.Number(1)),
		})},
	})
}
