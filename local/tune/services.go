package tune

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"net"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/imagepipe/imagepipe/functions/pipeline"
	"github.com/imagepipe/imagepipe/local/awsid"
	"github.com/imagepipe/imagepipe/local/opensearch"
	"github.com/imagepipe/imagepipe/local/rekognition"
	"github.com/imagepipe/imagepipe/local/s3edge"
)

// Bucket is the bucket the stand-in S3 holds the photos in.
const Bucket = "images"

// searchDomain is the OpenSearch domain's name on the stand-in.
const searchDomain = "tune"

// services are the stand-ins the functions call, on one loopback listener: the
// twin's own S3 endpoint, Rekognition and OpenSearch domain, each answering no
// earlier than the Assumptions say.
type services struct {
	objects *s3edge.Server
	domain  *opensearch.Domain
	srv     *http.Server
	url     string

	mu     sync.Mutex
	events map[string]pipeline.ObjectEvent // by key: what S3 raised for each photo
	seq    int                             // the last sequencer handed out
	draws  *rand.Rand                      // where in the refresh cycle each write lands
}

// resetDraws restarts the refresh-phase draws, so that every memory size meets the
// same sequence of waits (common random numbers: sizes differ by what they do, not
// by their luck).
func (s *services) resetDraws() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.draws = rand.New(rand.NewPCG(17, 5))
}

// refreshWait is how long a refresh=wait_for write waits for the next refresh:
// writes arrive at random against the periodic refresh, so uniformly within one
// interval. (Drawn rather than waited for against a real clock: back-to-back
// invocations would otherwise lock onto the clock and wait a whole interval each.)
func (s *services) refreshWait(interval time.Duration) time.Duration {
	s.mu.Lock()
	defer s.mu.Unlock()
	return time.Duration(s.draws.Float64() * float64(interval))
}

// nextSequencer numbers the run's invocations, for S3 sequencers that only grow.
func (s *services) nextSequencer() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.seq++
	return s.seq
}

func startServices(dir string, a Assumptions, log *slog.Logger) (*services, error) {
	if err := a.Validate(); err != nil {
		return nil, err
	}
	s := &services{events: map[string]pipeline.ObjectEvent{}}
	s.resetDraws()
	var err error
	s.objects, err = s3edge.New(filepath.Join(dir, "objects"), s3edge.Options{
		Buckets: []string{Bucket}, Logger: log, RedeliverEvery: -1, LifecycleEvery: -1,
		Emit: func(_ context.Context, ev pipeline.ObjectEvent) error {
			s.mu.Lock()
			defer s.mu.Unlock()
			s.events[ev.Detail.Object.Key] = ev
			return nil
		},
	})
	if err != nil {
		return nil, fmt.Errorf("tune: S3 stand-in: %w", err)
	}
	prefix := opensearch.PathPrefix(awsid.Region, searchDomain)
	s.domain, err = opensearch.Open(prefix, filepath.Join(dir, "opensearch"), log)
	if err != nil {
		s.objects.Close()
		return nil, fmt.Errorf("tune: OpenSearch stand-in: %w", err)
	}
	labels := rekognition.New(rekognition.Options{Objects: s.objects, Logger: log})
	s3 := held{next: s.objects.Handler(), bytesPerSecond: a.S3BytesPerSecond,
		due: func(r *http.Request, start time.Time, n int64) time.Time {
			if r.Method == http.MethodPut || r.Method == http.MethodPost {
				return start.Add(transfer(n, a.S3BytesPerSecond) + a.S3Put)
			}
			return start.Add(a.S3FirstByte)
		}}
	rek := held{next: labels.Handler(), due: func(_ *http.Request, start time.Time, _ int64) time.Time {
		return start.Add(a.DetectLabels)
	}}
	search := held{next: s.domain, due: func(r *http.Request, start time.Time, _ int64) time.Time {
		due := start.Add(a.OpenSearchRequest)
		if r.URL.Query().Get("refresh") == "wait_for" {
			// The write is done now; it becomes visible, and is answered, at the
			// next refresh.
			due = due.Add(s.refreshWait(a.OpenSearchRefresh))
		}
		return due
	}}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		s.close()
		return nil, fmt.Errorf("tune: listen: %w", err)
	}
	s.url = "http://" + ln.Addr().String()
	s.srv = &http.Server{ReadHeaderTimeout: 10 * time.Second, Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch {
		case strings.HasPrefix(r.URL.Path, prefix+"/") || r.URL.Path == prefix:
			search.ServeHTTP(w, r)
		case strings.HasPrefix(r.Header.Get("X-Amz-Target"), "RekognitionService."):
			rek.ServeHTTP(w, r)
		default:
			s3.ServeHTTP(w, r)
		}
	})}
	go func() { _ = s.srv.Serve(ln) }()
	return s, nil
}

// searchEndpoint is OPENSEARCH_ENDPOINT for index-document.
func (s *services) searchEndpoint() string {
	return s.url + opensearch.PathPrefix(awsid.Region, searchDomain)
}

// put stores a photo directly (no modelled latency: it is the test's setup, not
// the function's work) and returns the event S3 raised for it.
func (s *services) put(key string, body []byte) (pipeline.ObjectEvent, error) {
	req := httptest.NewRequest(http.MethodPut, "/"+Bucket+"/"+key, bytes.NewReader(body))
	req.Header.Set("Content-Type", "image/jpeg")
	rec := httptest.NewRecorder()
	s.objects.Handler().ServeHTTP(rec, req)
	if rec.Code != http.StatusOK {
		return pipeline.ObjectEvent{}, fmt.Errorf("tune: store %s: S3 answered %d: %s", key, rec.Code, rec.Body.String())
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, ev := range s.events {
		if decoded, err := ev.Key(); err == nil && decoded == key {
			return ev, nil
		}
	}
	return pipeline.ObjectEvent{}, fmt.Errorf("tune: store %s: S3 raised no event", key)
}

func (s *services) close() error {
	var errs []error
	if s.srv != nil {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		errs = append(errs, s.srv.Shutdown(ctx))
	}
	if s.domain != nil {
		errs = append(errs, s.domain.Close())
	}
	if s.objects != nil {
		errs = append(errs, s.objects.Close())
	}
	return errors.Join(errs...)
}

// eventJSON is the event as the state machine's input carries it.
func eventJSON(ev pipeline.ObjectEvent) (json.RawMessage, error) {
	b, err := json.Marshal(ev)
	if err != nil {
		return nil, fmt.Errorf("tune: encode event: %w", err)
	}
	return b, nil
}
