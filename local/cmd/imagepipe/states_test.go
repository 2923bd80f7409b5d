package main

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func writeDef(t *testing.T, def string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "sm.asl.json")
	if err := os.WriteFile(p, []byte(def), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestStatesRunOutput(t *testing.T) {
	p := writeDef(t, `{"StartAt":"P","States":{"P":{"Type":"Pass","Parameters":{"sum.$":"States.MathAdd($.a, 1)"},"End":true}}}`)
	var out, errb bytes.Buffer
	if err := statesMain(context.Background(), []string{"run", "--definition", p, "--input", `{"a":41}`}, &out, &errb); err != nil {
		t.Fatalf("%v (%s)", err, errb.String())
	}
	if got := strings.TrimSpace(out.String()); got != `{"sum":42}` {
		t.Fatalf("output %s", got)
	}
}

func TestStatesRunFailure(t *testing.T) {
	p := writeDef(t, `{"StartAt":"F","States":{"F":{"Type":"Fail","Error":"Boom","Cause":"it broke"}}}`)
	var out, errb bytes.Buffer
	err := statesMain(context.Background(), []string{"run", "--definition", p}, &out, &errb)
	if !errors.Is(err, errExecutionFailed) || errb.String() != "ERROR: Boom: it broke\n" || out.Len() != 0 {
		t.Fatalf("err %v stderr %q stdout %q", err, errb.String(), out.String())
	}
}

func TestStatesRunUnknownResource(t *testing.T) {
	p := writeDef(t, `{"StartAt":"T","States":{"T":{"Type":"Task","Resource":"arn:aws:states:::dynamodb:putItem","End":true}}}`)
	var out, errb bytes.Buffer
	err := statesMain(context.Background(), []string{"run", "--definition", p}, &out, &errb)
	if !errors.Is(err, errExecutionFailed) || !strings.HasPrefix(errb.String(), "ERROR: States.Runtime: unsupported Task resource") {
		t.Fatalf("err %v stderr %q", err, errb.String())
	}
	p = writeDef(t, `{"StartAt":"T","States":{"T":{"Type":"Task","Resource":"arn:aws:lambda:us-east-1:1:function:nope","End":true}}}`)
	errb.Reset()
	err = statesMain(context.Background(), []string{"run", "--definition", p}, &out, &errb)
	if !errors.Is(err, errExecutionFailed) || !strings.HasPrefix(errb.String(), "ERROR: Lambda.ResourceNotFoundException: Function not found") {
		t.Fatalf("err %v stderr %q", err, errb.String())
	}
}

func TestStatesRunInvalidDefinition(t *testing.T) {
	p := writeDef(t, `{"StartAt":"X","States":{"P":{"Type":"Pass"}}}`)
	var out, errb bytes.Buffer
	err := statesMain(context.Background(), []string{"run", "--definition", p}, &out, &errb)
	if err == nil || errors.Is(err, errExecutionFailed) || !strings.Contains(err.Error(), "StartAt") {
		t.Fatalf("err %v", err)
	}
}
