package opensearch

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
)

// maxBody is OpenSearch's default http.max_content_length.
const maxBody = 100 << 20

// request is one REST call after the prefix is stripped.
type request struct {
	w      http.ResponseWriter
	r      *http.Request
	method string
	path   string   // as received, after the prefix
	parts  []string // path segments, unescaped
	query  url.Values
	body   []byte
}

// ServeHTTP serves the REST subset under the domain's prefix.
func (d *Domain) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	rq := &request{w: w, r: r, method: r.Method, query: r.URL.Query()}
	err := d.route(rq)
	if err == nil {
		return
	}
	var ae *apiError
	if !errors.As(err, &ae) {
		d.log.Error("opensearch request failed", "method", r.Method, "path", r.URL.Path, "error", err)
		ae = &apiError{status: http.StatusInternalServerError, typ: "exception", reason: err.Error()}
	} else if ae.twin {
		call := r.Method + " " + strings.TrimPrefix(r.URL.EscapedPath(), d.prefix)
		if r.URL.RawQuery != "" {
			call += "?" + r.URL.RawQuery
		}
		ae.reason += ": " + call
		d.log.Warn("opensearch request not supported by the twin", "reason", ae.reason)
	}
	writeJSON(w, ae.status, ae.body())
}

func (d *Domain) route(rq *request) error {
	p := rq.r.URL.EscapedPath()
	rest, ok := strings.CutPrefix(p, d.prefix)
	if !ok || rest != "" && rest[0] != '/' {
		return unsupported("a path outside %s/ is", d.prefix)
	}
	rq.path = rest
	for _, s := range strings.Split(strings.Trim(rest, "/"), "/") {
		u, err := url.PathUnescape(s)
		if err != nil {
			return illegalArgument("invalid path %s", rest)
		}
		rq.parts = append(rq.parts, u)
	}
	h, err := d.handler(rq)
	if err != nil {
		return err
	}
	raw, err := io.ReadAll(http.MaxBytesReader(rq.w, rq.r.Body, maxBody))
	if err != nil {
		return unsupported("a request body over %d bytes is", maxBody)
	}
	rq.body = raw
	return h(rq)
}

// route is one served request shape: method, path pattern (":x" is a segment that
// does not start with "_"), the query parameters it takes, and its handler.
type route struct {
	method  string
	pattern []string
	params  []string
	handle  func(*Domain, *request) error
}

var writeParams = []string{"refresh", "if_seq_no", "if_primary_term"}

var routes = []route{
	{http.MethodPut, []string{":index"}, nil, (*Domain).createIndex},
	{http.MethodPut, []string{":index", "_mapping"}, nil, (*Domain).putMapping},
	{http.MethodGet, []string{":index", "_settings"}, nil, (*Domain).getSettings},
	{http.MethodPut, []string{":index", "_settings"}, nil, (*Domain).putSettings},
	{http.MethodGet, []string{"_cluster", "health"}, nil, (*Domain).health},
	{http.MethodGet, []string{"_cluster", "health", ":index"}, nil, (*Domain).health},
	{http.MethodGet, []string{":index", "_doc", ":id"}, nil, (*Domain).getDoc},
	{http.MethodPut, []string{":index", "_doc", ":id"}, append(slices.Clone(writeParams), "op_type"), (*Domain).putDoc},
	{http.MethodDelete, []string{":index", "_doc", ":id"}, writeParams, (*Domain).deleteDoc},
	{http.MethodPost, []string{":index", "_search"}, nil, (*Domain).search},
	{http.MethodGet, []string{":index", "_count"}, nil, (*Domain).count},
}

// handler finds the request's route; anything else is refused as unsupported.
func (d *Domain) handler(rq *request) (func(*request) error, error) {
	for _, rt := range routes {
		if rt.method != rq.method || !matchPattern(rt.pattern, rq.parts) {
			continue
		}
		for k := range rq.query {
			if !slices.Contains(rt.params, k) {
				return nil, unsupported("the query parameter [%s] is", k)
			}
		}
		return func(rq *request) error { return rt.handle(d, rq) }, nil
	}
	return nil, unsupported("this request is")
}

func matchPattern(pattern, parts []string) bool {
	if len(pattern) != len(parts) {
		return false
	}
	for i, p := range pattern {
		if parts[i] == "" || strings.HasPrefix(p, ":") && strings.HasPrefix(parts[i], "_") ||
			!strings.HasPrefix(p, ":") && p != parts[i] {
			return false
		}
	}
	return true
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		status, buf = http.StatusInternalServerError, *bytes.NewBufferString(`{"error":{"type":"exception","reason":"encode answer"},"status":500}`)
	}
	w.Header().Set("Content-Type", "application/json; charset=UTF-8")
	w.Header().Set("Content-Length", strconv.Itoa(buf.Len()))
	w.WriteHeader(status)
	_, _ = w.Write(buf.Bytes())
}

