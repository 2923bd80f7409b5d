package stack

import (
	"os"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsapigateway"
	"github.com/aws/aws-cdk-go/awscdk/v2/awscloudfront"
	"github.com/aws/aws-cdk-go/awscdk/v2/awscloudfrontorigins"
	"github.com/aws/aws-cdk-go/awscdk/v2/awss3"
	"github.com/aws/aws-cdk-go/awscdk/v2/awss3deployment"
	"github.com/aws/jsii-runtime-go"
)

type website struct {
	bucket       awss3.Bucket
	distribution awscloudfront.Distribution
	origin       *string // https://<distribution domain>
}

func (s *ImagePipe) newWebsite(logs awss3.Bucket) website {
	bucket := awss3.NewBucket(s.Stack, jsii.String("Website"), &awss3.BucketProps{
		BlockPublicAccess:      awss3.BlockPublicAccess_BLOCK_ALL(),
		Encryption:             awss3.BucketEncryption_S3_MANAGED,
		EnforceSSL:             jsii.Bool(true),
		ServerAccessLogsBucket: logs,
		ServerAccessLogsPrefix: jsii.String("website/"),
		RemovalPolicy:          awscdk.RemovalPolicy_RETAIN,
	})
	// A single-page app: unknown paths (403 from a private S3 origin, or 404) serve
	// index.html and let the app's router decide.
	spa := func(status float64) *awscloudfront.ErrorResponse {
		return &awscloudfront.ErrorResponse{
			HttpStatus:         jsii.Number(status),
			ResponseHttpStatus: jsii.Number(200),
			ResponsePagePath:   jsii.String("/index.html"),
			Ttl:                awscdk.Duration_Seconds(jsii.Number(0)),
		}
	}
	dist := awscloudfront.NewDistribution(s.Stack, jsii.String("Cdn"), &awscloudfront.DistributionProps{
		Comment: jsii.String("imagepipe web app"),
		DefaultBehavior: &awscloudfront.BehaviorOptions{
			Origin:                awscloudfrontorigins.S3BucketOrigin_WithOriginAccessControl(bucket, nil),
			ViewerProtocolPolicy:  awscloudfront.ViewerProtocolPolicy_REDIRECT_TO_HTTPS,
			CachePolicy:           awscloudfront.CachePolicy_CACHING_OPTIMIZED(),
			ResponseHeadersPolicy: awscloudfront.ResponseHeadersPolicy_SECURITY_HEADERS(),
		},
		DefaultRootObject:      jsii.String("index.html"),
		ErrorResponses:         &[]*awscloudfront.ErrorResponse{spa(403), spa(404)},
		MinimumProtocolVersion: awscloudfront.SecurityPolicyProtocol_TLS_V1_2_2021,
		PriceClass:             awscloudfront.PriceClass_PRICE_CLASS_100,
		HttpVersion:            awscloudfront.HttpVersion_HTTP2_AND_3,
		EnableLogging:          jsii.Bool(true),
		LogBucket:              logs,
		LogFilePrefix:          jsii.String("cloudfront/"),
	})
	origin := awscdk.Fn_Join(jsii.String(""), &[]*string{jsii.String("https://"), dist.DistributionDomainName()})
	return website{bucket: bucket, distribution: dist, origin: origin}
}

// deployWebsite uploads web/dist and a config.json built from the stack's outputs.
// Without a built web app the stack still synthesizes; the site is then empty until
// `make web` (or the web app's build) and another deploy.
func (s *ImagePipe) deployWebsite(site website, dist string, api awsapigateway.RestApi, id identity) {
	if dist == "" {
		return
	}
	if st, err := os.Stat(dist); err != nil || !st.IsDir() {
		return
	}
	config := map[string]any{
		"mode":             "aws", // without it the web app takes itself for the twin
		"region":           *awscdk.Aws_REGION(),
		"identityPoolId":   *id.identityPool.Ref(),
		"userPoolId":       *id.userPool.UserPoolId(),
		"userPoolClientId": *id.client.UserPoolClientId(),
		"apiUrl":           *api.Url(),
		"bucket":           *s.Bucket.BucketName(),
		"stateMachineArn":  *s.Pipeline.StateMachineArn(),
		// What only the operators group's role may use: the Status page's load
		// test, the failure queue, redrive and the removal executions.
		"operatorsGroup":        OperatorsGroup,
		"loadTesterFunction":    *s.Functions[FnLoadTester].FunctionName(),
		"redriveFunction":       *s.Functions[FnRedrive].FunctionName(),
		"failureQueueUrl":       *s.FailureQueue.QueueUrl(),
		"removeStateMachineArn": *s.Remove.StateMachineArn(),
	}
	awss3deployment.NewBucketDeployment(s.Stack, jsii.String("WebDeployment"), &awss3deployment.BucketDeploymentProps{
		DestinationBucket: site.bucket,
		Sources: &[]awss3deployment.ISource{
			awss3deployment.Source_Asset(jsii.String(dist), nil),
			awss3deployment.Source_JsonData(jsii.String("config.json"), config, nil),
		},
		Distribution:      site.distribution,
		DistributionPaths: jsii.Strings("/*"),
		MemoryLimit:       jsii.Number(512),
	})
}
