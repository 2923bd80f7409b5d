// Package webapi is the twin's browser-facing server on :8080: the web app from
// web/dist, its runtime config.json, and the /api/ routes. Search and ping go through
// the template's API Gateway stage to their Lambda functions; executions, objects and the failure
// queue go through the twin's own AWS endpoints with the real SDK clients.
package webapi

import (
	"github.com/imagepipe/imagepipe/local/awsid"

	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	s3types "github.com/aws/aws-sdk-go-v2/service/s3/types"

	"github.com/imagepipe/imagepipe/functions/pipeline"
)

// DocumentGetter reads one document by id.
type DocumentGetter interface {
	Get(ctx context.Context, id string) (pipeline.Document, bool, error)
}

// FailureMessage is one message of the failure queue as the API shows it.
type FailureMessage struct {
	MessageID     string          `json:"messageId"`
	SentTimestamp int64           `json:"sentTimestamp,omitempty"`
	ReceiveCount  int             `json:"receiveCount"`
	Body          json.RawMessage `json:"body"`
}

// Failures reads and redrives the failure queue.
type Failures interface {
	List(ctx context.Context) ([]FailureMessage, error)
	// Redrive invokes the redrive function with input and returns its output.
	Redrive(ctx context.Context, input []byte) (json.RawMessage, error)
}

// region is the twin's region, in which its Step Functions calls are signed.
const region = awsid.Region

// Config wires the server.
type Config struct {
	// API is the template's API Gateway stage (search and ping, run by their
	// Lambda functions); it serves /api/images and /api/ping.
	API       http.Handler
	Documents DocumentGetter
	Failures  Failures
	S3        *s3.Client // on the twin's edge
	EdgeURL   string     // the twin's AWS endpoints (Step Functions calls)
	// Credentials sign the Step Functions calls, which the edge verifies.
	Credentials aws.Credentials
	// Cognito names the twin's user and identity pools and their endpoint in
	// config.json (nil: none).
	Cognito       any
	Bucket        string
	StateMachines []string                // ARNs listed on /api/executions, the pipeline first
	WebDir        string                  // web/dist; empty or missing: a short page says how to build it
	Extra         map[string]http.Handler // more routes under /api/ (fault, load)
	Logger        *slog.Logger
}

// New returns the server's handler.
func New(cfg Config) http.Handler {
	s := &server{cfg: cfg}
	mux := http.NewServeMux()
	mux.Handle("/api/images", cfg.API)
	mux.HandleFunc("GET /api/images/{id}", s.getDocument)
	mux.Handle("/api/ping", cfg.API)
	mux.HandleFunc("GET /api/failures", s.listFailures)
	mux.HandleFunc("POST /api/failures/redrive", s.redrive)
	mux.HandleFunc("POST /api/failures/discard", s.discard)
	mux.HandleFunc("GET /api/executions", s.listExecutions)
	mux.HandleFunc("GET /api/executions/{arn}", s.getExecution)
	mux.HandleFunc("POST /api/executions/{arn}/redrive", s.executionAction("RedriveExecution"))
	mux.HandleFunc("POST /api/executions/{arn}/stop", s.executionAction("StopExecution"))
	mux.HandleFunc("GET /api/objects/{key...}", s.getObject)
	mux.HandleFunc("PUT /api/objects/{key...}", s.putObject)
	for p, h := range cfg.Extra {
		mux.Handle(p, h)
	}
	mux.HandleFunc("GET /config.json", func(w http.ResponseWriter, r *http.Request) {
		out := map[string]any{"mode": "local", "apiBase": "/api", "bucket": cfg.Bucket}
		if cfg.Cognito != nil {
			out["cognito"] = cfg.Cognito
		}
		writeJSON(w, http.StatusOK, out)
	})
	mux.HandleFunc("/api/", func(w http.ResponseWriter, r *http.Request) {
		writeError(w, http.StatusNotFound, "no such API route: "+r.Method+" "+r.URL.Path)
	})
	mux.HandleFunc("/", s.static)
	return mux
}

type server struct {
	cfg Config
}

func (s *server) getDocument(w http.ResponseWriter, r *http.Request) {
	id := r.PathValue("id")
	if len(id) != 64 || strings.Trim(id, "0123456789abcdef") != "" {
		writeError(w, http.StatusBadRequest, "id must be 64 lowercase hex digits")
		return
	}
	doc, ok, err := s.cfg.Documents.Get(r.Context(), id)
	switch {
	case err != nil:
		writeError(w, http.StatusInternalServerError, err.Error())
	case !ok:
		writeError(w, http.StatusNotFound, "no document "+id)
	default:
		doc.ThumbnailURL = ObjectURL(doc.Thumbnail)
		doc.PreviewURL = ObjectURL(doc.Preview)
		writeJSON(w, http.StatusOK, doc)
	}
}

