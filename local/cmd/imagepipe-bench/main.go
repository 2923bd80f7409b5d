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

func run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("imagepipe-bench", flag.ContinueOnError)
	fs.SetOutput(stderr)
	dir := fs.String("dir", "build/bench", "where generated images and outputs go")
	bin := fs.String("imagepipe", "bin/imagepipe", "the imagepipe binary")
	runs := fs.Int("runs", 5, "runs per tool and file (median reported)")
	sizes := fs.String("sizes", "12mp,24mp", "generated sizes (12mp, 24mp, small)")
	corpus := fs.String("corpus", "../shared/corpus/exif-samples/jpg/mobile", "folder of phone photos to add when present")
	heicCorpus := fs.String("heic-corpus", "../shared/corpus/exif-samples/heic/mobile", "folder of HEIC phone photos to add when present")
	core := fs.String("core", "bin/imagepipe-thumbcore", "the same thumbnail in a minimal binary (its row shows the CLI's start-up cost); skipped when absent")
	size := fs.Int("size", 80, "thumbnail size")
	steps := fs.Bool("steps", true, "also time the pipeline steps in-process (CPU per image, for imagepipe cost)")
	generateOnly := fs.Bool("generate-only", false, "write the generated images and exit (run in a child process by default)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	abs, err := filepath.Abs(*dir)
	if err != nil {
		return err
	}
	*dir = abs
	sizeList := strings.Split(*sizes, ",")
	if *generateOnly {
		jpegs, err := benchImages(ctx, *dir, sizeList)
		if err != nil {
			return err
		}
		_, err = heicImages(ctx, jpegs)
		return err
	}
	// Generate in a child: Linux reports a child's peak RSS as at least its parent's
	// at fork, so this process must stay small while it measures the tools.
	self, err := os.Executable()
	if err != nil {
		return err
	}
	gen := exec.CommandContext(ctx, self, "--generate-only", "--dir", *dir, "--sizes", *sizes)
	gen.Stdout, gen.Stderr = stderr, stderr
	if err := gen.Run(); err != nil {
		return fmt.Errorf("generate images: %w", err)
	}
	files, err := benchImages(ctx, *dir, sizeList) // all present now: only lists them
	if err != nil {
		return fmt.Errorf("generate images: %w", err)
	}
	heics, err := heicImages(ctx, files)
	if err != nil {
		return fmt.Errorf("generate images: %w", err)
	}
	if len(heics) == 0 {
		fmt.Fprintln(stderr, "heif-enc not installed: no generated HEICs (make deps-bench)")
	}
	if m, _ := filepath.Glob(filepath.Join(*corpus, "*.jpg")); len(m) > 0 {
		sort.Strings(m)
		files = append(files, m...)
	} else {
		fmt.Fprintf(stderr, "no phone photos at %s: generated images only\n", *corpus)
	}
	files = append(files, heics...)
	for _, pattern := range []string{"*.HEIC", "*.heic", "*.heif"} {
		m, _ := filepath.Glob(filepath.Join(*heicCorpus, pattern))
		sort.Strings(m)
		files = append(files, m...)
	}
	out := filepath.Join(*dir, "out")
	if err := os.MkdirAll(out, 0o755); err != nil {
		return err
	}
	px := fmt.Sprint(*size)
	box := fmt.Sprintf("%dx%d", *size, *size)
	pre := fmt.Sprintf("%dx%d", 2**size, 2**size)
	tools := []tool{
		{OursTool, func(in, o string) []string { return []string{*bin, "thumbnail", in, o + "-ours.jpg", "--size", px} }, nil},
		{"imagepipe core", func(in, o string) []string { return []string{*core, in, o + "-core.jpg", px} }, nil},
		{"convert", func(in, o string) []string {
			return []string{findConvert(), "-define", "jpeg:size=" + pre, in, "-thumbnail", box, "-quality", "95", o + "-im.jpg"}
		}, nil},
		{"gm convert", func(in, o string) []string {
			return []string{"gm", "convert", "-size", pre, in, "-thumbnail", box, "-quality", "95", o + "-gm.jpg"}
		}, isJPEG},
		{"vipsthumbnail", func(in, o string) []string { return []string{"vipsthumbnail", in, "-s", px, "-o", o + "-vips.jpg"} }, nil},
		{"djpeg -scale 1/8", func(in, o string) []string { return []string{"djpeg", "-scale", "1/8", in} }, isJPEG},
		// libheif's own converter: a whole-size decode (native, threaded) and a JPEG
		// of it: the peer of the WebAssembly decoder we run.
		{"heif-convert", func(in, o string) []string { return []string{"heif-convert", "-q", "90", in, o + "-heifconvert.jpg"} }, isHEIC},
	}
	fmt.Fprintf(stderr, "%d files x %d tools x %d runs; load average %s\n", len(files), len(tools), *runs, loadavg())
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
			rows = append(rows, measureTool(ctx, name, t.name, argv, *runs))
			fmt.Fprintf(stderr, "\r%-40s %-18s", name, t.name)
		}
	}
	fmt.Fprintln(stderr)
	fmt.Fprintf(stdout, "Thumbnail to %dpx, whole process, median of %d runs (load average %s):\n\n", *size, *runs, loadavg())
	if err := WriteTable(stdout, rows); err != nil {
		return err
	}
	if *steps {
		stepFiles := []string{files[0]}
		for _, f := range files {
			if isHEIC(f) {
				stepFiles = append(stepFiles, f) // the first HEIC: the WebAssembly decoder's cost
				break
			}
		}
		for _, f := range stepFiles {
			fmt.Fprintln(stdout)
			if err := stepTable(ctx, stdout, f, *runs); err != nil {
				return err
			}
		}
	}
	return nil
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
