// Package quota is the twin's AWS service quotas: token buckets (and one
// concurrency count) with AWS's default sizes, scaled by a single factor so that
// tests can reach each ceiling in seconds. A nil *Bucket never throttles, so a
// service with quotas off pays nothing.
//
// The defaults, for us-east-1 (read 2026-11-29):
//   - Rekognition DetectLabels: 50 transactions per second ("Guidelines and quotas
//     in Amazon Rekognition", https://docs.aws.amazon.com/rekognition/latest/dg/limits.html,
//     and the Service Quotas table in the General Reference,
//     https://docs.aws.amazon.com/general/latest/gr/rekognition.html).
//   - Step Functions Standard StartExecution: bucket 1,300, refill 300 a second;
//     StateTransition: bucket 5,000, refill 5,000 a second ("Step Functions service
//     quotas", section "Quotas related to API action throttling" and "... state
//     throttling", https://docs.aws.amazon.com/step-functions/latest/dg/service-quotas.html).
//   - Lambda concurrent executions: 1,000 per account and Region ("Lambda quotas",
//     https://docs.aws.amazon.com/lambda/latest/dg/gettingstarted-limits.html).
package quota

import (
	"context"
	"math"
	"sync"
	"time"
)

// AWS's defaults in us-east-1 (see the package comment for the sources).
const (
	RekognitionDetectLabelsTPS = 50
	StartExecutionBucket       = 1300
	StartExecutionRefill       = 300
	StateTransitionBucket      = 5000
	StateTransitionRefill      = 5000
	LambdaConcurrentExecutions = 1000
)

// Limits are the quotas the twin enforces. The zero value enforces none.
type Limits struct {
	RekognitionTPS                  float64 // DetectLabels calls a second (bucket = one second's worth)
	StartBurst, StartRate           float64 // StartExecution bucket and refill a second
	TransitionBurst, TransitionRate float64 // state transitions bucket and refill a second
	LambdaConcurrency               int     // the account's concurrent executions
}

// Scaled returns AWS's default quotas multiplied by f (f <= 0: none enforced).
// Every quota keeps at least one token or one execution, so that a tiny factor
// slows the pipeline rather than stopping it.
func Scaled(f float64) Limits {
	if f <= 0 || math.IsNaN(f) {
		return Limits{}
	}
	at1 := func(v float64) float64 { return math.Max(1, v*f) }
	return Limits{
		RekognitionTPS:    at1(RekognitionDetectLabelsTPS),
		StartBurst:        at1(StartExecutionBucket),
		StartRate:         at1(StartExecutionRefill),
		TransitionBurst:   at1(StateTransitionBucket),
		TransitionRate:    at1(StateTransitionRefill),
		LambdaConcurrency: int(at1(LambdaConcurrentExecutions)),
	}
}

// Bucket is a token bucket: it holds up to Burst tokens and gains Rate a second;
// each call takes one. Safe for concurrent use; a nil *Bucket always admits.
type Bucket struct {
	burst, rate float64
	now         func() time.Time

	mu     sync.Mutex
	tokens float64
	last   time.Time
	denied uint64
}

// NewBucket returns a full bucket, or nil (no limit) when burst or rate is not
// positive.
func NewBucket(burst, rate float64) *Bucket {
	return newBucket(burst, rate, time.Now)
}

func newBucket(burst, rate float64, now func() time.Time) *Bucket {
	if burst <= 0 || rate <= 0 {
		return nil
	}
	return &Bucket{burst: burst, rate: rate, now: now, tokens: burst, last: now()}
}

// refill (b.mu held) adds the tokens earned since the last call.
func (b *Bucket) refill() time.Time {
	now := b.now()
	if el := now.Sub(b.last).Seconds(); el > 0 {
		b.tokens = math.Min(b.burst, b.tokens+el*b.rate)
		b.last = now
	}
	return now
}

// Allow takes a token if there is one: false means throttled.
func (b *Bucket) Allow() bool {
	if b == nil {
		return true
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	b.refill()
	if b.tokens >= 1 {
		b.tokens--
		return true
	}
	b.denied++
	return false
}

// Wait takes a token, waiting until one is earned or ctx ends. It reports whether
// it had to wait (a throttled call, which the caller may log).
func (b *Bucket) Wait(ctx context.Context) (waited bool, err error) {
	if b == nil {
		return false, nil
	}
	for {
		b.mu.Lock()
		b.refill()
		if b.tokens >= 1 {
			b.tokens--
			b.mu.Unlock()
			return waited, nil
		}
		if !waited {
			b.denied++
		}
		need := time.Duration((1 - b.tokens) / b.rate * float64(time.Second))
		b.mu.Unlock()
		waited = true
		t := time.NewTimer(max(need, time.Millisecond))
		select {
		case <-t.C:
		case <-ctx.Done():
			t.Stop()
			return waited, ctx.Err()
		}
	}
}

// Throttled counts the calls refused (Allow) or delayed (Wait).
func (b *Bucket) Throttled() uint64 {
	if b == nil {
		return 0
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.denied
}
