// Package s3edge is the twin's S3 endpoint. Reads (GET, HEAD, listings, bucket
// calls) are gofakes3 over a durable file store; every write (PUT, copy, delete,
// DeleteObjects, multipart) is the edge's own, so that it keeps S3's limits and
// commits each change together with the EventBridge event S3 raises for it.
package s3edge

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/imagepipe/imagepipe/functions/pipeline"
	"github.com/johannesboyne/gofakes3"
)

// Options configure a Server.
type Options struct {
	// Buckets are created at start when absent (default: "images").
	Buckets []string
	// Events reports whether a bucket sends its changes to EventBridge (a bucket's
	// EventBridgeConfiguration); nil: every bucket does.
	Events func(bucket string) bool
	// Emit receives each event after its change and the event are durable, before
	// the client's response. An error answers 503; the event stays in the durable
	// outbox and is delivered again by Redeliver.
	Emit func(ctx context.Context, ev pipeline.ObjectEvent) error
	// RedeliverEvery is the outbox retry period (default 2s; negative disables).
	RedeliverEvery time.Duration
	// ReadIdleTimeout cuts off a request body that sends nothing for this long,
	// answering RequestTimeout as S3 does (default 20s).
	ReadIdleTimeout time.Duration
	// UploadExpiryDays is the bucket's lifecycle rule AbortIncompleteMultipartUpload
	// for a key: days after initiation an incomplete upload is aborted, 0 never
	// (see AbortIncompleteUploadDays). nil: 1 day everywhere.
	UploadExpiryDays func(bucket, key string) int
	// ExpirationRules are a bucket's lifecycle Expiration rules (ExpirationRules
	// reads them from the template); nil: objects never expire.
	ExpirationRules func(bucket string) []ExpirationRule
	// LifecycleEvery is how often expired uploads are aborted and expired objects
	// deleted (default 1h; negative disables). It also runs at start.
	LifecycleEvery time.Duration
	// PostAuth verifies and authorizes POST Object (browser form uploads); nil
	// refuses them.
	PostAuth PostAuth
	Logger   *slog.Logger
	Now      func() time.Time

	// Rates are S3's per-prefix request rates (zero: none); see RequestRates.
	Rates RequestRates
}

// Server is the S3 endpoint.
type Server struct {
	store     *store
	fake      http.Handler
	opts      Options
	log       *slog.Logger
	locks     lockTable
	completed completedUploads
	// redeliverMu keeps redeliveries one at a time.
	redeliverMu sync.Mutex
	stop        chan struct{}
	stopped     sync.WaitGroup
	once        sync.Once
	slowDowns   [2]atomic.Uint64 // reads and writes answered SlowDown (RequestRates)
}

