// Package api holds the API Gateway (REST, proxy integration) handlers: search and
// ping. Every answer, errors included, is JSON with CORS headers; a handler never
// returns a Go error, which API Gateway would turn into a bare 502.
package api

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/imagepipe/imagepipe/functions/apiproxy"
	"github.com/imagepipe/imagepipe/functions/pipeline"
	"github.com/imagepipe/imagepipe/functions/searchindex"
)

// Parameter limits.
const (
	MaxSearchLength = 200
	DefaultSize     = 20
	MaxSize         = 100
)

// URLSigner gives a URL a browser can GET for an object.
type URLSigner interface {
	URL(ctx context.Context, bucket, key string) (string, error)
}

// Presigner is the AWS URLSigner: pre-signed S3 GETs, valid for Expires.
type Presigner struct {
	Client  *s3.PresignClient
	Expires time.Duration // 0 means 15 minutes
}

// URL implements URLSigner.
func (p Presigner) URL(ctx context.Context, bucket, key string) (string, error) {
	exp := p.Expires
	if exp == 0 {
		exp = 15 * time.Minute
	}
	req, err := p.Client.PresignGetObject(ctx, &s3.GetObjectInput{Bucket: aws.String(bucket), Key: aws.String(key)}, s3.WithPresignExpires(exp))
	if err != nil {
		return "", fmt.Errorf("presign s3://%s/%s: %w", bucket, key, err)
	}
	return req.URL, nil
}

// methods is what the search API's resources allow.
const methods = "GET,OPTIONS"

func headers(origin string) map[string]string { return apiproxy.Headers(origin, methods) }

func respond(origin string, status int, body any) events.APIGatewayProxyResponse {
	return apiproxy.JSON(origin, methods, status, body)
}

func errorBody(msg string) apiproxy.ErrorBody { return apiproxy.ErrorBody{Error: msg} }

// failure answers an index error: 503 for what a retry may fix, else 500.
func failure(ctx context.Context, log *slog.Logger, origin, op string, err error) events.APIGatewayProxyResponse {
	log.ErrorContext(ctx, op+" failed", "error", err.Error())
	var th *pipeline.ThrottledError
	var tr *pipeline.TransientError
	if errors.As(err, &th) || errors.As(err, &tr) {
		return respond(origin, http.StatusServiceUnavailable, errorBody("the index is busy, try again"))
	}
	return respond(origin, http.StatusInternalServerError, errorBody("internal error"))
}

// preflight answers OPTIONS and refuses methods other than GET.
func preflight(req events.APIGatewayProxyRequest, origin string) (events.APIGatewayProxyResponse, bool) {
	switch req.HTTPMethod {
	case http.MethodGet, "":
		return events.APIGatewayProxyResponse{}, false
	case http.MethodOptions:
		return events.APIGatewayProxyResponse{StatusCode: http.StatusNoContent, Headers: headers(origin)}, true
	}
	return respond(origin, http.StatusMethodNotAllowed, errorBody("method "+req.HTTPMethod+" not allowed")), true
}

// Search answers GET /images?search=Q&from=&size=. The index folds duplicates (same
// bytes under another key) into their original, which carries alsoKeys; total counts
// originals.
type Search struct {
	Index           searchindex.Index
	URLs            URLSigner
	ThumbnailBucket string // "" means the document's bucket
	AllowOrigin     string // "" means "*"
	// PrivateFields is who sees GPS position, serial numbers and owner fields
	// (MayShowPrivate): PrivateFieldsSignedIn ("" too) or PrivateFieldsIAM.
	PrivateFields string
	Logger        *slog.Logger
}

// SearchResponse is the body of a successful search.
type SearchResponse struct {
	Total  int64               `json:"total"`
	Images []pipeline.Document `json:"images"`
}

