package test

import (
	"bytes"
	"encoding/json"
	"image/jpeg"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/sfn"
	sfntypes "github.com/aws/aws-sdk-go-v2/service/sfn/types"
)

// The twin deploys the template, so a change to the template changes what the twin
// does, as it would change what AWS does. Each mutation below is one a reviewer could
// miss; each must fail the way AWS fails, while the unmutated snapshot passes (the
// other end-to-end tests run it).

// snapshotTemplate reads the committed snapshot as JSON to mutate.
func snapshotTemplate(t *testing.T) map[string]any {
	t.Helper()
	raw, err := os.ReadFile(filepath.Join(repoRoot(), "infra", "snapshot", "ImagePipe.template.json"))
	if err != nil {
		t.Fatal(err)
	}
	var tmpl map[string]any
	if err := json.Unmarshal(raw, &tmpl); err != nil {
		t.Fatal(err)
	}
	return tmpl
}

// writeTemplate writes a mutated template where `serve --template` can read it.
func writeTemplate(t *testing.T, tmpl map[string]any) string {
	t.Helper()
	b, err := json.Marshal(tmpl)
	if err != nil {
		t.Fatal(err)
	}
	p := filepath.Join(t.TempDir(), "mutated.template.json")
	if err := os.WriteFile(p, b, 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

// resource finds the one resource of a type whose logical id starts with prefix.
func resource(t *testing.T, tmpl map[string]any, typ, prefix string) map[string]any {
	t.Helper()
	var found map[string]any
	for id, r := range tmpl["Resources"].(map[string]any) {
		res := r.(map[string]any)
		if res["Type"] == typ && strings.HasPrefix(id, prefix) {
			if found != nil {
				t.Fatalf("more than one %s %s*", typ, prefix)
			}
			found = res
		}
	}
	if found == nil {
		t.Fatalf("no %s %s* in the snapshot", typ, prefix)
	}
	return found
}

// functionEnv is a function's Environment.Variables in the template.
func functionEnv(t *testing.T, tmpl map[string]any, prefix string) map[string]any {
	t.Helper()
	fn := resource(t, tmpl, "AWS::Lambda::Function", prefix)
	return fn["Properties"].(map[string]any)["Environment"].(map[string]any)["Variables"].(map[string]any)
}

func putPhoto(t *testing.T, tw *Twin, key string) {
	t.Helper()
	var buf bytes.Buffer
	if err := jpeg.Encode(&buf, photo(160, 120, 7), nil); err != nil {
		t.Fatal(err)
	}
	if _, err := tw.S3().PutObject(ctxT(t), &s3.PutObjectInput{Bucket: aws.String("images"), Key: aws.String(key), Body: bytes.NewReader(buf.Bytes())}); err != nil {
		t.Fatalf("put %s: %v", key, err)
	}
}

// failedExecution waits for the pipeline's one failed execution and returns the
// failure-queue message its Catch wrote.
func failedExecution(t *testing.T, tw *Twin) failureBody {
	t.Helper()
	var msgs []failureBody
	waitFor(t, 90*time.Second, "a failed execution and its failure-queue message", func() (bool, error) {
		msgs = tw.failures(t)
		return len(msgs) > 0 && len(tw.executions(t, sfntypes.ExecutionStatusFailed)) > 0, nil
	})
	if len(msgs) != 1 {
		t.Errorf("%d failure-queue messages, want 1: %+v", len(msgs), msgs)
	}
	return msgs[0]
}

// A function whose required environment variable the template drops cannot start: its
// invocation fails with Lambda's init error, and the execution fails at that state.
func TestTemplateWithoutARequiredVariableFailsAtInit(t *testing.T) {
	tmpl := snapshotTemplate(t)
	delete(functionEnv(t, tmpl, "IndexDocumentFunction"), "OPENSEARCH_ENDPOINT")
	tw := startTwin(t, "--template", writeTemplate(t, tmpl))
	putPhoto(t, tw, "upload/init-error.jpg")
	f := failedExecution(t, tw)
	if f.State != "IndexDocument" || f.Error != "Runtime.ExitError" {
		t.Errorf("failure %q at %q (cause %q), want Runtime.ExitError at IndexDocument", f.Error, f.State, f.Cause)
	}
}

// A rule whose prefix no longer matches starts nothing: S3 stores the object, and no
// execution exists. (S3 raises the event before it answers, so there is nothing to
// wait for.) The key under the new prefix proves the rule still works.
func TestTemplateRulePrefixDecidesWhatStarts(t *testing.T) {
	tmpl := snapshotTemplate(t)
	rule := resource(t, tmpl, "AWS::Events::Rule", "ObjectCreated")
	key := rule["Properties"].(map[string]any)["EventPattern"].(map[string]any)["detail"].(map[string]any)["object"].(map[string]any)["key"].([]any)
	key[0] = map[string]any{"prefix": "incoming/"}
	tw := startTwin(t, "--template", writeTemplate(t, tmpl))

	putPhoto(t, tw, "upload/ignored.jpg")
	if n := len(tw.executions(t, "")); n != 0 {
		t.Fatalf("%d executions after an upload the rule no longer matches, want 0", n)
	}
	putPhoto(t, tw, "incoming/started.jpg")
	waitFor(t, 30*time.Second, "one execution for incoming/", func() (bool, error) {
		return len(tw.executions(t, "")) == 1, nil
	})
}

// A substitution variable the definition uses but the template does not give makes
// the deployment fail at start, naming the resource and the variable: CloudFormation
// would refuse the state machine too.
func TestTemplateBrokenSubstitutionFailsTheDeploy(t *testing.T) {
	tmpl := snapshotTemplate(t)
	sm := resource(t, tmpl, "AWS::StepFunctions::StateMachine", "Pipeline")
	subs := sm["Properties"].(map[string]any)["DefinitionSubstitutions"].(map[string]any)
	subs["MakeThumbnailFunctionArnTypo"] = subs["MakeThumbnailFunctionArn"]
	delete(subs, "MakeThumbnailFunctionArn")
	cmd := exec.Command(imagepipeBin, "serve", "--data", t.TempDir(), "--edge-addr", freeAddr(t), "--http-addr", freeAddr(t),
		"--functions", functionsDir, "--template", writeTemplate(t, tmpl))
	cmd.Dir = repoRoot()
	done := make(chan struct{})
	var out []byte
	var err error
	go func() { out, err = cmd.CombinedOutput(); close(done) }()
	select {
	case <-done:
	case <-time.After(60 * time.Second):
		cmd.Process.Kill()
		<-done
		t.Fatalf("serve kept running with a broken substitution:\n%s", out)
	}
	if err == nil || !strings.Contains(string(out), "Pipeline") || !strings.Contains(string(out), "MakeThumbnailFunctionArn") {
		t.Errorf("serve: err %v, output:\n%s\nwant a failure naming the state machine and the variable", err, out)
	}
}

// A function timeout below the function's work fails the invocation with Lambda's
// timeout error; the state machine retries nothing it should not and the execution
// fails at that state. (FAULT_MODE adds the work: 3 s of latency in a 1 s function.)
func TestTemplateTimeoutBelowTheWorkTimesOut(t *testing.T) {
	tmpl := snapshotTemplate(t)
	fn := resource(t, tmpl, "AWS::Lambda::Function", "ExtractMetadataFunction")
	fn["Properties"].(map[string]any)["Timeout"] = 1
	functionEnv(t, tmpl, "ExtractMetadataFunction")["FAULT_MODE"] = "latency=3s"
	tw := startTwin(t, "--template", writeTemplate(t, tmpl))
	putPhoto(t, tw, "upload/slow.jpg")
	f := failedExecution(t, tw)
	if f.State != "ExtractMetadata" || f.Error != "Sandbox.Timedout" || !strings.Contains(f.Cause, "timed out after 1.00 seconds") {
		t.Errorf("failure %q at %q (cause %q), want Sandbox.Timedout at ExtractMetadata", f.Error, f.State, f.Cause)
	}
	hist, err := tw.SFN().GetExecutionHistory(ctxT(t), &sfn.GetExecutionHistoryInput{ExecutionArn: tw.executions(t, sfntypes.ExecutionStatusFailed)[0].ExecutionArn})
	if err != nil {
		t.Fatal(err)
	}
	failed := 0
	for _, e := range hist.Events {
		if e.Type == sfntypes.HistoryEventTypeLambdaFunctionFailed || e.Type == sfntypes.HistoryEventTypeTaskFailed {
			failed++
		}
	}
	if failed == 0 {
		t.Error("no failed task in the history")
	}
}
