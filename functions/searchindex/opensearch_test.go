package searchindex

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"

	"github.com/imagepipe/imagepipe/functions/pipeline"
)

type exchange struct {
	method, path, query, auth string
	body                      map[string]any
}

// fakeOpenSearch answers from a route table "METHOD /path" → (status, body) and
// records every request.
type fakeOpenSearch struct {
	mu     sync.Mutex
	got    []exchange
	routes map[string][2]string // status code as text, body
	// answer, when set, is asked first: it may answer from the request body.
	answer func(e exchange) ([2]string, bool)
}

func (f *fakeOpenSearch) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	raw, _ := io.ReadAll(r.Body)
	var body map[string]any
	_ = json.Unmarshal(raw, &body)
	f.mu.Lock()
	e := exchange{r.Method, r.URL.Path, r.URL.RawQuery, r.Header.Get("Authorization"), body}
	f.got = append(f.got, e)
	ans, ok := [2]string{}, false
	if f.answer != nil {
		ans, ok = f.answer(e)
	}
	if !ok {
		ans, ok = f.routes[r.Method+" "+r.URL.Path]
	}
	f.mu.Unlock()
	if !ok {
		ans = [2]string{"404", `{"error":{"type":"not_found"},"status":404}`}
	}
	w.Header().Set("Content-Type", "application/json")
	code, _ := strconv.Atoi(ans[0])
	w.WriteHeader(code)
	io.WriteString(w, ans[1])
}

func newFakeOS(t *testing.T, routes map[string][2]string) (*fakeOpenSearch, *OpenSearch) {
	t.Helper()
	f := &fakeOpenSearch{routes: routes}
	srv := httptest.NewServer(f)
	t.Cleanup(srv.Close)
	c, err := NewOpenSearchClient(srv.URL, aws.Config{
		Region:      "us-east-1",
		Credentials: credentials.NewStaticCredentialsProvider("AKIDEXAMPLE", "secret", "token"),
	}, nil)
	if err != nil {
		t.Fatal(err)
	}
	return f, &OpenSearch{Client: c, Name: "images"}
}

func checkSigned(t *testing.T, e exchange) {
	t.Helper()
	if !strings.HasPrefix(e.auth, "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/") || !strings.Contains(e.auth, "/us-east-1/es/aws4_request") {
		t.Errorf("%s %s: not SigV4-signed for es: %q", e.method, e.path, e.auth)
	}
}

// conflict is OpenSearch's answer to a conditional write that lost a race.
const conflict = `{"error":{"root_cause":[{"type":"version_conflict_engine_exception","reason":"[x]: version conflict, required seqNo [4], primary term [1]. current document has seqNo [5] and primary term [1]"}],"type":"version_conflict_engine_exception","reason":"[x]: version conflict, required seqNo [4], primary term [1]. current document has seqNo [5] and primary term [1]"},"status":409}`

func getAnswer(t *testing.T, d pipeline.Document, seqNo int) string {
	t.Helper()
	src, err := json.Marshal(d)
	if err != nil {
		t.Fatal(err)
	}
	return `{"_index":"images","_id":"` + d.ID + `","_version":3,"_seq_no":` + strconv.Itoa(seqNo) + `,"_primary_term":1,"found":true,"_source":` + string(src) + `}`
}

