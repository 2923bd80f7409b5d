package tune

import (
	"fmt"
	"html"
	"io"
	"math"
	"strings"
)

// WriteSVG draws one panel per function: p95 duration (ms, left axis, blue) and
// cost per million invocations ($, right axis, orange) against memory size, with
// the chosen size marked.
func (r *Result) WriteSVG(w io.Writer) error {
	const pw, ph, cols = 460, 280, 2
	rows := (len(r.Functions) + cols - 1) / cols
	var b strings.Builder
	fmt.Fprintf(&b, `<svg xmlns="http://www.w3.org/2000/svg" width="%d" height="%d" font-family="sans-serif" font-size="11">`+"\n", cols*pw, rows*ph+30)
	fmt.Fprintf(&b, `<rect width="100%%" height="100%%" fill="white"/><text x="10" y="18" font-size="12">imagepipe tune %s: p95 ms (blue, left axis) and $ per million invocations (orange, right) by memory size; the chosen size boxed</text>`+"\n",
		html.EscapeString(r.Generated))
	for i, f := range r.Functions {
		panel(&b, f, float64((i%cols)*pw), float64(30+(i/cols)*ph), pw, ph)
	}
	b.WriteString("</svg>\n")
	_, err := io.WriteString(w, b.String())
	return err
}

func panel(b *strings.Builder, f FunctionTable, x0, y0 float64, w, h int) {
	const left, right, top, bottom = 60.0, 60.0, 24.0, 36.0
	pw, ph := float64(w)-left-right, float64(h)-top-bottom
	n := len(f.Sizes)
	if n == 0 {
		return
	}
	maxMs, maxCost := 0.0, 0.0
	for _, s := range f.Sizes {
		maxMs = max(maxMs, s.P95Ms)
		maxCost = max(maxCost, s.CostPerMillion)
	}
	maxMs, maxCost = niceCeil(maxMs), niceCeil(maxCost)
	x := func(i int) float64 { return x0 + left + (float64(i)+0.5)*pw/float64(n) }
	yMs := func(v float64) float64 { return y0 + top + ph - v/maxMs*ph }
	yCost := func(v float64) float64 { return y0 + top + ph - v/maxCost*ph }
	fmt.Fprintf(b, `<text x="%.0f" y="%.0f" font-size="13" font-weight="bold">%s</text>`+"\n", x0+left, y0+top-8, html.EscapeString(f.Name))
	fmt.Fprintf(b, `<rect x="%.0f" y="%.0f" width="%.0f" height="%.0f" fill="none" stroke="#999"/>`+"\n", x0+left, y0+top, pw, ph)
	for k := 0; k <= 4; k++ {
		v := float64(k) / 4
		yy := y0 + top + ph - v*ph
		fmt.Fprintf(b, `<line x1="%.0f" x2="%.0f" y1="%.1f" y2="%.1f" stroke="#eee"/>`, x0+left, x0+left+pw, yy, yy)
		fmt.Fprintf(b, `<text x="%.0f" y="%.1f" text-anchor="end" fill="#1f77b4">%s</text>`, x0+left-4, yy+4, trim(v*maxMs))
		fmt.Fprintf(b, `<text x="%.0f" y="%.1f" fill="#c85a00">$%s</text>`+"\n", x0+left+pw+4, yy+4, trim(v*maxCost))
	}
	var ms, cs []string
	for i, s := range f.Sizes {
		fmt.Fprintf(b, `<text x="%.1f" y="%.0f" text-anchor="middle">%d</text>`, x(i), y0+top+ph+14, s.MemoryMB)
		if s.MemoryMB == f.ChosenMB {
			fmt.Fprintf(b, `<rect x="%.1f" y="%.0f" width="%.1f" height="%.0f" fill="#2ca02c" fill-opacity="0.12" stroke="#2ca02c"/>`, x(i)-pw/float64(n)/2+2, y0+top, pw/float64(n)-4, ph)
		}
		if s.OOM > 0 || s.Errors > 0 {
			fmt.Fprintf(b, `<text x="%.1f" y="%.0f" text-anchor="middle" fill="#d62728">%d OOM, %d err</text>`, x(i), y0+top+12, s.OOM, s.Errors)
		}
		if len(s.Photos) == 0 || s.MeanBilledMs == 0 {
			continue
		}
		ms = append(ms, fmt.Sprintf("%.1f,%.1f", x(i), yMs(s.P95Ms)))
		cs = append(cs, fmt.Sprintf("%.1f,%.1f", x(i), yCost(s.CostPerMillion)))
	}
	fmt.Fprintf(b, `<text x="%.0f" y="%.0f" text-anchor="middle">memory (MB)</text>`+"\n", x0+left+pw/2, y0+top+ph+28)
	fmt.Fprintf(b, `<polyline points="%s" fill="none" stroke="#1f77b4" stroke-width="2"/>`+"\n", strings.Join(ms, " "))
	fmt.Fprintf(b, `<polyline points="%s" fill="none" stroke="#ff7f0e" stroke-width="2" stroke-dasharray="5,3"/>`+"\n", strings.Join(cs, " "))
	for _, p := range ms {
		fmt.Fprintf(b, `<circle cx="%s" cy="%s" r="3" fill="#1f77b4"/>`, strings.Split(p, ",")[0], strings.Split(p, ",")[1])
	}
	for _, p := range cs {
		fmt.Fprintf(b, `<circle cx="%s" cy="%s" r="3" fill="#ff7f0e"/>`, strings.Split(p, ",")[0], strings.Split(p, ",")[1])
	}
	b.WriteString("\n")
}

// niceCeil rounds v up to 1, 2 or 5 times a power of ten.
func niceCeil(v float64) float64 {
	if v <= 0 {
		return 1
	}
	p := math.Pow(10, math.Floor(math.Log10(v)))
	for _, m := range []float64{1, 2, 5, 10} {
		if m*p >= v {
			return m * p
		}
	}
	return 10 * p
}

func trim(v float64) string {
	if v >= 100 || v == math.Trunc(v) {
		return fmt.Sprintf("%.0f", v)
	}
	return strings.TrimRight(strings.TrimRight(fmt.Sprintf("%.2f", v), "0"), ".")
}
