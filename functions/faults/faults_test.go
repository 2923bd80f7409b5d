package faults

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/imagepipe/imagepipe/functions/pipeline"
)

func TestParseRoundTrip(t *testing.T) {
	for _, s := range []string{"off", "always", "throttle", "rate=0.3", "latency=2s"} {
		m, err := Parse(s)
		if err != nil {
			t.Fatalf("%s: %v", s, err)
		}
		if m.String() != s {
			t.Errorf("Parse(%q).String() = %q", s, m.String())
		}
	}
	for _, s := range []string{"sometimes", "rate=0", "rate=1.5", "rate=x", "latency=-1s", "latency=forever"} {
		if _, err := Parse(s); !errors.Is(err, ErrBadMode) {
			t.Errorf("Parse(%q) = %v, want ErrBadMode", s, err)
		}
	}
}

func TestApplyNamesRetryableErrors(t *testing.T) {
	ctx := context.Background()
	var te *pipeline.TransientError
	if err := (Mode{Kind: Always}).Apply(ctx, "index-document", func() float64 { return 0.99 }); !errors.As(err, &te) {
		t.Errorf("always: %v", err)
	}
	var th *pipeline.ThrottledError
	if err := (Mode{Kind: Throttle}).Apply(ctx, "detect-labels", nil); !errors.As(err, &th) {
		t.Errorf("throttle: %v", err)
	}
	rate := Mode{Kind: Rate, Rate: 0.3}
	if err := rate.Apply(ctx, "f", func() float64 { return 0.29 }); !errors.As(err, &te) {
		t.Errorf("rate below threshold: %v", err)
	}
	if err := rate.Apply(ctx, "f", func() float64 { return 0.3 }); err != nil {
		t.Errorf("rate at threshold: %v", err)
	}
	if err := (Mode{Kind: Off}).Apply(ctx, "f", nil); err != nil {
		t.Errorf("off: %v", err)
	}
}

func TestLatencyEndsWithContext(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	var te *pipeline.TransientError
	if err := (Mode{Kind: Latency, Latency: time.Hour}).Apply(ctx, "f", nil); !errors.As(err, &te) {
		t.Errorf("cancelled latency: %v", err)
	}
}

func TestWrap(t *testing.T) {
	mode := Mode{Kind: Always}
	calls := 0
	h := Wrap("f", func() Mode { return mode }, func() float64 { return 0 }, func(ctx context.Context, in int) (int, error) {
		calls++
		return in * 2, nil
	})
	if _, err := h(context.Background(), 2); err == nil || calls != 0 {
		t.Fatalf("always: err %v, calls %d", err, calls)
	}
	mode = Mode{Kind: Off}
	if out, err := h(context.Background(), 2); err != nil || out != 4 || calls != 1 {
		t.Fatalf("off: %d %v calls %d", out, err, calls)
	}
}
