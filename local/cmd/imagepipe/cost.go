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

// defaultFunctions are the per-image figures the model starts from: the memory size
// `imagepipe tune` chose for each pipeline function and the mean billed duration
// it measured there (local/cost/tuned.json, written by `imagepipe tune --write`):
// each function under the twin's Runtime API, in cgroups giving it that size's CPU
// share and memory limit, on generated 1, 12 and 24 MP photos, with S3,
// Rekognition and OpenSearch answering after the latencies the table states.
// Override any with --function.
func defaultFunctions() ([]cost.Function, error) {
	t, err := cost.Tuned()
	if err != nil {
		return nil, err
	}
	fns := t.ChosenFunctions()
	if len(fns) == 0 {
		return nil, fmt.Errorf("local/cost/tuned.json holds no functions: run `imagepipe tune --write local/cost/tuned.json`")
	}
	return fns, nil
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

// memoryFlag parses repeated --memory name=MB: the function at a size the tuning
// table measured, with the duration measured there.
type memoryFlag struct{ fns *functionFlag }

func (m *memoryFlag) String() string { return "" }

func (m *memoryFlag) Set(v string) error {
	name, mbText, ok := strings.Cut(v, "=")
	mb, err := strconv.Atoi(mbText)
	if !ok || err != nil {
		return fmt.Errorf("want name=MEMORY_MB (e.g. make-thumbnail=1769), got %q", v)
	}
	t, err := cost.Tuned()
	if err != nil {
		return err
	}
	for _, tf := range t.Functions {
		if tf.Name != name {
			continue
		}
		s, ok := tf.Size(mb)
		if !ok {
			return fmt.Errorf("%s was not measured at %d MB (imagepipe tune --sizes)", name, mb)
		}
		for i := range m.fns.fns {
			if m.fns.fns[i].Name == name {
				m.fns.fns[i] = cost.Function{Name: name, MemoryMB: mb, Measured: time.Duration(s.MeanBilledMs * float64(time.Millisecond))}
				return nil
			}
		}
	}
	return fmt.Errorf("no function %q in the tuning table", name)
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
	defaults, err := defaultFunctions()
	if err != nil {
		return err
	}
	fns := &functionFlag{fns: defaults}
	fs.Var(fns, "function", "override one function: name=MEMORY_MB,CPU,WAIT (repeatable)")
	fs.Var(&memoryFlag{fns: fns}, "memory", "price one function at another memory size imagepipe tune measured: name=MEMORY_MB (repeatable)")
	rek := fs.Bool("rekognition", true, "labels from Rekognition DetectLabels")
	dups := fs.Float64("duplicate-rate", 0, "fraction of images (0 to below 1) whose bytes were labelled before: their labels are copied, not paid for")
	puts := fs.Float64("s3-puts", 3, "S3 PUTs per image (upload, thumbnail, preview)")
	gets := fs.Float64("s3-gets", 3, "S3 GETs per image (extract-metadata, make-thumbnail, Rekognition)")
	osType := fs.String("opensearch", "t3.small.search", "OpenSearch instance type")
	osNodes := fs.Int("opensearch-nodes", 1, "OpenSearch data nodes (0: leave the domain out)")
	osGB := fs.Float64("opensearch-gb", 10, "OpenSearch gp3 storage per node, GB")
	fs.Usage = func() {
		fmt.Fprintln(stderr, "usage: imagepipe cost [--images N] [--duplicate-rate R] [--json] [--memory name=MB]... [--function name=MB,CPU,WAIT]...")
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
		if f.Measured > 0 {
			fmt.Fprintf(stdout, "  %-16s %5d MB  measured (imagepipe tune) -> %v\n", f.Name, f.MemoryMB, f.Billed())
			continue
		}
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