// TestOpenSearchUpsert checks the recorded exchanges of the optimistic upsert: the
// index is created once, then each upsert reads the document and writes it only if
// it is unchanged since (if_seq_no/if_primary_term), or absent (op_type=create).
func TestOpenSearchUpsert(t *testing.T) {
	d := doc("upload/a.jpg", "0A1", t0, "Lighthouse")
	path := "/images/_doc/" + d.ID
	stored := func(seq string) string {
		s := d
		s.Sequencer, s.Labels = seq, []pipeline.Label{{Name: "Stored"}}
		return getAnswer(t, s, 7)
	}
	for _, tc := range []struct {
		name, get, put, want, query string // query: the PUT's, "" when no PUT is sent
	}{
		{"absent", `{"_index":"images","_id":"` + d.ID + `","found":false}`, `{"result":"created","_seq_no":0,"_primary_term":1}`,
			OutcomeCreated, "op_type=create&refresh=wait_for"},
		{"stored older", stored("0A0"), `{"result":"updated","_seq_no":8,"_primary_term":1}`,
			OutcomeUpdated, "if_primary_term=1&if_seq_no=7&refresh=wait_for"},
		{"stored same (a duplicate event)", stored("00000A1"), `{"result":"updated"}`,
			OutcomeUpdated, "if_primary_term=1&if_seq_no=7&refresh=wait_for"},
		{"stored newer", stored("0A2"), ``, OutcomeSkippedOlder, ""},
		{"stored newer, shorter hex", stored("A2"), ``, OutcomeSkippedOlder, ""},
		{"stored older, longer hex", stored("000A0"), `{"result":"updated"}`, OutcomeUpdated, "if_primary_term=1&if_seq_no=7&refresh=wait_for"},
	} {
		getStatus := "200"
		if strings.Contains(tc.get, `"found":false`) {
			getStatus = "404"
		}
		f, o := newFakeOS(t, map[string][2]string{
			"PUT /images": {"200", `{"acknowledged":true,"shards_acknowledged":true,"index":"images"}`},
			"GET " + path: {getStatus, tc.get},
			"PUT " + path: {"201", tc.put},
		})
		got, err := o.Upsert(context.Background(), d)
		if err != nil || got != tc.want {
			t.Fatalf("%s: %q %v, want %q", tc.name, got, err, tc.want)
		}
		// A second upsert does not create the index again.
		if _, err := o.Upsert(context.Background(), d); err != nil {
			t.Fatal(err)
		}
		perUpsert := 2
		if tc.query == "" {
			perUpsert = 1
		}
		if len(f.got) != 1+2*perUpsert || f.got[0].method != "PUT" || f.got[0].path != "/images" {
			t.Fatalf("%s: requests %+v", tc.name, f.got)
		}
		for _, e := range f.got {
			checkSigned(t, e)
		}
		m := f.got[0].body["mappings"].(map[string]any)["properties"].(map[string]any)
		if m["location"].(map[string]any)["type"] != "geo_point" || m["id"].(map[string]any)["type"] != "keyword" ||
			m["uploadedAt"].(map[string]any)["type"] != "date" || m["sequencer"].(map[string]any)["type"] != "keyword" {
			t.Errorf("mapping: %v", m)
		}
		if g := f.got[1]; g.method != "GET" || g.path != path || g.query != "" {
			t.Errorf("%s: read %s %s?%s", tc.name, g.method, g.path, g.query)
		}
		if tc.query == "" {
			continue
		}
		w := f.got[2]
		if w.method != "PUT" || w.path != path || w.query != tc.query {
			t.Errorf("%s: write %s %s?%s, want ?%s", tc.name, w.method, w.path, w.query, tc.query)
		}
		if w.body["sequencer"] != "0A1" || w.body["id"] != d.ID || w.body["key"] != "upload/a.jpg" || w.body["script"] != nil {
			t.Errorf("%s: the write's body is not the document: %v", tc.name, w.body)
		}
	}
}

