package cost

import (
	"fmt"
	"io"
	"text/tabwriter"
)

// WriteText prints the estimate as an aligned table with the formulas beside it.
func WriteText(w io.Writer, e Estimate) error {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintf(tw, "item\t$ per 1M images\t$ for %s\t \tformula\n", human(e.Images))
	row := func(l Line) { fmt.Fprintf(tw, "%s\t%.2f\t%.2f\t \t%s\n", l.Item, l.PerM, l.Total, l.Formula) }
	for _, l := range e.Lines {
		row(l)
	}
	fmt.Fprintf(tw, "total\t%.2f\t%.2f\t \t\n", e.PerM, e.Total)
	fmt.Fprintf(tw, "\t\t\t \t\n")
	fmt.Fprintf(tw, "of which Lambda\t%.2f\t%.2f\t \tcompare with the workshop's Lambda below\n", e.LambdaPerM, e.LambdaPerM*e.Images/1e6)
	row(e.Workshop)
	row(e.Express)
	if e.Copied.Item != "" {
		row(e.Copied)
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	if e.LambdaPerM > 0 {
		_, err := fmt.Fprintf(w, "\nLambda: %.1fx cheaper than the workshop's. US-East-1 list prices as of %s.\n", e.Workshop.PerM/e.LambdaPerM, e.PricesDate)
		return err
	}
	return nil
}
