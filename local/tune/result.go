package tune

import (
	"fmt"
	"math"
	"os"
	"runtime"
	"sort"
	"strings"
	"time"

	"github.com/imagepipe/imagepipe/local/cost"
)

// Result is a tuning run's table.
type Result struct {
	cost.Tuning
}

// FunctionTable is one function's row of sizes.
type FunctionTable = cost.TunedFunction

func newResult(cfg Config) *Result {
	r := &Result{cost.Tuning{
		Generated: time.Now().UTC().Format(time.RFC3339), Machine: machine(), Cores: cfg.Cores,
		Runs: cfg.Runs, Bound: cfg.Bound.Factor, SlackMs: cfg.Bound.SlackMs, Assumptions: cfg.Assumptions.Lines(), PricesDate: cost.PricesDate,
	}}
	for _, p := range cfg.Photos {
		r.Photos = append(r.Photos, fmt.Sprintf("%s (%dx%d)", p.Name, p.W, p.H))
	}
	return r
}

// machine names the CPU this ran on, from /proc/cpuinfo where there is one.
func machine() string {
	name := runtime.GOOS + "/" + runtime.GOARCH
	b, err := os.ReadFile("/proc/cpuinfo")
	if err != nil {
		return name
	}
	for _, line := range strings.Split(string(b), "\n") {
		if k, v, ok := strings.Cut(line, ":"); ok && strings.TrimSpace(k) == "model name" {
			return name + ", " + strings.TrimSpace(v)
		}
	}
	return name
}

// photoStats summarises successful warm invocations.
func photoStats(name string, s []sample) cost.TunedPhoto {
	p := cost.TunedPhoto{Photo: name, N: len(s)}
	if len(s) == 0 {
		return p
	}
	d := make([]float64, len(s))
	billed := 0.0
	for i, x := range s {
		d[i] = x.durationMs
		billed += float64(x.billedMs)
	}
	sort.Float64s(d)
	p.P50Ms, p.P95Ms = round2(Percentile(d, 50)), round2(Percentile(d, 95))
	p.MeanBilledMs = round2(billed / float64(len(s)))
	return p
}

// Percentile is the nearest-rank percentile of sorted values (the p-th percent
// value, never an interpolation between two runs).
func Percentile(sorted []float64, p float64) float64 {
	if len(sorted) == 0 {
		return math.NaN()
	}
	rank := int(math.Ceil(p / 100 * float64(len(sorted))))
	rank = min(max(rank, 1), len(sorted))
	return sorted[rank-1]
}

func round2(v float64) float64 { return math.Round(v*100) / 100 }

func (r *Result) choose() error {
	for i := range r.Functions {
		f := &r.Functions[i]
		mb, why, err := Choose(*f, Bound{Factor: r.Bound, SlackMs: r.SlackMs})
		if err != nil {
			return err
		}
		f.ChosenMB, f.Why = mb, why
	}
	return nil
}

// Bound is the latency rule: a size's p95 on a photo may be Factor times the
// fastest size's p95 on that photo, or SlackMs more, whichever allows more (the
// slack keeps a few milliseconds of tail noise on a function that mostly waits
// from deciding its size).
type Bound struct {
	Factor  float64
	SlackMs float64
}

// Limit is the p95 allowed where the fastest size's p95 is fastest.
func (b Bound) Limit(fastest float64) float64 { return max(b.Factor*fastest, fastest+b.SlackMs) }

func (b Bound) String() string {
	return fmt.Sprintf("%.2fx or +%.0f ms of the fastest size's p95", b.Factor, b.SlackMs)
}

// Choose is the selection rule: among the sizes at or above the function's floor
// that failed no invocation, the cheapest whose p95 on every photo is within the
// bound of the fastest such size's p95 on that photo. Ties go to the smaller size.
func Choose(f cost.TunedFunction, bound Bound) (int, string, error) {
	var ok []cost.TunedSize
	for _, s := range f.Sizes {
		if s.MemoryMB >= f.FloorMB && s.OOM == 0 && s.Errors == 0 && len(s.Photos) > 0 {
			ok = append(ok, s)
		}
	}
	if len(ok) == 0 {
		return 0, "", fmt.Errorf("tune: %s: no size at or above %d MB ran without failures", f.Name, f.FloorMB)
	}
	fastest := map[string]float64{}
	for _, s := range ok {
		for _, p := range s.Photos {
			if v, seen := fastest[p.Photo]; !seen || p.P95Ms < v {
				fastest[p.Photo] = p.P95Ms
			}
		}
	}
	best := -1
	for i, s := range ok {
		within := true
		for _, p := range s.Photos {
			if p.P95Ms > bound.Limit(fastest[p.Photo]) {
				within = false
			}
		}
		if !within {
			continue
		}
		if best < 0 || s.CostPerMillion < ok[best].CostPerMillion ||
			(s.CostPerMillion == ok[best].CostPerMillion && s.MemoryMB < ok[best].MemoryMB) {
			best = i
		}
	}
	// The fastest size on every photo is within any bound ≥ 1 unless no single size is
	// fastest on all; then take the one with the lowest worst ratio.
	if best < 0 {
		worst := math.Inf(1)
		for i, s := range ok {
			w := 0.0
			for _, p := range s.Photos {
				w = max(w, p.P95Ms/fastest[p.Photo])
			}
			if w < worst {
				worst, best = w, i
			}
		}
		s := ok[best]
		return s.MemoryMB, fmt.Sprintf("no size within %s on every photo; %d MB comes closest (%.2fx)", bound, s.MemoryMB, worst), nil
	}
	s := ok[best]
	why := fmt.Sprintf("cheapest ($%.2f per million) with p95 within %s on every photo", s.CostPerMillion, bound)
	if f.FloorMB > MinMemoryMB {
		why += fmt.Sprintf("; at least %d MB: %s", f.FloorMB, f.FloorWhy)
	}
	return s.MemoryMB, why, nil
}
