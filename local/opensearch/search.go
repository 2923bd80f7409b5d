package opensearch

import (
	"encoding/json"
	"math"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/blevesearch/bleve/v2"
	"github.com/blevesearch/bleve/v2/numeric"
	"github.com/blevesearch/bleve/v2/search"
	"github.com/blevesearch/bleve/v2/search/query"
)

// maxResultWindow is index.max_result_window's default: from + size may not pass it
// (https://docs.opensearch.org/latest/install-and-configure/configuring-opensearch/index-settings/).
const maxResultWindow = 10000

// defaultTrackTotalHits is how far hits.total counts exactly without track_total_hits;
// past it the total is {"value": 10000, "relation": "gte"}
// (https://docs.opensearch.org/latest/api-reference/search-apis/search/).
const defaultTrackTotalHits = 10000

// sortKey is one entry of a search's sort.
type sortKey struct {
	score bool   // _score
	field string // or a field
	typ   string // the field's mapping type
	desc  bool
}

// searchRequest is a parsed _search body.
type searchRequest struct {
	query      query.Query // nil: matches nothing
	from, size int
	sort       []sortKey // nil: by _score
	trackTotal int       // hits counted exactly; -1 all, 0 no total at all
	includes   []string  // _source includes; nil: whole source
	noSource   bool
}

// parseSearch reads the body of POST /<index>/_search.
func (ix *index) parseSearch(body []byte) (*searchRequest, error) {
	sr := &searchRequest{size: 10, trackTotal: defaultTrackTotalHits, query: bleve.NewMatchAllQuery()}
	if len(strings.TrimSpace(string(body))) == 0 {
		return sr, nil
	}
	m, err := objectOf(body, "the request body")
	if err != nil {
		return nil, err
	}
	if err := onlyKeys(m, "a _search request", "query", "from", "size", "sort", "track_total_hits", "_source"); err != nil {
		return nil, err
	}
	if raw, ok := m["query"]; ok {
		c := &compiler{ix: ix, m: ix.mappings()}
		if sr.query, err = c.compile(raw); err != nil {
			return nil, err
		}
	}
	for k, dst := range map[string]*int{"from": &sr.from, "size": &sr.size} {
		if raw, ok := m[k]; ok {
			if *dst, err = strconv.Atoi(string(raw)); err != nil {
				return nil, parsing("[%s] must be an integer", k)
			}
		}
	}
	if err := sr.window(ix); err != nil {
		return nil, err
	}
	if raw, ok := m["sort"]; ok {
		if sr.sort, err = ix.parseSort(raw); err != nil {
			return nil, err
		}
	}
	if raw, ok := m["track_total_hits"]; ok {
		switch s := string(raw); s {
		case "true":
			sr.trackTotal = -1
		case "false":
			sr.trackTotal = 0
		default:
			if sr.trackTotal, err = strconv.Atoi(s); err != nil || sr.trackTotal < 0 {
				return nil, illegalArgument("[track_total_hits] parameter must be positive or equals to -1, got %s", s)
			}
		}
	}
	if raw, ok := m["_source"]; ok {
		if string(raw) == "false" {
			sr.noSource = true
		} else if string(raw) != "true" && json.Unmarshal(raw, &sr.includes) != nil {
			return nil, unsupported("[_source] other than true, false or an array of field names is")
		}
		for _, f := range sr.includes {
			if strings.ContainsAny(f, "*?") {
				return nil, unsupported("the [_source] pattern [%s] is", f)
			}
		}
	}
	return sr, nil
}

// window checks from and size as OpenSearch does.
func (sr *searchRequest) window(ix *index) error {
	switch {
	case sr.from < 0:
		return illegalArgument("[from] parameter cannot be negative, found [%d]", sr.from)
	case sr.size < 0:
		return illegalArgument("[size] parameter cannot be negative, found [%d]", sr.size)
	case sr.from+sr.size > maxResultWindow:
		return shardFailure(ix, illegalArgument("Result window is too large, from + size must be less than or equal to: [%d] but was [%d]. "+
			"See the scroll api for a more efficient way to request large data sets. This limit can be set by changing the "+
			"[index.max_result_window] index level setting.", maxResultWindow, sr.from+sr.size))
	}
	return nil
}

// parseSort reads "sort": ["_score", "field", {"field": {"order": "asc"}}, {"field": "desc"}].
func (ix *index) parseSort(raw json.RawMessage) ([]sortKey, error) {
	var entries []json.RawMessage
	if err := json.Unmarshal(raw, &entries); err != nil {
		entries = []json.RawMessage{raw}
	}
	var keys []sortKey
	for _, e := range entries {
		var name, order string
		if json.Unmarshal(e, &name) != nil {
			spec, opts, err := single(e, "sort")
			if err != nil {
				return nil, err
			}
			name = spec
			if json.Unmarshal(opts, &order) != nil {
				var o map[string]string
				if json.Unmarshal(opts, &o) != nil || len(o) != 1 || o["order"] == "" {
					return nil, unsupported("sort options other than [order] (on [%s]) are", name)
				}
				order = o["order"]
			}
		}
		k := sortKey{score: name == "_score", field: name, desc: name == "_score"}
		switch order {
		case "":
		case "asc", "desc":
			k.desc = order == "desc"
		default:
			return nil, illegalArgument("Unknown SortOrder [%s]", order)
		}
		if !k.score {
			f := ix.mappings().lookup(name)
			switch {
			case strings.HasPrefix(name, "_"):
				return nil, unsupported("sorting on [%s] is", name)
			case f == nil:
				return nil, shardFailure(ix, &apiError{status: http.StatusBadRequest, typ: "query_shard_exception",
					reason: "No mapping found for [" + name + "] in order to sort on", meta: map[string]any{"index": ix.name, "index_uuid": ix.meta.UUID}})
			case f.Type == "text":
				return nil, shardFailure(ix, illegalArgument("Text fields are not optimised for operations that require per-document field data "+
					"like aggregations and sorting, so these operations are disabled by default. Please use a keyword field instead. "+
					"Alternatively, set fielddata=true on [%s] in order to load field data by uninverting the inverted index. "+
					"Note that this can use significant memory.", name))
			case f.Type == "" || f.Type == "object" || f.Type == "geo_point":
				return nil, unsupported("sorting on the [%s] field [%s] is", typeName(f), name)
			}
			k.typ = f.Type
		}
		keys = append(keys, k)
	}
	return keys, nil
}

