package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"github.com/imagepipe/imagepipe/local/cli"
	"io"
	"os"
	"time"

	"github.com/imagepipe/imagepipe/local/asl"
)

func init() {
	commands["states"] = cli.Command{Summary: "states run --definition FILE [--input JSON]: run an ASL file on the local engine", Run: runStates}
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
		fmt.Fprintln(stderr, "usage: imagepipe states run --definition FILE [--input JSON]")
		return cli.ErrUsage
	}
	fs := flag.NewFlagSet("states run", flag.ContinueOnError)
	fs.SetOutput(stderr)
	def := fs.String("definition", "", "ASL definition file (JSONPath, substitutions already applied)")
	input := fs.String("input", "{}", "execution input JSON")
	if err := fs.Parse(args[1:]); err != nil {
		return err
	}
	if *def == "" || fs.NArg() > 0 {
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
	if t := sm.TimeoutSeconds(); t > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, time.Duration(t)*time.Second)
		defer cancel()
	}
	// No Lambda handlers and no queue: such Tasks fail with a clear error.
	out, err := sm.Run(ctx, []byte(*input), asl.Options{Clock: asl.RealClock{}})
	var ee *asl.ExecutionError
	if errors.As(err, &ee) {
		fmt.Fprintf(stderr, "ERROR: %s: %s\n", ee.Name, ee.Cause)
		return errExecutionFailed
	}
	if err != nil {
		return err
	}
	_, err = fmt.Fprintf(stdout, "%s\n", out)
	return err
}
