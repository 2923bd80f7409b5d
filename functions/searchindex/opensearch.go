package searchindex

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/opensearch-project/opensearch-go/v4"
	"github.com/opensearch-project/opensearch-go/v4/opensearchtransport"
	"github.com/opensearch-project/opensearch-go/v4/signer/awsv2"

	"github.com/imagepipe/imagepipe/functions/pipeline"
)

// OpenSearch is the index in Amazon OpenSearch Service (or the twin's REST subset).
// Upsert is optimistic concurrency control: it reads the stored document with its
// _seq_no and _primary_term, applies the sequencer guard in Go, and writes only if
// nobody wrote in between (if_seq_no/if_primary_term, or op_type=create), so that
// concurrent writers cannot undo each other. No script runs in the cluster.
type OpenSearch struct {
	Client *opensearch.Client
	Name   string // the index name
	// Replicas is the index's number_of_replicas when this client creates it (the
	// CDK app sets what the domain's node count allows: 0 on one node, or the
	// index stays yellow); nil leaves OpenSearch's default.
	Replicas *int

	mu    sync.Mutex // guards ready
	ready bool       // index and mapping known to exist
}

var _ Index = (*OpenSearch)(nil)

// NewOpenSearchClient returns a client for endpoint whose requests are SigV4-signed
// for the "es" service with cfg's credentials and region. endpoint is the domain's
// bare host name, as its DomainEndpoint attribute gives it (https is implied), or a
// whole URL (the twin's domain is a path on its plain-HTTP edge). Retries are left to
// the state machine (and API Gateway callers), which back off with jitter.
func NewOpenSearchClient(endpoint string, cfg aws.Config, transport http.RoundTripper) (*opensearch.Client, error) {
	if !strings.Contains(endpoint, "://") {
		endpoint = "https://" + endpoint
	}
	signer, err := awsv2.NewSignerWithService(cfg, "es")
	if err != nil {
		return nil, fmt.Errorf("opensearch signer: %w", err)
	}
	u, err := url.Parse(endpoint)
	if err != nil {
		return nil, fmt.Errorf("opensearch endpoint %q: %w", endpoint, err)
	}
	// The transport is built here rather than by opensearch.NewClient, which cannot
	// turn off the background node-stats poller (GET /_nodes/_local/stats/...): the
	// domain's access policy grants each function only its own requests, so the
	// poller would be refused in AWS (and on the twin) on every round.
	tp, err := opensearchtransport.New(opensearchtransport.Config{
		URLs:                  []*url.URL{u},
		Signer:                signer,
		Transport:             transport,
		DisableRetry:          true,
		HealthCheckMaxRetries: -1,
		NodeStatsInterval:     -1,
	})
	if err != nil {
		return nil, fmt.Errorf("opensearch client for %s: %w", endpoint, err)
	}
	return &opensearch.Client{Transport: tp}, nil
}

// indexDefinition is indexBody with the replica count, when one is set.
func (o *OpenSearch) indexDefinition() []byte {
	if o.Replicas == nil {
		return []byte(indexBody)
	}
	return []byte(strings.Replace(indexBody, `"number_of_shards": 1}`, `"number_of_shards": 1, "number_of_replicas": `+strconv.Itoa(*o.Replicas)+`}`, 1))
}

// indexBody is the index definition created on first use.
const indexBody = `{
  "settings": {"index": {"number_of_shards": 1}},
  "mappings": {
    "dynamic": false,
    "properties": {
      "id": {"type": "keyword"},
      "bucket": {"type": "keyword"},
      "key": {"type": "text", "fields": {"raw": {"type": "keyword", "ignore_above": 1024}}},
      "format": {"type": "keyword"},
      "sequencer": {"type": "keyword"},
      "etag": {"type": "keyword"},
      "contentSha256": {"type": "keyword"},
      "duplicateOf": {"type": "keyword"},
      "size": {"type": "long"},
      "width": {"type": "integer"},
      "height": {"type": "integer"},
      "takenAt": {"type": "date"},
      "uploadedAt": {"type": "date"},
      "processedAt": {"type": "date"},
      "location": {"type": "geo_point"},
      "camera": {"properties": {
        "make": {"type": "text", "fields": {"raw": {"type": "keyword"}}},
        "model": {"type": "text", "fields": {"raw": {"type": "keyword"}}}
      }},
      "labels": {"properties": {
        "name": {"type": "text", "fields": {"raw": {"type": "keyword"}}},
        "confidence": {"type": "float"}
      }},
      "exif": {"type": "object", "enabled": false}
    }
  }
}`