func withDefaults(opts Options) Options {
	if len(opts.Buckets) == 0 {
		opts.Buckets = []string{"images"}
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	if opts.RedeliverEvery == 0 {
		opts.RedeliverEvery = 2 * time.Second
	}
	if opts.ReadIdleTimeout <= 0 {
		opts.ReadIdleTimeout = 20 * time.Second
	}
	if opts.UploadExpiryDays == nil {
		opts.UploadExpiryDays = func(string, string) int { return 1 }
	}
	if opts.LifecycleEvery == 0 {
		opts.LifecycleEvery = time.Hour
	}
	return opts
}

// New opens (or creates) the object store under dir. A damaged store is a
// *DamagedStoreError.
func New(dir string, opts Options) (*Server, error) {
	opts = withDefaults(opts)
	st, err := openStore(dir, opts.Now)
	if err != nil {
		return nil, err
	}
	for _, b := range opts.Buckets {
		if ok, err := st.BucketExists(b); err != nil {
			st.Close()
			return nil, fmt.Errorf("s3edge: check bucket %s: %w", b, err)
		} else if !ok {
			if err := st.CreateBucket(b); err != nil {
				st.Close()
				return nil, fmt.Errorf("s3edge: create bucket %s: %w", b, err)
			}
		}
	}
	fake := gofakes3.New(st,
		gofakes3.WithTimeSkewLimit(0), // local clocks and fake clocks in tests
		gofakes3.WithLogger(gofakes3.DiscardLog()),
	)
	s := &Server{
		store: st, fake: fake.Server(), opts: opts,
		log:  opts.Logger.With("component", "s3edge"),
		stop: make(chan struct{}),
	}
	if err := s.Lifecycle(context.Background()); err != nil {
		s.log.Warn("lifecycle failed", "err", err)
	}
	s.every(opts.RedeliverEvery, "event redelivery", func(ctx context.Context) error {
		_, err := s.Redeliver(ctx)
		return err
	})
	s.every(opts.LifecycleEvery, "lifecycle", s.Lifecycle)
	return s, nil
}

// Lifecycle applies the buckets' lifecycle rules once: incomplete multipart
// uploads are aborted, expired objects deleted.
func (s *Server) Lifecycle(ctx context.Context) error {
	if _, err := s.ExpireUploads(ctx); err != nil {
		return err
	}
	_, err := s.ExpireObjects(ctx)
	return err
}

// every runs fn periodically until Close. A panic (bbolt panics on a page damaged
// while the twin runs) is logged, never fatal.
func (s *Server) every(period time.Duration, what string, fn func(context.Context) error) {
	if period <= 0 {
		return
	}
	s.stopped.Add(1)
	go func() {
		defer s.stopped.Done()
		t := time.NewTicker(period)
		defer t.Stop()
		for {
			select {
			case <-s.stop:
				return
			case <-t.C:
				func() {
					defer func() {
						if p := recover(); p != nil {
							s.log.Error(what+" panicked; is the store damaged?", "store", s.store.path, "panic", fmt.Sprint(p))
						}
					}()
					ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
					defer cancel()
					if err := fn(ctx); err != nil {
						s.log.Warn(what+" failed", "err", err)
					}
				}()
			}
		}
	}()
}

// Close stops the background work and closes the store.
func (s *Server) Close() error {
	s.once.Do(func() { close(s.stop) })
	s.stopped.Wait()
	return s.store.Close()
}

// Handler serves the S3 REST API, path-style. Mount it without a ServeMux: a mux
// cleans paths and would redirect keys that contain "//" or "..".
func (s *Server) Handler() http.Handler { return http.HandlerFunc(s.serve) }

// Redeliver emits the outbox (events whose delivery failed or was cut short by a
// crash) in sequencer order, stopping at the first failure, and returns how many
// are still pending. Each event is emitted with its key held, so that it never
// races the request that staged it.
func (s *Server) Redeliver(ctx context.Context) (int, error) {
	if s.opts.Emit == nil {
		return 0, nil
	}
	s.redeliverMu.Lock()
	defer s.redeliverMu.Unlock()
	evs, ids, err := s.store.pending()
	if err != nil {
		return 0, err
	}
	for i, ev := range evs {
		key, kerr := url.QueryUnescape(ev.Detail.Object.Key)
		if kerr != nil {
			key = ev.Detail.Object.Key
		}
		unlock := s.locks.lock(objectLockName(ev.Detail.Bucket.Name, key))
		ok, err := s.store.isPending(ids[i])
		if err == nil && ok {
			if err = s.opts.Emit(ctx, ev); err == nil {
				err = s.store.delivered(ids[i])
			}
		}
		unlock()
		if err != nil {
			return len(evs) - i, fmt.Errorf("s3edge: redeliver %s: %w", ev.Detail.Object.Key, err)
		}
	}
	return 0, nil
}

// request is what the router knows of one request.
type request struct {
	id          string
	bucket, key string
	q           url.Values
}

func (s *Server) serve(w http.ResponseWriter, r *http.Request) {
	rq := &request{id: newRequestID(), q: r.URL.Query()}
	rq.bucket, rq.key, _ = strings.Cut(strings.TrimPrefix(r.URL.Path, "/"), "/")
	h := w.Header()
	h.Set("x-amz-request-id", rq.id)
	h.Set("x-amz-id-2", hostID(rq.id))
	h.Set("Server", "AmazonS3")
	if r.Method == http.MethodPut || r.Method == http.MethodPost {
		defer s.limitIdle(w, r)()
	}
	if err := s.route(w, r, rq); err != nil {
		if se := asS3Error(err); se.Status >= 500 && se.Code != "SlowDown" {
			s.log.Error("request failed", "method", r.Method, "bucket", rq.bucket, "key", rq.key, "code", se.Code, "err", err)
		}
		if r.Method == http.MethodPut || r.Method == http.MethodPost {
			// The body may be unread (refused before it, or stalled): close rather
			// than let net/http wait to drain it, as S3 closes after RequestTimeout.
			w.Header().Set("Connection", "close")
		}
		writeError(w, r, rq.id, err)
	}
}

// route sends every write to the edge's handlers and the reads to gofakes3.
func (s *Server) route(w http.ResponseWriter, r *http.Request, rq *request) error {
	if err := checkKeyEncoding(rq.key); err != nil {
		return err
	}
	if err := s.slowDown(r, rq); err != nil {
		return err
	}
	q, obj := rq.q, rq.key != ""
	switch {
	case rq.bucket == "":
		s.fake.ServeHTTP(w, r)
		return nil
	case q.Has("uploadId"):
		return s.routeUpload(w, r, rq, q.Get("uploadId"))
	case q.Has("uploads") && obj && r.Method == http.MethodPost:
		return s.createUpload(w, r, rq)
	case q.Has("uploads") && !obj && r.Method == http.MethodGet:
		return s.listUploads(w, rq)
	case q.Has("uploads"):
		return newError(405, "MethodNotAllowed", "The specified method is not allowed against this resource.")
	case obj && q.Has("tagging"):
		return s.routeTagging(w, r, rq)
	case obj && unsupportedSubresource(q) != "":
		return errNotImplemented("?" + unsupportedSubresource(q))
	case obj && r.Method == http.MethodPut && r.Header.Get("X-Amz-Copy-Source") != "":
		return s.copyObject(w, r, rq)
	case obj && r.Method == http.MethodPut:
		return s.putObject(w, r, rq)
	case obj && r.Method == http.MethodDelete:
		return s.deleteObject(w, r, rq)
	case !obj && r.Method == http.MethodPost && q.Has("delete"):
		return s.deleteObjects(w, r, rq)
	case isPostObject(r, rq):
		return s.postObject(w, r, rq)
	case r.Method == http.MethodPost:
		return newError(405, "MethodNotAllowed", "The specified method is not allowed against this resource.")
	}
	ew := &etagWriter{ResponseWriter: w}
	s.fake.ServeHTTP(ew, r)
	ew.fix() // a HEAD answer writes nothing: net/http sends the headers after
	return nil
}

func (s *Server) routeUpload(w http.ResponseWriter, r *http.Request, rq *request, id string) error {
	switch r.Method {
	case http.MethodPut:
		return s.uploadPart(w, r, rq, id)
	case http.MethodPost:
		return s.completeUpload(w, r, rq, id)
	case http.MethodDelete:
		return s.abortUpload(w, rq, id)
	case http.MethodGet:
		return s.listParts(w, rq, id)
	}
	return newError(405, "MethodNotAllowed", "The specified method is not allowed against this resource.")
}

// unsupportedSubresource names an object subresource the edge does not emulate;
// gofakes3 would take "PUT ?tagging" for a PutObject and overwrite the object.
func unsupportedSubresource(q url.Values) string {
	for _, name := range []string{"acl", "retention", "legal-hold", "torrent", "restore", "select", "attributes"} {
		if q.Has(name) {
			return name
		}
	}
	return ""
}

// etagWriter gives a multipart object its ETag on GET and HEAD (gofakes3 derives
// the header from an MD5).
type etagWriter struct {
	http.ResponseWriter
	done bool
}

func (e *etagWriter) fix() {
	if e.done {
		return
	}
	e.done = true
	h := e.Header()
	if v := h.Get(edgeETag); v != "" {
		h.Set("ETag", `"`+v+`"`)
	}
	h.Del(edgeETag)
}

func (e *etagWriter) WriteHeader(code int) {
	e.fix()
	e.ResponseWriter.WriteHeader(code)
}

func (e *etagWriter) Write(p []byte) (int, error) {
	e.fix()
	return e.ResponseWriter.Write(p)
}

func (e *etagWriter) Unwrap() http.ResponseWriter { return e.ResponseWriter }

func newRequestID() string {
	var b [8]byte
	_, _ = rand.Read(b[:])
	return fmt.Sprintf("%016X", b[:])
}

func hostID(requestID string) string {
	return base64.StdEncoding.EncodeToString([]byte(requestID + requestID + requestID))
}

func remoteIP(r *http.Request) string {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		return r.RemoteAddr
	}
	return host
}

