package tune

import (
	"fmt"
	"io"
	"text/tabwriter"
)

// WriteText prints the table, the choices, the settings for the CDK app and the
// assumptions behind the figures.
func (r *Result) WriteText(w io.Writer) error {
	fmt.Fprintf(w, "imagepipe tune: %s, %d cores (CPU share capped at %d vCPU), %d warm runs per photo and size; photos %v\n\n",
		r.Machine, r.Cores, r.Cores, r.Runs, r.Photos)
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "function\tMB\tvCPU\tp50 ms\tp95 ms\tbilled ms\t$/1M invocations\tinit ms\tmax MB\tOOM\terrors\t")
	for _, f := range r.Functions {
		for _, s := range f.Sizes {
			mark := ""
			if s.MemoryMB == f.ChosenMB {
				mark = " *"
			}
			fmt.Fprintf(tw, "%s\t%d%s\t%.2f\t%.1f\t%.1f\t%.1f\t%.4f\t%.1f\t%d\t%d\t%d\t\n", f.Name, s.MemoryMB, mark, s.CPUShare,
				s.P50Ms, s.P95Ms, s.MeanBilledMs, s.CostPerMillion, s.InitMs, s.MaxMemoryUsedMB, s.OOM, s.Errors)
		}
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	fmt.Fprintln(w, "\nper photo, p50 / p95 ms:")
	tw = tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	for _, f := range r.Functions {
		for _, s := range f.Sizes {
			fmt.Fprintf(tw, "%s\t%d MB", f.Name, s.MemoryMB)
			for _, p := range s.Photos {
				fmt.Fprintf(tw, "\t%s %.0f / %.0f", p.Photo, p.P50Ms, p.P95Ms)
			}
			fmt.Fprintln(tw)
		}
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	fmt.Fprintf(w, "\nchosen (* above): the cheapest size at or above the function's floor, with no failures, whose p95 on every photo is within %s:\n",
		Bound{Factor: r.Bound, SlackMs: r.SlackMs})
	for _, f := range r.Functions {
		fmt.Fprintf(w, "  %-16s %5d MB  %s\n", f.Name, f.ChosenMB, f.Why)
	}
	fmt.Fprintln(w, "\nCDK settings (infra/stack/functions.go, functionSpecs):")
	for _, f := range r.Functions {
		fmt.Fprintf(w, "  {Name: %q, MemoryMiB: %d, ...}\n", f.Name, f.ChosenMB)
	}
	fmt.Fprintf(w, "\ncost: arm64, us-east-1 list prices as of %s (local/cost/prices.go): mean billed duration of the warm runs, every photo equally, x memory x price per GB-s, plus the request price\n", r.PricesDate)
	fmt.Fprintln(w, "service latencies are modelled, not measured:")
	for _, a := range r.Assumptions {
		fmt.Fprintf(w, "  %s\n", a)
	}
	return nil
}