// ObjectURL is where a browser loads an object from this server.
func ObjectURL(key string) string {
	if key == "" {
		return ""
	}
	return "/api/objects/" + escapeKey(key)
}

func escapeKey(key string) string {
	parts := strings.Split(key, "/")
	for i, p := range parts {
		parts[i] = url.PathEscape(p)
	}
	return strings.Join(parts, "/")
}

func (s *server) listFailures(w http.ResponseWriter, r *http.Request) {
	msgs, err := s.cfg.Failures.List(r.Context())
	if err != nil {
		writeError(w, http.StatusInternalServerError, err.Error())
		return
	}
	if msgs == nil {
		msgs = []FailureMessage{}
	}
	writeJSON(w, http.StatusOK, map[string]any{"messages": msgs})
}

// redriveRequest is POST /api/failures/redrive's and /discard's body (optional for redrive).
type redriveRequest struct {
	MessageIDs       []string `json:"messageIds,omitempty"`
	IncludePermanent bool     `json:"includePermanent,omitempty"`
	SentBefore       int64    `json:"sentBefore,omitempty"`
}

func readRedriveRequest(w http.ResponseWriter, r *http.Request) (redriveRequest, bool) {
	var in redriveRequest
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, 64<<10))
	if err == nil && len(bytes.TrimSpace(body)) > 0 {
		err = json.Unmarshal(body, &in)
	}
	if err != nil {
		writeError(w, http.StatusBadRequest, "body: "+err.Error())
		return in, false
	}
	return in, true
}

func (s *server) redrive(w http.ResponseWriter, r *http.Request) {
	in, ok := readRedriveRequest(w, r)
	if !ok {
		return
	}
	payload, _ := json.Marshal(map[string]any{"mode": "queue", "messageIds": in.MessageIDs, "includePermanent": in.IncludePermanent, "sentBefore": in.SentBefore})
	s.invokeRedrive(w, r, payload)
}

func (s *server) discard(w http.ResponseWriter, r *http.Request) {
	in, ok := readRedriveRequest(w, r)
	if !ok {
		return
	}
	if len(in.MessageIDs) == 0 {
		writeError(w, http.StatusBadRequest, "messageIds: give the messages to discard")
		return
	}
	payload, _ := json.Marshal(map[string]any{"mode": "queue", "discard": in.MessageIDs})
	s.invokeRedrive(w, r, payload)
}

func (s *server) invokeRedrive(w http.ResponseWriter, r *http.Request, payload []byte) {
	out, err := s.cfg.Failures.Redrive(r.Context(), payload)
	if err != nil {
		writeError(w, http.StatusInternalServerError, err.Error())
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.Write(out)
}

type executionItem struct {
	ExecutionArn    string   `json:"executionArn"`
	Name            string   `json:"name"`
	Status          string   `json:"status"`
	StartDate       float64  `json:"startDate"`
	StopDate        *float64 `json:"stopDate,omitempty"`
	StateMachineArn string   `json:"stateMachineArn"`
	Key             string   `json:"key,omitempty"`
}

// listExecutions lists executions newest first, through the twin's Step Functions API.
// With key=, only those whose input names that object.
func (s *server) listExecutions(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	max := 50
	if v := q.Get("maxResults"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > 1000 {
			writeError(w, http.StatusBadRequest, "maxResults must be 1..1000")
			return
		}
		max = n
	}
	sm := q.Get("stateMachineArn")
	if sm == "" && len(s.cfg.StateMachines) > 0 {
		sm = s.cfg.StateMachines[0]
	}
	in := map[string]any{"stateMachineArn": sm, "maxResults": max}
	if st := q.Get("status"); st != "" {
		in["statusFilter"] = st
	}
	if tok := q.Get("nextToken"); tok != "" {
		in["nextToken"] = tok
	}
	var out struct {
		Executions []executionItem `json:"executions"`
		NextToken  string          `json:"nextToken,omitempty"`
	}
	if err := s.sfnCall(r.Context(), "ListExecutions", in, &out); err != nil {
		writeAWSError(w, err)
		return
	}
	key := q.Get("key")
	items := make([]executionItem, 0, len(out.Executions))
	for _, it := range out.Executions {
		it.Key = s.executionKey(r.Context(), it.ExecutionArn)
		if key != "" && it.Key != key {
			continue
		}
		items = append(items, it)
	}
	writeJSON(w, http.StatusOK, map[string]any{"executions": items, "nextToken": out.NextToken})
}

func (s *server) executionKey(ctx context.Context, arn string) string {
	var d struct {
		Input string `json:"input"`
	}
	if s.sfnCall(ctx, "DescribeExecution", map[string]string{"executionArn": arn}, &d) != nil {
		return ""
	}
	var ev pipeline.ObjectEvent
	json.Unmarshal([]byte(d.Input), &ev)
	key, _ := ev.Key() // S3 URL-encodes the key in its events; "" if it cannot be decoded
	return key
}

// getExecution answers the execution, its state machine's definition and its history,
// in the Step Functions API's own JSON shapes.
// executionAction is Step Functions' RedriveExecution or StopExecution on one
// execution, through the twin's Step Functions API (AWS's rules and errors).
func (s *server) executionAction(op string) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		var out map[string]any
		if err := s.sfnCall(r.Context(), op, map[string]string{"executionArn": r.PathValue("arn")}, &out); err != nil {
			writeAWSError(w, err)
			return
		}
		writeJSON(w, http.StatusOK, out)
	}
}

