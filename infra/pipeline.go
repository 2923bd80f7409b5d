package main

// The delivery pipeline (-c pipeline=true): CDK Pipelines on CodePipeline V2. A
// push to the source branch runs `make test` (.ci/run) and `make synth` in CodeBuild
// on arm64, the pipeline updates itself, publishes the assets, deploys the stack,
// then runs `imagepipe smoke` against it; a failed smoke test fails the run.

import (
	"fmt"
	"sort"
	"strings"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awscodebuild"
	"github.com/aws/aws-cdk-go/awscdk/v2/awscodecommit"
	"github.com/aws/aws-cdk-go/awscdk/v2/awscodepipeline"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsiam"
	"github.com/aws/aws-cdk-go/awscdk/v2/awss3"
	"github.com/aws/aws-cdk-go/awscdk/v2/pipelines"
	"github.com/aws/constructs-go/constructs/v10"
	"github.com/aws/jsii-runtime-go"
	"github.com/cdklabs/cdk-nag-go/cdknag/v2"

	"github.com/imagepipe/imagepipe/infra/stack"
)

// The toolchain of every delivery build, CodeBuild's and GitHub Actions': the Go and
// Node.js the README names ("Go 1.26, Node.js 20"), pinned to the patch releases
// this project is tested with, on the Debian release the tests assume (apt-get).
// pipeline_test.go holds the README and .github/workflows to the same versions.
const (
	GoVersion   = "1.26.8"
	NodeVersion = "20.20.2"
	// BuildImage is the official golang image (Debian bookworm, multi-arch) through
	// ECR Public's mirror of Docker Hub's library, which has no pull rate limit.
	BuildImage = "public.ecr.aws/docker/library/golang:" + GoVersion + "-bookworm"
)

// Context keys of the delivery pipeline.
const (
	ContextPipeline       = "pipeline"       // "true" turns it on
	ContextConnectionArn  = "connectionArn"  // a CodeConnections (CodeStar) connection to GitHub, GitLab or Bitbucket…
	ContextRepo           = "repo"           // …and its repository, owner/name
	ContextBranch         = "branch"         // the branch to deliver (default main)
	ContextCodeCommitRepo = "codeCommitRepo" // or a CodeCommit repository name
)

// defaultCodeCommitRepo is the source when no connection or repository is named:
// the workshop's CodeCommit repository.
const defaultCodeCommitRepo = "imagepipe"

// DeliveryConfig is the delivery pipeline's settings, from context.
type DeliveryConfig struct {
	ConnectionArn, Repo, Branch string
	CodeCommitRepo              string
	// SynthArgs are the -c arguments the synth step passes to `make synth` again, so
	// that the pipeline synthesizes (and updates itself to) what was deployed by hand.
	SynthArgs []string
}

// DeliveryStackName is the pipeline stack's name for the app stack stackName.
func DeliveryStackName(stackName string) string { return stackName + "-Delivery" }

// SmokeStepRoleName is the role of the pipeline's smoke-test step: fixed, so that
// the app stack's smoke-test role can trust it by name.
func SmokeStepRoleName(stackName string) string { return stackName + "-DeliverySmoke" }

// Delivery is the synthesized pipeline stack and what its tests reach.
type Delivery struct {
	awscdk.Stack
	Pipeline pipelines.CodePipeline
	App      *stack.ImagePipe // the stack the pipeline deploys, inside its stage
	Smoke    pipelines.CodeBuildStep
}

