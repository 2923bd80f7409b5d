// Package faults injects failures into a function without redeploying it: fail every
// call, fail a fraction, add latency, or throttle. In AWS a Lambda reads its mode from
// FAULT_MODE (set through CDK context); in the twin it changes at runtime.
package faults

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/imagepipe/imagepipe/functions/pipeline"
)

// Kind is what a mode does to a call.
type Kind string

// The kinds of fault.
const (
	Off      Kind = "off"
	Always   Kind = "always"
	Rate     Kind = "rate"
	Latency  Kind = "latency"
	Throttle Kind = "throttle"
)

// Mode is one function's fault setting.
type Mode struct {
	Kind    Kind          `json:"kind"`
	Rate    float64       `json:"rate,omitempty"`    // for Rate: the fraction of calls that fail
	Latency time.Duration `json:"latency,omitempty"` // for Latency: added before each call
}

// ErrBadMode is returned by Parse for a mode it does not know.
var ErrBadMode = errors.New("fault mode must be off, always, throttle, rate=F (0<F<=1) or latency=D (e.g. 2s)")

// Parse reads "off", "always", "throttle", "rate=0.3" or "latency=2s".
func Parse(s string) (Mode, error) {
	s = strings.TrimSpace(strings.ToLower(s))
	switch s {
	case "", "off", "none":
		return Mode{Kind: Off}, nil
	case "always":
		return Mode{Kind: Always}, nil
	case "throttle":
		return Mode{Kind: Throttle}, nil
	}
	name, val, ok := strings.Cut(s, "=")
	if !ok {
		return Mode{}, fmt.Errorf("%q: %w", s, ErrBadMode)
	}
	switch name {
	case "rate":
		f, err := strconv.ParseFloat(val, 64)
		if err != nil || f <= 0 || f > 1 {
			return Mode{}, fmt.Errorf("%q: %w", s, ErrBadMode)
		}
		return Mode{Kind: Rate, Rate: f}, nil
	case "latency":
		d, err := time.ParseDuration(val)
		if err != nil || d <= 0 || d > 15*time.Minute {
			return Mode{}, fmt.Errorf("%q: %w", s, ErrBadMode)
		}
		return Mode{Kind: Latency, Latency: d}, nil
	}
	return Mode{}, fmt.Errorf("%q: %w", s, ErrBadMode)
}

// String is the form Parse reads.
func (m Mode) String() string {
	switch m.Kind {
	case Rate:
		return "rate=" + strconv.FormatFloat(m.Rate, 'f', -1, 64)
	case Latency:
		return "latency=" + m.Latency.String()
	case "":
		return string(Off)
	}
	return string(m.Kind)
}

// Apply runs the fault for one call of function fn: it returns the error to fail the
// call with (retryable, so the state machine's Retry sees it), waits for latency, or
// returns nil. rnd is a source in [0,1).
func (m Mode) Apply(ctx context.Context, fn string, rnd func() float64) error {
	injected := errors.New("injected fault (" + m.String() + ")")
	switch m.Kind {
	case Always:
		return &pipeline.TransientError{Op: fn, Err: injected}
	case Rate:
		if rnd() < m.Rate {
			return &pipeline.TransientError{Op: fn, Err: injected}
		}
	case Throttle:
		return &pipeline.ThrottledError{Service: fn, Err: injected}
	case Latency:
		t := time.NewTimer(m.Latency)
		defer t.Stop()
		select {
		case <-t.C:
		case <-ctx.Done():
			return &pipeline.TransientError{Op: fn, Err: ctx.Err()}
		}
	}
	return nil
}

// Wrap returns h with the fault mode mode() applied before each call.
func Wrap[In, Out any](fn string, mode func() Mode, rnd func() float64, h func(context.Context, In) (Out, error)) func(context.Context, In) (Out, error) {
	return func(ctx context.Context, in In) (Out, error) {
		if err := mode().Apply(ctx, fn, rnd); err != nil {
			var zero Out
			return zero, err
		}
		return h(ctx, in)
	}
}

// FromEnv reads FAULT_MODE once, at a Lambda's init: an invalid value stops the
// function before it takes any event (an init error) rather than running unfaulted.
// The mode is fixed for the life of the execution environment; CDK context changes it.
func FromEnv(function string) func() Mode {
	m, err := Parse(os.Getenv("FAULT_MODE"))
	if err != nil {
		slog.Error("invalid FAULT_MODE", "function", function, "error", err.Error())
		os.Exit(1)
	}
	if m.Kind != Off {
		slog.Warn("fault injection is on", "function", function, "mode", m.String())
	}
	return func() Mode { return m }
}
