// Package s3edge is the twin's S3 endpoint: gofakes3 over a durable file store,
// wrapped so that writes and deletes raise the EventBridge events S3 raises.
package s3edge

import (
	"bytes"
	"context"
	"encoding/hex"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"net"
	"net/http"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/imagepipe/imagepipe/functions/pipeline"
	"github.com/johannesboyne/gofakes3"
)

// smuggledPrefix carries headers gofakes3 would drop (it keeps only X-Amz-*,
// Content-Type, Content-Disposition and Content-Encoding) through to the store.
const smuggledPrefix = "X-Amz-Edge-"

var smuggledHeaders = []string{"Cache-Control", "Content-Language", "Expires"}

// maxDeleteBody bounds a DeleteObjects request: 1000 keys of 1024 bytes, escaped.
const maxDeleteBody = 8 << 20

// Options configure a Server.
type Options struct {
	// Buckets are created at start when absent (default: "images").
	Buckets []string
	// Events reports whether a bucket sends its changes to EventBridge (a bucket's
	// EventBridgeConfiguration); nil: every bucket does.
	Events func(bucket string) bool
	// Emit receives each event synchronously, after the change is durable and before
	// the client's response. An error answers 503; the event stays in a durable
	// outbox and is delivered again by Redeliver.
	Emit func(ctx context.Context, ev pipeline.ObjectEvent) error
	// RedeliverEvery is the outbox retry period (default 2s; negative disables).
	RedeliverEvery time.Duration
	Logger         *slog.Logger
	Now            func() time.Time
}

// Server is the S3 endpoint.
type Server struct {
	store *store
	fake  http.Handler
	opts  Options
	log   *slog.Logger
	locks keyLocks
	// emitMu orders outbox redelivery (write lock) against live emission (read
	// lock): live requests emit concurrently, so their outbox writes and execution
	// starts share commits, and redelivery never sees an event still in flight.
	emitMu  sync.RWMutex
	stop    chan struct{}
	stopped sync.WaitGroup
	once    sync.Once
}

// New opens (or creates) the object store under dir.
func New(dir string, opts Options) (*Server, error) {
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
		gofakes3.WithIntegrityCheck(true),
		gofakes3.WithLogger(gofakes3.DiscardLog()),
	)
	s := &Server{
		store: st, fake: fake.Server(), opts: opts,
		log:   opts.Logger.With("component", "s3edge"),
		locks: keyLocks{m: map[string]*keyLock{}},
		stop:  make(chan struct{}),
	}
	if opts.RedeliverEvery > 0 {
		s.stopped.Add(1)
		go s.redeliverLoop()
	}
	return s, nil
}

// Close stops redelivery and closes the store.
func (s *Server) Close() error {
	s.once.Do(func() { close(s.stop) })
	s.stopped.Wait()
	return s.store.Close()
}

// Handler serves the S3 REST API, path-style. Mount it without a ServeMux: a mux
// cleans paths and would redirect keys that contain "//" or "..".
func (s *Server) Handler() http.Handler { return http.HandlerFunc(s.serve) }

func (s *Server) redeliverLoop() {
	defer s.stopped.Done()
	t := time.NewTicker(s.opts.RedeliverEvery)
	defer t.Stop()
	for {
		select {
		case <-s.stop:
			return
		case <-t.C:
			ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
			if n, err := s.Redeliver(ctx); err != nil {
				s.log.Warn("event redelivery failed", "pending", n, "err", err)
			}
			cancel()
		}
	}
}

// Redeliver emits the outbox (events whose first delivery failed) in sequencer
// order, stopping at the first failure. It returns how many are still pending.
func (s *Server) Redeliver(ctx context.Context) (int, error) {
	if s.opts.Emit == nil {
		return 0, nil
	}
	s.emitMu.Lock()
	defer s.emitMu.Unlock()
	evs, ids, err := s.store.pending()
	if err != nil {
		return 0, err
	}
	for i, ev := range evs {
		if err := s.opts.Emit(ctx, ev); err != nil {
			return len(evs) - i, fmt.Errorf("s3edge: redeliver %s: %w", ev.Detail.Object.Key, err)
		}
		if err := s.store.delivered(ids[i]); err != nil {
			return len(evs) - i, err
		}
	}
	return 0, nil
}

// op is a request that changes keys and so raises events.
type op struct {
	reason string
	bucket string
	keys   []string
}

