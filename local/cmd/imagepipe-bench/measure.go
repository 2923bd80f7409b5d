package main

import (
	"context"
	"fmt"
	"io"
	"os/exec"
	"slices"
	"syscall"
	"time"
)

// Sample is one run of a tool: wall time, CPU time (user + system) and peak RSS of
// the child, from wait4's rusage.
type Sample struct {
	Wall   time.Duration
	CPU    time.Duration
	PeakKB int64
}

// Measure runs argv once with stdout to out (nil: discarded).
func Measure(ctx context.Context, argv []string, out io.Writer) (Sample, error) {
	cmd := exec.CommandContext(ctx, argv[0], argv[1:]...)
	cmd.Stdout = out
	var stderr limitedBuffer
	cmd.Stderr = &stderr
	start := time.Now()
	err := cmd.Run()
	wall := time.Since(start)
	if err != nil {
		return Sample{}, fmt.Errorf("%v: %w: %s", argv, err, stderr.buf)
	}
	ru, ok := cmd.ProcessState.SysUsage().(*syscall.Rusage)
	if !ok {
		return Sample{Wall: wall}, nil
	}
	cpu := time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
	return Sample{Wall: wall, CPU: cpu, PeakKB: ru.Maxrss}, nil
}

type limitedBuffer struct{ buf []byte }

func (b *limitedBuffer) Write(p []byte) (int, error) {
	if room := 2048 - len(b.buf); room > 0 {
		b.buf = append(b.buf, p[:min(room, len(p))]...)
	}
	return len(p), nil
}

// Summary is the medians of several samples (peak: the largest).
type Summary struct {
	Runs   int
	Wall   time.Duration
	CPU    time.Duration
	PeakKB int64
}

// Summarize takes the median wall and CPU time and the largest peak.
func Summarize(s []Sample) Summary {
	if len(s) == 0 {
		return Summary{}
	}
	walls := make([]time.Duration, len(s))
	cpus := make([]time.Duration, len(s))
	var peak int64
	for i, x := range s {
		walls[i], cpus[i] = x.Wall, x.CPU
		peak = max(peak, x.PeakKB)
	}
	return Summary{Runs: len(s), Wall: Median(walls), CPU: Median(cpus), PeakKB: peak}
}

// Median of durations (the mean of the middle two for an even count).
func Median(d []time.Duration) time.Duration {
	if len(d) == 0 {
		return 0
	}
	s := slices.Clone(d)
	slices.Sort(s)
	if len(s)%2 == 1 {
		return s[len(s)/2]
	}
	return (s[len(s)/2-1] + s[len(s)/2]) / 2
}
