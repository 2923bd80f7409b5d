package stack

import (
	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsapigateway"
	"github.com/aws/aws-cdk-go/awscdk/v2/awscloudwatch"
	"github.com/aws/aws-cdk-go/awscdk/v2/awscloudwatchactions"
	"github.com/aws/aws-cdk-go/awscdk/v2/awssns"
	"github.com/aws/aws-cdk-go/awscdk/v2/awssnssubscriptions"
	"github.com/aws/aws-cdk-go/awscdk/v2/awssqs"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsstepfunctions"
	"github.com/aws/jsii-runtime-go"
)

func fiveMinutes() awscdk.Duration { return awscdk.Duration_Minutes(jsii.Number(5)) }

// alarmSpec is one alarm: the metric (with its statistic and period), the
// threshold, how many periods must breach, and the direction.
type alarmSpec struct {
	id, description string
	metric          awscloudwatch.IMetric
	threshold       float64
	periods         float64 // evaluation periods (and datapoints to alarm); 0 means 1
	below           bool    // alarm at or below the threshold instead of at or above
}

// newOperations: alarms to an SNS topic (email from context) and one dashboard.
// Every way an execution can end badly or stall (failed, timed out, aborted,
// throttled) alarms, as does everything that stops the index taking writes or answering,
// and API errors: none of them is silent.
func (s *ImagePipe) newOperations(email string, api awsapigateway.RestApi, size SearchSize) awscloudwatch.Dashboard {
	topic := awssns.NewTopic(s.Stack, jsii.String("Alarms"), &awssns.TopicProps{
		DisplayName: jsii.String("imagepipe alarms"),
		EnforceSSL:  jsii.Bool(true),
	})
	if email != "" {
		topic.AddSubscription(awssnssubscriptions.NewEmailSubscription(jsii.String(email), nil))
	}
	action := awscloudwatchactions.NewSnsAction(topic)
	for _, a := range s.alarmSpecs(api, size) {
		cmp := awscloudwatch.ComparisonOperator_GREATER_THAN_OR_EQUAL_TO_THRESHOLD
		if a.below {
			cmp = awscloudwatch.ComparisonOperator_LESS_THAN_OR_EQUAL_TO_THRESHOLD
		}
		periods := max(a.periods, 1)
		awscloudwatch.NewAlarm(s.Stack, jsii.String(a.id), &awscloudwatch.AlarmProps{
			AlarmDescription:   jsii.String(a.description),
			Metric:             a.metric,
			Threshold:          jsii.Number(a.threshold),
			EvaluationPeriods:  jsii.Number(periods),
			DatapointsToAlarm:  jsii.Number(periods),
			ComparisonOperator: cmp,
			TreatMissingData:   awscloudwatch.TreatMissingData_NOT_BREACHING,
		}).AddAlarmAction(action)
	}
	sum := &awscloudwatch.MetricOptions{Period: fiveMinutes(), Statistic: jsii.String("Sum")}
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
		graph("Executions", s.Pipeline.MetricStarted(sum), s.Pipeline.MetricSucceeded(sum), s.Pipeline.MetricFailed(sum),
			s.Pipeline.MetricTimedOut(sum), s.Pipeline.MetricAborted(sum), s.Pipeline.MetricThrottled(sum)),
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
	minute := &awscloudwatch.MetricOptions{Period: oneMinute(), Statistic: jsii.String("Maximum")}
	dash.AddWidgets(
		graph("Search cluster status", s.Search.MetricClusterStatusRed(minute), s.Search.MetricClusterStatusYellow(minute), s.Search.MetricClusterIndexWritesBlocked(minute)),
		graph("Search JVM memory pressure", s.Search.MetricJVMMemoryPressure(minute)),
		graph("Search free storage (MiB)", s.Search.MetricFreeStorageSpace(&awscloudwatch.MetricOptions{Period: oneMinute(), Statistic: jsii.String("Minimum")})),
	)
	return dash
}

func oneMinute() awscdk.Duration { return awscdk.Duration_Minutes(jsii.Number(1)) }

