// Package loadgen uploads generated photos at a given rate through the S3 API and
// waits until each is searchable, measuring throughput and upload-to-searchable
// latency. `imagepipe load`, the twin's POST /api/load and the load-tester Lambda
// (upload only: no Checker) all run it.
package loadgen

import (
	"context"
	"errors"
	"fmt"
	"math"
	"slices"
	"sync"
	"time"
)

// Uploader writes one object (S3Uploader in production, a fake in tests).
type Uploader interface {
	Put(ctx context.Context, bucket, key string, body []byte, contentType string) error
}

// Outcome is a finished image: indexed, or failed with a reason.
type Outcome struct {
	Failed bool
	Reason string
}

// Checker reports which of the pending keys have finished. Keys it does not return
// are still in flight.
type Checker interface {
	Poll(ctx context.Context, bucket string, keys []string) (map[string]Outcome, error)
}

// Config is one load run.
type Config struct {
	Uploader Uploader
	// Checker follows the uploads through the pipeline; nil makes an upload-only run
	// (the load-tester Lambda), which ends when the last upload has been answered.
	Checker Checker
	Bucket  string // default "images"
	// Prefix is where the uploads go; it must be under upload/ for the pipeline to
	// run. Default upload/load/<start time>/.
	Prefix      string
	Rate        float64       // uploads a second (offered)
	Duration    time.Duration // how long to offer them
	Count       int           // overrides Rate x Duration when > 0
	Concurrency int           // uploads in flight at most; default 4
	Size        string        // a key of Sizes; default "small"
	Variants    int           // distinct base images; default 2
	// Wait is how long to wait, after the last upload, for stragglers; default 2 min.
	Wait time.Duration
	// Poll is how often pending images are checked (the latency's resolution);
	// default 100 ms.
	Poll time.Duration
	// Body, when set, replaces the generated photos (tests use tiny bodies).
	Body func(i int) []byte
}

// Stats is the run so far.
type Stats struct {
	Planned      int           `json:"planned"`
	Sent         int           `json:"sent"` // uploads accepted by S3
	UploadFailed int           `json:"uploadFailed"`
	Indexed      int           `json:"indexed"`
	Failed       int           `json:"failed"` // the pipeline gave up on them
	Pending      int           `json:"pending"`
	Elapsed      time.Duration `json:"elapsedNs"`
	Done         bool          `json:"done"`
}

// Report is the closing summary.
type Report struct {
	Stats
	TimedOut    int     `json:"timedOut"` // uploaded, not finished by the deadline
	OfferedRate float64 `json:"offeredRate"`
	SentRate    float64 `json:"sentRate"`
	// Throughput is images indexed per second, from the first upload to the last
	// image indexed.
	Throughput float64  `json:"throughput"`
	P50        float64  `json:"p50Ms"`
	P95        float64  `json:"p95Ms"`
	P99        float64  `json:"p99Ms"`
	Max        float64  `json:"maxMs"`
	PollMs     float64  `json:"pollMs"` // latency resolution
	Bucket     string   `json:"bucket"`
	Prefix     string   `json:"prefix"`
	Errors     []string `json:"errors,omitempty"` // the first few, for the report
	// Timeline is the run second by second (by when each upload was answered), for a
	// chart of throughput and latency over time.
	Timeline []Second `json:"timeline,omitempty"`
	// Upload* are the S3 PUT durations (request sent → answered), accepted or not.
	UploadP50 float64 `json:"uploadP50Ms"`
	UploadP95 float64 `json:"uploadP95Ms"`
	UploadP99 float64 `json:"uploadP99Ms"`
	UploadMax float64 `json:"uploadMaxMs"`
	// States is where the time went, from the execution histories (filled by the
	// caller with StateTimes when it can reach Step Functions).
	States []StateTime `json:"states,omitempty"`
}

// ErrConfig marks an invalid Config.
var ErrConfig = errors.New("loadgen: invalid config")

func (c *Config) defaults(now time.Time) error {
	if c.Uploader == nil {
		return fmt.Errorf("%w: Uploader is required", ErrConfig)
	}
	if c.Bucket == "" {
		c.Bucket = "images"
	}
	if c.Prefix == "" {
		c.Prefix = "upload/load/" + now.UTC().Format("20060102T150405.000") + "/"
	}
	if c.Count <= 0 {
		if c.Rate <= 0 || c.Duration <= 0 {
			return fmt.Errorf("%w: need Rate and Duration > 0, or Count", ErrConfig)
		}
		c.Count = int(math.Ceil(c.Rate * c.Duration.Seconds()))
	}
	if c.Count > 1_000_000 {
		return fmt.Errorf("%w: %d uploads is more than a load run should make", ErrConfig, c.Count)
	}
	if c.Concurrency <= 0 {
		c.Concurrency = 4
	}
	if c.Size == "" {
		c.Size = "small"
	}
	if _, ok := Sizes[c.Size]; !ok && c.Body == nil {
		return fmt.Errorf("%w: unknown size %q", ErrConfig, c.Size)
	}
	if c.Variants <= 0 {
		c.Variants = 2
	}
	if c.Wait <= 0 {
		c.Wait = 2 * time.Minute
	}
	if c.Poll <= 0 {
		c.Poll = 100 * time.Millisecond
	}
	return nil
}