// NewDelivery builds the pipeline stack, and inside its Deploy stage the app stack
// (named stackName, as `make deploy` names it, so that the pipeline takes over a
// stack deployed by hand).
func NewDelivery(scope constructs.Construct, stackName string, cfg DeliveryConfig, app stack.Props) (*Delivery, error) {
	d := &Delivery{Stack: awscdk.NewStack(scope, jsii.String(DeliveryStackName(stackName)), &awscdk.StackProps{
		Env:         app.Env,
		Description: jsii.String("imagepipe delivery: test, deploy and smoke-test " + stackName + " on every push"),
	})}
	awscdk.Tags_Of(d.Stack).Add(jsii.String("project"), jsii.String("imagepipe"), nil)
	source, err := d.source(cfg)
	if err != nil {
		return nil, err
	}
	synth := pipelines.NewCodeBuildStep(jsii.String("Synth"), &pipelines.CodeBuildStepProps{
		Input:           source,
		InstallCommands: jsii.Strings(installNode),
		Commands: jsii.Strings(
			"bash .ci/run", // make deps build test, as every CI run
			"make synth CDK_ARGS="+shellQuote(strings.Join(cfg.SynthArgs, " ")),
		),
		Env:                    &map[string]*string{"CI": jsii.String("true"), "GOTOOLCHAIN": jsii.String("local")},
		PrimaryOutputDirectory: jsii.String("cdk.out"),
		BuildEnvironment:       buildEnvironment(awscodebuild.ComputeType_LARGE),
		Timeout:                awscdk.Duration_Minutes(jsii.Number(120)),
	})
	// bin/imagepipe and bin/imagepipe-pipeline, built for this arm64 image by `make
	// build`, run the smoke test after the deploy.
	binaries := synth.AddOutputDirectory(jsii.String("bin"))

	d.Pipeline = pipelines.NewCodePipeline(d.Stack, jsii.String("Pipeline"), &pipelines.CodePipelineProps{
		PipelineName: jsii.String(stackName),
		// V2: billed per action minute, nothing while idle (V1: $1 a month per pipeline).
		PipelineType:            awscodepipeline.PipelineType_V2,
		Synth:                   synth,
		ArtifactBucket:          d.artifactBucket(),
		CrossAccountKeys:        jsii.Bool(false), // one account: no KMS key ($1 a month)
		PublishAssetsInParallel: jsii.Bool(false), // one asset project, not one per Lambda
	})

	stage := awscdk.NewStage(d.Stack, jsii.String("Deploy"), &awscdk.StageProps{Env: app.Env})
	stack.ApplyNag(stage) // aspects stop at a Stage: the app's own ApplyNag never reaches in
	app.StackProps.StackName = jsii.String(stackName)
	app.SmokeTestPrincipals = append(app.SmokeTestPrincipals, SmokeStepRoleName(stackName))
	if d.App, err = stack.New(stage, stackName, app); err != nil {
		return nil, err
	}
	d.Smoke = pipelines.NewCodeBuildStep(jsii.String("SmokeTest"), &pipelines.CodeBuildStepProps{
		Input: binaries,
		Commands: jsii.Strings(
			"chmod +x imagepipe imagepipe-pipeline", // artifacts may lose the execute bit on the way
			"./imagepipe smoke --stack "+stackName+` --role-arn "$SMOKE_TEST_ROLE_ARN" --timeout 10m`,
		),
		EnvFromCfnOutputs: &map[string]awscdk.CfnOutput{"SMOKE_TEST_ROLE_ARN": d.App.SmokeTestRoleOutput},
		Role:              d.smokeStepRole(stackName),
		BuildEnvironment:  buildEnvironment(awscodebuild.ComputeType_SMALL),
		Timeout:           awscdk.Duration_Minutes(jsii.Number(20)),
	})
	d.Pipeline.AddStage(stage, &pipelines.AddStageOpts{Post: &[]pipelines.Step{d.Smoke}})
	d.Pipeline.BuildPipeline() // now, so that the suppressions below find its constructs
	suppressDeliveryFindings(d)
	return d, nil
}

// source is the pipeline's source action: a CodeConnections connection (GitHub,
// GitLab, Bitbucket) when one is named, else a CodeCommit repository.
func (d *Delivery) source(cfg DeliveryConfig) (pipelines.IFileSetProducer, error) {
	branch := cfg.Branch
	if branch == "" {
		branch = "main"
	}
	switch {
	case cfg.ConnectionArn != "" && cfg.CodeCommitRepo != "":
		return nil, fmt.Errorf("context: give %s (with %s) or %s, not both", ContextConnectionArn, ContextRepo, ContextCodeCommitRepo)
	case cfg.ConnectionArn != "":
		if owner, name, ok := strings.Cut(cfg.Repo, "/"); !ok || owner == "" || name == "" || strings.Contains(name, "/") {
			return nil, fmt.Errorf("context %s=%q: want owner/name, the repository the connection %s reaches", ContextRepo, cfg.Repo, cfg.ConnectionArn)
		}
		return pipelines.CodePipelineSource_Connection(jsii.String(cfg.Repo), jsii.String(branch), &pipelines.ConnectionSourceOptions{
			ConnectionArn: jsii.String(cfg.ConnectionArn),
		}), nil
	}
	name := cfg.CodeCommitRepo
	if name == "" {
		name = defaultCodeCommitRepo
		awscdk.Annotations_Of(d.Stack).AddInfo(jsii.String("delivery source: CodeCommit repository " + name + " (give -c connectionArn=ARN -c repo=owner/name, or -c codeCommitRepo=NAME)"))
	}
	repo := awscodecommit.Repository_FromRepositoryName(d.Stack, jsii.String("Source"), jsii.String(name))
	return pipelines.CodePipelineSource_CodeCommit(repo, jsii.String(branch), nil), nil
}

