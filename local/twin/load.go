package twin

import (
	"context"
	"encoding/json"
	"net/http"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/imagepipe/imagepipe/functions/loadgen"
)

// loadRunner is the web app's load tester on the twin: one run at a time, driven by
// the same generator as `imagepipe load`, uploading through the twin's own S3 edge and
// following the images through its own API.
type loadRunner struct {
	s3      *s3.Client
	bucket  string
	apiURL  string
	baseCtx context.Context

	mu      sync.Mutex
	running bool
	stats   loadgen.Stats
	report  *loadgen.Report
	err     string
}

// loadStatus is GET /api/load's answer (web/src/api/types.ts LoadStatus).
type loadStatus struct {
	Running bool     `json:"running"`
	Sent    int      `json:"sent"`
	Indexed int      `json:"indexed"`
	Failed  int      `json:"failed"`
	P50Ms   *float64 `json:"p50Ms,omitempty"`
	P95Ms   *float64 `json:"p95Ms,omitempty"`
	Error   string   `json:"error,omitempty"`
}

// Limits of a run started from a browser.
const (
	maxLoadRate     = 50
	maxLoadDuration = 5 * time.Minute
)

func (l *loadRunner) start(w http.ResponseWriter, r *http.Request) {
	var body struct {
		Rate     float64 `json:"rate"`
		Duration string  `json:"duration"`
	}
	if err := json.NewDecoder(http.MaxBytesReader(w, r.Body, 4096)).Decode(&body); err != nil {
		writeJSON(w, http.StatusBadRequest, map[string]string{"error": `body must be {"rate": R, "duration": "30s"}`})
		return
	}
	d, err := time.ParseDuration(body.Duration)
	if err != nil || d <= 0 || d > maxLoadDuration || body.Rate <= 0 || body.Rate > maxLoadRate {
		writeJSON(w, http.StatusBadRequest, map[string]string{"error": "rate must be in (0, 50] per second and duration in (0, 5m]"})
		return
	}
	l.mu.Lock()
	if l.running {
		l.mu.Unlock()
		writeJSON(w, http.StatusConflict, map[string]string{"error": "a load test is already running"})
		return
	}
	l.running, l.stats, l.report, l.err = true, loadgen.Stats{}, nil, ""
	l.mu.Unlock()

	id := time.Now().UTC().Format("20060102T150405Z")
	cfg := loadgen.Config{
		Uploader: loadgen.S3Uploader{Client: l.s3},
		Checker:  loadgen.APIChecker{BaseURL: l.apiURL},
		Bucket:   l.bucket,
		Prefix:   "upload/load/" + id + "/",
		Rate:     body.Rate,
		Duration: d,
	}
	go func() {
		rep, err := loadgen.Run(l.baseCtx, cfg, func(s loadgen.Stats) {
			l.mu.Lock()
			l.stats = s
			l.mu.Unlock()
		})
		l.mu.Lock()
		defer l.mu.Unlock()
		l.running, l.stats, l.report = false, rep.Stats, &rep
		if err != nil {
			l.err = err.Error()
		}
	}()
	writeJSON(w, http.StatusAccepted, map[string]string{"id": id})
}

func (l *loadRunner) status(w http.ResponseWriter, _ *http.Request) {
	l.mu.Lock()
	defer l.mu.Unlock()
	st := loadStatus{Running: l.running, Sent: l.stats.Sent, Indexed: l.stats.Indexed, Failed: l.stats.Failed + l.stats.UploadFailed, Error: l.err}
	if l.report != nil && l.report.Indexed > 0 {
		p50, p95 := l.report.P50, l.report.P95
		st.P50Ms, st.P95Ms = &p50, &p95
	}
	writeJSON(w, http.StatusOK, st)
}
