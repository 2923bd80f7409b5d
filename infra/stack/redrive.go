package stack

import (
	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsevents"
	"github.com/aws/aws-cdk-go/awscdk/v2/awseventstargets"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsiam"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsstepfunctions"
	"github.com/aws/jsii-runtime-go"
)

// newRedrive is the redrive Lambda (functions/cmd/redrive): on demand, and on a
// schedule when one is given. Its role may read and delete failure-queue messages,
// start executions of both state machines, and list and redrive their executions;
// nothing else (no bucket, no index).
func (s *ImagePipe) newRedrive(dir string, specs []FunctionSpec, schedule string) {
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
	s.FailureQueue.Grant(fn, jsii.String("sqs:ReceiveMessage"), jsii.String("sqs:DeleteMessage"), jsii.String("sqs:ChangeMessageVisibility"))
	for _, sm := range []awsstepfunctions.StateMachine{s.Pipeline, s.Remove} {
		sm.GrantStartExecution(fn)
		sm.Grant(fn, jsii.String("states:ListExecutions"))
	}
	fn.AddToRolePolicy(awsiam.NewPolicyStatement(&awsiam.PolicyStatementProps{
		Actions:   jsii.Strings("states:RedriveExecution", "states:DescribeExecution"),
		Resources: executionArns(s.Pipeline, s.Remove),
	}))
	if schedule == "" {
		return
	}
	awsevents.NewRule(s.Stack, jsii.String("RedriveSchedule"), &awsevents.RuleProps{
		Description: jsii.String("Runs the redrive Lambda (failure queue to new executions)"),
		Schedule:    awsevents.Schedule_Expression(jsii.String(schedule)),
		Targets: &[]awsevents.IRuleTarget{awseventstargets.NewLambdaFunction(fn, &awseventstargets.LambdaFunctionProps{
			Event:         awsevents.RuleTargetInput_FromObject(map[string]any{"mode": "queue"}),
			RetryAttempts: jsii.Number(2),
			MaxEventAge:   awscdk.Duration_Hours(jsii.Number(1)),
		})},
	})
}
