package quota

import (
	"context"
	"sync"
	"testing"
	"time"
)

type fakeClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *fakeClock) now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *fakeClock) add(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

func TestBucketBurstThenRefill(t *testing.T) {
	c := &fakeClock{t: time.Unix(0, 0)}
	b := newBucket(3, 2, c.now)
	for i := range 3 {
		if !b.Allow() {
			t.Fatalf("call %d of the burst was throttled", i+1)
		}
	}
	if b.Allow() {
		t.Fatal("the fourth call within the burst was admitted")
	}
	c.add(500 * time.Millisecond) // one token at 2/s
	if !b.Allow() {
		t.Fatal("a refilled token was refused")
	}
	if b.Allow() {
		t.Fatal("more than the refill was admitted")
	}
	c.add(time.Hour) // never more than the bucket holds
	n := 0
	for b.Allow() {
		n++
	}
	if n != 3 {
		t.Fatalf("after a long idle the bucket gave %d tokens, want 3", n)
	}
	if got := b.Throttled(); got != 3 {
		t.Fatalf("Throttled() = %d, want 3", got)
	}
}

func TestBucketWaitEarnsAToken(t *testing.T) {
	b := NewBucket(1, 50) // a token every 20 ms
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if waited, err := b.Wait(ctx); err != nil || waited {
		t.Fatalf("first Wait: waited %v, err %v", waited, err)
	}
	start := time.Now()
	waited, err := b.Wait(ctx)
	if err != nil || !waited {
		t.Fatalf("second Wait: waited %v, err %v", waited, err)
	}
	if d := time.Since(start); d < 10*time.Millisecond {
		t.Fatalf("second Wait returned after %v, before a token was earned", d)
	}
	slow := NewBucket(1, 0.001)
	slow.Allow()
	short, cancel2 := context.WithTimeout(context.Background(), 20*time.Millisecond)
	defer cancel2()
	if _, err := slow.Wait(short); err == nil {
		t.Fatal("Wait returned a token the bucket had not earned")
	}
}

func TestNilBucketAndScale(t *testing.T) {
	var b *Bucket
	if !b.Allow() || b.Throttled() != 0 {
		t.Fatal("a nil bucket throttled")
	}
	if (Scaled(0) != Limits{}) {
		t.Fatal("scale 0 enforces quotas")
	}
	l := Scaled(0.02)
	if l.RekognitionTPS != 1 || l.LambdaConcurrency != 20 || l.StartBurst != 26 || l.StartRate != 6 || l.TransitionRate != 100 {
		t.Fatalf("Scaled(0.02) = %+v", l)
	}
	if d := Scaled(1); d.RekognitionTPS != 50 || d.LambdaConcurrency != 1000 || d.StartBurst != 1300 {
		t.Fatalf("Scaled(1) = %+v", d)
	}
	if tiny := Scaled(1e-6); tiny.RekognitionTPS != 1 || tiny.LambdaConcurrency != 1 {
		t.Fatalf("Scaled(1e-6) = %+v: every quota keeps one", tiny)
	}
}
