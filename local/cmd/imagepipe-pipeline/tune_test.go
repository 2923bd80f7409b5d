package main

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/imagepipe/imagepipe/local/cli"
	"github.com/imagepipe/imagepipe/local/cost"
)

// TestTuneFromTable: --from prints, and draws, a table without measuring; what it
// prints is the committed table's choices.
func TestTuneFromTable(t *testing.T) {
	table := filepath.Join("..", "..", "cost", "tuned.json")
	svg := filepath.Join(t.TempDir(), "tune.svg")
	var out, errOut bytes.Buffer
	if err := tuneCmd(context.Background(), []string{"--from", table, "--svg", svg}, &out, &errOut); err != nil {
		t.Fatal(err, errOut.String())
	}
	tuned, err := cost.Tuned()
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range tuned.Functions {
		if !strings.Contains(out.String(), `{Name: "`+f.Name+`", MemoryMiB: `) {
			t.Errorf("no CDK setting for %s:\n%s", f.Name, out.String())
		}
	}
	b, err := os.ReadFile(svg)
	if err != nil || !bytes.HasPrefix(b, []byte("<svg")) || bytes.Count(b, []byte("<polyline")) != 2*len(tuned.Functions) {
		t.Errorf("svg: %v, %d bytes", err, len(b))
	}
}

func TestTuneUsage(t *testing.T) {
	for _, args := range [][]string{{"--sizes", "64"}, {"--sizes", "x"}, {"--functions", "search"}, {"extra"}} {
		var out, errOut bytes.Buffer
		if err := tuneCmd(context.Background(), args, &out, &errOut); !errors.Is(err, cli.ErrUsage) {
			t.Errorf("%v: %v, want a usage error", args, err)
		}
	}
}