// Second is one second of a run: the uploads answered in it (accepted or refused) and
// their PUT durations' median and maximum.
type Second struct {
	T         int     `json:"t"` // seconds since the first upload was due
	Sent      int     `json:"sent"`
	Failed    int     `json:"failed"`
	UploadP50 float64 `json:"uploadP50Ms"`
	UploadMax float64 `json:"uploadMaxMs"`
}

// upload is one answered PUT, for the timeline.
type upload struct {
	at     time.Duration // answered, since the start
	took   time.Duration
	failed bool
}

type run struct {
	cfg   Config
	start time.Time

	mu        sync.Mutex
	stats     Stats
	pending   map[string]time.Time // key → upload finished
	latencies []time.Duration
	uploads   []time.Duration // PUT durations
	answered  []upload        // the same, with when and how each ended
	lastDone  time.Time
	lastSent  time.Time
	uploading int // scheduled or in flight
	errs      []string
}

func (r *run) noteErr(s string) {
	if len(r.errs) < 5 {
		r.errs = append(r.errs, s)
	}
}

// Run uploads cfg.Count images at cfg.Rate and waits until each is indexed or
// failed, or the deadline passes. progress, when not nil, is called from one
// goroutine after every poll. A cancelled ctx ends the run early with the report
// so far.
func Run(ctx context.Context, cfg Config, progress func(Stats)) (Report, error) {
	start := time.Now()
	if err := cfg.defaults(start); err != nil {
		return Report{}, err
	}
	body := cfg.Body
	if body == nil {
		b, err := variants(ctx, cfg)
		if err != nil {
			return Report{}, err
		}
		body = b
	}
	start = time.Now() // the clock starts once the images are ready
	r := &run{cfg: cfg, start: start, pending: map[string]time.Time{}, uploading: cfg.Count}
	r.stats.Planned = cfg.Count

	jobs := make(chan int)
	var wg sync.WaitGroup
	for range cfg.Concurrency {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range jobs {
				r.upload(ctx, i, body(i))
			}
		}()
	}
	go func() {
		defer close(jobs)
		t := time.NewTimer(0)
		defer t.Stop()
		for i := range cfg.Count {
			at := start
			if cfg.Rate > 0 {
				at = start.Add(time.Duration(float64(i) / cfg.Rate * float64(time.Second)))
			}
			t.Reset(time.Until(at))
			select {
			case <-ctx.Done():
				r.mu.Lock()
				r.uploading -= cfg.Count - i
				r.mu.Unlock()
				return
			case <-t.C:
			}
			select {
			case jobs <- i:
			case <-ctx.Done():
				r.mu.Lock()
				r.uploading -= cfg.Count - i
				r.mu.Unlock()
				return
			}
		}
	}()

	tick := time.NewTicker(cfg.Poll)
	defer tick.Stop()
	var runErr error
	for {
		select {
		case <-ctx.Done():
			runErr = ctx.Err()
		case <-tick.C:
		}
		if runErr != nil {
			break
		}
		r.poll(ctx)
		r.mu.Lock()
		finished := r.uploading == 0 && len(r.pending) == 0
		expired := r.uploading == 0 && time.Since(r.lastSent) > cfg.Wait
		r.stats.Elapsed = time.Since(start)
		r.stats.Pending = len(r.pending)
		r.stats.Done = finished || expired
		s := r.stats
		r.mu.Unlock()
		if progress != nil {
			progress(s)
		}
		if s.Done {
			break
		}
	}
	wg.Wait()
	return r.report(), runErr
}

func (r *run) upload(ctx context.Context, i int, body []byte) {
	key := fmt.Sprintf("%s%06d.jpg", r.cfg.Prefix, i)
	began := time.Now()
	err := r.cfg.Uploader.Put(ctx, r.cfg.Bucket, key, body, "image/jpeg")
	now := time.Now()
	r.mu.Lock()
	defer r.mu.Unlock()
	r.uploading--
	r.lastSent = now
	r.uploads = append(r.uploads, now.Sub(began))
	r.answered = append(r.answered, upload{at: now.Sub(r.start), took: now.Sub(began), failed: err != nil})
	if err != nil {
		r.stats.UploadFailed++
		r.noteErr(fmt.Sprintf("upload %s: %v", key, err))
		return
	}
	r.stats.Sent++
	if r.cfg.Checker != nil { // upload-only runs have nothing to wait for
		r.pending[key] = now
	}
}