// ParseSearch validates the query parameters of a search.
func ParseSearch(req events.APIGatewayProxyRequest) (searchindex.Query, error) {
	for name, vals := range req.MultiValueQueryStringParameters {
		if len(vals) > 1 {
			return searchindex.Query{}, &pipeline.InvalidParameterError{Name: name, Reason: "given more than once"}
		}
	}
	p := req.QueryStringParameters
	q := p["search"] // absent or empty: the newest images (the gallery)
	switch {
	case !utf8.ValidString(q):
		return searchindex.Query{}, &pipeline.InvalidParameterError{Name: "search", Reason: "not valid UTF-8"}
	case utf8.RuneCountInString(q) > MaxSearchLength:
		return searchindex.Query{}, &pipeline.InvalidParameterError{Name: "search", Reason: fmt.Sprintf("longer than %d characters", MaxSearchLength)}
	case strings.IndexFunc(q, unicode.IsControl) >= 0:
		return searchindex.Query{}, &pipeline.InvalidParameterError{Name: "search", Reason: "contains control characters"}
	}
	from, err := intParam(p, "from", 0, 0, searchindex.MaxWindow)
	if err != nil {
		return searchindex.Query{}, err
	}
	size, err := intParam(p, "size", DefaultSize, 1, MaxSize)
	if err != nil {
		return searchindex.Query{}, err
	}
	if from+size > searchindex.MaxWindow {
		return searchindex.Query{}, &pipeline.InvalidParameterError{Name: "from", Reason: fmt.Sprintf("from+size must not exceed %d", searchindex.MaxWindow)}
	}
	query := searchindex.Query{Text: q, From: from, Size: size}
	if err := parseFilters(p, &query); err != nil {
		return searchindex.Query{}, err
	}
	return query, nil
}

// parseFilters reads the search's sort and filters: sort (uploaded, taken), label and
// camera (exact names), hasLocation (true, false), load (include, exclude, only: the
// load tester's images), and takenFrom and takenTo (days the image was taken).
func parseFilters(p map[string]string, q *searchindex.Query) error {
	oneOf := func(name string, allowed map[string]string) (string, error) {
		v, given := p[name]
		if !given {
			return "", nil
		}
		out, ok := allowed[v]
		if !ok {
			names := slices.Sorted(maps.Keys(allowed))
			return "", &pipeline.InvalidParameterError{Name: name, Reason: fmt.Sprintf("must be one of %s", strings.Join(names, ", "))}
		}
		return out, nil
	}
	var err error
	if q.Sort, err = oneOf("sort", map[string]string{"relevance": searchindex.SortRelevance, "uploaded": searchindex.SortUploaded, "taken": searchindex.SortTaken}); err != nil {
		return err
	}
	if q.Load, err = oneOf("load", map[string]string{"include": searchindex.LoadInclude, "exclude": searchindex.LoadExclude, "only": searchindex.LoadOnly}); err != nil {
		return err
	}
	loc, err := oneOf("hasLocation", map[string]string{"true": "true", "false": ""})
	if err != nil {
		return err
	}
	q.HasLocation = loc == "true"
	for name, dst := range map[string]*string{"label": &q.Label, "camera": &q.Camera} {
		v := p[name]
		switch {
		case !utf8.ValidString(v):
			return &pipeline.InvalidParameterError{Name: name, Reason: "not valid UTF-8"}
		case utf8.RuneCountInString(v) > MaxSearchLength:
			return &pipeline.InvalidParameterError{Name: name, Reason: fmt.Sprintf("longer than %d characters", MaxSearchLength)}
		case strings.IndexFunc(v, unicode.IsControl) >= 0:
			return &pipeline.InvalidParameterError{Name: name, Reason: "contains control characters"}
		}
		*dst = v
	}
	return parseTakenRange(p, q)
}

// parseTakenRange reads takenFrom and takenTo: calendar days (YYYY-MM-DD), both
// inclusive, either may be absent.
func parseTakenRange(p map[string]string, q *searchindex.Query) error {
	for name, dst := range map[string]*time.Time{"takenFrom": &q.TakenFrom, "takenTo": &q.TakenTo} {
		v, given := p[name]
		if !given {
			continue
		}
		t, err := time.Parse(searchindex.DayLayout, v)
		if err != nil {
			return &pipeline.InvalidParameterError{Name: name, Reason: "not a date in the form YYYY-MM-DD"}
		}
		*dst = t
	}
	if !q.TakenFrom.IsZero() && !q.TakenTo.IsZero() && q.TakenTo.Before(q.TakenFrom) {
		return &pipeline.InvalidParameterError{Name: "takenTo", Reason: "before takenFrom"}
	}
	return nil
}