func (s *server) getExecution(w http.ResponseWriter, r *http.Request) {
	arn := r.PathValue("arn")
	ctx := r.Context()
	var exec map[string]any
	if err := s.sfnCall(ctx, "DescribeExecution", map[string]string{"executionArn": arn}, &exec); err != nil {
		writeAWSError(w, err)
		return
	}
	smArn, _ := exec["stateMachineArn"].(string)
	var sm struct {
		Definition string `json:"definition"`
	}
	if err := s.sfnCall(ctx, "DescribeStateMachine", map[string]string{"stateMachineArn": smArn}, &sm); err != nil {
		writeAWSError(w, err)
		return
	}
	history := []json.RawMessage{}
	token := ""
	for {
		in := map[string]any{"executionArn": arn, "maxResults": 1000}
		if token != "" {
			in["nextToken"] = token
		}
		var h struct {
			Events    []json.RawMessage `json:"events"`
			NextToken string            `json:"nextToken"`
		}
		if err := s.sfnCall(ctx, "GetExecutionHistory", in, &h); err != nil {
			writeAWSError(w, err)
			return
		}
		history = append(history, h.Events...)
		if h.NextToken == "" {
			break
		}
		token = h.NextToken
	}
	writeJSON(w, http.StatusOK, map[string]any{
		"execution":  exec,
		"definition": json.RawMessage(sm.Definition),
		"history":    history,
	})
}

// apiError is an AWS JSON-protocol error answer.
type apiError struct {
	Type    string `json:"__type"`
	Message string `json:"message"`
	status  int
}

func (e *apiError) Error() string     { return e.Type + ": " + e.Message }
func (e *apiError) ErrorCode() string { return e.Type }

