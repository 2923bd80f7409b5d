package main

import (
	"context"
	"errors"
	"math/rand/v2"
	"os"
	"os/exec"
	"strings"
	"testing"

	"github.com/aws/aws-lambda-go/lambda"

	"github.com/imagepipe/imagepipe/functions/faults"
	"github.com/imagepipe/imagepipe/functions/pipeline"
)

// The mode from FAULT_MODE reaches the Lambda's answer as the retryable error name.
func TestFaultModeFromEnv(t *testing.T) {
	t.Setenv("FAULT_MODE", "always")
	called := false
	h := faults.Wrap("index-document", faults.FromEnv("index-document"), rand.Float64, func(context.Context, map[string]any) (string, error) {
		called = true
		return "ok", nil
	})
	_, err := lambda.NewHandler(h).Invoke(context.Background(), []byte(`{}`))
	var te *pipeline.TransientError // the Retry of the state machine names it
	if !errors.As(err, &te) || called || !strings.Contains(err.Error(), "injected fault") {
		t.Fatalf("err = %v, called = %v", err, called)
	}
	t.Setenv("FAULT_MODE", "")
	if m := faults.FromEnv("index-document")(); m.Kind != faults.Off {
		t.Errorf("unset: %v", m)
	}
}

// An invalid FAULT_MODE fails the init (exit status 1), never runs unfaulted.
func TestFaultModeInvalidFailsInit(t *testing.T) {
	if os.Getenv("FAULTMODE_CHILD") == "1" {
		faults.FromEnv("index-document")
		os.Exit(0)
	}
	cmd := exec.Command(os.Args[0], "-test.run=^TestFaultModeInvalidFailsInit$")
	cmd.Env = append(os.Environ(), "FAULTMODE_CHILD=1", "FAULT_MODE=sometimes")
	out, err := cmd.CombinedOutput()
	var ee *exec.ExitError
	if !errors.As(err, &ee) || ee.ExitCode() != 1 || !strings.Contains(string(out), "invalid FAULT_MODE") {
		t.Errorf("exit %v, output %s", err, out)
	}
}
