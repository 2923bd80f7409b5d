package iam

// awsManaged are the AWS managed policies the twin knows, by the name after
// arn:aws:iam::aws:policy/, as the AWS Managed Policy Reference publishes them
// (default versions). A role listing another one gets no permissions from it, and
// its denials say so (Warnings lists them).
var awsManaged = map[string]string{
	// v1, https://docs.aws.amazon.com/aws-managed-policy/latest/reference/AWSLambdaBasicExecutionRole.html
	"service-role/AWSLambdaBasicExecutionRole": `{"Version":"2012-10-17","Statement":[{"Effect":"Allow",
		"Action":["logs:CreateLogGroup","logs:CreateLogStream","logs:PutLogEvents"],"Resource":"*"}]}`,
	// v1, https://docs.aws.amazon.com/aws-managed-policy/latest/reference/AmazonAPIGatewayPushToCloudWatchLogs.html
	"service-role/AmazonAPIGatewayPushToCloudWatchLogs": `{"Version":"2012-10-17","Statement":[{"Effect":"Allow",
		"Action":["logs:CreateLogGroup","logs:CreateLogStream","logs:DescribeLogGroups","logs:DescribeLogStreams",
		"logs:PutLogEvents","logs:GetLogEvents","logs:FilterLogEvents"],"Resource":"*"}]}`,
}

// AllowAll is a policy that allows every action on every resource: the
// developer identity's (AdministratorAccess). Explicit denies in resource-based
// policies still apply to it, as they do to an administrator in AWS.
func AllowAll(name string) *Policy {
	p, err := ParsePolicy(name, []byte(`{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"*","Resource":"*"}]}`))
	if err != nil {
		panic(err)
	}
	return p
}