// A write that loses a race reads again and decides again; a bounded number of lost
// races is a TransientError for the state machine to retry.
func TestOpenSearchUpsertConflict(t *testing.T) {
	d := doc("upload/a.jpg", "0A1", t0)
	path := "/images/_doc/" + d.ID
	other := d
	other.Sequencer = "0A0"
	for _, tc := range []struct {
		name   string
		losses int    // conflicts before a write lands
		second string // what the read after the first conflict finds
		want   string
	}{
		{"lost once, then written", 1, "older", OutcomeUpdated},
		{"lost to a newer event", 1, "newer", OutcomeSkippedOlder},
		{"lost every time", maxUpsertAttempts, "older", ""},
	} {
		f, o := newFakeOS(t, map[string][2]string{"PUT /images": {"200", `{}`}})
		reads, writes := 0, 0
		f.answer = func(e exchange) ([2]string, bool) {
			switch e.method + " " + e.path {
			case "GET " + path:
				reads++
				if reads == 1 {
					return [2]string{"404", `{"_index":"images","_id":"` + d.ID + `","found":false}`}, true
				}
				s := other
				if tc.second == "newer" {
					s.Sequencer = "0B0"
				}
				return [2]string{"200", getAnswer(t, s, 5)}, true
			case "PUT " + path:
				if writes++; writes <= tc.losses {
					return [2]string{"409", conflict}, true
				}
				return [2]string{"200", `{"result":"updated","_seq_no":6,"_primary_term":1}`}, true
			}
			return [2]string{}, false
		}
		got, err := o.Upsert(context.Background(), d)
		if tc.want == "" {
			var te *pipeline.TransientError
			if !errors.As(err, &te) || !isVersionConflict(te.Err) || writes != maxUpsertAttempts {
				t.Errorf("%s: %v (%T) after %d writes", tc.name, err, err, writes)
			}
			continue
		}
		if err != nil || got != tc.want {
			t.Errorf("%s: %q %v, want %q", tc.name, got, err, tc.want)
		}
		// The retry is conditional on what it read: never a blind overwrite.
		if last := f.got[len(f.got)-1]; last.method == "PUT" && reads > 1 && last.query != "if_primary_term=1&if_seq_no=5&refresh=wait_for" {
			t.Errorf("%s: retry wrote ?%s", tc.name, last.query)
		}
		if f.got[2].query != "op_type=create&refresh=wait_for" {
			t.Errorf("%s: first write ?%s", tc.name, f.got[2].query)
		}
	}
}

func TestOpenSearchIndexExists(t *testing.T) {
	d := doc("upload/a.jpg", "1", t0)
	f, o := newFakeOS(t, map[string][2]string{
		"PUT /images":              {"400", `{"error":{"type":"resource_already_exists_exception","reason":"index [images] already exists"},"status":400}`},
		"PUT /images/_mapping":     {"200", `{"acknowledged":true}`},
		"GET /images/_doc/" + d.ID: {"404", `{"_index":"images","_id":"x","found":false}`},
		"PUT /images/_doc/" + d.ID: {"201", `{"result":"created"}`},
	})
	if got, err := o.Upsert(context.Background(), d); err != nil || got != OutcomeCreated {
		t.Fatalf("%q %v", got, err)
	}
	// An existing index gains the duplicate fields.
	if len(f.got) != 4 || f.got[1].path != "/images/_mapping" {
		t.Fatalf("requests: %+v", f.got)
	}
	props := f.got[1].body["properties"].(map[string]any)
	for _, k := range []string{"contentSha256", "duplicateOf"} {
		if props[k].(map[string]any)["type"] != "keyword" {
			t.Errorf("mapping update %s: %v", k, props[k])
		}
	}
}

