// Command imagepipe-bench compares `imagepipe thumbnail` with the tools users would
// pick instead (ImageMagick, GraphicsMagick, vipsthumbnail, libjpeg-turbo's djpeg) on
// generated photos and the corpus's phone photos, and times the pipeline steps
// in-process. It prints medians of wall and CPU time, ratios to ours and peak RSS.
// `make bench` runs it; nothing here is a test.
package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"sort"
	"strings"
)

func main() {
	slog.SetDefault(slog.New(slog.NewJSONHandler(os.Stderr, nil)))
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	err := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	if err != nil {
		fmt.Fprintln(os.Stderr, "imagepipe-bench:", err)
		os.Exit(1)
	}
}

type tool struct {
	name string
	argv func(in, out string) []string
	only func(file string) bool // the files it reads; nil: all
}

func isJPEG(f string) bool {
	e := strings.ToLower(filepath.Ext(f))
	return e == ".jpg" || e == ".jpeg"
}

func isHEIC(f string) bool {
	e := strings.ToLower(filepath.Ext(f))
	return e == ".heic" || e == ".heif"
}

// options are the command's flags.
type options struct {
	dir, bin, sizes, corpus, heicCorpus, core string
	runs, size                                int
	steps, generateOnly                       bool
}

func parseFlags(args []string, stderr io.Writer) (options, error) {
	var o options
	fs := flag.NewFlagSet("imagepipe-bench", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.StringVar(&o.dir, "dir", "build/bench", "where generated images and outputs go")
	fs.StringVar(&o.bin, "imagepipe", "bin/imagepipe", "the imagepipe binary")
	fs.IntVar(&o.runs, "runs", 5, "runs per tool and file (median reported)")
	fs.StringVar(&o.sizes, "sizes", "12mp,24mp", "generated sizes (12mp, 24mp, small)")
	fs.StringVar(&o.corpus, "corpus", "../shared/corpus/exif-samples/jpg/mobile", "folder of phone photos to add when present")
	fs.StringVar(&o.heicCorpus, "heic-corpus", "../shared/corpus/exif-samples/heic/mobile", "folder of HEIC phone photos to add when present")
	fs.StringVar(&o.core, "core", "bin/imagepipe-thumbcore", "the same thumbnail in a minimal binary (its row shows the CLI's start-up cost); skipped when absent")
	fs.IntVar(&o.size, "size", 80, "thumbnail size")
	fs.BoolVar(&o.steps, "steps", true, "also time the pipeline steps in-process (CPU per image, for imagepipe cost)")
	fs.BoolVar(&o.generateOnly, "generate-only", false, "write the generated images and exit (run in a child process by default)")
	if err := fs.Parse(args); err != nil {
		return o, err
	}
	abs, err := filepath.Abs(o.dir)
	if err != nil {
		return o, err
	}
	o.dir = abs
	return o, nil
}

func run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	o, err := parseFlags(args, stderr)
	if err != nil {
		return err
	}
	if o.generateOnly {
		jpegs, err := benchImages(ctx, o.dir, strings.Split(o.sizes, ","))
		if err != nil {
			return err
		}
		_, err = heicImages(ctx, jpegs)
		return err
	}
	files, err := collectFiles(ctx, o, stderr)
	if err != nil {
		return err
	}
	out := filepath.Join(o.dir, "out")
	if err := os.MkdirAll(out, 0o755); err != nil {
		return err
	}
	tools := benchTools(o)
	fmt.Fprintf(stderr, "%d files x %d tools x %d runs; load average %s\n", len(files), len(tools), o.runs, loadavg())
	rows := measureAll(ctx, files, tools, out, o.runs, stderr)
	fmt.Fprintf(stdout, "Thumbnail to %dpx, whole process, median of %d runs (load average %s):\n\n", o.size, o.runs, loadavg())
	if err := WriteTable(stdout, rows); err != nil {
		return err
	}
	if !o.steps {
		return nil
	}
	stepFiles := []string{files[0]}
	for _, f := range files {
		if isHEIC(f) {
			stepFiles = append(stepFiles, f) // the first HEIC: the WebAssembly decoder's cost
			break
		}
	}
	for _, f := range stepFiles {
		fmt.Fprintln(stdout)
		if err := stepTable(ctx, stdout, f, o.runs); err != nil {
			return err
		}
	}
	return nil
}