func (r *run) poll(ctx context.Context) {
	r.mu.Lock()
	keys := make([]string, 0, len(r.pending))
	for k := range r.pending {
		keys = append(keys, k)
	}
	r.mu.Unlock()
	if len(keys) == 0 || r.cfg.Checker == nil {
		return
	}
	slices.Sort(keys)
	done, err := r.cfg.Checker.Poll(ctx, r.cfg.Bucket, keys)
	now := time.Now()
	r.mu.Lock()
	defer r.mu.Unlock()
	if err != nil && ctx.Err() == nil {
		r.noteErr("poll: " + err.Error())
	}
	for k, o := range done {
		up, ok := r.pending[k]
		if !ok {
			continue
		}
		delete(r.pending, k)
		r.lastDone = now
		if o.Failed {
			r.stats.Failed++
			r.noteErr(fmt.Sprintf("%s: %s", k, o.Reason))
			continue
		}
		r.stats.Indexed++
		r.latencies = append(r.latencies, now.Sub(up))
	}
}

func (r *run) report() Report {
	r.mu.Lock()
	defer r.mu.Unlock()
	rep := Report{Stats: r.stats, TimedOut: len(r.pending), Bucket: r.cfg.Bucket, Prefix: r.cfg.Prefix,
		OfferedRate: r.cfg.Rate, PollMs: ms(r.cfg.Poll), Errors: r.errs}
	rep.Pending = len(r.pending)
	if !r.lastSent.IsZero() {
		if d := r.lastSent.Sub(r.start).Seconds(); d > 0 {
			rep.SentRate = float64(r.stats.Sent) / d
		}
	}
	if r.stats.Indexed > 0 {
		if d := r.lastDone.Sub(r.start).Seconds(); d > 0 {
			rep.Throughput = float64(r.stats.Indexed) / d
		}
	}
	l := slices.Clone(r.latencies)
	slices.Sort(l)
	rep.P50, rep.P95, rep.P99 = ms(Percentile(l, 50)), ms(Percentile(l, 95)), ms(Percentile(l, 99))
	if len(l) > 0 {
		rep.Max = ms(l[len(l)-1])
	}
	u := slices.Clone(r.uploads)
	slices.Sort(u)
	rep.UploadP50, rep.UploadP95, rep.UploadP99 = ms(Percentile(u, 50)), ms(Percentile(u, 95)), ms(Percentile(u, 99))
	if len(u) > 0 {
		rep.UploadMax = ms(u[len(u)-1])
	}
	rep.Timeline = timeline(r.answered)
	return rep
}

// timeline buckets answered uploads by second; a second without any is present, with
// zeros, so a chart shows the gap.
func timeline(ups []upload) []Second {
	if len(ups) == 0 {
		return nil
	}
	last := 0
	for _, u := range ups {
		last = max(last, int(u.at/time.Second))
	}
	took := make([][]time.Duration, last+1)
	out := make([]Second, last+1)
	for i := range out {
		out[i].T = i
	}
	for _, u := range ups {
		i := max(int(u.at/time.Second), 0)
		if u.failed {
			out[i].Failed++
		} else {
			out[i].Sent++
		}
		took[i] = append(took[i], u.took)
	}
	for i, d := range took {
		slices.Sort(d)
		out[i].UploadP50 = ms(Percentile(d, 50))
		if len(d) > 0 {
			out[i].UploadMax = ms(d[len(d)-1])
		}
	}
	return out
}

func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }

// Percentile is the nearest-rank percentile of sorted durations (0 when empty).
func Percentile(sorted []time.Duration, p float64) time.Duration {
	if len(sorted) == 0 {
		return 0
	}
	rank := int(math.Ceil(p / 100 * float64(len(sorted))))
	rank = min(max(rank, 1), len(sorted))
	return sorted[rank-1]
}

// variants generates cfg.Variants distinct photos once; every upload then gets one of
// them with its own nonce, so no two uploads have the same bytes.
func variants(ctx context.Context, cfg Config) (func(int) []byte, error) {
	sz := Sizes[cfg.Size]
	base := make([][]byte, cfg.Variants)
	for v := range base {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		b, err := SampleJPEG(uint64(v+1), sz.X, sz.Y, 90)
		if err != nil {
			return nil, err
		}
		base[v] = b
	}
	nonce := uint64(time.Now().UnixNano())
	return func(i int) []byte { return WithNonce(base[i%len(base)], nonce+uint64(i)) }, nil
}
