package stack

import (
	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsapigateway"
	"github.com/aws/aws-cdk-go/awscdk/v2/awscognito"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsiam"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsstepfunctions"
	"github.com/aws/jsii-runtime-go"
)

// OperatorsGroup is the user pool group whose members get OperatorRole: the load
// tester, the failure queue, redrive and the executions. Membership is granted by an
// administrator (admin-add-user-to-group); nobody can join it by signing up.
const OperatorsGroup = "operators"

type identity struct {
	userPool     awscognito.UserPool
	client       awscognito.UserPoolClient
	identityPool awscognito.CfnIdentityPool
	operators    awscognito.CfnUserPoolGroup
}

// newIdentity: a user pool whose usernames are email addresses, and an identity pool
// with three roles: guests may search and ask for an upload (POST /uploads); signed-in
// users may also ping; the operators group's role (chosen from the ID token's
// cognito:preferred_role) may also call the operators' API (executions, the
// failure queue, redrive) and run the load tester (grantOperators).
func (s *ImagePipe) newIdentity(api awsapigateway.RestApi) identity {
	pool := awscognito.NewUserPool(s.Stack, jsii.String("Users"), &awscognito.UserPoolProps{
		SelfSignUpEnabled: jsii.Bool(true),
		// Email without username: the email is the username (UsernameAttributes).
		SignInAliases: &awscognito.SignInAliases{Email: jsii.Bool(true)},
		AutoVerify:    &awscognito.AutoVerifiedAttrs{Email: jsii.Bool(true)},
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
	s.OperatorRole = role("OperatorRole", "authenticated")
	invoke := func(routes ...Route) awsiam.PolicyStatement {
		var arns []*string
		for _, rt := range routes {
			arns = append(arns, api.ArnForExecuteApi(jsii.String(rt.Method), jsii.String(executeAPIPath(rt.Path)), jsii.String(StageName)))
		}
		return awsiam.NewPolicyStatement(&awsiam.PolicyStatementProps{Actions: jsii.Strings("execute-api:Invoke"), Resources: &arns})
	}
	// Uploads go through POST /uploads (presign-upload): the identities themselves
	// may not write to the bucket at all.
	search := []Route{{"GET", "/images"}, {"GET", "/images/{id}"}, {"POST", "/uploads"}}
	s.UnauthRole.AddToPolicy(invoke(search...))
	s.AuthRole.AddToPolicy(invoke(append(search, Route{"GET", "/ping"})...))
	// The operators' API: nobody else's role may invoke it (IAM denies what no
	// policy allows), so guests and plain users get 403 from API Gateway.
	s.OperatorRole.AddToPolicy(invoke(append(append(search, Route{"GET", "/ping"}), OperationsRoutes...)...))
	operators := awscognito.NewCfnUserPoolGroup(s.Stack, jsii.String("Operators"), &awscognito.CfnUserPoolGroupProps{
		UserPoolId:  pool.UserPoolId(),
		GroupName:   jsii.String(OperatorsGroup),
		Description: jsii.String("imagepipe operators: load tester, failure queue, redrive, executions"),
		RoleArn:     s.OperatorRole.RoleArn(),
		Precedence:  jsii.Number(0),
	})
	awscognito.NewCfnIdentityPoolRoleAttachment(s.Stack, jsii.String("IdentityRoles"), &awscognito.CfnIdentityPoolRoleAttachmentProps{
		IdentityPoolId: ids.Ref(),
		Roles: &map[string]any{
			"unauthenticated": s.UnauthRole.RoleArn(),
			"authenticated":   s.AuthRole.RoleArn(),
		},
		// The ID token names the groups' roles (cognito:roles, cognito:preferred_role):
		// an operator gets OperatorRole, anyone else the authenticated role.
		RoleMappings: &map[string]any{
			"users": &awscognito.CfnIdentityPoolRoleAttachment_RoleMappingProperty{
				Type:                    jsii.String("Token"),
				AmbiguousRoleResolution: jsii.String("AuthenticatedRole"),
				IdentityProvider: awscdk.Fn_Join(jsii.String(":"), &[]*string{
					pool.UserPoolProviderName(), client.UserPoolClientId(),
				}),
			},
		},
	})
	return identity{userPool: pool, client: client, identityPool: ids, operators: operators}
}

// grantOperators: what only the operators group may do besides the operators'
// API (newIdentity): invoke the load tester, which the web app calls directly
// (Lambda answers CORS; Step Functions does not, hence the API for the rest).
func (s *ImagePipe) grantOperators() {
	s.OperatorRole.AddToPolicy(awsiam.NewPolicyStatement(&awsiam.PolicyStatementProps{
		Actions:   jsii.Strings("lambda:InvokeFunction"),
		Resources: jsii.Strings(*s.Functions[FnLoadTester].FunctionArn()),
	}))
}

// executionArns are the ARNs of the machines' executions: execution names are only
// known at run time, so the wildcard is the name below each machine.
func executionArns(machines ...awsstepfunctions.StateMachine) *[]*string {
	var out []*string
	for _, sm := range machines {
		name := sm.Node().DefaultChild().(awsstepfunctions.CfnStateMachine).AttrName()
		out = append(out, awscdk.Fn_Join(jsii.String(""), &[]*string{
			jsii.String("arn:"), awscdk.Aws_PARTITION(), jsii.String(":states:"), awscdk.Aws_REGION(), jsii.String(":"),
			awscdk.Aws_ACCOUNT_ID(), jsii.String(":execution:"), name, jsii.String(":*"),
		}))
	}
	return &out
}
