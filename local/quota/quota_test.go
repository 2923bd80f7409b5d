package quota

import (
	"context"
	"errors"
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

// Each key has its own bucket: one prefix past its rate leaves another untouched.
func TestKeyedBucketsArePerKey(t *testing.T) {
	c := &fakeClock{t: time.Unix(0, 0)}
	k := newKeyed(2, 2, c.now)
	for i := range 2 {
		if !k.Allow("images/upload/") {
			t.Fatalf("call %d of one prefix's burst was throttled", i+1)
		}
	}
	if k.Allow("images/upload/") {
		t.Fatal("a third call within the second was admitted")
	}
	if !k.Allow("images/thumbnail/") {
		t.Fatal("another prefix was throttled by the first one's calls")
	}
	c.add(500 * time.Millisecond)
	if !k.Allow("images/upload/") {
		t.Fatal("a refilled token was refused")
	}
	if got := k.Throttled(); got != 1 {
		t.Fatalf("Throttled() = %d, want 1", got)
	}
	var none *Keyed
	if !none.Allow("x") || none.Throttled() != 0 || NewKeyed(0, 1) != nil {
		t.Fatal("no limit throttled")
	}
}

// Set takes a quota in AWS's terms; Scale then applies to it like to the defaults.
func TestSetThenScale(t *testing.T) {
	l := Defaults()
	for _, kv := range []string{"eventbridge-invocations=750", "s3-prefix-reads=1500", "lambda-concurrency=5000"} {
		if err := l.Set(kv); err != nil {
			t.Fatal(err)
		}
	}
	s := l.Scale(0.02)
	if s.EventBridgeRate != 15 || s.S3ReadRate != 30 || s.LambdaConcurrency != 100 || s.S3WriteRate != 70 || s.StartRate != 6 {
		t.Fatalf("scaled = %+v", s)
	}
	for _, bad := range []string{"eventbridge-invocations", "nope=3", "s3-prefix-reads=-1", "s3-prefix-reads=x", "start-execution-rate=0"} {
		if err := l.Set(bad); err == nil {
			t.Errorf("Set(%q) accepted", bad)
		}
	}
	if err := l.Set("nope=3"); !errors.Is(err, ErrUnknownQuota) {
		t.Errorf("Set(nope=3) = %v, want ErrUnknownQuota", err)
	}
}