// sfnCall calls the twin's Step Functions JSON 1.0 API on the edge.
func (s *server) sfnCall(ctx context.Context, op string, in, out any) error {
	body, err := json.Marshal(in)
	if err != nil {
		return err
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, s.cfg.EdgeURL+"/", bytes.NewReader(body))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/x-amz-json-1.0")
	req.Header.Set("X-Amz-Target", "AWSStepFunctions."+op)
	sum := sha256.Sum256(body)
	if err := v4.NewSigner().SignHTTP(ctx, s.cfg.Credentials, req, hex.EncodeToString(sum[:]), "states", region, time.Now()); err != nil {
		return fmt.Errorf("step functions %s: sign: %w", op, err)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return fmt.Errorf("step functions %s: %w", op, err)
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(resp.Body)
	if err != nil {
		return fmt.Errorf("step functions %s: %w", op, err)
	}
	if resp.StatusCode >= 300 {
		e := &apiError{status: resp.StatusCode}
		json.Unmarshal(data, e)
		if i := strings.LastIndexByte(e.Type, '#'); i >= 0 {
			e.Type = e.Type[i+1:]
		}
		return e
	}
	return json.Unmarshal(data, out)
}

func (s *server) getObject(w http.ResponseWriter, r *http.Request) {
	key := r.PathValue("key")
	out, err := s.cfg.S3.GetObject(r.Context(), &s3.GetObjectInput{Bucket: aws.String(s.cfg.Bucket), Key: aws.String(key)})
	if err != nil {
		var nsk *s3types.NoSuchKey
		if errors.As(err, &nsk) {
			writeError(w, http.StatusNotFound, "no object "+key)
			return
		}
		writeAWSError(w, err)
		return
	}
	defer out.Body.Close()
	// User content never runs on the app's origin: only images are shown inline
	// (and never SVG, which can hold scripts); anything else is a download.
	ct := aws.ToString(out.ContentType)
	if isInlineImage(ct) {
		w.Header().Set("Content-Type", ct)
	} else {
		w.Header().Set("Content-Type", "application/octet-stream")
		w.Header().Set("Content-Disposition", "attachment")
	}
	if cc := aws.ToString(out.CacheControl); cc != "" {
		w.Header().Set("Cache-Control", cc)
	}
	if out.ContentLength != nil {
		w.Header().Set("Content-Length", strconv.FormatInt(*out.ContentLength, 10))
	}
	w.Header().Set("X-Content-Type-Options", "nosniff")
	io.Copy(w, out.Body)
}

// isInlineImage reports the raster image types a browser may render in place.
func isInlineImage(contentType string) bool {
	mt, _, _ := strings.Cut(contentType, ";")
	switch strings.ToLower(strings.TrimSpace(mt)) {
	case "image/jpeg", "image/png", "image/gif", "image/webp", "image/avif", "image/bmp", "image/tiff", "image/heic", "image/heif":
		return true
	}
	return false
}

// maxUploadBytes bounds one browser upload; the pipeline's own limit is checked later.
const maxUploadBytes = 100 << 20

func (s *server) putObject(w http.ResponseWriter, r *http.Request) {
	key := r.PathValue("key")
	if !strings.HasPrefix(key, pipeline.UploadPrefix) || len(key) > pipeline.MaxKeyBytes {
		writeError(w, http.StatusBadRequest, "key must be under upload/ and at most 1024 bytes")
		return
	}
	if r.ContentLength < 0 || r.ContentLength > maxUploadBytes {
		writeError(w, http.StatusRequestEntityTooLarge, fmt.Sprintf("upload needs a Content-Length of at most %d bytes", maxUploadBytes))
		return
	}
	ct := r.Header.Get("Content-Type")
	if ct == "" {
		ct = "application/octet-stream"
	}
	// The SDK hashes the payload before it sends it, so it needs a seekable body:
	// read the (size-limited) upload into memory first.
	body, err := io.ReadAll(io.LimitReader(r.Body, r.ContentLength))
	if err != nil {
		writeError(w, http.StatusBadRequest, "reading the upload: "+err.Error())
		return
	}
	out, err := s.cfg.S3.PutObject(r.Context(), &s3.PutObjectInput{
		Bucket: aws.String(s.cfg.Bucket), Key: aws.String(key),
		Body: bytes.NewReader(body), ContentLength: aws.Int64(int64(len(body))), ContentType: aws.String(ct),
	})
	if err != nil {
		writeAWSError(w, err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]string{"key": key, "etag": strings.Trim(aws.ToString(out.ETag), `"`)})
}

func (s *server) static(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		writeError(w, http.StatusMethodNotAllowed, "method not allowed")
		return
	}
	dir := s.cfg.WebDir
	if dir == "" {
		dir = "web/dist"
	}
	index := filepath.Join(dir, "index.html")
	if _, err := os.Stat(index); err != nil {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		fmt.Fprint(w, `<!doctype html><title>imagepipe</title><p>The web app is not built yet: run <code>make build</code>, then reload. The API is under <a href="/api/ping">/api/</a>.</p>`)
		return
	}
	p := filepath.Join(dir, filepath.FromSlash(filepath.Clean("/"+r.URL.Path)))
	if st, err := os.Stat(p); err != nil || st.IsDir() {
		p = index // SPA routing
	}
	http.ServeFile(w, r, p)
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(v)
}

func writeError(w http.ResponseWriter, status int, msg string) {
	writeJSON(w, status, map[string]string{"error": msg})
}

func writeAWSError(w http.ResponseWriter, err error) {
	status := http.StatusBadGateway
	var nf interface{ ErrorCode() string }
	if errors.As(err, &nf) {
		switch code := nf.ErrorCode(); {
		case strings.Contains(code, "DoesNotExist"), strings.Contains(code, "NotFound"), code == "NoSuchKey":
			status = http.StatusNotFound
		case strings.Contains(code, "Invalid"), strings.Contains(code, "Validation"):
			status = http.StatusBadRequest
		}
	}
	writeError(w, status, err.Error())
}