func TestOpenSearchErrors(t *testing.T) {
	d := doc("upload/a.jpg", "1", t0)
	for _, tc := range []struct {
		status, body string
		check        func(error) bool
	}{
		{"429", `{"error":{"type":"es_rejected_execution_exception"},"status":429}`, func(err error) bool { _, ok := err.(*pipeline.ThrottledError); return ok }},
		{"503", `{"error":{"type":"unavailable"}}`, func(err error) bool { _, ok := err.(*pipeline.TransientError); return ok }},
		{"500", `oops`, func(err error) bool { _, ok := err.(*pipeline.TransientError); return ok }},
		{"400", `{"error":{"type":"mapper_parsing_exception"},"status":400}`, func(err error) bool {
			var oe *Error
			return errors.As(err, &oe) && oe.Status == 400 && oe.Type == "mapper_parsing_exception"
		}},
		{"403", `{"message":"forbidden"}`, func(err error) bool {
			var oe *Error
			return errors.As(err, &oe) && oe.Status == 403
		}},
	} {
		_, o := newFakeOS(t, map[string][2]string{
			"PUT /images":              {"200", `{}`},
			"GET /images/_doc/" + d.ID: {tc.status, tc.body},
			"POST /images/_search":     {tc.status, tc.body},
		})
		if _, err := o.Upsert(context.Background(), d); !tc.check(err) {
			t.Errorf("upsert %s: %v (%T)", tc.status, err, err)
		}
		if _, err := o.Search(context.Background(), Query{Text: "x"}); !tc.check(err) {
			t.Errorf("search %s: %v (%T)", tc.status, err, err)
		}
	}
	// A dead endpoint is transient.
	c, _ := NewOpenSearchClient("http://127.0.0.1:1", aws.Config{Region: "us-east-1", Credentials: credentials.NewStaticCredentialsProvider("a", "b", "")}, nil)
	if _, err := (&OpenSearch{Client: c, Name: "images"}).Count(context.Background()); err == nil {
		t.Error("no error from a dead endpoint")
	} else if _, ok := err.(*pipeline.TransientError); !ok {
		t.Errorf("dead endpoint: %v (%T)", err, err)
	}
}

func TestOpenSearchGetDeleteCount(t *testing.T) {
	d := doc("upload/a.jpg", "1", t0, "Cat")
	src, _ := json.Marshal(d)
	f, o := newFakeOS(t, map[string][2]string{
		"GET /images/_doc/" + d.ID:    {"200", `{"_id":"` + d.ID + `","found":true,"_source":` + string(src) + `}`},
		"DELETE /images/_doc/" + d.ID: {"200", `{"result":"deleted"}`},
		"GET /images/_count":          {"200", `{"count":7}`},
	})
	ctx := context.Background()
	got, ok, err := o.Get(ctx, d.ID)
	if err != nil || !ok || got.Key != d.Key || got.Labels[0].Name != "Cat" {
		t.Errorf("get: %+v %v %v", got, ok, err)
	}
	if _, ok, err := o.Get(ctx, "missing"); ok || err != nil {
		t.Errorf("get missing: %v %v", ok, err)
	}
	if err := o.Delete(ctx, d.ID); err != nil {
		t.Error(err)
	}
	if err := o.Delete(ctx, "missing"); err != nil {
		t.Errorf("delete missing: %v", err)
	}
	if n, err := o.Count(ctx); n != 7 || err != nil {
		t.Errorf("count: %d %v", n, err)
	}
	for _, e := range f.got {
		checkSigned(t, e)
	}
}