// mappingUpdate adds the fields later versions introduced to an existing index.
const mappingUpdate = `{"properties": {"contentSha256": {"type": "keyword"}, "duplicateOf": {"type": "keyword"}}}`

// writeQuery makes a write visible to searches before it returns: duplicate
// detection searches for what the previous writer just wrote.
func writeQuery(q url.Values) url.Values {
	if q == nil {
		q = url.Values{}
	}
	q.Set("refresh", "wait_for")
	return q
}

// searchFieldsOS are the fields free text matches, with labels weighted up.
var searchFieldsOS = []string{"labels.name^3", "camera.make", "camera.model", "key", "format"}

// Error is an OpenSearch answer that is neither success nor retryable.
type Error struct {
	Status int
	Type   string // error.type from the body, when given
	Body   string
}

func (e *Error) Error() string {
	return fmt.Sprintf("opensearch: status %d %s: %s", e.Status, e.Type, e.Body)
}

// do sends one request and decodes a 2xx JSON answer into out. notFoundOK makes a
// 404 return (false, nil).
func (o *OpenSearch) do(ctx context.Context, method, path string, query url.Values, body any, out any, notFoundOK bool) (bool, error) {
	var rd io.Reader
	if body != nil {
		raw, ok := body.([]byte)
		if !ok {
			var err error
			if raw, err = json.Marshal(body); err != nil {
				return false, fmt.Errorf("encode %s %s: %w", method, path, err)
			}
		}
		rd = bytes.NewReader(raw)
	}
	u := path
	if len(query) > 0 {
		u += "?" + query.Encode()
	}
	req, err := http.NewRequestWithContext(ctx, method, u, rd)
	if err != nil {
		return false, fmt.Errorf("opensearch %s %s: %w", method, path, err)
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := o.Client.Stream(req)
	if err != nil {
		return false, classifyTransport(method+" "+path, err)
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, 64<<20))
	if err != nil {
		return false, &pipeline.TransientError{Op: "opensearch read " + path, Err: err}
	}
	switch {
	case resp.StatusCode == http.StatusNotFound && notFoundOK:
		return false, nil
	case resp.StatusCode == http.StatusTooManyRequests:
		return false, &pipeline.ThrottledError{Service: "opensearch", Err: answerError(resp.StatusCode, data)}
	case resp.StatusCode >= 500:
		return false, &pipeline.TransientError{Op: "opensearch " + method + " " + path, Err: answerError(resp.StatusCode, data)}
	case resp.StatusCode >= 300:
		return false, answerError(resp.StatusCode, data)
	}
	if out != nil {
		if err := json.Unmarshal(data, out); err != nil {
			return false, fmt.Errorf("opensearch %s %s: decode answer: %w", method, path, err)
		}
	}
	return true, nil
}

func answerError(status int, body []byte) *Error {
	var e struct {
		Error struct {
			Type string `json:"type"`
		} `json:"error"`
	}
	_ = json.Unmarshal(body, &e) // best effort: the type only makes the message clearer
	s := string(body)
	if len(s) > 500 {
		s = s[:500] + "…"
	}
	return &Error{Status: status, Type: e.Error.Type, Body: s}
}

func classifyTransport(op string, err error) error {
	var ne net.Error
	if errors.As(err, &ne) || errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, context.DeadlineExceeded) ||
		strings.Contains(err.Error(), "connection refused") {
		return &pipeline.TransientError{Op: "opensearch " + op, Err: err}
	}
	return fmt.Errorf("opensearch %s: %w", op, err)
}