// collectFiles generates the photos (in a child process) and lists them with the
// corpus's phone photos and HEICs when present.
func collectFiles(ctx context.Context, o options, stderr io.Writer) ([]string, error) {
	// Generate in a child: Linux reports a child's peak RSS as at least its parent's
	// at fork, so this process must stay small while it measures the tools.
	self, err := os.Executable()
	if err != nil {
		return nil, err
	}
	gen := exec.CommandContext(ctx, self, "--generate-only", "--dir", o.dir, "--sizes", o.sizes)
	gen.Stdout, gen.Stderr = stderr, stderr
	if err := gen.Run(); err != nil {
		return nil, fmt.Errorf("generate images: %w", err)
	}
	files, err := benchImages(ctx, o.dir, strings.Split(o.sizes, ",")) // all present now: only lists them
	if err != nil {
		return nil, fmt.Errorf("generate images: %w", err)
	}
	heics, err := heicImages(ctx, files)
	if err != nil {
		return nil, fmt.Errorf("generate images: %w", err)
	}
	if len(heics) == 0 {
		fmt.Fprintln(stderr, "heif-enc not installed: no generated HEICs (make deps-bench)")
	}
	if m, _ := filepath.Glob(filepath.Join(o.corpus, "*.jpg")); len(m) > 0 {
		sort.Strings(m)
		files = append(files, m...)
	} else {
		fmt.Fprintf(stderr, "no phone photos at %s: generated images only\n", o.corpus)
	}
	files = append(files, heics...)
	for _, pattern := range []string{"*.HEIC", "*.heic", "*.heif"} {
		m, _ := filepath.Glob(filepath.Join(o.heicCorpus, pattern))
		sort.Strings(m)
		files = append(files, m...)
	}
	return files, nil
}

// benchTools are ours and the tools users would pick instead.
func benchTools(o options) []tool {
	px := fmt.Sprint(o.size)
	box := fmt.Sprintf("%dx%d", o.size, o.size)
	pre := fmt.Sprintf("%dx%d", 2*o.size, 2*o.size)
	return []tool{
		{OursTool, func(in, out string) []string {
			return []string{o.bin, "thumbnail", in, out + "-ours.jpg", "--size", px}
		}, nil},
		{"imagepipe core", func(in, out string) []string { return []string{o.core, in, out + "-core.jpg", px} }, nil},
		{"convert", func(in, out string) []string {
			return []string{findConvert(), "-define", "jpeg:size=" + pre, in, "-thumbnail", box, "-quality", "95", out + "-im.jpg"}
		}, nil},
		{"gm convert", func(in, out string) []string {
			return []string{"gm", "convert", "-size", pre, in, "-thumbnail", box, "-quality", "95", out + "-gm.jpg"}
		}, isJPEG},
		{"vipsthumbnail", func(in, out string) []string { return []string{"vipsthumbnail", in, "-s", px, "-o", out + "-vips.jpg"} }, nil},
		{"djpeg -scale 1/8", func(in, out string) []string { return []string{"djpeg", "-scale", "1/8", in} }, isJPEG},
		// libheif's own converter: a whole-size decode (native, threaded) and a JPEG
		// of it: the peer of the WebAssembly decoder we run.
		{"heif-convert", func(in, out string) []string {
			return []string{"heif-convert", "-q", "90", in, out + "-heifconvert.jpg"}
		}, isHEIC},
	}
}

// measureAll runs every tool on every file it reads; outputs go under out.
func measureAll(ctx context.Context, files []string, tools []tool, out string, runs int, stderr io.Writer) []Row {
	var rows []Row
	for _, f := range files {
		name := filepath.Base(f)
		o := filepath.Join(out, strings.TrimSuffix(name, filepath.Ext(name)))
		for _, t := range tools {
			if t.only != nil && !t.only(f) {
				continue
			}
			argv := t.argv(f, o)
			if _, err := exec.LookPath(argv[0]); err != nil {
				rows = append(rows, Row{File: name, Tool: t.name, Err: "not installed"})
				continue
			}
			rows = append(rows, measureTool(ctx, name, t.name, argv, runs))
			fmt.Fprintf(stderr, "\r%-40s %-18s", name, t.name)
		}
	}
	fmt.Fprintln(stderr)
	return rows
}

// measureTool runs argv once to warm the page cache, then runs times.
func measureTool(ctx context.Context, file, name string, argv []string, runs int) Row {
	if _, err := Measure(ctx, argv, nil); err != nil {
		return Row{File: file, Tool: name, Err: firstLine(err.Error())}
	}
	samples := make([]Sample, 0, runs)
	for range runs {
		s, err := Measure(ctx, argv, nil)
		if err != nil {
			return Row{File: file, Tool: name, Err: firstLine(err.Error())}
		}
		samples = append(samples, s)
	}
	return Row{File: file, Tool: name, Summary: Summarize(samples)}
}

// findConvert prefers a real ImageMagick convert over a stand-in earlier on PATH.
func findConvert() string {
	for _, c := range []string{"/usr/bin/convert", "convert", "magick"} {
		p, err := exec.LookPath(c)
		if err != nil {
			continue
		}
		if out, err := exec.Command(p, "-version").Output(); err == nil && strings.Contains(string(out), "ImageMagick") {
			return p
		}
	}
	return "convert"
}

func loadavg() string {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return "?"
	}
	f := strings.Fields(string(b))
	if len(f) < 3 {
		return "?"
	}
	return strings.Join(f[:3], " ")
}

func firstLine(s string) string {
	s, _, _ = strings.Cut(s, "\n")
	if len(s) > 100 {
		s = s[:100] + "..."
	}
	return s
}