func TestOpenSearchSearch(t *testing.T) {
	d := doc("upload/a.jpg", "1", t0, "Lighthouse")
	src, _ := json.Marshal(d)
	f, o := newFakeOS(t, map[string][2]string{
		"POST /images/_search": {"200", `{"took":3,"hits":{"total":{"value":41,"relation":"eq"},"hits":[{"_id":"x","_score":2.5,"_source":` + string(src) + `}]}}`},
	})
	ctx := context.Background()
	res, err := o.Search(ctx, Query{Text: `ligthouse "OR" *:*`, From: 20, Size: 10})
	if err != nil || res.Total != 41 || len(res.Images) != 1 || res.Images[0].Key != "upload/a.jpg" {
		t.Fatalf("search: %+v %v", res, err)
	}
	b := f.got[0].body
	if b["from"] != 20.0 || b["size"] != 10.0 || b["track_total_hits"] != true {
		t.Errorf("paging: %v", b)
	}
	raw, _ := json.Marshal(b["query"])
	q := string(raw)
	for _, want := range []string{`"multi_match"`, `"fuzziness":"AUTO"`, `"match_phrase_prefix"`, `"labels.name^3"`, `"query":"ligthouse or"`, `"must_not":[{"exists":{"field":"duplicateOf"}}]`} {
		if !strings.Contains(q, want) {
			t.Errorf("query lacks %s: %s", want, q)
		}
	}
	if strings.Contains(q, "query_string") || strings.Contains(q, "*:*") {
		t.Errorf("user text reached a query syntax: %s", q)
	}
	// Match all: newest first.
	if _, err := o.Search(ctx, Query{Text: "*"}); err != nil {
		t.Fatal(err)
	}
	// Each search is two requests: the page, then its duplicates.
	raw, _ = json.Marshal(f.got[2].body)
	if !strings.Contains(string(raw), `"match_all":{}`) || !strings.Contains(string(raw), `"uploadedAt":{"order":"desc"}`) ||
		!strings.Contains(string(raw), `"must_not":[{"exists":{"field":"duplicateOf"}}]`) {
		t.Errorf("match all body: %s", raw)
	}
	// Punctuation only sends nothing; a missing index means no images.
	if res, err := o.Search(ctx, Query{Text: `"!?`}); err != nil || res.Total != 0 || len(f.got) != 4 {
		t.Errorf("punctuation: %+v %v %d", res, err, len(f.got))
	}
	_, o2 := newFakeOS(t, nil)
	if res, err := o2.Search(ctx, Query{Text: "x"}); err != nil || res.Total != 0 || res.Images == nil {
		t.Errorf("no index: %+v %v", res, err)
	}
}

func hitsJSON(t *testing.T, docs ...pipeline.Document) string {
	t.Helper()
	var hits []map[string]any
	for _, d := range docs {
		hits = append(hits, map[string]any{"_id": d.ID, "_source": d})
	}
	raw, err := json.Marshal(map[string]any{"hits": map[string]any{"total": map[string]any{"value": len(docs), "relation": "eq"}, "hits": hits}})
	if err != nil {
		t.Fatal(err)
	}
	return string(raw)
}

// TestOpenSearchDuplicates checks the recorded exchanges of duplicate handling: the
// content-hash lookup is a term query on the keyword field, search excludes
// duplicates and folds the page's duplicates into alsoKeys with one terms query.
func TestOpenSearchDuplicates(t *testing.T) {
	orig := doc("upload/a.jpg", "1", t0, "Cat")
	orig.ContentHash = "c0ffee"
	copy1 := doc("upload/copy1.jpg", "2", t0.Add(time.Minute), "Cat")
	copy1.ContentHash, copy1.DuplicateOf = "c0ffee", orig.ID
	copy2 := doc("upload/copy2.jpg", "3", t0.Add(2*time.Minute), "Cat")
	copy2.ContentHash, copy2.DuplicateOf = "c0ffee", orig.ID
	other := doc("upload/b.jpg", "4", t0, "Dog")
	f, o := newFakeOS(t, nil)
	f.answer = func(e exchange) ([2]string, bool) {
		if e.method != "POST" || e.path != "/images/_search" {
			return [2]string{}, false
		}
		q, _ := json.Marshal(e.body["query"])
		switch {
		case strings.Contains(string(q), `"term":{"contentSha256":"c0ffee"}`):
			return [2]string{"200", hitsJSON(t, copy2, orig, copy1)}, true // any order: sorted on read
		case strings.Contains(string(q), `"terms":{"duplicateOf"`):
			return [2]string{"200", hitsJSON(t, copy2, copy1)}, true
		}
		return [2]string{"200", hitsJSON(t, other, orig)}, true
	}
	ctx := context.Background()

	group, err := o.FindByContentHash(ctx, "c0ffee")
	if err != nil || len(group) != 3 || group[0].ID != orig.ID || group[1].ID != copy1.ID || group[2].ID != copy2.ID {
		t.Fatalf("group: %v %v", keysOf(group), err)
	}
	e := f.got[0]
	checkSigned(t, e)
	raw, _ := json.Marshal(e.body)
	for _, want := range []string{`"size":1000`, `"sort":[{"uploadedAt":{"order":"asc"}},{"id":{"order":"asc"}}]`} {
		if !strings.Contains(string(raw), want) {
			t.Errorf("hash lookup lacks %s: %s", want, raw)
		}
	}
	if got, err := o.FindByContentHash(ctx, ""); got != nil || err != nil || len(f.got) != 1 {
		t.Errorf("empty hash: %v %v (%d requests)", got, err, len(f.got))
	}

	res, err := o.Search(ctx, Query{Text: "*"})
	if err != nil || len(res.Images) != 2 {
		t.Fatalf("search: %+v %v", res, err)
	}
	if fmt.Sprint(res.Images[1].AlsoKeys) != "[upload/copy1.jpg upload/copy2.jpg]" || res.Images[0].AlsoKeys != nil {
		t.Errorf("alsoKeys: %v / %v", res.Images[0].AlsoKeys, res.Images[1].AlsoKeys)
	}
	raw, _ = json.Marshal(f.got[2].body)
	if !strings.Contains(string(raw), `"terms":{"duplicateOf":["`+other.ID+`","`+orig.ID+`"]}`) {
		t.Errorf("duplicates lookup: %s", raw)
	}

	// A lookup that fails is the index's typed error, unwrapped (the state machine's error name).
	f.answer = nil
	f.routes = map[string][2]string{"POST /images/_search": {"503", `{}`}}
	if _, err := o.FindByContentHash(ctx, "c0ffee"); err == nil {
		t.Error("no error")
	} else if _, ok := err.(*pipeline.TransientError); !ok {
		t.Errorf("err = %T, want *pipeline.TransientError", err)
	}
}