// shards is the _shards of a write: the primary and its replicas, of which those
// the domain's nodes can hold succeed (on one node, only the primary).
func (d *Domain) shards(ix *index) map[string]any {
	r := ix.metaCopy().Replicas
	return map[string]any{"total": 1 + r, "successful": 1 + d.assigned(r), "failed": 0}
}

// searchShards is the _shards of a search or count over the one shard.
var searchShards = map[string]any{"total": 1, "successful": 1, "skipped": 0, "failed": 0}

// createIndex: PUT /<index> with {"settings": ..., "mappings": ...}
// (https://docs.opensearch.org/latest/api-reference/index-apis/create-index/).
func (d *Domain) createIndex(rq *request) error {
	name := rq.parts[0]
	if err := validIndexName(name); err != nil {
		return err
	}
	if len(bytes.TrimSpace(rq.body)) == 0 {
		return unsupported(`an index without mappings ("dynamic": false) is`)
	}
	body, err := objectOf(rq.body, "the request body")
	if err != nil {
		return err
	}
	if err := onlyKeys(body, "a create index request", "settings", "mappings"); err != nil {
		return err
	}
	replicas, err := parseSettings(body["settings"])
	if err != nil {
		return err
	}
	if body["mappings"] == nil {
		return unsupported(`an index without mappings ("dynamic": false) is`)
	}
	m, err := parseMappings(body["mappings"])
	if err != nil {
		return err
	}
	if err := d.create(name, replicas, &m); err != nil {
		return err
	}
	writeJSON(rq.w, http.StatusOK, map[string]any{"acknowledged": true, "shards_acknowledged": true, "index": name})
	return nil
}

// parseSettings reads index settings: one shard, any number of replicas (default 1),
// nested ({"index": {...}}) or dotted ("index.number_of_shards").
func parseSettings(raw json.RawMessage) (replicas int, err error) {
	replicas = 1
	if raw == nil {
		return replicas, nil
	}
	flat := map[string]json.RawMessage{}
	if err := flatten(raw, "", flat); err != nil {
		return 0, err
	}
	for k, v := range flat {
		n, err := strconv.Atoi(strings.Trim(string(v), `"`))
		switch strings.TrimPrefix(k, "index.") {
		case "number_of_shards":
			if err != nil || n != 1 {
				return 0, unsupported("[index.number_of_shards] other than 1 is")
			}
		case "number_of_replicas":
			if err != nil || n < 0 {
				return 0, illegalArgument("Failed to parse value [%s] for setting [index.number_of_replicas] must be >= 0", v)
			}
			replicas = n
		default:
			return 0, unsupported("the index setting [%s] is", k)
		}
	}
	return replicas, nil
}

func flatten(raw json.RawMessage, prefix string, out map[string]json.RawMessage) error {
	if len(bytes.TrimSpace(raw)) == 0 || bytes.TrimSpace(raw)[0] != '{' {
		out[strings.TrimSuffix(prefix, ".")] = raw
		return nil
	}
	m, err := objectOf(raw, "[settings]")
	if err != nil {
		return err
	}
	for k, v := range m {
		if err := flatten(v, prefix+k+".", out); err != nil {
			return err
		}
	}
	return nil
}

// putMapping: PUT /<index>/_mapping with {"properties": ...}: new fields are added,
// a field's type never changes
// (https://docs.opensearch.org/latest/api-reference/index-apis/put-mapping/).
func (d *Domain) putMapping(rq *request) error {
	ix, err := d.index(rq.parts[0])
	if err != nil {
		return err
	}
	body, err := objectOf(rq.body, "the request body")
	if err != nil {
		return err
	}
	if err := onlyKeys(body, "a put mapping request", "properties"); err != nil {
		return err
	}
	props, err := parseProperties(body["properties"], "")
	if err != nil {
		return err
	}
	if err := ix.putMapping(props); err != nil {
		return err
	}
	writeJSON(rq.w, http.StatusOK, map[string]any{"acknowledged": true})
	return nil
}

// getDoc: GET /<index>/_doc/<id>, realtime; a missing document is a 404 with
// found false (https://docs.opensearch.org/latest/api-reference/document-apis/get-documents/).
func (d *Domain) getDoc(rq *request) error {
	ix, err := d.index(rq.parts[0])
	if err != nil {
		return err
	}
	id := rq.parts[2]
	rec, ok, err := ix.get(id)
	if err != nil {
		return err
	}
	if !ok {
		writeJSON(rq.w, http.StatusNotFound, map[string]any{"_index": ix.name, "_id": id, "found": false})
		return nil
	}
	writeJSON(rq.w, http.StatusOK, map[string]any{"_index": ix.name, "_id": id, "_version": rec.Version,
		"_seq_no": rec.SeqNo, "_primary_term": rec.Term, "found": true, "_source": rec.Source})
	return nil
}

