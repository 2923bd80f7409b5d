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
//   - EventBridge invocations: 18,750 a second in us-east-1 (750 in af-south-1 and
//     other small Regions); past it "invocations are throttled; that is, they still
//     happen but they are delayed" ("Amazon EventBridge quotas",
//     https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-quota.html).
//   - S3: 3,500 PUT/COPY/POST/DELETE and 5,500 GET/HEAD requests a second per
//     partitioned prefix, then 503 Slow Down ("Best practices design patterns:
//     optimizing Amazon S3 performance",
//     https://docs.aws.amazon.com/AmazonS3/latest/userguide/optimizing-performance.html).
package quota

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"math"
	"slices"
	"strconv"
	"strings"
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
	EventBridgeInvocations     = 18750
	S3PrefixWrites             = 3500
	S3PrefixReads              = 5500
)

// Limits are the quotas the twin enforces. The zero value enforces none.
type Limits struct {
	RekognitionTPS    float64 `json:"rekognitionTPS"`         // DetectLabels calls a second (bucket = one second's worth)
	StartBurst        float64 `json:"startExecutionBurst"`    // StartExecution bucket
	StartRate         float64 `json:"startExecutionRate"`     // and its refill a second
	TransitionBurst   float64 `json:"stateTransitionBurst"`   // state transitions bucket
	TransitionRate    float64 `json:"stateTransitionRate"`    // and its refill a second
	LambdaConcurrency int     `json:"lambdaConcurrency"`      // the account's concurrent executions
	EventBridgeRate   float64 `json:"eventBridgeInvocations"` // rule invocations a second (bucket = one second's worth)
	S3WriteRate       float64 `json:"s3PrefixWrites"`         // requests a second per prefix (bucket = one second's worth)
	S3ReadRate        float64 `json:"s3PrefixReads"`
}

// Defaults are AWS's default quotas, unscaled.
func Defaults() Limits {
	return Limits{
		RekognitionTPS:    RekognitionDetectLabelsTPS,
		StartBurst:        StartExecutionBucket,
		StartRate:         StartExecutionRefill,
		TransitionBurst:   StateTransitionBucket,
		TransitionRate:    StateTransitionRefill,
		LambdaConcurrency: LambdaConcurrentExecutions,
		EventBridgeRate:   EventBridgeInvocations,
		S3WriteRate:       S3PrefixWrites,
		S3ReadRate:        S3PrefixReads,
	}
}

// Scaled returns AWS's default quotas multiplied by f (f <= 0: none enforced).
func Scaled(f float64) Limits { return Defaults().Scale(f) }

// Scale multiplies every quota by f (f <= 0: none enforced). Every quota keeps at
// least one token or one execution, so that a tiny factor slows the pipeline rather
// than stopping it.
func (l Limits) Scale(f float64) Limits {
	if f <= 0 || math.IsNaN(f) {
		return Limits{}
	}
	at1 := func(v float64) float64 { return math.Max(1, v*f) }
	return Limits{
		RekognitionTPS:    at1(l.RekognitionTPS),
		StartBurst:        at1(l.StartBurst),
		StartRate:         at1(l.StartRate),
		TransitionBurst:   at1(l.TransitionBurst),
		TransitionRate:    at1(l.TransitionRate),
		LambdaConcurrency: int(at1(float64(l.LambdaConcurrency))),
		EventBridgeRate:   at1(l.EventBridgeRate),
		S3WriteRate:       at1(l.S3WriteRate),
		S3ReadRate:        at1(l.S3ReadRate),
	}
}

// names are the quotas Set knows, as `imagepipe serve --quota NAME=VALUE` takes them.
var names = map[string]func(l *Limits, v float64){
	"rekognition-tps":         func(l *Limits, v float64) { l.RekognitionTPS = v },
	"start-execution-burst":   func(l *Limits, v float64) { l.StartBurst = v },
	"start-execution-rate":    func(l *Limits, v float64) { l.StartRate = v },
	"state-transition-burst":  func(l *Limits, v float64) { l.TransitionBurst = v },
	"state-transition-rate":   func(l *Limits, v float64) { l.TransitionRate = v },
	"lambda-concurrency":      func(l *Limits, v float64) { l.LambdaConcurrency = int(v) },
	"eventbridge-invocations": func(l *Limits, v float64) { l.EventBridgeRate = v },
	"s3-prefix-writes":        func(l *Limits, v float64) { l.S3WriteRate = v },
	"s3-prefix-reads":         func(l *Limits, v float64) { l.S3ReadRate = v },
}

// Names lists the quotas Set knows, sorted.
func Names() []string { return slices.Sorted(maps.Keys(names)) }

// ErrUnknownQuota is Set given a name it does not know.
var ErrUnknownQuota = errors.New("unknown quota")

// Set parses "name=value" and sets that quota, in AWS's terms (the value Service
// Quotas would show for the account, before any scale): an account with a raised
// DetectLabels quota is "rekognition-tps=500", a Region with EventBridge's smaller
// quota "eventbridge-invocations=750".
func (l *Limits) Set(nameValue string) error {
	name, value, ok := strings.Cut(nameValue, "=")
	set, known := names[strings.TrimSpace(name)]
	if !ok || !known {
		return fmt.Errorf("%w %q: want NAME=VALUE with NAME one of %s", ErrUnknownQuota, nameValue, strings.Join(Names(), ", "))
	}
	v, err := strconv.ParseFloat(strings.TrimSpace(value), 64)
	if err != nil || v <= 0 || math.IsInf(v, 0) {
		return fmt.Errorf("quota %s: %q is not a positive number", name, value)
	}
	set(l, v)
	return nil
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

// Keyed is one token bucket per key (S3's per-prefix request rates), each made
// full on its key's first use. Safe for concurrent use; a nil *Keyed always admits.
type Keyed struct {
	burst, rate float64
	now         func() time.Time

	mu      sync.Mutex
	buckets map[string]*Bucket
}

// NewKeyed returns per-key buckets of burst and rate, or nil (no limit) when
// either is not positive.
func NewKeyed(burst, rate float64) *Keyed {
	return newKeyed(burst, rate, time.Now)
}

func newKeyed(burst, rate float64, now func() time.Time) *Keyed {
	if burst <= 0 || rate <= 0 {
		return nil
	}
	return &Keyed{burst: burst, rate: rate, now: now, buckets: map[string]*Bucket{}}
}

func (k *Keyed) bucket(key string) *Bucket {
	k.mu.Lock()
	defer k.mu.Unlock()
	b, ok := k.buckets[key]
	if !ok {
		b = newBucket(k.burst, k.rate, k.now)
		k.buckets[key] = b
	}
	return b
}

// Allow takes a token from key's bucket if there is one: false means throttled.
func (k *Keyed) Allow(key string) bool {
	if k == nil {
		return true
	}
	return k.bucket(key).Allow()
}

// Wait takes a token from key's bucket, waiting for one as Bucket.Wait does.
func (k *Keyed) Wait(ctx context.Context, key string) (bool, error) {
	if k == nil {
		return false, nil
	}
	return k.bucket(key).Wait(ctx)
}

// Throttled counts the calls refused or delayed, over every key.
func (k *Keyed) Throttled() uint64 {
	if k == nil {
		return 0
	}
	k.mu.Lock()
	defer k.mu.Unlock()
	var n uint64
	for _, b := range k.buckets {
		n += b.Throttled()
	}
	return n
}
