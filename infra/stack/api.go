package stack

import (
	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsapigateway"
	"github.com/aws/aws-cdk-go/awscdk/v2/awslogs"
	"github.com/aws/jsii-runtime-go"
)

// StageName is the API's one stage.
const StageName = "prod"

// corsHeaders are the request headers a signed browser request carries.
var corsHeaders = []string{"Content-Type", "Authorization", "X-Amz-Date", "X-Amz-Security-Token", "X-Amz-Content-Sha256"}

// newAPI: GET /images, GET /images/{id}, GET /ping, POST /uploads and the operators' routes
// (addOperationsRoutes), IAM-authorized, CORS for origins (the website
// first, then the devOrigin context's, if any).
func (s *ImagePipe) newAPI(webOrigin *string, origins []*string) awsapigateway.RestApi {
	accessLogs := awslogs.NewLogGroup(s.Stack, jsii.String("ApiAccessLogs"), &awslogs.LogGroupProps{
		Retention:     awslogs.RetentionDays_ONE_MONTH,
		RemovalPolicy: awscdk.RemovalPolicy_DESTROY,
	})
	api := awsapigateway.NewRestApi(s.Stack, jsii.String("Api"), &awsapigateway.RestApiProps{
		RestApiName:   jsii.String("imagepipe"),
		Description:   jsii.String("imagepipe search, ping, uploads and the operators' API, SigV4-signed through the Cognito identity pool"),
		EndpointTypes: &[]awsapigateway.EndpointType{awsapigateway.EndpointType_REGIONAL},
		// Every method is IAM-authorized unless it says otherwise; only the CORS
		// preflight (OPTIONS, which browsers send unsigned) does.
		DefaultMethodOptions: &awsapigateway.MethodOptions{AuthorizationType: awsapigateway.AuthorizationType_IAM},
		DefaultCorsPreflightOptions: &awsapigateway.CorsOptions{
			AllowOrigins: jsii.Strings(strs(origins)...),
			AllowMethods: jsii.Strings("GET", "POST", "OPTIONS"),
			AllowHeaders: jsii.Strings(corsHeaders...),
			MaxAge:       awscdk.Duration_Hours(jsii.Number(1)),
		},
		CloudWatchRole: jsii.Bool(true),
		DeployOptions: &awsapigateway.StageOptions{
			StageName:            jsii.String(StageName),
			ThrottlingRateLimit:  jsii.Number(50),
			ThrottlingBurstLimit: jsii.Number(100),
			TracingEnabled:       jsii.Bool(true),
			LoggingLevel:         awsapigateway.MethodLoggingLevel_ERROR,
			MetricsEnabled:       jsii.Bool(true),
			AccessLogDestination: awsapigateway.NewLogGroupLogDestination(accessLogs),
			AccessLogFormat: awsapigateway.AccessLogFormat_JsonWithStandardFields(&awsapigateway.JsonWithStandardFieldProps{
				Caller: jsii.Bool(true), HttpMethod: jsii.Bool(true), Ip: jsii.Bool(true), Protocol: jsii.Bool(true),
				RequestTime: jsii.Bool(true), ResourcePath: jsii.Bool(true), ResponseLength: jsii.Bool(true),
				Status: jsii.Bool(true), User: jsii.Bool(true),
			}),
		},
	})
	validator := api.AddRequestValidator(jsii.String("Validator"), &awsapigateway.RequestValidatorOptions{
		ValidateRequestParameters: jsii.Bool(true),
		ValidateRequestBody:       jsii.Bool(true),
	})
	images := api.Root().AddResource(jsii.String("images"), nil)
	// search is optional: without it (or empty: API Gateway's validator counts
	// `?search=` as missing) the gallery lists the newest images.
	images.AddMethod(jsii.String("GET"), awsapigateway.NewLambdaIntegration(s.Functions[FnSearch], nil), &awsapigateway.MethodOptions{
		AuthorizationType: awsapigateway.AuthorizationType_IAM,
		RequestParameters: &map[string]*bool{"method.request.querystring.search": jsii.Bool(false)},
		RequestValidator:  validator,
	})
	images.AddResource(jsii.String("{id}"), nil).AddMethod(jsii.String("GET"), awsapigateway.NewLambdaIntegration(s.Functions[FnSearch], nil), &awsapigateway.MethodOptions{
		AuthorizationType: awsapigateway.AuthorizationType_IAM,
		RequestParameters: &map[string]*bool{"method.request.path.id": jsii.Bool(true)},
		RequestValidator:  validator,
	})
	s.addOperationsRoutes(api, images, validator, origins)
	ping := api.Root().AddResource(jsii.String("ping"), nil)
	ping.AddMethod(jsii.String("GET"), awsapigateway.NewLambdaIntegration(s.Functions[FnPing], nil), &awsapigateway.MethodOptions{
		AuthorizationType: awsapigateway.AuthorizationType_IAM,
		RequestValidator:  validator,
	})
	// POST /uploads: a presigned S3 POST for one new upload (presign-upload), so
	// that the size limit is in a policy S3 enforces, not in the browser.
	uploads := api.Root().AddResource(jsii.String("uploads"), nil)
	uploads.AddMethod(jsii.String("POST"), awsapigateway.NewLambdaIntegration(s.Functions[FnPresignUpload], nil), &awsapigateway.MethodOptions{
		AuthorizationType: awsapigateway.AuthorizationType_IAM,
	})
	// API Gateway's own errors (a refused signature, a throttle, a failed function)
	// carry no CORS headers by default, so a browser sees only "the API did not
	// answer"; these give them the origin the preflight allows.
	for _, r := range []struct {
		id  string
		typ awsapigateway.ResponseType
	}{{"Default4xx", awsapigateway.ResponseType_DEFAULT_4XX()}, {"Default5xx", awsapigateway.ResponseType_DEFAULT_5XX()}} {
		api.AddGatewayResponse(jsii.String(r.id), &awsapigateway.GatewayResponseOptions{
			Type: r.typ,
			ResponseHeaders: &map[string]*string{
				"Access-Control-Allow-Origin": jsii.String("'" + *webOrigin + "'"),
				"Vary":                        jsii.String("'Origin'"),
			},
		})
	}
	return api
}

func strs(p []*string) []string {
	out := make([]string, len(p))
	for i, v := range p {
		out[i] = *v
	}
	return out
}
