package main

import (
	"fmt"
	"io"
	"text/tabwriter"
	"time"
)

// Row is one tool on one file.
type Row struct {
	File, Tool string
	Summary
	Err string
}

// OursTool is the tool name every other row is compared with.
const OursTool = "imagepipe"

// WriteTable prints rows grouped by file. ours/tool is our median wall time divided by
// the tool's (≤ 1.0: we are faster); the same for CPU time.
func WriteTable(w io.Writer, rows []Row) error {
	ours := map[string]Summary{}
	for _, r := range rows {
		if r.Tool == OursTool && r.Err == "" {
			ours[r.File] = r.Summary
		}
	}
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "file\ttool\tmedian ms\tcpu ms\tours/tool\tours/tool cpu\tpeak MB\truns")
	last := ""
	for _, r := range rows {
		if last != "" && r.File != last {
			fmt.Fprintln(tw, "\t\t\t\t\t\t\t")
		}
		last = r.File
		if r.Err != "" {
			fmt.Fprintf(tw, "%s\t%s\t-\t-\t-\t-\t-\t%s\n", r.File, r.Tool, r.Err)
			continue
		}
		ratio, cpuRatio := "-", "-"
		if o, ok := ours[r.File]; ok {
			ratio, cpuRatio = fmtRatio(o.Wall, r.Wall), fmtRatio(o.CPU, r.CPU)
		}
		fmt.Fprintf(tw, "%s\t%s\t%.1f\t%.1f\t%s\t%s\t%.1f\t%d\n", r.File, r.Tool, msf(r.Wall), msf(r.CPU), ratio, cpuRatio, float64(r.PeakKB)/1024, r.Runs)
	}
	return tw.Flush()
}

func fmtRatio(ours, theirs time.Duration) string {
	if theirs <= 0 {
		return "-"
	}
	return fmt.Sprintf("%.2f", float64(ours)/float64(theirs))
}

func msf(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }
