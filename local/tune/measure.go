package tune

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"sync"
	"time"

	"github.com/imagepipe/imagepipe/local/cost"
	"github.com/imagepipe/imagepipe/local/lambdart"
)

// Target is one function to tune.
type Target struct {
	Name string
	// FloorMB is the least memory the function may be given whatever it measures,
	// for work the generated JPEGs do not exercise (0: Lambda's 128 MB).
	FloorMB  int
	FloorWhy string
}

// PipelineTargets are the pipeline's four functions. detect-labels keeps a floor:
// it renders formats Rekognition does not take (GIF, TIFF, HEIC, WebP) to a JPEG
// first, which peaks at 426 MB for a 24 MP TIFF (infra/stack/functions.go), and its
// decode budget follows its memory size, so less memory would refuse such photos.
func PipelineTargets() []Target {
	return []Target{
		{Name: "extract-metadata"},
		{Name: "detect-labels", FloorMB: 1024, FloorWhy: "renders non-JPEG/PNG photos for Rekognition: 426 MB peak for a 24 MP TIFF"},
		{Name: "make-thumbnail"},
		{Name: "index-document"},
	}
}

// branches are the functions whose results index-document merges, in the order of
// the Parallel state's branches (statemachine/pipeline.asl.json).
var branches = []struct{ fn, field string }{
	{"extract-metadata", "metadata"}, {"detect-labels", "labels"}, {"make-thumbnail", "thumbnail"},
}

func needsBranchResults(ts []Target) bool {
	for _, t := range ts {
		if t.Name == "index-document" {
			return true
		}
	}
	return false
}

// branchResults runs the three branches once per photo (one vCPU, no cgroup: only
// their answers matter) and builds index-document's input from them, as the state
// machine's IndexDocument Parameters do.
func branchResults(ctx context.Context, cfg *Config, svc *services, inputs []*input) error {
	s := newService(cfg.Logger, nil)
	defer func() {
		if err := closeService(s); err != nil {
			cfg.Logger.Warn("tune: closing the Lambda service", "error", err)
		}
	}()
	for _, b := range branches {
		if _, err := os.Stat(cfg.bootstrap(b.fn)); err != nil {
			return fmt.Errorf("tune: index-document needs %s's result: %w (run `make twin-lambdas`)", b.fn, err)
		}
		if err := deploy(s, cfg, svc, b.fn, FullVCPUMemoryMB); err != nil {
			return fmt.Errorf("tune: %w", err)
		}
	}
	for _, in := range inputs {
		payload := map[string]json.RawMessage{"event": in.event}
		for _, b := range branches {
			out, err := s.Invoke(ctx, b.fn, in.event)
			if err != nil {
				return fmt.Errorf("tune: %s on %s (for index-document's input): %w", b.fn, in.photo.Name, err)
			}
			payload[b.field] = out
		}
		raw, err := json.Marshal(payload)
		if err != nil {
			return fmt.Errorf("tune: %w", err)
		}
		in.payloads["index-document"] = raw
	}
	return nil
}

// measure runs one function at one memory size: a cold start, then cfg.Runs warm
// invocations on each photo, in the size's cgroups.
func measure(ctx context.Context, cfg *Config, svc *services, t Target, size int, inputs []*input) (cost.TunedSize, error) {
	share, err := CPUShare(size, cfg.Cores)
	if err != nil {
		return cost.TunedSize{}, err
	}
	g, err := cfg.Cgroups.Create(fmt.Sprintf("imagepipe-tune-%d-%s-%d", os.Getpid(), t.Name, size), size, cfg.Cores)
	if err != nil {
		return cost.TunedSize{}, err
	}
	rep := newReports(cfg.Logger.Handler())
	s := newService(slog.New(rep), g)
	m := cost.TunedSize{MemoryMB: size, CPUShare: share}
	err = runSize(ctx, cfg, svc, s, rep, g, t, inputs, &m)
	cerr := closeService(s)
	rctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	rerr := g.Remove(rctx)
	if err = errors.Join(err, cerr, rerr); err != nil {
		return m, err
	}
	return m, nil
}

