package main

import (
	"context"
	"crypto/rand"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/imagepipe/imagepipe/local/asl"
	"github.com/imagepipe/imagepipe/local/cli"
)

func init() {
	commands["states"] = cli.Command{Summary: "states run --definition FILE [--input JSON] [--mock-config FILE --test-case NAME]: run an ASL file on the local engine", Run: runStates}
}

// errExecutionFailed marks a failed execution already reported on stderr.
var errExecutionFailed = errors.New("execution failed")

func runStates(ctx context.Context, args []string) error {
	err := statesMain(ctx, args, os.Stdout, os.Stderr)
	if errors.Is(err, errExecutionFailed) {
		os.Exit(1) // the ERROR line is the whole report
	}
	return err
}

// statesMain runs `states run`; it writes the output JSON to stdout, or
// "ERROR: <name>: <cause>" to stderr and returns errExecutionFailed.
func statesMain(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 || args[0] != "run" {
		fmt.Fprintln(stderr, "usage: imagepipe states run --definition FILE [--input JSON] [--mock-config FILE --test-case NAME]")
		return cli.ErrUsage
	}
	fs := flag.NewFlagSet("states run", flag.ContinueOnError)
	fs.SetOutput(stderr)
	def := fs.String("definition", "", "ASL definition file (JSONPath, substitutions already applied)")
	input := fs.String("input", "{}", "execution input JSON")
	mockFile := fs.String("mock-config", "", "Step Functions Local mock configuration file: Task states answer from its MockedResponses")
	testCase := fs.String("test-case", "", "the mock configuration's test case to run (with --mock-config)")
	if err := fs.Parse(args[1:]); err != nil {
		return err
	}
	if *def == "" || fs.NArg() > 0 || (*mockFile == "") != (*testCase == "") {
		fs.Usage()
		return cli.ErrUsage
	}
	b, err := os.ReadFile(*def)
	if err != nil {
		return fmt.Errorf("read definition: %w", err)
	}
	sm, err := asl.Parse(b)
	if err != nil {
		return fmt.Errorf("%s: %w", *def, err)
	}
	// No Lambda handlers and no queue: Tasks the mock configuration does not answer
	// fail with a clear error. The engine applies the definition's TimeoutSeconds.
	opts := asl.Options{Clock: asl.RealClock{}, Context: runContext(*def)}
	if *mockFile != "" {
		if opts.Mock, err = loadMock(*mockFile, opts.Context.StateMachine.Name, *testCase); err != nil {
			return err
		}
	}
	out, err := sm.Run(ctx, []byte(*input), opts)
	var ee *asl.ExecutionError
	if errors.As(err, &ee) {
		fmt.Fprintf(stderr, "ERROR: %s: %s\n", orNone(ee.Name, "(no error name)"), orNone(ee.Cause, "(no cause)"))
		return errExecutionFailed
	}
	if err != nil {
		return err
	}
	_, err = fmt.Fprintf(stdout, "%s\n", out)
	return err
}

// loadMock reads the mock configuration and picks the test case of the state machine
// named after the definition file (or of the file's only state machine).
func loadMock(path, stateMachine, testCase string) (asl.TaskMock, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read mock config: %w", err)
	}
	c, err := asl.ParseMockConfig(b)
	if err != nil {
		return nil, err
	}
	if _, ok := c.StateMachines[stateMachine]; !ok {
		stateMachine = ""
	}
	return c.TestCase(stateMachine, testCase)
}

func orNone(s, none string) string {
	if s == "" {
		return none
	}
	return s
}

// runContext is $$ for a local run: a state machine named after the file and an
// execution with a fresh UUID name, in the twin's account and region.
func runContext(path string) asl.ExecutionContext {
	name := filepath.Base(path)
	for _, ext := range []string{".json", ".asl"} {
		name = strings.TrimSuffix(name, ext)
	}
	name = strings.Map(func(r rune) rune {
		if r <= ' ' || strings.ContainsRune(`<>{}[]?*"#%\^|~`+"`"+`$&,;:/`, r) {
			return '-'
		}
		return r
	}, name)
	if name == "" {
		name = "StateMachine"
	}
	exec := newUUID()
	const arn = "arn:aws:states:us-east-1:000000000000:"
	return asl.ExecutionContext{
		Execution:    asl.ExecutionInfo{Id: arn + "execution:" + name + ":" + exec, Name: exec, StartTime: time.Now(), RoleArn: "arn:aws:iam::000000000000:role/StatesRun"},
		StateMachine: asl.StateMachineInfo{Id: arn + "stateMachine:" + name, Name: name},
	}
}

// newUUID is a random version 4 UUID, the name AWS gives an unnamed execution.
func newUUID() string {
	var b [16]byte
	_, _ = rand.Read(b[:]) // crypto/rand.Read never fails
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	return fmt.Sprintf("%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:16])
}
