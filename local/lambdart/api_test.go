package lambdart

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awsmiddleware "github.com/aws/aws-sdk-go-v2/aws/middleware"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/lambda"
	"github.com/aws/aws-sdk-go-v2/service/lambda/types"
)

// newAPI serves s.Handler and returns the real SDK client pointed at it.
func newAPI(t *testing.T, s *Service) (*lambda.Client, string) {
	t.Helper()
	srv := httptest.NewServer(s.Handler())
	t.Cleanup(srv.Close)
	client := lambda.New(lambda.Options{
		BaseEndpoint:     aws.String(srv.URL),
		Region:           "us-east-1",
		Credentials:      credentials.NewStaticCredentialsProvider("test", "test", ""),
		RetryMaxAttempts: 1, // a throttle must reach the test, not be retried
	})
	return client, srv.URL
}

func TestAPIInvoke(t *testing.T) {
	s, _ := newService(t, Options{}, testFunction("api-echo"))
	client, _ := newAPI(t, s)
	ctx := context.Background()

	out, err := client.Invoke(ctx, &lambda.InvokeInput{FunctionName: aws.String("api-echo"), Payload: []byte(`{"k":"v"}`)})
	if err != nil {
		t.Fatal(err)
	}
	var r result
	if err := json.Unmarshal(out.Payload, &r); err != nil || string(r.Event) != `{"k":"v"}` {
		t.Errorf("payload %s (%v)", out.Payload, err)
	}
	if id, _ := awsmiddleware.GetRequestIDMetadata(out.ResultMetadata); id != r.RequestID {
		t.Errorf("x-amzn-RequestId %q, the function saw %q", id, r.RequestID)
	}
	if out.StatusCode != 200 || aws.ToString(out.ExecutedVersion) != "$LATEST" || out.FunctionError != nil || out.LogResult != nil {
		t.Errorf("Invoke = status %d version %q error %v log %v", out.StatusCode, aws.ToString(out.ExecutedVersion), out.FunctionError, out.LogResult)
	}

	// A function error is a 200 with X-Amz-Function-Error, and the tail shows the
	// function's output and Lambda's lines.
	out, err = client.Invoke(ctx, &lambda.InvokeInput{FunctionName: aws.String("arn:aws:lambda:us-east-1:000000000000:function:api-echo"),
		Payload: []byte(`{"mode":"error"}`), LogType: types.LogTypeTail})
	if err != nil {
		t.Fatal(err)
	}
	if aws.ToString(out.FunctionError) != "Unhandled" {
		t.Errorf("FunctionError = %v", out.FunctionError)
	}
	var fe struct{ ErrorType, ErrorMessage string }
	if err := json.Unmarshal(out.Payload, &fe); err != nil || fe.ErrorType != "ImageError" || fe.ErrorMessage != "not an image" {
		t.Errorf("error payload %s", out.Payload)
	}
	tail, err := base64.StdEncoding.DecodeString(aws.ToString(out.LogResult))
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"START RequestId: ", `"errorType":"ImageError"`, "END RequestId: ", "REPORT RequestId: ", "\tMemory Size: 256 MB\t"} {
		if !strings.Contains(string(tail), want) {
			t.Errorf("log tail lacks %q:\n%s", want, tail)
		}
	}

	out, err = client.Invoke(ctx, &lambda.InvokeInput{FunctionName: aws.String("api-echo"), Payload: []byte(`{"mode":"log"}`), LogType: types.LogTypeTail})
	if err != nil {
		t.Fatal(err)
	}
	tail, _ = base64.StdEncoding.DecodeString(aws.ToString(out.LogResult))
	if !strings.Contains(string(tail), "plain line from the function\n") || !strings.Contains(string(tail), "a line on stderr\n") {
		t.Errorf("log tail lacks the function's lines:\n%s", tail)
	}

	// Timeouts and crashes are Unhandled too, with Lambda's payload.
	out, err = client.Invoke(ctx, &lambda.InvokeInput{FunctionName: aws.String("api-echo"), Payload: []byte(`{"mode":"exit","code":1}`)})
	if err != nil {
		t.Fatal(err)
	}
	if aws.ToString(out.FunctionError) != "Unhandled" || !bytes.HasPrefix(out.Payload, []byte(`{"errorType":"Runtime.ExitError","errorMessage":"RequestId: `)) {
		t.Errorf("crash = %v %s", out.FunctionError, out.Payload)
	}

	out, err = client.Invoke(ctx, &lambda.InvokeInput{FunctionName: aws.String("api-echo"), InvocationType: types.InvocationTypeDryRun})
	if err != nil || out.StatusCode != 204 {
		t.Errorf("DryRun = %v, %v", out, err)
	}
}

