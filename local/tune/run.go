package tune

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"time"

	"github.com/aws/aws-lambda-go/lambda/messages"

	"github.com/imagepipe/imagepipe/functions/loadgen"
	"github.com/imagepipe/imagepipe/local/lambdart"
)

// Photo is one generated input: a photo-like JPEG (quality 90, 4:2:0) of W×H.
type Photo struct {
	Name string `json:"name"`
	W    int    `json:"width"`
	H    int    `json:"height"`
}

// DefaultPhotos are the 1, 12 and 24 MP inputs.
func DefaultPhotos() []Photo {
	return []Photo{{"1mp", 1152, 864}, {"12mp", 4000, 3000}, {"24mp", 6000, 4000}}
}

// DefaultSizes are the memory sizes tried: Lambda's smallest, powers of two, one
// vCPU (1769) and 3008, the largest the older console offered.
func DefaultSizes() []int { return []int{128, 256, 512, 1024, 1769, 2048, 3008} }

// Config is one tuning run.
type Config struct {
	Functions  []Target
	Sizes      []int
	Photos     []Photo
	Runs       int    // warm invocations per photo and size
	Bootstraps string // folder holding <function>/bootstrap built for this machine (build/twin)
	Cores      int    // the CPU share cap: this machine's cores
	// Bound is the latency rule a size must meet on every photo.
	Bound       Bound
	Assumptions Assumptions
	Cgroups     *Cgroups
	Logger      *slog.Logger // function output and the services' logs
	Progress    io.Writer    // one line per function and size; nil: none
}

func (c *Config) check() error {
	switch {
	case len(c.Functions) == 0:
		return errors.New("tune: no functions to tune")
	case len(c.Sizes) == 0:
		return errors.New("tune: no memory sizes")
	case len(c.Photos) == 0:
		return errors.New("tune: no photos")
	case c.Runs < 1:
		return fmt.Errorf("tune: runs must be at least 1, got %d", c.Runs)
	case c.Bound.Factor < 1 || c.Bound.SlackMs < 0:
		return fmt.Errorf("tune: the latency bound is a factor of at least 1 and a slack of at least 0, got %v", c.Bound)
	case c.Cgroups == nil:
		return ErrNoCgroups
	}
	for _, s := range c.Sizes {
		if _, err := CPUShare(s, c.Cores); err != nil {
			return fmt.Errorf("tune: %w", err)
		}
	}
	for _, t := range c.Functions {
		if _, err := os.Stat(c.bootstrap(t.Name)); err != nil {
			return fmt.Errorf("tune: function %s: %w (run `make twin-lambdas`)", t.Name, err)
		}
	}
	return c.Assumptions.Validate()
}

func (c *Config) bootstrap(name string) string { return filepath.Join(c.Bootstraps, name, "bootstrap") }

// sample is one invocation's REPORT.
type sample struct {
	durationMs float64
	billedMs   int64
	maxMemMB   int64
	initMs     float64 // cold start only
	cold       bool
}

