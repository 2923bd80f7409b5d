package eventbus

import (
	"context"
	"errors"
	"log/slog"
	"sync/atomic"
	"testing"
	"time"

	"github.com/imagepipe/imagepipe/local/quota"
)

// Invocations past the quota are delayed, never dropped: with a bucket of one and a
// token an hour, the second invocation waits (here until its context ends) and the
// target is not called for it; the first went through at once.
func TestThrottledDelaysPastTheQuota(t *testing.T) {
	var calls atomic.Int32
	target := Throttled("r", func(context.Context, []byte) error { calls.Add(1); return nil },
		quota.NewBucket(1, 1.0/3600), slog.New(slog.DiscardHandler))
	if err := target(context.Background(), []byte(`{}`)); err != nil || calls.Load() != 1 {
		t.Fatalf("first invocation: %v, %d calls", err, calls.Load())
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Millisecond)
	defer cancel()
	if err := target(ctx, []byte(`{}`)); !errors.Is(err, context.DeadlineExceeded) || calls.Load() != 1 {
		t.Fatalf("invocation past the quota: %v, %d calls; want it held, not delivered or dropped", err, calls.Load())
	}
	fast := Throttled("r", func(context.Context, []byte) error { calls.Add(1); return nil },
		quota.NewBucket(1, 100), slog.New(slog.DiscardHandler))
	for range 3 {
		if err := fast(context.Background(), nil); err != nil {
			t.Fatal(err)
		}
	}
	if calls.Load() != 4 {
		t.Fatalf("%d calls, want every delayed invocation delivered", calls.Load())
	}
}
