package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"syscall"

	"github.com/imagepipe/imagepipe/local/cli"
)

// pipelineBinary holds the commands that link the twin and the AWS SDK: serve, upload,
// load, redrive, smoke and tune. Linking them here would cost every `imagepipe thumbnail` their
// package initialisation (~25 ms and ~20 MB), as much as the thumbnail itself.
const pipelineBinary = "imagepipe-pipeline"

func init() {
	for name, summary := range map[string]string{
		"serve":   "run the local twin in the foreground (S3, Step Functions, SQS on the edge; web app and API)",
		"upload":  "PATH... [--endpoint URL] [--bucket images] [--prefix upload/] : upload photos and folders",
		"load":    "--rate R --duration D --concurrency C : upload generated photos, report throughput and latency",
		"redrive": "start failed work again: failure queue → new executions, bounded (or --executions: RedriveExecution on timed-out and stopped ones)",
		"smoke":   "prove a deployed stack (--stack) or the twin (--endpoint) end to end: one line per check, exit 1 on a failure",
		"tune":    "[--quick] [--functions a,b] [--sizes 128,...] [--write FILE] [--svg FILE] : measured power tuning: each function at Lambda memory sizes (cgroups), duration, cost, the cheapest within a latency bound",
	} {
		commands[name] = cli.Command{Summary: summary, Run: delegate(name)}
	}
}

// delegate replaces this process with imagepipe-pipeline (next to this binary, else on
// PATH), so signals and the process id stay the user's.
func delegate(name string) func(context.Context, []string) error {
	return func(_ context.Context, args []string) error {
		path, err := findPipelineBinary()
		if err != nil {
			return err
		}
		argv := append([]string{path, name}, args...)
		return syscall.Exec(path, argv, os.Environ())
	}
}

func findPipelineBinary() (string, error) {
	if self, err := os.Executable(); err == nil {
		p := filepath.Join(filepath.Dir(self), pipelineBinary)
		if _, err := os.Stat(p); err == nil {
			return p, nil
		}
	}
	p, err := exec.LookPath(pipelineBinary)
	if errors.Is(err, exec.ErrNotFound) {
		return "", fmt.Errorf("%s is not next to imagepipe nor on PATH: run `make build`", pipelineBinary)
	}
	return p, err
}