func TestAPIInvokeEvent(t *testing.T) {
	s, _ := newService(t, Options{}, testFunction("api-event"))
	client, _ := newAPI(t, s)
	b := newBarrier(t)
	out, err := client.Invoke(context.Background(), &lambda.InvokeInput{FunctionName: aws.String("api-event"),
		InvocationType: types.InvocationTypeEvent, Payload: []byte(b.payload())})
	if err != nil {
		t.Fatal(err)
	}
	if out.StatusCode != 202 || len(out.Payload) != 0 {
		t.Errorf("Event invoke = %d %q", out.StatusCode, out.Payload)
	}
	b.await(t, 1) // it ran, in the background
	b.open()
}

func TestAPIErrors(t *testing.T) {
	fn := testFunction("api-busy")
	fn.ReservedConcurrency = 1
	s, _ := newService(t, Options{}, fn)
	client, _ := newAPI(t, s)
	ctx := context.Background()

	_, err := client.Invoke(ctx, &lambda.InvokeInput{FunctionName: aws.String("nope")})
	var nf *types.ResourceNotFoundException
	if !errors.As(err, &nf) || aws.ToString(nf.Message) != "Function not found: arn:aws:lambda:us-east-1:000000000000:function:nope:$LATEST" || aws.ToString(nf.Type) != "User" {
		t.Errorf("Invoke missing = %v", err)
	}
	_, err = client.GetFunction(ctx, &lambda.GetFunctionInput{FunctionName: aws.String("nope")})
	if !errors.As(err, &nf) || aws.ToString(nf.Message) != "Function not found: arn:aws:lambda:us-east-1:000000000000:function:nope" {
		t.Errorf("GetFunction missing = %v", err)
	}
	_, err = client.Invoke(ctx, &lambda.InvokeInput{FunctionName: aws.String("api-busy"), Payload: []byte(`{oops`)})
	var ic *types.InvalidRequestContentException
	if !errors.As(err, &ic) {
		t.Errorf("invalid JSON = %v", err)
	}

	b := newBarrier(t)
	done := make(chan error, 1)
	go func() {
		_, err := client.Invoke(ctx, &lambda.InvokeInput{FunctionName: aws.String("api-busy"), Payload: []byte(b.payload())})
		done <- err
	}()
	b.await(t, 1)
	_, err = client.Invoke(ctx, &lambda.InvokeInput{FunctionName: aws.String("api-busy")})
	var tm *types.TooManyRequestsException
	if !errors.As(err, &tm) || tm.Reason != types.ThrottleReasonReservedFunctionConcurrentInvocationLimitExceeded || aws.ToString(tm.Message) != "Rate Exceeded." {
		t.Errorf("throttled = %v", err)
	}
	b.open()
	if err := <-done; err != nil {
		t.Error(err)
	}
}

