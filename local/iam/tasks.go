package iam

import (
	"fmt"
	"strings"
)

// TaskNeeds is what a state machine's role needs for one Task state, from its
// Resource and its Parameters as resolved at run time ("How Step Functions
// generates IAM policies for integrated services"). The integrator checks each
// Need with Authorize(role, ...) before running the task, and fails the task
// with the service's AccessDenied error, as Step Functions does, when one is
// denied. Integrations the table does not know are an error naming them.
func TaskNeeds(env Env, resource string, params map[string]any) ([]Need, error) {
	str := func(k string) string { s, _ := params[k].(string); return s }
	base, _, _ := strings.Cut(resource, ".") // .waitForTaskToken, .sync, .sync:2
	sync := strings.Contains(resource, ".sync")
	switch {
	case strings.HasPrefix(resource, "arn:") && strings.Contains(resource, ":lambda:") && strings.Contains(resource, ":function:"):
		return []Need{{Action: "lambda:InvokeFunction", Resource: resource}}, nil // a function ARN as the Resource
	case strings.HasSuffix(base, ":::lambda:invoke"):
		fn := str("FunctionName")
		if fn == "" {
			return nil, fmt.Errorf("iam: %s without Parameters.FunctionName", resource)
		}
		return []Need{{Action: "lambda:InvokeFunction", Resource: FunctionARN(env, fn, str("Qualifier"))}}, nil
	case strings.HasSuffix(base, ":::sqs:sendMessage"):
		return []Need{{Action: "sqs:SendMessage", Resource: QueueARN(env, str("QueueUrl"))}}, nil
	case strings.HasSuffix(base, ":::sns:publish"):
		topic := str("TopicArn")
		if topic == "" {
			topic = str("TargetArn")
		}
		return []Need{{Action: "sns:Publish", Resource: topic}}, nil
	case strings.HasSuffix(base, ":::states:startExecution"):
		sm := str("StateMachineArn")
		needs := []Need{{Action: "states:StartExecution", Resource: sm}}
		if sync { // the .sync pattern follows the child execution and can stop it
			name := sm[strings.LastIndex(sm, ":")+1:]
			executions := env.ARN("states", env.Region, env.Account, "execution:"+name+":*")
			rule := env.ARN("events", env.Region, env.Account, "rule/StepFunctionsGetEventsForStepFunctionsExecutionRule")
			needs = append(needs, Need{Action: "states:DescribeExecution", Resource: executions}, Need{Action: "states:StopExecution", Resource: executions},
				Need{Action: "events:PutTargets", Resource: rule}, Need{Action: "events:PutRule", Resource: rule}, Need{Action: "events:DescribeRule", Resource: rule})
		}
		return needs, nil
	}
	return nil, fmt.Errorf("%w: Task resource %s", ErrUnknownOperation, resource)
}