// ensure creates the index and mapping on first use; one that exists is fine.
func (o *OpenSearch) ensure(ctx context.Context) error {
	o.mu.Lock()
	defer o.mu.Unlock()
	if o.ready {
		return nil
	}
	_, err := o.do(ctx, http.MethodPut, "/"+url.PathEscape(o.Name), nil, o.indexDefinition(), nil, false)
	var oe *Error
	if err != nil && !(errors.As(err, &oe) && oe.Status == http.StatusBadRequest && oe.Type == "resource_already_exists_exception") {
		return err
	}
	if err != nil {
		// An index created before duplicate detection: adding a field is allowed
		// (and a no-op when it is already mapped the same way).
		if _, err := o.do(ctx, http.MethodPut, "/"+url.PathEscape(o.Name)+"/_mapping", nil, []byte(mappingUpdate), nil, false); err != nil {
			return err
		}
		// An index created before the replica count was set (or with another node
		// count) gets what the domain's nodes allow now: number_of_replicas is a
		// dynamic setting, and a replica with no node to live on keeps it yellow.
		if o.Replicas != nil {
			body := []byte(`{"index": {"number_of_replicas": ` + strconv.Itoa(*o.Replicas) + `}}`)
			if _, err := o.do(ctx, http.MethodPut, "/"+url.PathEscape(o.Name)+"/_settings", nil, body, nil, false); err != nil {
				return err
			}
		}
	}
	o.ready = true
	return nil
}

func (o *OpenSearch) docPath(kind, id string) string {
	return "/" + url.PathEscape(o.Name) + "/" + kind + "/" + url.PathEscape(id)
}

// maxUpsertAttempts bounds the read-compare-write rounds of one Upsert. Each lost
// round means another write to the same document landed; past the bound the
// conflict is a TransientError, which the state machine retries with backoff.
const maxUpsertAttempts = 8

// storedVersion is what Upsert reads back: the stored sequencer and the document's
// place in the shard's history, for the conditional write.
type storedVersion struct {
	Found       bool  `json:"found"`
	SeqNo       int64 `json:"_seq_no"`
	PrimaryTerm int64 `json:"_primary_term"`
	Source      struct {
		Sequencer string `json:"sequencer"`
	} `json:"_source"`
}

// Upsert implements Index: an event older, by S3 sequencer, than the stored
// document is skipped (skipped-older); an equal or newer one replaces it whole
// (updated); a missing document is created (created).
func (o *OpenSearch) Upsert(ctx context.Context, d pipeline.Document) (string, error) {
	if d.ID == "" {
		d.ID = pipeline.DocumentID(d.Bucket, d.Key)
	}
	d.ThumbnailURL, d.PreviewURL, d.AlsoKeys = "", "", nil
	if err := o.ensure(ctx); err != nil {
		return "", err
	}
	for attempt := 1; ; attempt++ {
		outcome, err := o.upsertOnce(ctx, d)
		if !isVersionConflict(err) {
			return outcome, err
		}
		if attempt == maxUpsertAttempts {
			return "", &pipeline.TransientError{Op: "opensearch upsert " + d.ID, Err: err}
		}
		if err := backoff(ctx, attempt); err != nil {
			return "", &pipeline.TransientError{Op: "opensearch upsert " + d.ID, Err: err}
		}
	}
}

// upsertOnce is one round: read, compare sequencers, write if unchanged since the read.
func (o *OpenSearch) upsertOnce(ctx context.Context, d pipeline.Document) (string, error) {
	var cur storedVersion
	ok, err := o.do(ctx, http.MethodGet, o.docPath("_doc", d.ID), nil, nil, &cur, true)
	if err != nil {
		return "", err
	}
	q := writeQuery(nil)
	if ok && cur.Found {
		if pipeline.CompareSequencers(cur.Source.Sequencer, d.Sequencer) > 0 {
			return OutcomeSkippedOlder, nil
		}
		q.Set("if_seq_no", strconv.FormatInt(cur.SeqNo, 10))
		q.Set("if_primary_term", strconv.FormatInt(cur.PrimaryTerm, 10))
	} else {
		q.Set("op_type", "create") // fails with a conflict if another writer created it first
	}
	var out struct {
		Result string `json:"result"`
	}
	if _, err := o.do(ctx, http.MethodPut, o.docPath("_doc", d.ID), q, d, &out, false); err != nil {
		return "", err
	}
	switch out.Result {
	case "created":
		return OutcomeCreated, nil
	case "updated":
		return OutcomeUpdated, nil
	}
	return "", fmt.Errorf("opensearch upsert %s: unexpected result %q", d.ID, out.Result)
}

// isVersionConflict reports OpenSearch's answer to a conditional write that lost a race.
func isVersionConflict(err error) bool {
	var oe *Error
	return errors.As(err, &oe) && oe.Status == http.StatusConflict && oe.Type == "version_conflict_engine_exception"
}