func classify(r *http.Request) (op, bool) {
	bucket, key, _ := strings.Cut(strings.TrimPrefix(r.URL.Path, "/"), "/")
	q := r.URL.Query()
	if bucket == "" || q.Has("versionId") || q.Has("uploads") {
		return op{}, false
	}
	switch {
	case r.Method == http.MethodPut && key != "" && !q.Has("uploadId") && !q.Has("partNumber"):
		if r.Header.Get("X-Amz-Copy-Source") != "" {
			return op{ReasonCopy, bucket, []string{key}}, true
		}
		return op{ReasonPut, bucket, []string{key}}, true
	case r.Method == http.MethodPost && key != "" && q.Has("uploadId"):
		return op{ReasonMultipart, bucket, []string{key}}, true
	case r.Method == http.MethodDelete && key != "" && !q.Has("uploadId"):
		return op{ReasonDelete, bucket, []string{key}}, true
	case r.Method == http.MethodPost && key == "" && q.Has("delete"):
		return op{reason: "DeleteObjects", bucket: bucket}, true
	}
	return op{}, false
}

func (s *Server) serve(w http.ResponseWriter, r *http.Request) {
	if err := s.normalize(r); err != nil {
		writeError(w, http.StatusBadRequest, "InvalidRequest", err.Error())
		return
	}
	o, ok := classify(r)
	if !ok || s.opts.Emit == nil || (s.opts.Events != nil && !s.opts.Events(o.bucket)) {
		s.fake.ServeHTTP(w, r)
		return
	}
	if o.reason == "DeleteObjects" {
		keys, err := deleteKeys(r)
		if err != nil {
			writeError(w, http.StatusBadRequest, "MalformedXML", err.Error())
			return
		}
		o.keys = keys
	}
	// One change per key at a time, so the event describes this request's object.
	unlock := s.locks.lock(o.bucket, o.keys)
	defer unlock()

	rec := newRecorder()
	s.fake.ServeHTTP(rec, r)
	if rec.status == 0 {
		rec.status = http.StatusOK // gofakes3 writes nothing for a plain PUT
	}
	if rec.status/100 != 2 {
		rec.flush(w)
		return
	}
	infos, err := s.describe(o, rec, r)
	if err == nil {
		err = s.emit(r.Context(), infos)
	}
	if err != nil {
		s.log.Error("event not delivered; answering 503", "reason", o.reason, "bucket", o.bucket, "err", err)
		writeError(w, http.StatusServiceUnavailable, "ServiceUnavailable",
			"the change is stored but its event was not delivered yet; retry the request")
		return
	}
	rec.flush(w)
}

// normalize decodes aws-chunked uploads (gofakes3 knows only the signed variant
// without trailers) and moves headers gofakes3 would drop to where it keeps them.
func (s *Server) normalize(r *http.Request) error {
	if r.Method != http.MethodPut && r.Method != http.MethodPost {
		return nil
	}
	h := r.Header
	if r.Method == http.MethodPut && isAWSChunked(h.Get("X-Amz-Content-Sha256"), h.Get("Content-Encoding")) {
		n, err := strconv.ParseInt(h.Get("X-Amz-Decoded-Content-Length"), 10, 64)
		if err != nil || n < 0 {
			return errors.New("aws-chunked upload without a valid x-amz-decoded-content-length")
		}
		r.Body = struct {
			io.Reader
			io.Closer
		}{newChunkedReader(r.Body, h.Get("X-Amz-Trailer")), r.Body}
		r.ContentLength = n
		h.Set("Content-Length", strconv.FormatInt(n, 10))
		h.Set("X-Amz-Content-Sha256", "UNSIGNED-PAYLOAD")
		if ce := stripAWSChunked(h.Get("Content-Encoding")); ce != "" {
			h.Set("Content-Encoding", ce)
		} else {
			h.Del("Content-Encoding")
		}
	}
	for _, name := range smuggledHeaders {
		h.Del(smuggledPrefix + name) // only the edge may set these
		if v := h.Get(name); v != "" {
			h.Set(smuggledPrefix+name, v)
		}
	}
	return nil
}

func deleteKeys(r *http.Request) ([]string, error) {
	body, err := io.ReadAll(io.LimitReader(r.Body, maxDeleteBody+1))
	r.Body.Close()
	if err != nil {
		return nil, fmt.Errorf("read delete request: %w", err)
	}
	if len(body) > maxDeleteBody {
		return nil, errors.New("delete request too large")
	}
	r.Body = io.NopCloser(bytes.NewReader(body))
	var in gofakes3.DeleteRequest
	if err := xml.Unmarshal(body, &in); err != nil {
		return nil, fmt.Errorf("parse delete request: %w", err)
	}
	seen := map[string]bool{}
	var keys []string
	for _, o := range in.Objects {
		if !seen[o.Key] {
			seen[o.Key] = true
			keys = append(keys, o.Key)
		}
	}
	return keys, nil
}