// installNode puts the pinned Node.js (for the CDK CLI, the web build and the
// differential test) on PATH in the Go image.
var installNode = "curl -fsSL https://nodejs.org/dist/v" + NodeVersion + "/node-v" + NodeVersion +
	"-linux-arm64.tar.gz | tar -xz -C /usr/local --strip-components=1 --exclude='*.md' --exclude=LICENSE && node --version && go version"

// buildEnvironment is an arm64 CodeBuild container of BuildImage.
func buildEnvironment(size awscodebuild.ComputeType) *awscodebuild.BuildEnvironment {
	return &awscodebuild.BuildEnvironment{
		BuildImage:  awscodebuild.LinuxArmBuildImage_FromDockerRegistry(jsii.String(BuildImage), nil),
		ComputeType: size,
	}
}

// artifactBucket keeps the pipeline's artifacts (the source, cdk.out with the
// Lambda bundles) a month: a run needs them only while it lasts, or to retry. A
// stack deletion leaves it, emptied by the lifecycle rule within the month.
func (d *Delivery) artifactBucket() awss3.Bucket {
	return awss3.NewBucket(d.Stack, jsii.String("Artifacts"), &awss3.BucketProps{
		BlockPublicAccess: awss3.BlockPublicAccess_BLOCK_ALL(),
		Encryption:        awss3.BucketEncryption_S3_MANAGED,
		EnforceSSL:        jsii.Bool(true),
		LifecycleRules: &[]*awss3.LifecycleRule{{
			Id:                                  jsii.String("expire-artifacts"),
			Expiration:                          awscdk.Duration_Days(jsii.Number(30)),
			AbortIncompleteMultipartUploadAfter: awscdk.Duration_Days(jsii.Number(1)),
		}},
		RemovalPolicy: awscdk.RemovalPolicy_RETAIN,
	})
}

// smokeStepRole may only assume the app stack's smoke-test role (by its fixed
// name); CDK Pipelines adds what the step itself needs (logs, the artifacts).
func (d *Delivery) smokeStepRole(stackName string) awsiam.Role {
	r := awsiam.NewRole(d.Stack, jsii.String("SmokeStepRole"), &awsiam.RoleProps{
		RoleName:    jsii.String(SmokeStepRoleName(stackName)),
		Description: jsii.String("imagepipe delivery: the post-deploy smoke test's CodeBuild role"),
		AssumedBy:   awsiam.NewServicePrincipal(jsii.String("codebuild.amazonaws.com"), nil),
	})
	r.AddToPolicy(awsiam.NewPolicyStatement(&awsiam.PolicyStatementProps{
		Actions:   jsii.Strings("sts:AssumeRole"),
		Resources: jsii.Strings(*roleArn(stack.SmokeTestRoleName(stackName))),
	}))
	return r
}

// roleArn is the ARN of a role of this account by name.
func roleArn(name string) *string {
	return awscdk.Fn_Join(jsii.String(""), &[]*string{
		jsii.String("arn:"), awscdk.Aws_PARTITION(), jsii.String(":iam::"), awscdk.Aws_ACCOUNT_ID(), jsii.String(":role/" + name),
	})
}

// shellQuote quotes s for a POSIX shell, unless it needs none.
func shellQuote(s string) string {
	if s != "" && strings.Trim(s, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_=.,:/@+-") == "" {
		return s
	}
	return "'" + strings.ReplaceAll(s, "'", `'"'"'`) + "'"
}

// synthArgs are the -c arguments for keys set in ctx, sorted: what the pipeline's
// own synth must be given again.
func synthArgs(ctx map[string]string) []string {
	var out []string
	for k, v := range ctx {
		if v != "" {
			out = append(out, "-c "+shellQuote(k+"="+v))
		}
	}
	sort.Strings(out)
	return out
}

