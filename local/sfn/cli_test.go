package sfn

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http/httptest"
	"os"
	"os/exec"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/aws/aws-lambda-go/lambda"

	"github.com/imagepipe/imagepipe/functions/testkit"
	"github.com/imagepipe/imagepipe/local/asl"
)

// awsCLI finds an aws CLI, preferring one that has the Step Functions developer
// commands (test-state, validate-state-machine-definition and redrive-execution came
// in late 2023 and 2024; Debian's aws-cli 2.9, what `make deps` installs, lacks them,
// and no newer one can be installed here: the SDK tests drive those APIs).
func awsCLI(t *testing.T) string {
	var paths []string
	if p, err := exec.LookPath("aws"); err == nil {
		paths = append(paths, p)
	}
	paths = append(paths, "/usr/bin/aws", "/usr/local/bin/aws")
	found := ""
	for _, p := range paths {
		if has(p, "test-state") {
			return p
		}
		if found == "" && exec.Command(p, "--version").Run() == nil {
			found = p
		}
	}
	if found == "" {
		testkit.SkipUnlessCI(t, "no aws CLI (`make deps` installs Debian's awscli)")
	}
	return found
}

// has reports whether the CLI at path has the stepfunctions subcommand.
func has(path, subcommand string) bool {
	return exec.Command(path, "stepfunctions", subcommand, "help").Run() == nil
}

// TestAWSCLI drives the developer APIs with the aws CLI, as a developer would:
// create-state-machine, start-execution, redrive-execution,
// validate-state-machine-definition and test-state.
func TestAWSCLI(t *testing.T) {
	cli := awsCLI(t)
	var broken atomic.Bool
	broken.Store(true)
	fns := asl.Functions{"step": lambda.NewHandler(func(context.Context) (string, error) {
		if broken.Load() {
			return "", &notAnImage{}
		}
		return "ok", nil
	})}
	svc, err := Open(testPath(t), Options{Workers: 1, Invoker: fns, Logger: quietLogger()})
	if err != nil {
		t.Fatal(err)
	}
	defer closeNow(t, svc)
	srv := httptest.NewServer(svc.Handler())
	defer srv.Close()
	ctx := waitCtx(t)
	run := func(args ...string) map[string]any {
		t.Helper()
		cmd := exec.CommandContext(ctx, cli, append([]string{"--endpoint-url", srv.URL, "--region", "us-east-1", "--output", "json", "stepfunctions"}, args...)...)
		cmd.Env = append(os.Environ(), "AWS_ACCESS_KEY_ID=test", "AWS_SECRET_ACCESS_KEY=test", "AWS_DISABLE_HOST_PREFIX_INJECTION=true",
			"AWS_CONFIG_FILE=/dev/null", "AWS_SHARED_CREDENTIALS_FILE=/dev/null", "AWS_PAGER=")
		var stderr bytes.Buffer
		cmd.Stderr = &stderr
		out, err := cmd.Output()
		if err != nil {
			t.Fatalf("aws stepfunctions %s: %v\n%s", args[0], err, stderr.String())
		}
		var m map[string]any
		if len(bytes.TrimSpace(out)) > 0 {
			if err := json.Unmarshal(out, &m); err != nil {
				t.Fatalf("%s: %s", args[0], out)
			}
		}
		return m
	}
	def := `{"StartAt":"Step","States":{"Step":{"Type":"Task","Resource":"arn:aws:lambda:us-east-1:000000000000:function:step","End":true}}}`
	created := run("create-state-machine", "--name", "cli", "--definition", def, "--role-arn", role)
	started := run("start-execution", "--state-machine-arn", created["stateMachineArn"].(string), "--input", `{"k":1}`)
	arn := started["executionArn"].(string)
	if ex, err := svc.WaitFor(ctx, arn); err != nil || ex.Status != StatusFailed {
		t.Fatalf("%+v %v", ex, err)
	}
	broken.Store(false)
	if !has(cli, "redrive-execution") {
		t.Logf("%s has no redrive-execution, validate-state-machine-definition or test-state: those run through the SDK tests only", cli)
		return
	}
	run("redrive-execution", "--execution-arn", arn)
	if ex, err := svc.WaitFor(ctx, arn); err != nil || ex.Status != StatusSucceeded || ex.RedriveCount != 1 {
		t.Fatalf("after redrive %+v %v", ex, err)
	}
	if d := run("describe-execution", "--execution-arn", arn); d["redriveCount"] != 1.0 || d["output"] != `"ok"` {
		t.Fatalf("describe %v", d)
	}
	v := run("validate-state-machine-definition", "--definition", `{"StartAt":"A","States":{"A":{"Type":"Pass","Next":"B"}}}`)
	diags, _ := v["diagnostics"].([]any)
	if v["result"] != "FAIL" || len(diags) != 1 || diags[0].(map[string]any)["code"] != "MISSING_TRANSITION_TARGET" {
		t.Fatalf("validate %v", v)
	}
	ts := run("test-state", "--definition", `{"Type":"Pass","Parameters":{"n.$":"$.n"},"End":true}`, "--role-arn", role,
		"--input", `{"n":7}`, "--inspection-level", "DEBUG")
	if ts["status"] != "SUCCEEDED" || ts["output"] != `{"n":7}` || !strings.Contains(ts["inspectionData"].(map[string]any)["afterParameters"].(string), "7") {
		t.Fatalf("test-state %v", ts)
	}
}
