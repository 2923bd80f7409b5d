package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"github.com/imagepipe/imagepipe/local/cli"
	"io"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/imagepipe/imagepipe/local/cost"
	"github.com/imagepipe/imagepipe/statemachine"
)

func init() {
	commands["cost"] = cli.Command{Summary: "--images N [--duplicate-rate R] [--json] : dollars per million images, from measured durations", Run: runCost}
}

// defaultFunctions are the per-image figures the model starts from.
//
// CPU is measured: `make bench`'s in-process step table on a generated 12 MP 4:2:0
// JPEG at quality 90 (2.5 MB), CPU time by getrusage, on the 2-core x86-64 (AMD
// EPYC) development machine, 2026-11-25: metadata.ExtractBytes 0.01 ms, and
// makethumbnail.Render (80 px thumbnail + 640 px preview) 98-110 ms. Graviton arm64
// is taken as equally fast per core for this integer work (an assumption, not a
// measurement). detect-labels and index-document only call Rekognition and
// OpenSearch, so their CPU is taken as 2 ms.
//
// Wait is estimated, not measured (no AWS account here): S3 GETs of a 2.5 MB object
// from Lambda, the thumbnail and preview PUTs, a Rekognition DetectLabels round trip
// of about 0.7 s, an OpenSearch index request.
//
// Memory: as deployed (infra/stack/functions.go, from `make lambda-figures`): every
// function peaks under 40 MB and gets 128 MB, except make-thumbnail, which is
// CPU-bound and gets 1769 MB, one full vCPU, for latency (the Parallel state waits for
// its slowest branch). Override any with --function.
func defaultFunctions() []cost.Function {
	return []cost.Function{
		{Name: "extract-metadata", MemoryMB: 128, CPU: 1 * time.Millisecond, Wait: 40 * time.Millisecond},
		{Name: "detect-labels", MemoryMB: 128, CPU: 2 * time.Millisecond, Wait: 700 * time.Millisecond},
		{Name: "make-thumbnail", MemoryMB: 1769, CPU: 110 * time.Millisecond, Wait: 150 * time.Millisecond},
		{Name: "index-document", MemoryMB: 128, CPU: 2 * time.Millisecond, Wait: 30 * time.Millisecond},
	}
}

// functionFlag parses repeated --function name=MB,CPU,WAIT.
type functionFlag struct{ fns []cost.Function }

func (f *functionFlag) String() string { return "" }

func (f *functionFlag) Set(v string) error {
	name, rest, ok := strings.Cut(v, "=")
	parts := strings.Split(rest, ",")
	if !ok || name == "" || len(parts) != 3 {
		return fmt.Errorf("want name=MEMORY_MB,CPU,WAIT (e.g. make-thumbnail=512,150ms,150ms), got %q", v)
	}
	mb, err := strconv.Atoi(parts[0])
	if err != nil || mb < 128 || mb > 10240 {
		return fmt.Errorf("memory %q: want 128..10240 MB", parts[0])
	}
	cpu, err := time.ParseDuration(parts[1])
	if err != nil || cpu < 0 {
		return fmt.Errorf("cpu %q: want a duration", parts[1])
	}
	wait, err := time.ParseDuration(parts[2])
	if err != nil || wait < 0 {
		return fmt.Errorf("wait %q: want a duration", parts[2])
	}
	for i := range f.fns {
		if f.fns[i].Name == name {
			f.fns[i] = cost.Function{Name: name, MemoryMB: mb, CPU: cpu, Wait: wait}
			return nil
		}
	}
	f.fns = append(f.fns, cost.Function{Name: name, MemoryMB: mb, CPU: cpu, Wait: wait})
	return nil
}

func runCost(ctx context.Context, args []string) error {
	return costCmd(ctx, args, os.Stdout, os.Stderr)
}

func costCmd(_ context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("cost", flag.ContinueOnError)
	fs.SetOutput(stderr)
	images := fs.Float64("images", 1e6, "images processed per month")
	asJSON := fs.Bool("json", false, "print the estimate as JSON")
	x86 := fs.Bool("x86", false, "price Lambda as x86_64 instead of arm64")
	fns := &functionFlag{fns: defaultFunctions()}
	fs.Var(fns, "function", "override one function: name=MEMORY_MB,CPU,WAIT (repeatable)")
	rek := fs.Bool("rekognition", true, "labels from Rekognition DetectLabels")
	dups := fs.Float64("duplicate-rate", 0, "fraction of images (0 to below 1) whose bytes were labelled before: their labels are copied, not paid for")
	puts := fs.Float64("s3-puts", 3, "S3 PUTs per image (upload, thumbnail, preview)")
	gets := fs.Float64("s3-gets", 3, "S3 GETs per image (extract-metadata, make-thumbnail, Rekognition)")
	osType := fs.String("opensearch", "t3.small.search", "OpenSearch instance type")
	osNodes := fs.Int("opensearch-nodes", 1, "OpenSearch data nodes (0: leave the domain out)")
	osGB := fs.Float64("opensearch-gb", 10, "OpenSearch gp3 storage per node, GB")
	fs.Usage = func() {
		fmt.Fprintln(stderr, "usage: imagepipe cost [--images N] [--duplicate-rate R] [--json] [--function name=MB,CPU,WAIT]...")
		fs.PrintDefaults()
	}
	pos, err := cli.ParseInterspersed(fs, args)
	if err != nil {
		return err
	}
	if len(pos) != 0 || *images <= 0 {
		fs.Usage()
		return cli.ErrUsage
	}
	transitions, err := cost.Transitions(statemachine.Pipeline())
	if err != nil {
		return err
	}
	in := cost.Inputs{
		Images: *images, Functions: fns.fns, X86: *x86,
		Transitions: transitions, Execution: executionTime(fns.fns),
		Rekognition: *rek, DuplicateRate: *dups, S3Puts: *puts, S3Gets: *gets,
		OpenSearchInstance: *osType, OpenSearchNodes: *osNodes, OpenSearchStorageGB: *osGB,
	}
	est, err := cost.Compute(in, cost.ListPrices())
	if err != nil {
		return err
	}
	if *asJSON {
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		return enc.Encode(struct {
			cost.Estimate
			Functions []cost.Function `json:"functions"`
		}{est, fns.fns})
	}
	fmt.Fprintf(stdout, "Per image: %d Lambda invocations, %d Standard state transitions; durations billed at:\n", len(fns.fns), transitions)
	for _, f := range fns.fns {
		fmt.Fprintf(stdout, "  %-16s %5d MB  cpu %-6v wait %-6v -> %v\n", f.Name, f.MemoryMB, f.CPU, f.Wait, f.Billed())
	}
	fmt.Fprintln(stdout)
	return cost.WriteText(stdout, est)
}

// executionTime is one workflow's duration: the slowest of the parallel branches,
// then index-document (functions not in the pipeline's shape are added in series).
func executionTime(fns []cost.Function) time.Duration {
	parallel := map[string]bool{}
	for _, st := range statemachine.Steps() {
		parallel[st.Function] = st.Parallel
	}
	var branches, rest time.Duration
	for _, f := range fns {
		if parallel[f.Name] {
			branches = max(branches, f.Billed())
		} else {
			rest += f.Billed()
		}
	}
	return branches + rest
}