func TestAPIFunctions(t *testing.T) {
	primary := testFunction("api-main")
	primary.Env = map[string]string{"BUCKET": "images"}
	primary.ReservedConcurrency = 5
	primary.MemoryMB = 1024
	primary.Timeout = 30 * time.Second
	primary.Description = "the main one"
	s, _ := newService(t, Options{}, primary, testFunction("api-b"), testFunction("api-c"))
	client, _ := newAPI(t, s)
	ctx := context.Background()

	var names []string
	pages := lambda.NewListFunctionsPaginator(client, &lambda.ListFunctionsInput{MaxItems: aws.Int32(2)})
	for pages.HasMorePages() {
		page, err := pages.NextPage(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if len(page.Functions) > 2 {
			t.Errorf("a page of %d with MaxItems 2", len(page.Functions))
		}
		for _, f := range page.Functions {
			names = append(names, aws.ToString(f.FunctionName))
		}
	}
	if strings.Join(names, ",") != "api-b,api-c,api-main" {
		t.Errorf("ListFunctions = %v", names)
	}

	for _, ref := range []string{"api-main", "arn:aws:lambda:us-east-1:000000000000:function:api-main"} {
		out, err := client.GetFunction(ctx, &lambda.GetFunctionInput{FunctionName: aws.String(ref)})
		if err != nil {
			t.Fatal(err)
		}
		c := out.Configuration
		checks := map[string][2]any{
			"FunctionArn":   {aws.ToString(c.FunctionArn), "arn:aws:lambda:us-east-1:000000000000:function:api-main"},
			"Runtime":       {c.Runtime, types.RuntimeProvidedal2023},
			"Handler":       {aws.ToString(c.Handler), "bootstrap"},
			"Role":          {aws.ToString(c.Role), "arn:aws:iam::000000000000:role/api-main-role"},
			"MemorySize":    {aws.ToInt32(c.MemorySize), int32(1024)},
			"Timeout":       {aws.ToInt32(c.Timeout), int32(30)},
			"Description":   {aws.ToString(c.Description), "the main one"},
			"Architectures": {len(c.Architectures) == 1 && c.Architectures[0] == types.ArchitectureArm64, true},
			"State":         {c.State, types.StateActive},
			"LastUpdate":    {c.LastUpdateStatus, types.LastUpdateStatusSuccessful},
			"PackageType":   {c.PackageType, types.PackageTypeZip},
			"LogGroup":      {aws.ToString(c.LoggingConfig.LogGroup), "/aws/lambda/api-main"},
			"Version":       {aws.ToString(c.Version), "$LATEST"},
			"Environment":   {len(c.Environment.Variables) == 1 && c.Environment.Variables["BUCKET"] == "images", true},
			"Code":          {aws.ToString(out.Code.RepositoryType), "S3"},
			"Concurrency":   {aws.ToInt32(out.Concurrency.ReservedConcurrentExecutions), int32(5)},
			"CodeSize":      {c.CodeSize > 0 && aws.ToString(c.CodeSha256) != "", true},
		}
		for name, c := range checks {
			if c[0] != c[1] {
				t.Errorf("GetFunction(%s) %s = %v, want %v", ref, name, c[0], c[1])
			}
		}
	}
	cfg, err := client.GetFunctionConfiguration(ctx, &lambda.GetFunctionConfigurationInput{FunctionName: aws.String("api-b")})
	if err != nil || aws.ToString(cfg.FunctionName) != "api-b" || cfg.Environment != nil {
		t.Errorf("GetFunctionConfiguration = %+v, %v", cfg, err)
	}
	out, err := client.GetFunction(ctx, &lambda.GetFunctionInput{FunctionName: aws.String("api-b")})
	if err != nil || out.Concurrency != nil {
		t.Errorf("an unreserved function reports concurrency %+v (%v)", out.Concurrency, err)
	}
	conc, err := client.GetFunctionConcurrency(ctx, &lambda.GetFunctionConcurrencyInput{FunctionName: aws.String("api-main")})
	if err != nil || aws.ToInt32(conc.ReservedConcurrentExecutions) != 5 {
		t.Errorf("GetFunctionConcurrency = %+v, %v", conc, err)
	}
}

// TestAWSCLIInvoke drives the real `aws lambda` commands when the CLI is installed.
func TestAWSCLIInvoke(t *testing.T) {
	awsCLI, err := exec.LookPath("aws")
	if err != nil {
		t.Skip("no aws CLI on PATH")
	}
	s, _ := newService(t, Options{}, testFunction("cli-echo"))
	_, url := newAPI(t, s)
	dir := t.TempDir()
	run := func(args ...string) string {
		t.Helper()
		cmd := exec.Command(awsCLI, append([]string{"--endpoint-url", url, "--region", "us-east-1", "--output", "json"}, args...)...)
		cmd.Env = append(os.Environ(), "AWS_ACCESS_KEY_ID=test", "AWS_SECRET_ACCESS_KEY=test",
			"AWS_CONFIG_FILE="+filepath.Join(dir, "config"), "AWS_SHARED_CREDENTIALS_FILE="+filepath.Join(dir, "credentials"), "AWS_PAGER=")
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Fatalf("aws %v: %v\n%s", args, err, out)
		}
		return string(out)
	}
	outFile, inFile := filepath.Join(dir, "out.json"), filepath.Join(dir, "in.json")
	if err := os.WriteFile(inFile, []byte(`{"from":"cli"}`), 0o644); err != nil {
		t.Fatal(err)
	}
	// fileb:// passes the payload as is with both CLI v1 and v2.
	meta := run("lambda", "invoke", "--function-name", "cli-echo", "--payload", "fileb://"+inFile, outFile)
	if !strings.Contains(meta, `"StatusCode": 200`) || !strings.Contains(meta, `"ExecutedVersion": "$LATEST"`) {
		t.Errorf("aws lambda invoke printed %s", meta)
	}
	body, err := os.ReadFile(outFile)
	if err != nil || !strings.Contains(string(body), `"event":{"from":"cli"}`) {
		t.Errorf("response file %s (%v)", body, err)
	}
	if list := run("lambda", "list-functions"); !strings.Contains(list, `"FunctionName": "cli-echo"`) {
		t.Errorf("aws lambda list-functions printed %s", list)
	}
	if got := run("lambda", "get-function", "--function-name", "cli-echo"); !strings.Contains(got, `"RepositoryType": "S3"`) {
		t.Errorf("aws lambda get-function printed %s", got)
	}
}