// suppressDeliveryFindings records why each remaining AwsSolutions finding of the
// pipeline stack is acceptable, on the construct that has it. Most come from the
// roles CDK Pipelines generates; CDK-internal paths are named exactly, so that a
// CDK upgrade that moves them fails the synth rather than suppressing elsewhere.
func suppressDeliveryFindings(d *Delivery) {
	rule := stack.NagRule
	artifacts := rule("AwsSolutions-IAM5",
		"CDK Pipelines' grants on the pipeline's own artifact bucket (S3 action groups such as GetObject* and List*, and object keys): that bucket holds nothing but this pipeline's artifacts.",
		"Action::s3:GetObject*", "Action::s3:GetBucket*", "Action::s3:List*", "Action::s3:DeleteObject*", "Action::s3:Abort*",
		"Resource::<"+logicalID(d.Stack, d.Pipeline.Pipeline().ArtifactBucket())+".Arn>/*")
	ownLogs := rule("AwsSolutions-IAM5",
		"Each CodeBuild project writes only its own log group and report groups: the wildcard is the log stream or report name below its own project's name.",
		`/^Resource::arn:<AWS::Partition>:logs:(<AWS::Region>|[a-z0-9-]+):<AWS::AccountId>:log-group:\/aws\/codebuild\/<Pipeline[A-Za-z0-9]+>:\*$/`,
		`/^Resource::arn:<AWS::Partition>:codebuild:(<AWS::Region>|[a-z0-9-]+):<AWS::AccountId>:report-group\/<Pipeline[A-Za-z0-9]+>-\*$/`)
	stack.Suppress(d.Pipeline,
		rule("AwsSolutions-CB4", "CodeBuild encrypts its artifacts with the AWS-managed S3 key; they are this repository's source and build outputs, with no secrets. A customer-managed key ($1 a month) matters only for cross-account delivery (crossAccountKeys)."),
		rule("AwsSolutions-CB5", "The official golang image (Debian bookworm, "+BuildImage+"): Go "+GoVersion+" as the README names (CodeBuild's images carry older Go), and the Debian packages `make deps` installs with apt-get, as on every developer machine and in GitHub Actions."),
		artifacts, ownLogs)
	byPath := func(path string, rules ...*cdknag.NagPackSuppression) {
		cdknag.NagSuppressions_AddResourceSuppressionsByPath(d.Stack, jsii.String("/"+*d.Stack.Node().Path()+"/"+path), &rules, jsii.Bool(true))
	}
	byPath("Pipeline/Assets/FileRole/DefaultPolicy/Resource",
		rule("AwsSolutions-IAM5", "CDK Pipelines' asset-publishing role, shared by its asset projects: their log groups and report groups (/aws/codebuild/*, report-group/*), CodePipeline's StartBuild/BatchGetBuilds/StopBuild (\"*\": the projects are created with the role), and sts:AssumeRole on the one CDK file-publishing bootstrap role.",
			"Resource::*", `/^Resource::arn:<AWS::Partition>:logs:(<AWS::Region>|[a-z0-9-]+):<AWS::AccountId>:log-group:\/aws\/codebuild\/\*$/`,
			`/^Resource::arn:<AWS::Partition>:codebuild:(<AWS::Region>|[a-z0-9-]+):<AWS::AccountId>:report-group\/\*$/`))
	byPath("Pipeline/UpdatePipeline/SelfMutation/Role/DefaultPolicy/Resource",
		rule("AwsSolutions-IAM5", "CDK Pipelines' self-mutation: cloudformation:DescribeStacks and s3:ListBucket (no resource-level narrowing that `cdk deploy` accepts), and sts:AssumeRole only on roles tagged aws-cdk:bootstrap-role deploy, file-publishing or image-publishing (the condition in the statement).",
			"Resource::*", "Resource::arn:*:iam::<AWS::AccountId>:role/*"))
	stack.Suppress(d.Stack.Node().FindChild(jsii.String("SmokeStepRole")), artifacts, ownLogs)
	stack.Suppress(d.Pipeline.Pipeline().ArtifactBucket(),
		rule("AwsSolutions-S1", "Holds only this pipeline's artifacts, for 30 days; only the pipeline's own roles read and write it, and CloudTrail records who changes it. Access logs would need a bucket of their own."))
}

// logicalID is the CloudFormation logical id of c's resource, as findings name it.
func logicalID(st awscdk.Stack, c constructs.IConstruct) string {
	return *st.GetLogicalId(c.Node().DefaultChild().(awscdk.CfnElement))
}