// backoff waits before round attempt+1: full jitter, so that writers racing for one
// document spread out.
func backoff(ctx context.Context, attempt int) error {
	limit := min(5*time.Millisecond<<attempt, 250*time.Millisecond)
	t := time.NewTimer(rand.N(limit))
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}

// Delete implements Index.
func (o *OpenSearch) Delete(ctx context.Context, id string) error {
	_, err := o.do(ctx, http.MethodDelete, o.docPath("_doc", id), writeQuery(nil), nil, nil, true)
	return err
}

// Get implements Index.
func (o *OpenSearch) Get(ctx context.Context, id string) (pipeline.Document, bool, error) {
	var out struct {
		Found  bool              `json:"found"`
		Source pipeline.Document `json:"_source"`
	}
	ok, err := o.do(ctx, http.MethodGet, o.docPath("_doc", id), nil, nil, &out, true)
	if err != nil || !ok || !out.Found {
		return pipeline.Document{}, false, err
	}
	return out.Source, true, nil
}

// Count implements Index.
func (o *OpenSearch) Count(ctx context.Context) (int64, error) {
	var out struct {
		Count int64 `json:"count"`
	}
	_, err := o.do(ctx, http.MethodGet, "/"+url.PathEscape(o.Name)+"/_count", nil, nil, &out, true)
	return out.Count, err
}

// takenRange is the range query on takenAt for q's date-taken filter, nil without
// one. Whole days in the date field's default format (strict_date_optional_time),
// the upper bound as "lt" the next day: OpenSearch rounds a day given as "lte" up to
// its last millisecond, but "lt" with the next day says the same with no rounding
// rule involved (https://docs.opensearch.org/latest/query-dsl/term/range/).
func takenRange(q Query) map[string]any {
	from, to := q.TakenRange()
	bounds := map[string]any{}
	if !from.IsZero() {
		bounds["gte"] = from.Format(DayLayout)
	}
	if !to.IsZero() {
		bounds["lt"] = to.Format(DayLayout)
	}
	if len(bounds) == 0 {
		return nil
	}
	return map[string]any{"range": map[string]any{"takenAt": bounds}}
}

// SearchBody is the request body for q: structured queries only; user text is a
// value, never parsed as query syntax.
func SearchBody(q Query) map[string]any {
	q = q.Normalized()
	body := map[string]any{"from": q.From, "size": q.Size, "track_total_hits": true}
	mustNot := []any{map[string]any{"exists": map[string]any{"field": "duplicateOf"}}}
	var filter []any
	if q.Label != "" {
		filter = append(filter, map[string]any{"term": map[string]any{"labels.name.raw": q.Label}})
	}
	if q.Camera != "" {
		filter = append(filter, map[string]any{"term": map[string]any{"camera.model.raw": q.Camera}})
	}
	if q.HasLocation {
		filter = append(filter, map[string]any{"exists": map[string]any{"field": "location"}})
	}
	if r := takenRange(q); r != nil {
		filter = append(filter, r)
	}
	loadPrefix := map[string]any{"prefix": map[string]any{"key.raw": LoadPrefix}}
	switch q.Load {
	case LoadExclude:
		mustNot = append(mustNot, loadPrefix)
	case LoadOnly:
		filter = append(filter, loadPrefix)
	}
	boolQ := map[string]any{"must_not": mustNot}
	if len(filter) > 0 {
		boolQ["filter"] = filter
	}
	newest := map[string]any{"uploadedAt": map[string]any{"order": "desc"}}
	switch q.Sort {
	case SortUploaded:
		body["sort"] = []any{newest}
	case SortTaken:
		body["sort"] = []any{map[string]any{"takenAt": map[string]any{"order": "desc"}}, newest}
	}
	if matchAll(q.Text) {
		boolQ["must"] = []any{map[string]any{"match_all": map[string]any{}}}
		body["query"] = map[string]any{"bool": boolQ}
		if body["sort"] == nil {
			body["sort"] = []any{newest}
		}
		return body
	}
	text := strings.Join(Words(q.Text), " ")
	should := []any{
		map[string]any{"multi_match": map[string]any{
			"query": text, "fields": searchFieldsOS, "fuzziness": "AUTO",
		}},
	}
	for _, f := range searchFieldsOS {
		should = append(should, map[string]any{"match_phrase_prefix": map[string]any{
			strings.Split(f, "^")[0]: map[string]any{"query": text},
		}})
	}
	boolQ["should"] = should
	boolQ["minimum_should_match"] = 1
	body["query"] = map[string]any{"bool": boolQ}
	if body["sort"] == nil {
		body["sort"] = []any{"_score", newest}
	}
	return body
}