// alarmSpecs lists the stack's alarms. The OpenSearch thresholds are the service's
// recommended alarms (OpenSearch Service developer guide, "Recommended CloudWatch
// alarms"): red or yellow for a minute, writes blocked, JVM memory pressure of 95%
// for three minutes, free storage at a quarter of a node's volume. A domain whose
// index asks for more replicas than it has nodes for stays yellow: Replicas sizes them.
func (s *ImagePipe) alarmSpecs(api awsapigateway.RestApi, size SearchSize) []alarmSpec {
	sum := &awscloudwatch.MetricOptions{Period: fiveMinutes(), Statistic: jsii.String("Sum")}
	peak := &awscloudwatch.MetricOptions{Period: fiveMinutes(), Statistic: jsii.String("Maximum")}
	minuteMax := &awscloudwatch.MetricOptions{Period: oneMinute(), Statistic: jsii.String("Maximum")}
	minuteMin := &awscloudwatch.MetricOptions{Period: oneMinute(), Statistic: jsii.String("Minimum")}
	var out []alarmSpec
	for _, m := range []struct {
		id, what string
		sm       awsstepfunctions.StateMachine
	}{{"Pipeline", "Pipeline", s.Pipeline}, {"Remove", "Removal", s.Remove}} {
		out = append(out,
			alarmSpec{id: m.id + "FailedAlarm", description: m.what + " executions failed (see the failure queue)", metric: m.sm.MetricFailed(sum), threshold: 1},
			alarmSpec{id: m.id + "TimedOutAlarm", description: m.what + " executions timed out (TimeoutSeconds): no Catch sees a timeout, so nothing reached the failure queue; redrive with RedriveExecution", metric: m.sm.MetricTimedOut(sum), threshold: 1},
			alarmSpec{id: m.id + "AbortedAlarm", description: m.what + " executions were stopped (StopExecution): their work is undone until redriven", metric: m.sm.MetricAborted(sum), threshold: 1},
			alarmSpec{id: m.id + "ThrottledAlarm", description: m.what + " executions were throttled (state transitions over the account's StateTransition quota): they slow down, and a sustained throttle needs a quota increase", metric: m.sm.MetricThrottled(sum), threshold: 1},
		)
	}
	out = append(out,
		alarmSpec{id: "FailureQueueAlarm", description: "Messages wait in the failure queue: inspect, fix, `imagepipe redrive`", metric: s.FailureQueue.MetricApproximateNumberOfMessagesVisible(peak), threshold: 1},
		alarmSpec{id: "EventDeadLettersAlarm", description: "EventBridge could not start executions", metric: s.EventDeadLetters.MetricApproximateNumberOfMessagesVisible(peak), threshold: 1},
		alarmSpec{id: "SearchClusterRedAlarm", description: "OpenSearch cluster is red: a primary shard is unassigned, searches and writes fail", metric: s.Search.MetricClusterStatusRed(minuteMax), threshold: 1},
		alarmSpec{id: "SearchClusterYellowAlarm", description: "OpenSearch cluster is yellow: a replica shard is unassigned (a node is gone, or the index asks for more replicas than the nodes hold)", metric: s.Search.MetricClusterStatusYellow(minuteMax), threshold: 1},
		alarmSpec{id: "SearchWritesBlockedAlarm", description: "OpenSearch blocks index writes (disk or memory pressure): index-document fails", metric: s.Search.MetricClusterIndexWritesBlocked(peak), threshold: 1},
		alarmSpec{id: "SearchJvmPressureAlarm", description: "OpenSearch JVM memory pressure at 95%: the node is close to out-of-memory and blocking writes", metric: s.Search.MetricJVMMemoryPressure(minuteMax), threshold: 95, periods: 3},
		alarmSpec{id: "SearchFreeStorageAlarm", description: "OpenSearch free storage at a quarter of a node's volume (MiB): at 5% or 20 GiB left it blocks writes", metric: s.Search.MetricFreeStorageSpace(minuteMin), threshold: size.VolumeGiB * 1024 / 4, below: true},
		alarmSpec{id: "Api5xxAlarm", description: "The API answered 5XX (function errors or timeouts, the index unreachable)", metric: api.MetricServerError(sum), threshold: 1},
	)
	for _, name := range FunctionNames() {
		out = append(out, alarmSpec{id: constructID(name) + "ErrorsAlarm", description: "Lambda " + name + " errors", metric: s.Functions[name].MetricErrors(sum), threshold: 5})
	}
	return out
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
	out("OperatorsGroup", "User pool group whose members may run the load tester, read the failure queue, redrive and list executions", id.operators.GroupName())
	out("StateMachineArn", "Pipeline state machine", s.Pipeline.StateMachineArn())
	out("RemoveStateMachineArn", "Removal state machine", s.Remove.StateMachineArn())
	out("FailureQueueUrl", "Failure queue ({error, cause, state, input})", s.FailureQueue.QueueUrl())
	out("RedriveFunctionName", "Redrive Lambda: one bounded round, and the failure queue's list and discard actions (see infra/README.md)", s.Functions[FnRedrive].FunctionName())
	out("RedriveStateMachineArn", "Redrive job: StartExecution with {messageIds?, includePermanent?}, follow with DescribeExecution and GetExecutionHistory", s.RedriveJob.StateMachineArn())
	out("LoadTesterFunctionName", "Load-tester Lambda: the operators group invokes it from the Status page (see infra/README.md)", s.Functions[FnLoadTester].FunctionName())
	out("DashboardUrl", "CloudWatch dashboard", awscdk.Fn_Join(jsii.String(""), &[]*string{
		jsii.String("https://console.aws.amazon.com/cloudwatch/home?region="), awscdk.Aws_REGION(),
		jsii.String("#dashboards:name="), dash.DashboardName(),
	}))
}