func intParam(p map[string]string, name string, def, lo, hi int) (int, error) {
	s, ok := p[name]
	if !ok {
		return def, nil
	}
	n, err := strconv.Atoi(s)
	if err != nil || len(s) > 6 {
		return 0, &pipeline.InvalidParameterError{Name: name, Reason: "not an integer"}
	}
	if n < lo || n > hi {
		return 0, &pipeline.InvalidParameterError{Name: name, Reason: fmt.Sprintf("must be between %d and %d", lo, hi)}
	}
	return n, nil
}

func (s Search) log() *slog.Logger {
	if s.Logger != nil {
		return s.Logger
	}
	return slog.Default()
}

// Handle is the Lambda handler.
func (s Search) Handle(ctx context.Context, req events.APIGatewayProxyRequest) (events.APIGatewayProxyResponse, error) {
	if r, done := preflight(req, s.AllowOrigin); done {
		return r, nil
	}
	if id, ok := req.PathParameters["id"]; ok {
		return s.get(ctx, req, id), nil
	}
	q, err := ParseSearch(req)
	if err != nil {
		return respond(s.AllowOrigin, http.StatusBadRequest, errorBody(err.Error())), nil
	}
	res, err := s.Index.Search(ctx, q)
	if err != nil {
		return failure(ctx, s.log(), s.AllowOrigin, "search", err), nil
	}
	out := SearchResponse{Total: res.Total, Images: res.Images}
	if out.Images == nil {
		out.Images = []pipeline.Document{}
	}
	private := MayShowPrivate(req, s.PrivateFields)
	for i := range out.Images {
		d := &out.Images[i]
		if !private {
			Redact(d)
		}
		b := s.ThumbnailBucket
		if b == "" {
			b = d.Bucket
		}
		if d.Thumbnail != "" {
			if d.ThumbnailURL, err = s.URLs.URL(ctx, b, d.Thumbnail); err != nil {
				return failure(ctx, s.log(), s.AllowOrigin, "sign thumbnail URL", err), nil
			}
		}
		if d.Preview != "" {
			if d.PreviewURL, err = s.URLs.URL(ctx, b, d.Preview); err != nil {
				return failure(ctx, s.log(), s.AllowOrigin, "sign preview URL", err), nil
			}
		}
	}
	s.log().InfoContext(ctx, "search", "search", q.Text, "from", q.From, "size", q.Size, "total", out.Total)
	return respond(s.AllowOrigin, http.StatusOK, out), nil
}

// get answers GET /images/{id}: the document, with the same private fields hidden
// as in a search, and without thumbnailUrl and previewUrl (the caller presigns
// what it shows); 404 when the index has no such document.
func (s Search) get(ctx context.Context, req events.APIGatewayProxyRequest, id string) events.APIGatewayProxyResponse {
	if !isDocumentID(id) {
		return respond(s.AllowOrigin, http.StatusBadRequest, errorBody("id must be 64 lowercase hex digits (a document id)"))
	}
	d, ok, err := s.Index.Get(ctx, id)
	switch {
	case err != nil:
		return failure(ctx, s.log(), s.AllowOrigin, "get document", err)
	case !ok:
		return respond(s.AllowOrigin, http.StatusNotFound, errorBody("no document "+id))
	}
	if !MayShowPrivate(req, s.PrivateFields) {
		Redact(&d)
	}
	d.ThumbnailURL, d.PreviewURL = "", ""
	return respond(s.AllowOrigin, http.StatusOK, d)
}

// isDocumentID reports an id pipeline.DocumentID can make: 64 lowercase hex digits.
func isDocumentID(id string) bool {
	return len(id) == 64 && strings.Trim(id, "0123456789abcdef") == ""
}

// Ping answers GET /ping with the number of indexed images.
type Ping struct {
	Index       searchindex.Index
	AllowOrigin string
	Logger      *slog.Logger
}

// Handle is the Lambda handler.
func (p Ping) Handle(ctx context.Context, req events.APIGatewayProxyRequest) (events.APIGatewayProxyResponse, error) {
	if r, done := preflight(req, p.AllowOrigin); done {
		return r, nil
	}
	log := p.Logger
	if log == nil {
		log = slog.Default()
	}
	n, err := p.Index.Count(ctx)
	if err != nil {
		return failure(ctx, log, p.AllowOrigin, "count", err), nil
	}
	return respond(p.AllowOrigin, http.StatusOK, map[string]int64{"count": n}), nil
}