// writeOptions reads refresh, op_type, if_seq_no and if_primary_term, validated as
// OpenSearch validates them.
func writeOptions(q url.Values) (cond writeCond, forced bool, err error) {
	switch r := q.Get("refresh"); {
	case !q.Has("refresh"), r == "false", r == "wait_for":
	case r == "" || r == "true":
		forced = true
	default:
		return cond, false, illegalArgument("Unknown value for refresh: [%s].", r)
	}
	switch op := q.Get("op_type"); op {
	case "", "index":
	case "create":
		cond.create = true
	default:
		return cond, false, illegalArgument("opType must be 'create' or 'index', found: [%s]", op)
	}
	num := func(k string) (*int64, error) {
		if !q.Has(k) {
			return nil, nil
		}
		n, err := strconv.ParseInt(q.Get(k), 10, 64)
		if err != nil {
			return nil, illegalArgument("Failed to parse long parameter [%s] with value [%s]", k, q.Get(k))
		}
		return &n, nil
	}
	if cond.ifSeqNo, err = num("if_seq_no"); err != nil {
		return cond, false, err
	}
	if cond.ifTerm, err = num("if_primary_term"); err != nil {
		return cond, false, err
	}
	switch {
	case cond.ifSeqNo != nil && (cond.ifTerm == nil || *cond.ifTerm <= 0):
		term := int64(0)
		if cond.ifTerm != nil {
			term = *cond.ifTerm
		}
		return cond, false, validationFailed("ifSeqNo is set, but primary term is [" + strconv.FormatInt(term, 10) + "]")
	case cond.ifSeqNo == nil && cond.ifTerm != nil:
		return cond, false, validationFailed("ifSeqNo is unassigned, but primary term is [" + strconv.FormatInt(*cond.ifTerm, 10) + "]")
	case cond.ifSeqNo != nil && *cond.ifSeqNo < 0:
		return cond, false, validationFailed("sequence number must be non negative. got [" + strconv.FormatInt(*cond.ifSeqNo, 10) + "].")
	case cond.create && cond.ifSeqNo != nil:
		return cond, false, validationFailed("create operations do not support compare and set. use index instead")
	}
	return cond, forced, nil
}

func (d *Domain) writeAnswer(rq *request, ix *index, id string, rec record, result string, forced bool, status int) {
	out := map[string]any{"_index": ix.name, "_id": id, "_version": rec.Version, "result": result,
		"_shards": d.shards(ix), "_seq_no": rec.SeqNo, "_primary_term": rec.Term}
	if forced {
		out["forced_refresh"] = true
	}
	writeJSON(rq.w, status, out)
}

// putDoc: PUT /<index>/_doc/<id>: 201 created or 200 updated, with _seq_no,
// _primary_term and _version; a failed condition is a 409
// (https://docs.opensearch.org/latest/api-reference/document-apis/index-document/).
func (d *Domain) putDoc(rq *request) error {
	ix, err := d.index(rq.parts[0])
	var nf *apiError
	if errors.As(err, &nf) && nf.status == http.StatusNotFound {
		return unsupported("creating the index [%s] by writing to it (automatic index creation) is", rq.parts[0])
	}
	if err != nil {
		return err
	}
	cond, forced, err := writeOptions(rq.query)
	if err != nil {
		return err
	}
	id := rq.parts[2]
	if len(id) > 512 {
		return validationFailed("id [" + id + "] is too long, must be no longer than 512 bytes but was: " + strconv.Itoa(len(id)))
	}
	rec, created, err := ix.put(id, rq.body, cond)
	if err != nil {
		return err
	}
	if created {
		d.writeAnswer(rq, ix, id, rec, "created", forced, http.StatusCreated)
	} else {
		d.writeAnswer(rq, ix, id, rec, "updated", forced, http.StatusOK)
	}
	return nil
}

// deleteDoc: DELETE /<index>/_doc/<id>: 200 deleted or 404 not_found
// (https://docs.opensearch.org/latest/api-reference/document-apis/delete-document/).
func (d *Domain) deleteDoc(rq *request) error {
	ix, err := d.index(rq.parts[0])
	if err != nil {
		return err
	}
	cond, forced, err := writeOptions(rq.query)
	if err != nil {
		return err
	}
	id := rq.parts[2]
	rec, found, err := ix.remove(id, cond)
	if err != nil {
		return err
	}
	if found {
		d.writeAnswer(rq, ix, id, rec, "deleted", forced, http.StatusOK)
	} else {
		d.writeAnswer(rq, ix, id, rec, "not_found", forced, http.StatusNotFound)
	}
	return nil
}

// count: GET /<index>/_count, every document; a query body is not served
// (https://docs.opensearch.org/latest/api-reference/search-apis/count/).
func (d *Domain) count(rq *request) error {
	ix, err := d.index(rq.parts[0])
	if err != nil {
		return err
	}
	if len(bytes.TrimSpace(rq.body)) > 0 {
		return unsupported("a _count request with a body is")
	}
	n, err := ix.bl.DocCount()
	if err != nil {
		return err
	}
	writeJSON(rq.w, http.StatusOK, map[string]any{"count": n, "_shards": searchShards})
	return nil
}
