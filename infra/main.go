// Command infra is the imagepipe CDK app (cdk.json at the repository root runs it).
// Context: express=true, alarmEmail=ADDR, searchInstanceType=T, searchInstanceCount=N
// (1, or an even number), searchVolumeGiB=N, searchDomainName=NAME (default: from the
// stack name), lambdaDir=DIR, webDist=DIR, stackName=NAME; read by stack.New:
// faults, redriveSchedule, reservedConcurrency, devOrigin, logExecutionData,
// privateFields (infra/README.md describes them all). Delivery, each opt-in:
// pipeline=true with connectionArn, repo, branch or codeCommitRepo (pipeline.go);
// githubRepo=owner/name, githubEnvironment, githubOidcProviderArn (pipeline_github.go).
package main

import (
	"fmt"
	"os"
	"strconv"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/jsii-runtime-go"

	"github.com/imagepipe/imagepipe/infra/stack"
)

func main() {
	defer jsii.Close()
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "infra:", err)
		os.Exit(1)
	}
}

func run() error {
	app := awscdk.NewApp(nil)
	ctx := func(key, def string) string {
		switch v := app.Node().TryGetContext(jsii.String(key)).(type) {
		case string:
			if v != "" {
				return v
			}
		case bool, float64:
			return fmt.Sprint(v)
		}
		return def
	}
	num := func(key string) (float64, error) {
		v := ctx(key, "")
		if v == "" {
			return 0, nil
		}
		n, err := strconv.ParseFloat(v, 64)
		if err != nil {
			return 0, fmt.Errorf("context %s=%q: %w", key, v, err)
		}
		return n, nil
	}
	count, err := num("searchInstanceCount")
	if err != nil {
		return err
	}
	volume, err := num("searchVolumeGiB")
	if err != nil {
		return err
	}
	express, err := strconv.ParseBool(ctx("express", "false"))
	if err != nil {
		return fmt.Errorf("context express: %w", err)
	}
	props := stack.Props{
		StackProps: awscdk.StackProps{
			Description: jsii.String("imagepipe: serverless image pipeline (S3, EventBridge, Step Functions, Lambda, OpenSearch)"),
			Env: &awscdk.Environment{
				Account: envOr("CDK_DEPLOY_ACCOUNT", "CDK_DEFAULT_ACCOUNT"),
				Region:  envOr("CDK_DEPLOY_REGION", "CDK_DEFAULT_REGION"),
			},
		},
		LambdaDir:  ctx("lambdaDir", "build/lambda"),
		WebDist:    ctx("webDist", "web/dist"),
		Express:    express,
		AlarmEmail: ctx("alarmEmail", ""),
		Search: stack.SearchSize{
			DomainName:    ctx("searchDomainName", ""),
			InstanceType:  ctx("searchInstanceType", ""),
			InstanceCount: count,
			VolumeGiB:     volume,
		},
	}
	stackName := ctx("stackName", "ImagePipe")
	if repo := ctx(ContextGitHubRepo, ""); repo != "" {
		gh := GitHubConfig{Repo: repo, Environment: ctx(ContextGitHubEnvironment, ""), ProviderArn: ctx(ContextGitHubOIDC, "")}
		if _, err := NewGitHubDeploy(app, stackName, gh, props.Env); err != nil {
			return err
		}
		props.SmokeTestPrincipals = append(props.SmokeTestPrincipals, GitHubDeployRoleName(stackName))
	}
	pipeline, err := strconv.ParseBool(ctx(ContextPipeline, "false"))
	if err != nil {
		return fmt.Errorf("context %s: %w", ContextPipeline, err)
	}
	if pipeline {
		given := map[string]string{}
		for _, k := range forwardedContext {
			given[k] = ctx(k, "")
		}
		cfg := DeliveryConfig{
			ConnectionArn: ctx(ContextConnectionArn, ""), Repo: ctx(ContextRepo, ""), Branch: ctx(ContextBranch, ""),
			CodeCommitRepo: ctx(ContextCodeCommitRepo, ""), SynthArgs: synthArgs(given),
		}
		if _, err := NewDelivery(app, stackName, cfg, props); err != nil {
			return err
		}
	} else if _, err := stack.New(app, stackName, props); err != nil {
		return err
	}
	stack.ApplyNag(app)
	app.Synth(nil)
	return nil
}

// forwardedContext are the context keys the delivery pipeline's own synth is given
// again (the folders lambdaDir and webDist keep cdk.json's values there).
var forwardedContext = []string{
	"express", "alarmEmail", "searchInstanceType", "searchInstanceCount", "searchVolumeGiB", "searchDomainName", "stackName",
	stack.ContextFaults, stack.ContextRedriveSchedule, stack.ContextReservedConcurrency, stack.ContextDevOrigin,
	stack.ContextLogExecutionData, stack.ContextPrivateFields,
	ContextPipeline, ContextConnectionArn, ContextRepo, ContextBranch, ContextCodeCommitRepo,
	ContextGitHubRepo, ContextGitHubEnvironment, ContextGitHubOIDC,
}

// envOr returns the first set variable, or nil for an environment-agnostic stack.
func envOr(keys ...string) *string {
	for _, k := range keys {
		if v := os.Getenv(k); v != "" {
			return jsii.String(v)
		}
	}
	return nil
}
