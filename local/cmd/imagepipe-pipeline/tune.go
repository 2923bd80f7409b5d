package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"time"

	"github.com/imagepipe/imagepipe/local/cli"
	"github.com/imagepipe/imagepipe/local/cost"
	"github.com/imagepipe/imagepipe/local/tune"
)

func init() {
	commands["tune"] = cli.Command{Summary: tuneSummary, Run: func(ctx context.Context, args []string) error {
		return tuneCmd(ctx, args, os.Stdout, os.Stderr)
	}}
}

const tuneSummary = "[--quick] [--functions a,b] [--sizes 128,...] [--write FILE] [--svg FILE] : measured power tuning of the pipeline's functions under the Runtime API and cgroups"

func tuneCmd(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("tune", flag.ContinueOnError)
	fs.SetOutput(stderr)
	quick := fs.Bool("quick", false, "a short run: the 1 MP photo only, 3 runs, sizes 128 and 1769 unless --sizes is given")
	fns := fs.String("functions", "", "comma-separated functions to tune (default: extract-metadata, detect-labels, make-thumbnail, index-document)")
	sizes := fs.String("sizes", "", "comma-separated memory sizes in MB (default 128,256,512,1024,1769,2048,3008)")
	runs := fs.Int("runs", 8, "warm invocations per photo and size")
	bound := fs.Float64("bound", 1.5, "latency bound: a size qualifies when its p95 on every photo is within this factor of the fastest size's p95 ...")
	slack := fs.Duration("slack", 100*time.Millisecond, "... or within this much of it, whichever allows more")
	boots := fs.String("functions-dir", "build/twin", "the functions' bootstraps built for this machine (<dir>/<name>/bootstrap; `make twin-lambdas`)")
	root := fs.String("cgroup-root", "/sys/fs/cgroup", "where the cgroup v1 controllers are mounted")
	write := fs.String("write", "", "write the table as JSON to FILE (local/cost/tuned.json is what `imagepipe cost` prices)")
	svg := fs.String("svg", "", "draw the cost/duration curves to FILE (SVG)")
	asJSON := fs.Bool("json", false, "print the table as JSON instead of text")
	from := fs.String("from", "", "measure nothing: print (and --svg, --json) the table in FILE, as --write wrote it")
	verbose := fs.Bool("v", false, "log the functions' output and the stand-ins' warnings to stderr")
	if err := fs.Parse(args); err != nil {
		return cli.ErrUsage
	}
	if fs.NArg() != 0 {
		fmt.Fprintf(stderr, "tune: unexpected argument %q\n", fs.Arg(0))
		return cli.ErrUsage
	}
	cfg := tune.Config{
		Functions: tune.PipelineTargets(), Sizes: tune.DefaultSizes(), Photos: tune.DefaultPhotos(),
		Runs: *runs, Bound: tune.Bound{Factor: *bound, SlackMs: float64(*slack) / float64(time.Millisecond)}, Bootstraps: *boots, Cores: runtime.NumCPU(),
		Assumptions: tune.DefaultAssumptions(), Progress: stderr,
	}
	if *quick {
		cfg.Photos, cfg.Sizes = cfg.Photos[:1], []int{128, tune.FullVCPUMemoryMB}
		if !flagSet(fs, "runs") {
			cfg.Runs = 3
		}
	}
	if *fns != "" {
		var err error
		if cfg.Functions, err = pickTargets(*fns); err != nil {
			fmt.Fprintln(stderr, "tune:", err)
			return cli.ErrUsage
		}
	}
	if *sizes != "" {
		var err error
		if cfg.Sizes, err = parseSizes(*sizes); err != nil {
			fmt.Fprintln(stderr, "tune:", err)
			return cli.ErrUsage
		}
	}
	level := slog.LevelError
	if *verbose {
		level = slog.LevelWarn
	}
	cfg.Logger = slog.New(slog.NewJSONHandler(stderr, &slog.HandlerOptions{Level: level}))
	res, err := measureOrRead(ctx, cfg, *root, *from)
	if err != nil {
		return err
	}
	if *write != "" {
		if err := writeAtomically(*write, func(w io.Writer) error { return encodeJSON(w, res.Tuning) }); err != nil {
			return err
		}
	}
	if *svg != "" {
		if err := writeAtomically(*svg, res.WriteSVG); err != nil {
			return err
		}
	}
	if *asJSON {
		return encodeJSON(stdout, res.Tuning)
	}
	return res.WriteText(stdout)
}

// measureOrRead runs the tuning, or reads a table an earlier run wrote.
func measureOrRead(ctx context.Context, cfg tune.Config, cgroupRoot, from string) (*tune.Result, error) {
	if from != "" {
		b, err := os.ReadFile(from)
		if err != nil {
			return nil, err
		}
		t, err := cost.ParseTuning(b)
		if err != nil {
			return nil, err
		}
		return &tune.Result{Tuning: t}, nil
	}
	cg, err := tune.OpenCgroups(cgroupRoot)
	if err != nil {
		return nil, err
	}
	cfg.Cgroups = cg
	return tune.Run(ctx, cfg)
}

func flagSet(fs *flag.FlagSet, name string) bool {
	set := false
	fs.Visit(func(f *flag.Flag) { set = set || f.Name == name })
	return set
}

// pickTargets keeps the pipeline targets named in list, in the list's order.
func pickTargets(list string) ([]tune.Target, error) {
	known := map[string]tune.Target{}
	var names []string
	for _, t := range tune.PipelineTargets() {
		known[t.Name] = t
		names = append(names, t.Name)
	}
	var out []tune.Target
	for _, n := range strings.Split(list, ",") {
		t, ok := known[strings.TrimSpace(n)]
		if !ok {
			return nil, fmt.Errorf("unknown function %q (tunable: %s)", n, strings.Join(names, ", "))
		}
		out = append(out, t)
	}
	return out, nil
}

func parseSizes(list string) ([]int, error) {
	var out []int
	for _, s := range strings.Split(list, ",") {
		mb, err := strconv.Atoi(strings.TrimSpace(s))
		if err != nil || mb < tune.MinMemoryMB || mb > tune.MaxMemoryMB {
			return nil, fmt.Errorf("memory size %q: want %d..%d MB", s, tune.MinMemoryMB, tune.MaxMemoryMB)
		}
		out = append(out, mb)
	}
	return out, nil
}

func encodeJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}

// writeAtomically writes through a temporary file, so a failed run leaves the old file.
func writeAtomically(path string, fill func(io.Writer) error) error {
	tmp, err := os.CreateTemp(filepath.Dir(path), ".tune-*")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name())
	if err := fill(tmp); err != nil {
		tmp.Close()
		return fmt.Errorf("write %s: %w", path, err)
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	if err := os.Chmod(tmp.Name(), 0o644); err != nil {
		return err
	}
	return os.Rename(tmp.Name(), path)
}
