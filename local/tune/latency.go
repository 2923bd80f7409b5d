package tune

import (
	"fmt"
	"io"
	"net/http"
	"time"
)

// Assumptions are the latencies the service stand-ins answer with. There is no AWS
// account here, so what S3, Rekognition and OpenSearch take is modelled, not
// measured; each figure says where it comes from.
type Assumptions struct {
	// S3FirstByte is a GET's (or HEAD's) time to first byte. "Best Practices Design
	// Patterns: Optimizing Amazon S3 Performance", Timeouts and Retries for
	// Latency-Sensitive Applications: for requests under 512 KB "median latencies
	// are often in the range of tens of milliseconds"
	// (https://docs.aws.amazon.com/whitepapers/latest/s3-optimizing-performance-best-practices/timeouts-and-retries-for-latency-sensitive-applications.html).
	S3FirstByte time.Duration
	// S3Put is a PUT's answer once its body has arrived (same source).
	S3Put time.Duration
	// S3BytesPerSecond is what one connection between Lambda and S3 moves, each
	// way. AWS publishes no per-connection figure; 75 MB/s is an assumption.
	S3BytesPerSecond float64
	// DetectLabels is Rekognition DetectLabels on an S3 object, its own read of the
	// object included. AWS publishes no latency; 500 ms is an assumption, the one the
	// capacity table and reserved concurrency are sized with (20 calls of ~0.5 s).
	DetectLabels time.Duration
	// OpenSearchRequest is one document GET or PUT on the domain (an assumption for
	// a small domain in the same Region).
	OpenSearchRequest time.Duration
	// OpenSearchRefresh is index.refresh_interval (OpenSearch's default, 1 s): a PUT
	// with refresh=wait_for, as index-document sends, answers after the next refresh
	// ("Refresh" in the OpenSearch index API documentation); writes arriving at
	// random wait uniformly between 0 and this.
	OpenSearchRefresh time.Duration
}

// DefaultAssumptions are the figures tune states and uses unless told otherwise.
func DefaultAssumptions() Assumptions {
	return Assumptions{
		S3FirstByte:       30 * time.Millisecond,
		S3Put:             40 * time.Millisecond,
		S3BytesPerSecond:  75e6,
		DetectLabels:      500 * time.Millisecond,
		OpenSearchRequest: 10 * time.Millisecond,
		OpenSearchRefresh: time.Second,
	}
}

// Validate refuses figures that cannot be latencies.
func (a Assumptions) Validate() error {
	if a.S3FirstByte < 0 || a.S3Put < 0 || a.DetectLabels < 0 || a.OpenSearchRequest < 0 || a.OpenSearchRefresh < 0 {
		return fmt.Errorf("assumptions: latencies must not be negative: %+v", a)
	}
	if a.S3BytesPerSecond <= 0 {
		return fmt.Errorf("assumptions: S3 throughput must be positive, got %v", a.S3BytesPerSecond)
	}
	return nil
}

// Lines states the assumptions, one a line, for the report.
func (a Assumptions) Lines() []string {
	return []string{
		fmt.Sprintf("S3 GET: first byte after %v, then %.0f MB/s (AWS S3 performance whitepaper: tens of ms median for small requests; throughput assumed)", a.S3FirstByte, a.S3BytesPerSecond/1e6),
		fmt.Sprintf("S3 PUT: body at %.0f MB/s, answer %v after it", a.S3BytesPerSecond/1e6, a.S3Put),
		fmt.Sprintf("Rekognition DetectLabels (S3 object): %v (assumed; AWS publishes no latency)", a.DetectLabels),
		fmt.Sprintf("OpenSearch document GET/PUT: %v; a PUT with refresh=wait_for also waits for the next refresh, uniformly 0-%v (index.refresh_interval default; the same seeded draws at every size)", a.OpenSearchRequest, a.OpenSearchRefresh),
	}
}

// held wraps a stand-in so that each answer starts no earlier than due says, and
// its body streams no faster than bytesPerSecond (0: at once). The stand-in's own
// time counts inside the hold, never on top of it: a stand-in slower than the model
// makes the answer later, never earlier.
type held struct {
	next           http.Handler
	due            func(r *http.Request, start time.Time, bodyBytes int64) time.Time
	bytesPerSecond float64
}

func (h held) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	start := time.Now()
	body := &countingBody{ReadCloser: r.Body}
	r.Body = body
	hw := &holdWriter{ResponseWriter: w, r: r, start: start, h: h, body: body}
	h.next.ServeHTTP(hw, r)
	hw.release()
}

type countingBody struct {
	io.ReadCloser
	n int64
}

func (c *countingBody) Read(p []byte) (int, error) {
	n, err := c.ReadCloser.Read(p)
	c.n += int64(n)
	return n, err
}

// holdWriter holds the status line until the answer is due, then paces the body.
type holdWriter struct {
	http.ResponseWriter
	r       *http.Request
	start   time.Time
	h       held
	body    *countingBody
	status  int
	opened  time.Time // when the answer started
	written int64
}

func (w *holdWriter) WriteHeader(code int) {
	if w.status == 0 {
		w.status = code
	}
}

// release sends the held status line once the answer is due.
func (w *holdWriter) release() {
	if !w.opened.IsZero() {
		return
	}
	if w.status == 0 {
		w.status = http.StatusOK
	}
	sleepUntil(w.r, w.h.due(w.r, w.start, w.body.n))
	w.opened = time.Now()
	w.ResponseWriter.WriteHeader(w.status)
}

func (w *holdWriter) Write(p []byte) (int, error) {
	w.release()
	if w.h.bytesPerSecond <= 0 {
		return w.ResponseWriter.Write(p)
	}
	const chunk = 64 << 10
	done := 0
	for done < len(p) {
		n := min(chunk, len(p)-done)
		m, err := w.ResponseWriter.Write(p[done : done+n])
		done += m
		w.written += int64(m)
		if err != nil {
			return done, err
		}
		if f, ok := w.ResponseWriter.(http.Flusher); ok {
			f.Flush()
		}
		sleepUntil(w.r, w.opened.Add(time.Duration(float64(w.written)/w.h.bytesPerSecond*float64(time.Second))))
	}
	return done, nil
}

func (w *holdWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

func sleepUntil(r *http.Request, t time.Time) {
	d := time.Until(t)
	if d <= 0 {
		return
	}
	timer := time.NewTimer(d)
	defer timer.Stop()
	select {
	case <-timer.C:
	case <-r.Context().Done():
	}
}

// transfer is how long n bytes take at bytesPerSecond.
func transfer(n int64, bytesPerSecond float64) time.Duration {
	return time.Duration(float64(n) / bytesPerSecond * float64(time.Second))
}
