package main

// GitHub Actions as the other way to deliver (-c githubRepo=owner/name): a stack
// with GitHub's OIDC provider and the role .github/workflows/deploy.yml assumes,
// with no long-lived keys. The role may only assume the CDK bootstrap roles (which
// `cdk deploy` uses) and the app stack's smoke-test role.

import (
	"fmt"
	"regexp"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsiam"
	"github.com/aws/constructs-go/constructs/v10"
	"github.com/aws/jsii-runtime-go"

	"github.com/imagepipe/imagepipe/infra/stack"
)

// Context keys of the GitHub deploy role.
const (
	ContextGitHubRepo        = "githubRepo"            // owner/name: turns it on
	ContextGitHubEnvironment = "githubEnvironment"     // the workflow's environment (default production)
	ContextGitHubOIDC        = "githubOidcProviderArn" // an account's existing provider for token.actions.githubusercontent.com
)

// GitHub's OIDC issuer and the audience configure-aws-credentials asks for.
const (
	gitHubIssuer   = "token.actions.githubusercontent.com"
	gitHubAudience = "sts.amazonaws.com"
)

// GitHubConfig is the GitHub deploy role's settings, from context.
type GitHubConfig struct {
	Repo, Environment, ProviderArn string
}

// GitHubStackName and GitHubDeployRoleName name the stack and its role for the app
// stack stackName; the role's name is fixed, so that the workflow and the
// smoke-test role's trust can name it.
func GitHubStackName(stackName string) string      { return stackName + "-GitHub" }
func GitHubDeployRoleName(stackName string) string { return stackName + "-GitHubDeploy" }

// OutputGitHubDeployRoleArn is the output to set as the repository's AWS_DEPLOY_ROLE_ARN variable.
const OutputGitHubDeployRoleArn = "GitHubDeployRoleArn"

// GitHubDeploy is the synthesized stack and what its tests reach.
type GitHubDeploy struct {
	awscdk.Stack
	Role awsiam.Role
}

var gitHubRepo = regexp.MustCompile(`^[A-Za-z0-9_.-]+/[A-Za-z0-9_.-]+$`)

// NewGitHubDeploy builds the stack. Deploy it once by hand (it is the trust the
// workflow starts from); the workflow deploys only the app stack.
func NewGitHubDeploy(scope constructs.Construct, stackName string, cfg GitHubConfig, env *awscdk.Environment) (*GitHubDeploy, error) {
	if !gitHubRepo.MatchString(cfg.Repo) {
		return nil, fmt.Errorf("context %s=%q: want owner/name", ContextGitHubRepo, cfg.Repo)
	}
	if cfg.Environment == "" {
		cfg.Environment = "production"
	}
	g := &GitHubDeploy{Stack: awscdk.NewStack(scope, jsii.String(GitHubStackName(stackName)), &awscdk.StackProps{
		Env:         env,
		Description: jsii.String("imagepipe: the role GitHub Actions (" + cfg.Repo + ") deploys " + stackName + " with, through OIDC"),
	})}
	awscdk.Tags_Of(g.Stack).Add(jsii.String("project"), jsii.String("imagepipe"), nil)
	provider := cfg.ProviderArn
	if provider == "" {
		// One provider per issuer and account: an account that has one already
		// passes its ARN (githubOidcProviderArn) instead. No thumbprint: IAM trusts
		// GitHub's certificate through its own store of root CAs.
		p := awsiam.NewOidcProviderNative(g.Stack, jsii.String("GitHubOidc"), &awsiam.OidcProviderNativeProps{
			Url:       jsii.String("https://" + gitHubIssuer),
			ClientIds: jsii.Strings(gitHubAudience),
		})
		provider = *p.OidcProviderArn()
	}
	g.Role = awsiam.NewRole(g.Stack, jsii.String("DeployRole"), &awsiam.RoleProps{
		RoleName:    jsii.String(GitHubDeployRoleName(stackName)),
		Description: jsii.String("GitHub Actions " + cfg.Repo + " (environment " + cfg.Environment + "): cdk deploy " + stackName + ", then imagepipe smoke"),
		AssumedBy: awsiam.NewFederatedPrincipal(jsii.String(provider), &map[string]any{
			"StringEquals": map[string]any{
				gitHubIssuer + ":aud": gitHubAudience,
				// Only jobs of this repository that run in this environment: its
				// protection rules (branches, reviewers) are the deploy gate.
				gitHubIssuer + ":sub": "repo:" + cfg.Repo + ":environment:" + cfg.Environment,
			},
		}, jsii.String("sts:AssumeRoleWithWebIdentity")),
		MaxSessionDuration: awscdk.Duration_Hours(jsii.Number(2)), // a first deploy creates the OpenSearch domain
	})
	g.Role.AddToPolicy(awsiam.NewPolicyStatement(&awsiam.PolicyStatementProps{
		Actions:   jsii.Strings("sts:AssumeRole"),
		Resources: bootstrapRoles(),
	}))
	g.Role.AddToPolicy(awsiam.NewPolicyStatement(&awsiam.PolicyStatementProps{
		Actions:   jsii.Strings("sts:AssumeRole"),
		Resources: jsii.Strings(*roleArn(stack.SmokeTestRoleName(stackName))),
	}))
	awscdk.NewCfnOutput(g.Stack, jsii.String(OutputGitHubDeployRoleArn), &awscdk.CfnOutputProps{
		Value:       g.Role.RoleArn(),
		Description: jsii.String("Set as the repository variable AWS_DEPLOY_ROLE_ARN"),
	})
	return g, nil
}

// bootstrapRoles are the roles `cdk bootstrap` made in this account and region
// (default qualifier) that `cdk deploy` assumes: deploy, publish files and images,
// look up.
func bootstrapRoles() *[]*string {
	var out []*string
	q := *awscdk.DefaultStackSynthesizer_DEFAULT_QUALIFIER()
	for _, kind := range []string{"deploy-role", "file-publishing-role", "image-publishing-role", "lookup-role"} {
		out = append(out, awscdk.Fn_Join(jsii.String(""), &[]*string{
			jsii.String("arn:"), awscdk.Aws_PARTITION(), jsii.String(":iam::"), awscdk.Aws_ACCOUNT_ID(),
			jsii.String(":role/cdk-" + q + "-" + kind + "-"), awscdk.Aws_ACCOUNT_ID(), jsii.String("-"), awscdk.Aws_REGION(),
		}))
	}
	return &out
}
