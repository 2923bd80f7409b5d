package main

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"syscall"
	"text/tabwriter"
	"time"

	"github.com/imagepipe/imagepipe/functions/imaging"
	"github.com/imagepipe/imagepipe/functions/labels"
	"github.com/imagepipe/imagepipe/functions/metadata"
	"github.com/imagepipe/imagepipe/functions/steps/makethumbnail"
)

// step is one pipeline step's CPU-bound core on bytes already in memory (the Lambda's
// S3 reads and writes are network time, not measured here).
type step struct {
	name string
	fn   func(data []byte) error
}

// stepTable times each step in this process: median wall per image and CPU per image
// (getrusage of the whole process across the runs, so GC work counts too). These are
// the figures `imagepipe cost` takes as its defaults.
func stepTable(ctx context.Context, w io.Writer, file string, runs int) error {
	data, err := os.ReadFile(file)
	if err != nil {
		return err
	}
	lim := imaging.DefaultLimits
	steps := []step{
		{"extract-metadata (metadata.ExtractBytes)", func(d []byte) error { _, err := metadata.ExtractBytes(d, lim); return err }},
		{"make-thumbnail (Render 80 + preview 640)", func(d []byte) error {
			_, err := makethumbnail.Render(ctx, d, lim, makethumbnail.DefaultSize, makethumbnail.DefaultPreviewSize)
			return err
		}},
		{"detect-labels, the twin's local labeler (DecodeReduced 256 + Analyze)", func(d []byte) error {
			// 256 mirrors labels.analysisSide; Rekognition does this work in AWS.
			img, _, err := imaging.DecodeReduced(bytes.NewReader(d), lim, 256)
			if err == nil {
				labels.Analyze(img, 1)
			}
			return err
		}},
		{"make-thumbnail (Render 80 only)", func(d []byte) error {
			_, err := makethumbnail.Render(ctx, d, lim, makethumbnail.DefaultSize, 0)
			return err
		}},
	}
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintf(tw, "In-process step on %s (%.1f MB), %d runs, GOMAXPROCS %d:\n", filepath.Base(file), float64(len(data))/1e6, runs, runtime.GOMAXPROCS(0))
	fmt.Fprintln(tw, "step\tmedian ms\tcpu ms/image\tfirst run ms")
	for _, s := range steps {
		if err := ctx.Err(); err != nil {
			return err
		}
		// The first run warms up, checks that the step works, and shows what a cold
		// process pays once (a HEIC's first one compiles the WebAssembly decoder).
		t0 := time.Now()
		if err := s.fn(data); err != nil {
			fmt.Fprintf(tw, "%s\t-\t-\t-\t%v\n", s.name, err)
			continue
		}
		first := time.Since(t0)
		runtime.GC()
		walls := make([]time.Duration, runs)
		cpu0 := processCPU()
		for i := range runs {
			t := time.Now()
			if err := s.fn(data); err != nil {
				return fmt.Errorf("%s: %w", s.name, err)
			}
			walls[i] = time.Since(t)
		}
		cpu := (processCPU() - cpu0) / time.Duration(runs)
		fmt.Fprintf(tw, "%s\t%.2f\t%.2f\t%.2f\n", s.name, msf(Median(walls)), msf(cpu), msf(first))
	}
	return tw.Flush()
}

func processCPU() time.Duration {
	var ru syscall.Rusage
	if syscall.Getrusage(syscall.RUSAGE_SELF, &ru) != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
