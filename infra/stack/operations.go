package stack

import (
	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsapigateway"
	"github.com/aws/aws-cdk-go/awscdk/v2/awscloudwatch"
	"github.com/aws/aws-cdk-go/awscdk/v2/awscloudwatchactions"
	"github.com/aws/aws-cdk-go/awscdk/v2/awssns"
	"github.com/aws/aws-cdk-go/awscdk/v2/awssnssubscriptions"
	"github.com/aws/aws-cdk-go/awscdk/v2/awssqs"
	"github.com/aws/jsii-runtime-go"
)

func fiveMinutes() awscdk.Duration { return awscdk.Duration_Minutes(jsii.Number(5)) }

// newOperations: alarms to an SNS topic (email from context) and one dashboard.
func (s *ImagePipe) newOperations(email string, api awsapigateway.RestApi) awscloudwatch.Dashboard {
	topic := awssns.NewTopic(s.Stack, jsii.String("Alarms"), &awssns.TopicProps{
		DisplayName: jsii.String("imagepipe alarms"),
		EnforceSSL:  jsii.Bool(true),
	})
	if email != "" {
		topic.AddSubscription(awssnssubscriptions.NewEmailSubscription(jsii.String(email), nil))
	}
	action := awscloudwatchactions.NewSnsAction(topic)
	alarm := func(id, description string, metric awscloudwatch.IMetric, threshold float64) {
		a := awscloudwatch.NewAlarm(s.Stack, jsii.String(id), &awscloudwatch.AlarmProps{
			AlarmDescription:   jsii.String(description),
			Metric:             metric,
			Threshold:          jsii.Number(threshold),
			EvaluationPeriods:  jsii.Number(1),
			ComparisonOperator: awscloudwatch.ComparisonOperator_GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
			TreatMissingData:   awscloudwatch.TreatMissingData_NOT_BREACHING,
		})
		a.AddAlarmAction(action)
	}
	sum := &awscloudwatch.MetricOptions{Period: fiveMinutes(), Statistic: jsii.String("Sum")}
	max := &awscloudwatch.MetricOptions{Period: fiveMinutes(), Statistic: jsii.String("Maximum")}
	alarm("PipelineFailedAlarm", "Pipeline executions failed (see the failure queue)", s.Pipeline.MetricFailed(sum), 1)
	alarm("RemoveFailedAlarm", "Removal executions failed (see the failure queue)", s.Remove.MetricFailed(sum), 1)
	alarm("FailureQueueAlarm", "Messages wait in the failure queue: inspect, fix, `imagepipe redrive`", s.FailureQueue.MetricApproximateNumberOfMessagesVisible(max), 1)
	alarm("EventDeadLettersAlarm", "EventBridge could not start executions", s.EventDeadLetters.MetricApproximateNumberOfMessagesVisible(max), 1)
	for _, name := range FunctionNames() {
		alarm(constructID(name)+"ErrorsAlarm", "Lambda "+name+" errors", s.Functions[name].MetricErrors(sum), 5)
	}

	dash := awscloudwatch.NewDashboard(s.Stack, jsii.String("Dashboard"), &awscloudwatch.DashboardProps{
		DefaultInterval: awscdk.Duration_Hours(jsii.Number(3)),
	})
	graph := func(title string, metrics ...awscloudwatch.IMetric) awscloudwatch.IWidget {
		return awscloudwatch.NewGraphWidget(&awscloudwatch.GraphWidgetProps{
			Title: jsii.String(title), Left: &metrics, Width: jsii.Number(8),
		})
	}
	var durations, errors, throttles []awscloudwatch.IMetric
	for _, name := range FunctionNames() {
		fn := s.Functions[name]
		label := &awscloudwatch.MetricOptions{Label: jsii.String(name), Period: fiveMinutes()}
		durations = append(durations, fn.MetricDuration(label))
		errors = append(errors, fn.MetricErrors(label))
		throttles = append(throttles, fn.MetricThrottles(label))
	}
	queue := func(q awssqs.Queue, label string) awscloudwatch.IMetric {
		return q.MetricApproximateNumberOfMessagesVisible(&awscloudwatch.MetricOptions{Label: jsii.String(label), Statistic: jsii.String("Maximum"), Period: fiveMinutes()})
	}
	dash.AddWidgets(
		graph("Executions", s.Pipeline.MetricStarted(sum), s.Pipeline.MetricSucceeded(sum), s.Pipeline.MetricFailed(sum)),
		graph("Execution duration", s.Pipeline.MetricTime(nil)),
		graph("Removals", s.Remove.MetricStarted(sum), s.Remove.MetricSucceeded(sum), s.Remove.MetricFailed(sum)),
	)
	dash.AddWidgets(
		graph("Lambda duration", durations...),
		graph("Lambda errors", errors...),
		graph("Lambda throttles", throttles...),
	)
	dash.AddWidgets(
		graph("Queue depth", queue(s.FailureQueue, "failure queue"), queue(s.EventDeadLetters, "event dead letters")),
		graph("API errors", api.MetricClientError(sum), api.MetricServerError(sum)),
		graph("API latency", api.MetricLatency(nil), api.MetricIntegrationLatency(nil)),
	)
	return dash
}

func (s *ImagePipe) newOutputs(api awsapigateway.RestApi, id identity, site website, dash awscloudwatch.Dashboard) {
	out := func(name, description string, value *string) {
		awscdk.NewCfnOutput(s.Stack, jsii.String(name), &awscdk.CfnOutputProps{Value: value, Description: jsii.String(description)})
	}
	out("Region", "AWS region", awscdk.Aws_REGION())
	out("BucketName", "Images bucket: upload under upload/", s.Bucket.BucketName())
	out("ApiUrl", "REST API (SigV4)", api.Url())
	out("IdentityPoolId", "Cognito identity pool", id.identityPool.Ref())
	out("UserPoolId", "Cognito user pool", id.userPool.UserPoolId())
	out("UserPoolClientId", "Cognito user pool client (web)", id.client.UserPoolClientId())
	out("WebsiteUrl", "Web app", site.origin)
	out("StateMachineArn", "Pipeline state machine", s.Pipeline.StateMachineArn())
	out("RemoveStateMachineArn", "Removal state machine", s.Remove.StateMachineArn())
	out("FailureQueueUrl", "Failure queue ({error, cause, state, input})", s.FailureQueue.QueueUrl())
	out("RedriveFunctionName", "Redrive Lambda: invoke it to redrive the failure queue (see infra/README.md)", s.Functions[FnRedrive].FunctionName())
	out("LoadTesterFunctionName", "Load-tester Lambda: signed-in users invoke it from the Status page (see infra/README.md)", s.Functions[FnLoadTester].FunctionName())
	out("DashboardUrl", "CloudWatch dashboard", awscdk.Fn_Join(jsii.String(""), &[]*string{
		jsii.String("https://console.aws.amazon.com/cloudwatch/home?region="), awscdk.Aws_REGION(),
		jsii.String("#dashboards:name="), dash.DashboardName(),
	}))
}