// describe turns a successful response into one eventInfo per changed key.
func (s *Server) describe(o op, rec *recorder, r *http.Request) ([]eventInfo, error) {
	base := eventInfo{
		bucket:    o.bucket,
		requestID: rec.header.Get("x-amz-request-id"),
		sourceIP:  remoteIP(r),
		at:        s.opts.Now(),
	}
	var out []eventInfo
	switch o.reason {
	case ReasonDelete, "DeleteObjects":
		failed := map[string]bool{}
		if o.reason == "DeleteObjects" {
			var res gofakes3.MultiDeleteResult
			if err := xml.Unmarshal(rec.body.Bytes(), &res); err == nil {
				for _, e := range res.Error {
					failed[e.Key] = true
				}
			}
		}
		for _, k := range o.keys {
			if failed[k] {
				continue
			}
			in := base
			in.detailType, in.reason, in.key = pipeline.DetailTypeDeleted, ReasonDelete, k
			out = append(out, in)
		}
	default:
		obj, err := s.store.HeadObject(o.bucket, o.keys[0])
		if err != nil {
			return nil, fmt.Errorf("s3edge: read back %s: %w", o.keys[0], err)
		}
		obj.Contents.Close()
		in := base
		in.detailType, in.reason, in.key = pipeline.DetailTypeCreated, o.reason, o.keys[0]
		in.size, in.etag = obj.Size, hex.EncodeToString(obj.Hash)
		out = append(out, in)
	}
	return out, nil
}

func (s *Server) emit(ctx context.Context, infos []eventInfo) error {
	if len(infos) == 0 {
		return nil
	}
	s.emitMu.RLock()
	defer s.emitMu.RUnlock()
	evs, ids, err := s.store.stage(infos)
	if err != nil {
		return err
	}
	for i, ev := range evs {
		if err := s.opts.Emit(ctx, ev); err != nil {
			return fmt.Errorf("s3edge: emit %s %s: %w", ev.DetailType, ev.Detail.Object.Key, err)
		}
		if err := s.store.delivered(ids[i]); err != nil {
			return err
		}
	}
	return nil
}

func remoteIP(r *http.Request) string {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		return r.RemoteAddr
	}
	return host
}

func writeError(w http.ResponseWriter, status int, code, msg string) {
	w.Header().Set("Content-Type", "application/xml")
	w.WriteHeader(status)
	_ = xml.NewEncoder(w).Encode(struct {
		XMLName xml.Name `xml:"Error"`
		Code    string
		Message string
	}{Code: code, Message: msg})
}

// recorder buffers a mutating request's response until its events are delivered.
type recorder struct {
	header http.Header
	status int
	body   bytes.Buffer
}

func newRecorder() *recorder { return &recorder{header: http.Header{}} }

func (r *recorder) Header() http.Header { return r.header }
func (r *recorder) WriteHeader(code int) {
	if r.status == 0 {
		r.status = code
	}
}
func (r *recorder) Write(p []byte) (int, error) {
	if r.status == 0 {
		r.status = http.StatusOK
	}
	return r.body.Write(p)
}

func (r *recorder) flush(w http.ResponseWriter) {
	for k, v := range r.header {
		w.Header()[k] = v
	}
	if r.status == 0 {
		r.status = http.StatusOK
	}
	w.WriteHeader(r.status)
	_, _ = w.Write(r.body.Bytes())
}

// keyLocks serialises changes per bucket/key.
type keyLocks struct {
	mu sync.Mutex
	m  map[string]*keyLock
}

type keyLock struct {
	mu   sync.Mutex
	refs int
}

func (l *keyLocks) lock(bucket string, keys []string) (unlock func()) {
	names := make([]string, len(keys))
	for i, k := range keys {
		names[i] = bucket + "/" + k
	}
	sort.Strings(names) // a fixed order avoids deadlock between multi-key deletes
	held := make([]*keyLock, 0, len(names))
	for _, n := range names {
		l.mu.Lock()
		kl := l.m[n]
		if kl == nil {
			kl = &keyLock{}
			l.m[n] = kl
		}
		kl.refs++
		l.mu.Unlock()
		kl.mu.Lock()
		held = append(held, kl)
	}
	return func() {
		for i := len(held) - 1; i >= 0; i-- {
			held[i].mu.Unlock()
			l.mu.Lock()
			if held[i].refs--; held[i].refs == 0 {
				delete(l.m, names[i])
			}
			l.mu.Unlock()
		}
	}
}

// Get reads a whole object for the twin's own services (Rekognition's S3Object).
// A missing bucket or key is an error that matches fs.ErrNotExist; versions are not
// kept, so a version id other than "" or "null" is missing too.
func (s *Server) Get(_ context.Context, bucket, key, version string) ([]byte, error) {
	if version != "" && version != "null" {
		return nil, fmt.Errorf("s3edge: %s/%s version %s: %w", bucket, key, version, fs.ErrNotExist)
	}
	obj, err := s.store.GetObject(bucket, key, nil)
	if err != nil {
		if gofakes3.HasErrorCode(err, gofakes3.ErrNoSuchKey) || gofakes3.HasErrorCode(err, gofakes3.ErrNoSuchBucket) {
			return nil, fmt.Errorf("s3edge: %s/%s: %w", bucket, key, fs.ErrNotExist)
		}
		return nil, err
	}
	defer obj.Contents.Close()
	return io.ReadAll(obj.Contents)
}