// runSize is measure's work inside the size's cgroups.
func runSize(ctx context.Context, cfg *Config, svc *services, s *lambdart.Service, rep *reports, g *Group,
	t Target, inputs []*input, m *cost.TunedSize) error {
	if err := deploy(s, cfg, svc, t.Name, m.MemoryMB); err != nil {
		return fmt.Errorf("tune: %w", err)
	}
	svc.resetDraws()
	call := func(in *input) (sample, error) {
		payload, err := freshSequencer(in.payload(t.Name), svc.nextSequencer())
		if err != nil {
			return sample{}, err
		}
		oomBefore, err := g.OOMKills()
		if err != nil {
			return sample{}, err
		}
		smp, _, err := invoke(ctx, s, rep, t.Name, payload)
		if smp.maxMemMB > m.MaxMemoryUsedMB {
			m.MaxMemoryUsedMB = smp.maxMemMB
		}
		if err == nil {
			return smp, nil
		}
		fe, ok := isFunctionError(err)
		if !ok {
			return smp, fmt.Errorf("tune: %s at %d MB: %w", t.Name, m.MemoryMB, err)
		}
		oomAfter, oerr := g.OOMKills()
		if oerr != nil {
			return smp, oerr
		}
		if fe.Type == lambdart.ErrTypeOutOfMemory || oomAfter > oomBefore {
			m.OOM++
		} else {
			m.Errors++
			if m.ErrorSample == "" {
				m.ErrorSample = fe.Type + ": " + fe.Message
			}
		}
		return smp, errFunction
	}
	cold, err := call(inputs[0])
	if err != nil && !errors.Is(err, errFunction) {
		return err
	}
	m.InitMs = cold.initMs
	var all []sample
	for _, in := range inputs {
		var ok []sample
		for range cfg.Runs {
			smp, err := call(in)
			switch {
			case errors.Is(err, errFunction):
				continue
			case err != nil:
				return err
			}
			ok = append(ok, smp)
		}
		all = append(all, ok...)
		m.Photos = append(m.Photos, photoStats(in.photo.Name, ok))
	}
	whole := photoStats("", all)
	m.P50Ms, m.P95Ms, m.MeanBilledMs = whole.P50Ms, whole.P95Ms, whole.MeanBilledMs
	if len(all) > 0 {
		m.CostPerMillion = cost.InvocationCostPerMillion(m.MemoryMB, m.MeanBilledMs, cost.ListPrices())
	}
	return nil
}

// errFunction marks an invocation the function itself failed (counted, not fatal).
var errFunction = errors.New("function error")

// freshSequencer gives index-document's input a newer S3 sequencer on every call
// of the run (the search index outlives each size), so each call writes the
// document (an older or equal event is skipped, which would measure a shortcut). Other payloads (the event itself) pass unchanged.
func freshSequencer(payload json.RawMessage, n int) (json.RawMessage, error) {
	var p map[string]json.RawMessage
	if err := json.Unmarshal(payload, &p); err != nil {
		return nil, fmt.Errorf("tune: payload: %w", err)
	}
	evRaw, ok := p["event"]
	if !ok {
		return payload, nil
	}
	var ev map[string]any
	if err := json.Unmarshal(evRaw, &ev); err != nil {
		return nil, fmt.Errorf("tune: payload event: %w", err)
	}
	detail, _ := ev["detail"].(map[string]any)
	obj, _ := detail["object"].(map[string]any)
	if obj == nil {
		return nil, errors.New("tune: payload event has no detail.object")
	}
	obj["sequencer"] = fmt.Sprintf("%016X", 0x1000000000000000+n)
	b, err := json.Marshal(ev)
	if err != nil {
		return nil, err
	}
	p["event"] = b
	return json.Marshal(p)
}

// reports is a slog.Handler that keeps each function's REPORT records and passes
// every record on.
type reports struct {
	next  slog.Handler
	store *reportStore
}

type reportStore struct {
	mu sync.Mutex
	by map[string][]sample
}

func newReports(next slog.Handler) *reports {
	return &reports{next: next, store: &reportStore{by: map[string][]sample{}}}
}

func (r *reports) Enabled(context.Context, slog.Level) bool { return true }

func (r *reports) Handle(ctx context.Context, rec slog.Record) error {
	if rec.Message == "REPORT" {
		var fn string
		var s sample
		rec.Attrs(func(a slog.Attr) bool {
			switch a.Key {
			case "function":
				fn = a.Value.String()
			case "durationMs":
				s.durationMs = a.Value.Float64()
			case "billedDurationMs":
				s.billedMs = a.Value.Int64()
			case "maxMemoryUsedMB":
				s.maxMemMB = a.Value.Int64()
			case "initDurationMs":
				s.initMs, s.cold = a.Value.Float64(), true
			}
			return true
		})
		r.store.mu.Lock()
		r.store.by[fn] = append(r.store.by[fn], s)
		r.store.mu.Unlock()
	}
	if r.next.Enabled(ctx, rec.Level) {
		return r.next.Handle(ctx, rec)
	}
	return nil
}

func (r *reports) WithAttrs(as []slog.Attr) slog.Handler {
	return &reports{next: r.next.WithAttrs(as), store: r.store}
}
func (r *reports) WithGroup(name string) slog.Handler {
	return &reports{next: r.next.WithGroup(name), store: r.store}
}

func (r *reports) count(fn string) int {
	r.store.mu.Lock()
	defer r.store.mu.Unlock()
	return len(r.store.by[fn])
}

// since returns the first REPORT of fn after the first n.
func (r *reports) since(fn string, n int) (sample, bool) {
	r.store.mu.Lock()
	defer r.store.mu.Unlock()
	if len(r.store.by[fn]) <= n {
		return sample{}, false
	}
	return r.store.by[fn][n], true
}