// Get reads a whole object for the twin's own services (Rekognition's S3Object).
// A missing bucket or key is an error that matches fs.ErrNotExist; versions are not
// kept, so a version id other than "" or "null" is missing too.
func (s *Server) Get(ctx context.Context, bucket, key, version string) ([]byte, error) {
	if err := s.waitRead(ctx, bucket, key); err != nil {
		return nil, fmt.Errorf("s3edge: %s/%s: %w", bucket, key, err)
	}
	if version != "" && version != "null" {
		return nil, fmt.Errorf("s3edge: %s/%s version %s: %w", bucket, key, version, fs.ErrNotExist)
	}
	r, f, err := s.store.open(bucket, key)
	if err != nil {
		if gofakes3.HasErrorCode(err, gofakes3.ErrNoSuchKey) || gofakes3.HasErrorCode(err, gofakes3.ErrNoSuchBucket) {
			return nil, fmt.Errorf("s3edge: %s/%s: %w", bucket, key, fs.ErrNotExist)
		}
		return nil, err
	}
	defer f.Close()
	// The record knows the size: one allocation instead of io.ReadAll's doubling
	// (whose zeroing and copies cost ~2 ms per 12 MP photo the labeler reads).
	data := make([]byte, r.Size)
	if _, err := io.ReadFull(f, data); err != nil {
		return nil, fmt.Errorf("s3edge: read %s/%s: %w", bucket, key, err)
	}
	return data, nil
}