// hitsAnswer is the part of a _search answer the index reads.
type hitsAnswer struct {
	Hits struct {
		Total struct {
			Value int64 `json:"value"`
		} `json:"total"`
		Hits []struct {
			Source pipeline.Document `json:"_source"`
		} `json:"hits"`
	} `json:"hits"`
}

func (h hitsAnswer) docs() []pipeline.Document {
	out := []pipeline.Document{}
	for _, x := range h.Hits.Hits {
		out = append(out, x.Source)
	}
	return out
}

// groupSort is the order of a content group: earliest upload, then id (Before).
var groupSort = []any{map[string]any{"uploadedAt": map[string]any{"order": "asc"}}, map[string]any{"id": map[string]any{"order": "asc"}}}

// DuplicatesBody is the request for the duplicates of a page's originals.
func DuplicatesBody(ids []string) map[string]any {
	return map[string]any{
		"size":    MaxGroup,
		"query":   map[string]any{"terms": map[string]any{"duplicateOf": ids}},
		"_source": []string{"id", "key", "duplicateOf", "uploadedAt"},
		"sort":    groupSort,
	}
}

// ContentHashBody is the request for the documents with one content hash.
func ContentHashBody(hash string) map[string]any {
	return map[string]any{
		"size":  MaxGroup,
		"query": map[string]any{"term": map[string]any{"contentSha256": hash}},
		"sort":  groupSort,
	}
}

// ObjectBody is the request for the documents of one ETag and size: exact terms in
// filter context (no scoring), on the keyword etag and the long size.
func ObjectBody(etag string, size int64) map[string]any {
	return map[string]any{
		"size": MaxObjectMatches,
		"query": map[string]any{"bool": map[string]any{"filter": []any{
			map[string]any{"term": map[string]any{"etag": etag}},
			map[string]any{"term": map[string]any{"size": size}},
		}}},
		"sort": groupSort,
	}
}

func (o *OpenSearch) search(ctx context.Context, body map[string]any) (hitsAnswer, bool, error) {
	var out hitsAnswer
	ok, err := o.do(ctx, http.MethodPost, "/"+url.PathEscape(o.Name)+"/_search", nil, body, &out, true)
	return out, ok, err
}

// Search implements Index.
func (o *OpenSearch) Search(ctx context.Context, q Query) (Result, error) {
	res := Result{Images: []pipeline.Document{}}
	if !matchAll(q.Text) && len(Words(q.Text)) == 0 {
		return res, nil // only punctuation: nothing can match
	}
	out, ok, err := o.search(ctx, SearchBody(q))
	if err != nil || !ok { // 404: no index yet, so no images
		return res, err
	}
	res.Total = out.Hits.Total.Value
	res.Images = out.docs()
	if len(res.Images) == 0 {
		return res, nil
	}
	ids := make([]string, 0, len(res.Images))
	for _, d := range res.Images {
		ids = append(ids, d.ID)
	}
	dups, _, err := o.search(ctx, DuplicatesBody(ids))
	if err != nil {
		return Result{}, err
	}
	FoldAlsoKeys(res.Images, dups.docs())
	return res, nil
}

// FindByContentHash implements Index.
func (o *OpenSearch) FindByContentHash(ctx context.Context, hash string) ([]pipeline.Document, error) {
	if hash == "" {
		return nil, nil
	}
	// Errors stay unwrapped: their type is the state machine's error name.
	out, _, err := o.search(ctx, ContentHashBody(hash))
	if err != nil {
		return nil, err
	}
	docs := out.docs()
	SortGroup(docs)
	return docs, nil
}

// FindByObject implements Index. No index yet (404) finds nothing.
func (o *OpenSearch) FindByObject(ctx context.Context, etag string, size int64) ([]pipeline.Document, error) {
	if etag == "" {
		return nil, nil
	}
	out, _, err := o.search(ctx, ObjectBody(etag, size))
	if err != nil {
		return nil, err
	}
	docs := out.docs()
	SortGroup(docs)
	return docs, nil
}