// Run measures every function at every size and returns the table.
func Run(ctx context.Context, cfg Config) (*Result, error) {
	if err := cfg.check(); err != nil {
		return nil, err
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	dir, err := os.MkdirTemp("", "imagepipe-tune-")
	if err != nil {
		return nil, fmt.Errorf("tune: %w", err)
	}
	defer os.RemoveAll(dir)
	svc, err := startServices(dir, cfg.Assumptions, cfg.Logger)
	if err != nil {
		return nil, err
	}
	defer func() {
		if err := svc.close(); err != nil {
			cfg.Logger.Warn("tune: closing the stand-ins", "error", err)
		}
	}()
	inputs, err := storePhotos(ctx, svc, cfg.Photos)
	if err != nil {
		return nil, err
	}
	if needsBranchResults(cfg.Functions) {
		if err := branchResults(ctx, &cfg, svc, inputs); err != nil {
			return nil, err
		}
	}
	res := newResult(cfg)
	for _, t := range cfg.Functions {
		ft := FunctionTable{Name: t.Name, FloorMB: t.FloorMB, FloorWhy: t.FloorWhy}
		for _, size := range cfg.Sizes {
			m, err := measure(ctx, &cfg, svc, t, size, inputs)
			if err != nil {
				return nil, err
			}
			ft.Sizes = append(ft.Sizes, m)
			if cfg.Progress != nil {
				fmt.Fprintf(cfg.Progress, "%-16s %5d MB  p50 %8.1f ms  p95 %8.1f ms  oom %d  errors %d\n",
					t.Name, size, m.P50Ms, m.P95Ms, m.OOM, m.Errors)
			}
		}
		res.Functions = append(res.Functions, ft)
	}
	if err := res.choose(); err != nil {
		return nil, err
	}
	return res, nil
}

// input is one stored photo and the payload each function receives for it.
type input struct {
	photo    Photo
	event    json.RawMessage
	payloads map[string]json.RawMessage // by function; the event unless set
}

func (in *input) payload(fn string) json.RawMessage {
	if p, ok := in.payloads[fn]; ok {
		return p
	}
	return in.event
}

// storePhotos generates each photo and stores it under upload/, keeping the event.
func storePhotos(ctx context.Context, svc *services, photos []Photo) ([]*input, error) {
	var out []*input
	for i, p := range photos {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		if p.W < 1 || p.H < 1 {
			return nil, fmt.Errorf("tune: photo %s: %dx%d is not a size", p.Name, p.W, p.H)
		}
		body, err := loadgen.SampleJPEG(uint64(i+1), p.W, p.H, 90)
		if err != nil {
			return nil, fmt.Errorf("tune: generate %s: %w", p.Name, err)
		}
		ev, err := svc.put("upload/tune/"+p.Name+".jpg", body)
		if err != nil {
			return nil, err
		}
		raw, err := eventJSON(ev)
		if err != nil {
			return nil, err
		}
		out = append(out, &input{photo: p, event: raw, payloads: map[string]json.RawMessage{}})
	}
	return out, nil
}

// newService is a Lambda service whose new processes go into g (nil: unplaced).
func newService(log *slog.Logger, g *Group) *lambdart.Service {
	opts := lambdart.Options{Logger: log, MaxConcurrency: 1}
	if g != nil {
		opts.Started = func(_ lambdart.Function, pid int) error { return g.Add(pid) }
	}
	return lambdart.New(opts)
}

func closeService(s *lambdart.Service) error {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	return s.Close(ctx)
}

// deploy registers one function at one memory size with the environment its
// template gives it, pointed at the stand-ins.
func deploy(s *lambdart.Service, cfg *Config, svc *services, name string, memoryMB int) error {
	env := map[string]string{"AWS_ENDPOINT_URL": svc.url}
	if name == "index-document" {
		env["OPENSEARCH_ENDPOINT"] = svc.searchEndpoint()
		env["OPENSEARCH_INDEX"] = "images"
	}
	return s.Deploy([]lambdart.Function{{
		Name: name, Bootstrap: cfg.bootstrap(name), Env: env, MemoryMB: memoryMB,
		Timeout: 120 * time.Second, Architecture: "arm64", Handler: "bootstrap",
	}})
}

// invoke runs one invocation and returns its REPORT, or the function's error.
func invoke(ctx context.Context, s *lambdart.Service, rep *reports, name string, payload []byte) (sample, []byte, error) {
	before := rep.count(name)
	out, err := s.Invoke(ctx, name, payload)
	smp, ok := rep.since(name, before)
	if err != nil {
		return smp, nil, err
	}
	if !ok {
		return smp, nil, fmt.Errorf("tune: %s answered without a REPORT record", name)
	}
	return smp, out, nil
}

// isFunctionError reports whether err is the function's own failure (a REPORT was
// written) rather than the tool's.
func isFunctionError(err error) (messages.InvokeResponse_Error, bool) {
	var fe messages.InvokeResponse_Error
	ok := errors.As(err, &fe)
	return fe, ok
}