// bleveSort is the sort order for bleve: the keys, then the id, for a stable order
// where OpenSearch breaks ties by its internal document order.
func (sr *searchRequest) bleveSort() (search.SortOrder, bool) {
	keys := sr.sort
	if keys == nil {
		keys = []sortKey{{score: true, desc: true}}
	}
	var order search.SortOrder
	scored := false
	for _, k := range keys {
		if k.score {
			order = append(order, &search.SortScore{Desc: k.desc})
			scored = true
			continue
		}
		sf := &search.SortField{Field: k.field, Desc: k.desc, Type: search.SortFieldAsString, Mode: search.SortFieldMin,
			Missing: search.SortFieldMissingLast}
		if k.desc {
			sf.Mode = search.SortFieldMax // OpenSearch sorts on the largest of several values when descending
		}
		if k.typ != "keyword" && k.typ != "boolean" {
			sf.Type = search.SortFieldAsNumber
		}
		order = append(order, sf)
	}
	return append(order, &search.SortDocID{}), scored
}

// search: POST /<index>/_search.
func (d *Domain) search(rq *request) error {
	start := time.Now()
	ix, err := d.index(rq.parts[0])
	if err != nil {
		return err
	}
	sr, err := ix.parseSearch(rq.body)
	if err != nil {
		return err
	}
	hits := map[string]any{"max_score": nil, "hits": []any{}}
	var total uint64
	if sr.query != nil {
		req := bleve.NewSearchRequestOptions(sr.query, sr.size, sr.from, false)
		order, scored := sr.bleveSort()
		req.SortByCustom(order)
		if !scored {
			req.Score = "none"
		}
		req.Fields = []string{sourceField}
		res, err := ix.bl.SearchInContext(rq.r.Context(), req)
		if err != nil {
			return err
		}
		total = res.Total
		if scored && len(res.Hits) > 0 {
			hits["max_score"] = res.MaxScore
		}
		list := make([]any, 0, len(res.Hits))
		for _, h := range res.Hits {
			list = append(list, sr.hit(ix, h, scored))
		}
		hits["hits"] = list
	}
	switch {
	case sr.trackTotal < 0 || sr.trackTotal > 0 && total <= uint64(sr.trackTotal):
		hits["total"] = map[string]any{"value": total, "relation": "eq"}
	case sr.trackTotal > 0:
		hits["total"] = map[string]any{"value": sr.trackTotal, "relation": "gte"}
	}
	writeJSON(rq.w, http.StatusOK, map[string]any{"took": time.Since(start).Milliseconds(), "timed_out": false,
		"_shards": searchShards, "hits": hits})
	return nil
}

// hit is one entry of hits.hits.
func (sr *searchRequest) hit(ix *index, h *search.DocumentMatch, scored bool) map[string]any {
	out := map[string]any{"_index": ix.name, "_id": h.ID, "_score": nil}
	if scored {
		out["_score"] = h.Score
	}
	if !sr.noSource {
		if src, _ := h.Fields[sourceField].(string); src != "" {
			out["_source"] = filterSource(json.RawMessage(src), sr.includes)
		}
	}
	if sr.sort != nil {
		values := make([]any, 0, len(sr.sort))
		for i, k := range sr.sort {
			if k.score {
				values = append(values, h.Score)
			} else {
				values = append(values, sortValue(k, h.Sort[i]))
			}
		}
		out["sort"] = values
	}
	return out
}

// sortValue is a hit's sort value as OpenSearch shows it: dates and whole numbers as
// integers (epoch milliseconds for dates), a missing number as the extreme that
// sorts it last, a missing keyword as null.
func sortValue(k sortKey, v string) any {
	missing := v == search.HighTerm || v == search.LowTerm
	switch {
	case k.typ == "keyword" || k.typ == "boolean":
		if missing {
			return nil
		}
		return v
	case missing && k.desc:
		return int64(math.MinInt64)
	case missing:
		return int64(math.MaxInt64)
	}
	i, err := numeric.PrefixCoded(v).Int64()
	if err != nil {
		return nil
	}
	f := numeric.Int64ToFloat64(i)
	if k.typ == "double" || k.typ == "float" {
		return f
	}
	return int64(f)
}

// filterSource keeps the includes of src (dotted paths), or all of it.
func filterSource(src json.RawMessage, includes []string) any {
	if includes == nil {
		return src
	}
	var doc map[string]any
	if err := json.Unmarshal(src, &doc); err != nil {
		return src
	}
	out := map[string]any{}
	for _, path := range includes {
		copyPath(doc, out, strings.Split(path, "."))
	}
	return out
}

func copyPath(from, to map[string]any, path []string) {
	v, ok := from[path[0]]
	if !ok {
		return
	}
	if len(path) == 1 {
		to[path[0]] = v
		return
	}
	sub, ok := v.(map[string]any)
	if !ok {
		return
	}
	dst, _ := to[path[0]].(map[string]any)
	if dst == nil {
		dst = map[string]any{}
		to[path[0]] = dst
	}
	copyPath(sub, dst, path[1:])
}
