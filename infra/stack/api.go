package stack

import (
	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsapigateway"
	"github.com/aws/aws-cdk-go/awscdk/v2/awscognito"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsiam"
	"github.com/aws/aws-cdk-go/awscdk/v2/awslogs"
	"github.com/aws/jsii-runtime-go"
)

// StageName is the API's one stage.
const StageName = "prod"

func (s *ImagePipe) newAPI(webOrigin *string) awsapigateway.RestApi {
	accessLogs := awslogs.NewLogGroup(s.Stack, jsii.String("ApiAccessLogs"), &awslogs.LogGroupProps{
		Retention:     awslogs.RetentionDays_ONE_MONTH,
		RemovalPolicy: awscdk.RemovalPolicy_DESTROY,
	})
	api := awsapigateway.NewRestApi(s.Stack, jsii.String("Api"), &awsapigateway.RestApiProps{
		RestApiName:   jsii.String("imagepipe"),
		Description:   jsii.String("imagepipe search and ping, SigV4-signed through the Cognito identity pool"),
		EndpointTypes: &[]awsapigateway.EndpointType{awsapigateway.EndpointType_REGIONAL},
		// Every method is IAM-authorized unless it says otherwise; only the CORS
		// preflight (OPTIONS, which browsers send unsigned) does.
		DefaultMethodOptions: &awsapigateway.MethodOptions{AuthorizationType: awsapigateway.AuthorizationType_IAM},
		DefaultCorsPreflightOptions: &awsapigateway.CorsOptions{
			AllowOrigins: jsii.Strings(*webOrigin, "http://localhost:5173"),
			AllowMethods: jsii.Strings("GET", "OPTIONS"),
			AllowHeaders: jsii.Strings("Content-Type", "Authorization", "X-Amz-Date", "X-Amz-Security-Token", "X-Amz-Content-Sha256"),
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
	ping := api.Root().AddResource(jsii.String("ping"), nil)
	ping.AddMethod(jsii.String("GET"), awsapigateway.NewLambdaIntegration(s.Functions[FnPing], nil), &awsapigateway.MethodOptions{
		AuthorizationType: awsapigateway.AuthorizationType_IAM,
		RequestValidator:  validator,
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

type identity struct {
	userPool     awscognito.UserPool
	client       awscognito.UserPoolClient
	identityPool awscognito.CfnIdentityPool
}

// newIdentity: a user pool with email sign-up, and an identity pool whose guests may
// search and upload, and whose signed-in users may also ping and run the load tester
// (newLoadTester grants it to s.AuthRole).
func (s *ImagePipe) newIdentity(api awsapigateway.RestApi) identity {
	pool := awscognito.NewUserPool(s.Stack, jsii.String("Users"), &awscognito.UserPoolProps{
		SelfSignUpEnabled: jsii.Bool(true),
		SignInAliases:     &awscognito.SignInAliases{Email: jsii.Bool(true)},
		AutoVerify:        &awscognito.AutoVerifiedAttrs{Email: jsii.Bool(true)},
		StandardAttributes: &awscognito.StandardAttributes{
			Email: &awscognito.StandardAttribute{Required: jsii.Bool(true), Mutable: jsii.Bool(true)},
		},
		PasswordPolicy: &awscognito.PasswordPolicy{
			MinLength: jsii.Number(12), RequireLowercase: jsii.Bool(true), RequireUppercase: jsii.Bool(true),
			RequireDigits: jsii.Bool(true), RequireSymbols: jsii.Bool(true),
		},
		Mfa:             awscognito.Mfa_OPTIONAL,
		MfaSecondFactor: &awscognito.MfaSecondFactor{Otp: jsii.Bool(true), Sms: jsii.Bool(false)},
		AccountRecovery: awscognito.AccountRecovery_EMAIL_ONLY,
		RemovalPolicy:   awscdk.RemovalPolicy_DESTROY,
	})
	client := pool.AddClient(jsii.String("Web"), &awscognito.UserPoolClientOptions{
		// The web app signs in with USER_PASSWORD_AUTH (over TLS to Cognito); SRP for other clients.
		AuthFlows:                  &awscognito.AuthFlow{UserSrp: jsii.Bool(true), UserPassword: jsii.Bool(true)},
		GenerateSecret:             jsii.Bool(false),
		PreventUserExistenceErrors: jsii.Bool(true),
	})
	ids := awscognito.NewCfnIdentityPool(s.Stack, jsii.String("Identities"), &awscognito.CfnIdentityPoolProps{
		AllowUnauthenticatedIdentities: jsii.Bool(true),
		CognitoIdentityProviders: &[]any{&awscognito.CfnIdentityPool_CognitoIdentityProviderProperty{
			ClientId:     client.UserPoolClientId(),
			ProviderName: pool.UserPoolProviderName(),
		}},
	})
	role := func(id, amr string) awsiam.Role {
		return awsiam.NewRole(s.Stack, jsii.String(id), &awsiam.RoleProps{
			AssumedBy: awsiam.NewFederatedPrincipal(jsii.String("cognito-identity.amazonaws.com"), &map[string]any{
				"StringEquals":           map[string]any{"cognito-identity.amazonaws.com:aud": ids.Ref()},
				"ForAnyValue:StringLike": map[string]any{"cognito-identity.amazonaws.com:amr": amr},
			}, jsii.String("sts:AssumeRoleWithWebIdentity")),
		})
	}
	s.UnauthRole = role("GuestRole", "unauthenticated")
	s.AuthRole = role("UserRole", "authenticated")
	invoke := func(method, path string) awsiam.PolicyStatement {
		return awsiam.NewPolicyStatement(&awsiam.PolicyStatementProps{
			Actions:   jsii.Strings("execute-api:Invoke"),
			Resources: jsii.Strings(*api.ArnForExecuteApi(jsii.String(method), jsii.String(path), jsii.String(StageName))),
		})
	}
	upload := func() awsiam.PolicyStatement {
		return awsiam.NewPolicyStatement(&awsiam.PolicyStatementProps{
			Actions:   jsii.Strings("s3:PutObject", "s3:AbortMultipartUpload"),
			Resources: jsii.Strings(*s.Bucket.ArnForObjects(jsii.String("upload/*"))),
		})
	}
	for _, r := range []awsiam.Role{s.UnauthRole, s.AuthRole} {
		r.AddToPolicy(invoke("GET", "/images"))
		r.AddToPolicy(upload())
	}
	s.AuthRole.AddToPolicy(invoke("GET", "/ping"))
	awscognito.NewCfnIdentityPoolRoleAttachment(s.Stack, jsii.String("IdentityRoles"), &awscognito.CfnIdentityPoolRoleAttachmentProps{
		IdentityPoolId: ids.Ref(),
		Roles: &map[string]any{
			"unauthenticated": s.UnauthRole.RoleArn(),
			"authenticated":   s.AuthRole.RoleArn(),
		},
	})
	return identity{userPool: pool, client: client, identityPool: ids}
}