func keysOf(docs []pipeline.Document) []string {
	var k []string
	for _, d := range docs {
		k = append(k, d.Key)
	}
	return k
}

func FuzzSearchBody(f *testing.F) {
	for _, s := range []string{"", "*", "ligthouse", `{"a":1}`, "\x00", "a\\\"b"} {
		f.Add(s, 0, 10)
	}
	f.Fuzz(func(t *testing.T, s string, from, size int) {
		b := SearchBody(Query{Text: s, From: from, Size: size})
		raw, err := json.Marshal(b)
		if err != nil {
			t.Fatal(err)
		}
		if b["from"].(int)+b["size"].(int) > MaxWindow || b["from"].(int) < 0 {
			t.Fatalf("window out of range: %s", raw)
		}
	})
}

// The date-taken range goes out as a range query on takenAt in the date field's
// default format, the last day as "lt" the next day; no bound, no range.
func TestSearchBodyTakenRange(t *testing.T) {
	july14 := time.Date(2021, 7, 14, 2, 0, 0, 0, time.FixedZone("x", 5*3600)) // only the date counts
	for _, tc := range []struct {
		q    Query
		want string
	}{
		{Query{}, ""},
		{Query{TakenFrom: july14, TakenTo: july14}, `{"range":{"takenAt":{"gte":"2021-07-14","lt":"2021-07-15"}}}`},
		{Query{TakenFrom: july14}, `{"range":{"takenAt":{"gte":"2021-07-14"}}}`},
		{Query{Text: "cat", TakenTo: time.Date(2021, 12, 31, 0, 0, 0, 0, time.UTC)}, `{"range":{"takenAt":{"lt":"2022-01-01"}}}`},
	} {
		raw, _ := json.Marshal(SearchBody(tc.q)["query"])
		n := strings.Count(string(raw), `"range"`)
		switch {
		case tc.want == "" && n != 0:
			t.Errorf("%+v: a range in %s", tc.q, raw)
		case tc.want != "" && (n != 1 || !strings.Contains(string(raw), `"filter":[`+tc.want+`]`)):
			t.Errorf("%+v: %s, want the filter %s", tc.q, raw, tc.want)
		}
	}
}
