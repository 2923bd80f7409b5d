package opensearch_test

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/imagepipe/imagepipe/functions/pipeline"
	"github.com/imagepipe/imagepipe/functions/searchindex"
	"github.com/imagepipe/imagepipe/functions/searchindex/searchindextest"
)

// The tests below run the Lambdas' real adapter (searchindex.OpenSearch, through
// opensearch-go, SigV4-signed) against the twin's domain, and hold the assertions
// the twin's former embedded index proved, restated where OpenSearch answers the
// adapter's queries otherwise.

func seed(t testing.TB, ix searchindex.Index) {
	t.Helper()
	docs := []pipeline.Document{
		doc("upload/2024/IMG_0200.jpg", "0A", t0, "Lighthouse", "Sea", "Blue"),
		doc("upload/cat.png", "0B", t0.Add(time.Hour), "Cat", "Pet"),
		doc("upload/red car.jpg", "0C", t0.Add(2*time.Hour), "Car", "Red"),
	}
	docs[1].Format = "png"
	docs[2].Camera = &pipeline.Camera{Make: "HMD Global", Model: "Nokia 8.3 5G"}
	upsert(t, ix, searchindex.OutcomeCreated, docs...)
}

const (
	lighthouse = "upload/2024/IMG_0200.jpg"
	cat        = "upload/cat.png"
	redCar     = "upload/red car.jpg"
)

func TestSearch(t *testing.T) {
	tw := newTwin(t)
	seed(t, tw.ix)
	ctx := context.Background()
	for _, tc := range []struct {
		q    string
		want []string // in order
	}{
		{"Lighthouse", []string{lighthouse}},
		{"ligthouse", []string{lighthouse}}, // a typo: fuzziness AUTO
		{"light", []string{lighthouse}},     // a prefix: match_phrase_prefix
		{"LIGHTHOUSE sea", []string{lighthouse}},
		{"nokia", []string{redCar}},
		{"hmd", []string{redCar}},
		{"png", []string{cat}}, // format, a keyword
		{"2024", []string{lighthouse}},
		// Any word matches (multi_match's operator is or), and "car" is one edit from
		// the label Cat: OpenSearch finds both, the exact match first.
		{"red car", []string{redCar, cat}},
		// OpenSearch's standard tokenizer keeps img_0200 one token, while Words splits
		// the query into img and 0200: the adapter's query does not find a file by
		// that part of its name, in AWS as here.
		{"IMG_0200", nil},
		{"zebra", nil},
		{"", []string{redCar, cat, lighthouse}}, // newest first
		{"*", []string{redCar, cat, lighthouse}},
	} {
		res, err := tw.ix.Search(ctx, searchindex.Query{Text: tc.q, Size: 10})
		if err != nil {
			t.Fatalf("%q: %v", tc.q, err)
		}
		if fmt.Sprint(keys(res)) != fmt.Sprint(keysOr(tc.want)) || res.Total != int64(len(tc.want)) {
			t.Errorf("%q: got %v (total %d), want %v", tc.q, keys(res), res.Total, tc.want)
		}
	}
	// Several words: any of them, exact matches before the fuzzy one (cat~car); and
	// query syntax is only words ("label cat or").
	for q, want := range map[string][]string{
		"cat lighthouse":     {cat, lighthouse, redCar},
		`label:cat OR *:* "`: {cat, redCar},
	} {
		res, err := tw.ix.Search(ctx, searchindex.Query{Text: q, Size: 10})
		got := keys(res)
		if err != nil || res.Total != int64(len(want)) || !sameSet(got, want) || got[len(got)-1] != redCar {
			t.Errorf("%q: got %v (total %d) %v, want %v with %s last", q, got, res.Total, err, want, redCar)
		}
	}
	// Paging: the total counts every match.
	res, err := tw.ix.Search(ctx, searchindex.Query{Text: "*", From: 1, Size: 1})
	if err != nil || res.Total != 3 || fmt.Sprint(keys(res)) != "["+cat+"]" {
		t.Errorf("page: %v %d %v", keys(res), res.Total, err)
	}
	res, err = tw.ix.Search(ctx, searchindex.Query{Text: "*", From: 3, Size: 5})
	if err != nil || res.Total != 3 || len(res.Images) != 0 {
		t.Errorf("past the end: %v %d %v", keys(res), res.Total, err)
	}
	if n, err := tw.ix.Count(ctx); err != nil || n != 3 {
		t.Errorf("count = %d, %v", n, err)
	}
	// A document reads back as it was written.
	got, ok, err := tw.ix.Get(ctx, pipeline.DocumentID("images", redCar))
	if err != nil || !ok || got.Camera == nil || got.Camera.Model != "Nokia 8.3 5G" || !got.UploadedAt.Equal(t0.Add(2*time.Hour)) {
		t.Errorf("get: %+v %v %v", got, ok, err)
	}
}

func keysOr(k []string) []string {
	if k == nil {
		return []string{}
	}
	return k
}

func sameSet(a, b []string) bool {
	a, b = slices.Clone(a), slices.Clone(b)
	slices.Sort(a)
	slices.Sort(b)
	return slices.Equal(a, b)
}

// FindByObject: the documents of one ETag and size, earliest first; neither alone.
func TestFindByObject(t *testing.T) {
	tw := newTwin(t)
	ctx := context.Background()
	if docs, err := tw.ix.FindByObject(ctx, "e1", 1234); err != nil || len(docs) != 0 {
		t.Fatalf("no index yet: %v %v", docs, err)
	}
	a, b, c, d := doc("upload/a.jpg", "01", t0.Add(time.Hour)), doc("upload/b.jpg", "02", t0), doc("upload/c.jpg", "03", t0), doc("upload/d.jpg", "04", t0)
	a.ETag, b.ETag, c.ETag, d.ETag = "e1", "e1", "e1", "e2"
	c.Size = 4321 // same ETag, other size: not the same object
	upsert(t, tw.ix, searchindex.OutcomeCreated, a, b, c, d)
	docs, err := tw.ix.FindByObject(ctx, "e1", 1234)
	if err != nil || fmt.Sprint(keysOf(docs)) != "[upload/b.jpg upload/a.jpg]" {
		t.Errorf("e1, 1234: %v %v, want b then a", keysOf(docs), err)
	}
	if docs, err := tw.ix.FindByObject(ctx, "", 1234); err != nil || len(docs) != 0 {
		t.Errorf("no ETag: %v %v", keysOf(docs), err)
	}
}

func TestNoIndexYet(t *testing.T) {
	tw := newTwin(t)
	ctx := context.Background()
	if res, err := tw.ix.Search(ctx, searchindex.Query{Text: "x"}); err != nil || res.Total != 0 || res.Images == nil {
		t.Errorf("search: %+v %v", res, err)
	}
	if _, ok, err := tw.ix.Get(ctx, "x"); ok || err != nil {
		t.Errorf("get: %v %v", ok, err)
	}
	if n, err := tw.ix.Count(ctx); n != 0 || err != nil {
		t.Errorf("count: %d %v", n, err)
	}
	if err := tw.ix.Delete(ctx, "x"); err != nil {
		t.Errorf("delete: %v", err)
	}
}

func TestSequencerGuard(t *testing.T) {
	tw := newTwin(t)
	ix := tw.ix
	ctx := context.Background()
	key := "upload/x.jpg"
	newer := doc(key, "00000062C0FFEE1", t0, "Dog")
	older := doc(key, "62C0FFEE0", t0, "Cat") // shorter hex: left-padded before comparing
	upsert(t, ix, searchindex.OutcomeCreated, newer)
	upsert(t, ix, searchindex.OutcomeSkippedOlder, older)
	upsert(t, ix, searchindex.OutcomeUpdated, newer) // the same event again
	even := newer
	even.Sequencer = "62C0FFEE1" // equal once padded: applies
	even.Labels = []pipeline.Label{{Name: "Wolf"}}
	upsert(t, ix, searchindex.OutcomeUpdated, even)
	got, ok, err := ix.Get(ctx, newer.ID)
	if err != nil || !ok || got.Labels[0].Name != "Wolf" {
		t.Fatalf("get: %+v %v %v", got, ok, err)
	}
	if res, _ := ix.Search(ctx, searchindex.Query{Text: "cat"}); res.Total != 0 {
		t.Errorf("older labels leaked into the index: %v", keys(res))
	}
	if res, _ := ix.Search(ctx, searchindex.Query{Text: "dog"}); res.Total != 0 {
		t.Errorf("replaced labels still match: %v", keys(res))
	}
	for range 2 { // deleting is idempotent
		if err := ix.Delete(ctx, newer.ID); err != nil {
			t.Fatal(err)
		}
	}
	if _, ok, _ := ix.Get(ctx, newer.ID); ok {
		t.Error("document still there after delete")
	}
	if n, _ := ix.Count(ctx); n != 0 {
		t.Errorf("count after delete = %d", n)
	}
	if res, _ := ix.Search(ctx, searchindex.Query{Text: "wolf"}); res.Total != 0 {
		t.Errorf("deleted document found: %v", keys(res))
	}
	upsert(t, ix, searchindex.OutcomeCreated, older) // after a delete, any event creates
}

// Concurrent upserts of one document converge on the newest event: each write is
// conditional on the version it read, so none undoes a newer one.
func TestConcurrentUpserts(t *testing.T) {
	tw := newTwin(t)
	ctx := context.Background()
	upsert(t, tw.ix, searchindex.OutcomeCreated, doc("upload/other.jpg", "01", t0)) // the index exists
	const n = 20
	var wg sync.WaitGroup
	outcomes := make([]string, n+1)
	for i := 1; i <= n; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			out, err := tw.ix.Upsert(ctx, doc("upload/same.jpg", fmt.Sprintf("%04X", i), t0, fmt.Sprintf("L%d", i)))
			if err != nil {
				t.Errorf("upsert %d: %v", i, err)
			}
			outcomes[i] = out
		}()
	}
	wg.Wait()
	id := pipeline.DocumentID("images", "upload/same.jpg")
	got, _, _ := tw.ix.Get(ctx, id)
	if got.Sequencer != fmt.Sprintf("%04X", n) || got.Labels[0].Name != fmt.Sprintf("L%d", n) {
		t.Errorf("newest event lost: %q %v", got.Sequencer, got.Labels)
	}
	count := map[string]int{}
	for _, o := range outcomes[1:] {
		count[o]++
	}
	if count[searchindex.OutcomeCreated] != 1 || count[searchindex.OutcomeCreated]+count[searchindex.OutcomeUpdated]+count[searchindex.OutcomeSkippedOlder] != n {
		t.Errorf("outcomes %v", count)
	}
	// Every write that said it landed is one version of the document.
	st, out := tw.call("GET", "/images/_doc/"+id, "")
	if v, _ := out["_version"].(json.Number).Int64(); st != 200 || int(v) != count[searchindex.OutcomeCreated]+count[searchindex.OutcomeUpdated] {
		t.Errorf("_version %v after %v", out["_version"], count)
	}
}

func TestRestartKeepsDocumentsAndSequenceNumbers(t *testing.T) {
	tw := newTwin(t)
	seed(t, tw.ix)
	id := pipeline.DocumentID("images", lighthouse)
	_, before := tw.call("GET", "/images/_doc/"+id, "")
	tw.restart()
	ctx := context.Background()
	res, err := tw.ix.Search(ctx, searchindex.Query{Text: "ligthouse"})
	if err != nil || res.Total != 1 || res.Images[0].Labels[0].Name != "Lighthouse" {
		t.Errorf("after restart: %+v %v", res, err)
	}
	_, after := tw.call("GET", "/images/_doc/"+id, "")
	for _, k := range []string{"_seq_no", "_primary_term", "_version"} {
		if before[k] != after[k] {
			t.Errorf("%s: %v before the restart, %v after", k, before[k], after[k])
		}
	}
	// The next write comes after every earlier one.
	d := doc(lighthouse, "0F", t0, "Lighthouse")
	upsert(t, tw.ix, searchindex.OutcomeUpdated, d)
	_, next := tw.call("GET", "/images/_doc/"+id, "")
	last := int64(0)
	for _, k := range []string{lighthouse, cat, redCar} {
		if k == lighthouse {
			continue
		}
		_, o := tw.call("GET", "/images/_doc/"+pipeline.DocumentID("images", k), "")
		last = max(last, mustInt(t, o["_seq_no"]))
	}
	if s := mustInt(t, next["_seq_no"]); s <= last || s <= mustInt(t, before["_seq_no"]) || mustInt(t, next["_version"]) != 2 {
		t.Errorf("after the restart: _seq_no %d (earlier up to %d), _version %v", s, last, next["_version"])
	}
	if n, _ := tw.ix.Count(ctx); n != 3 {
		t.Errorf("count after restart = %d", n)
	}
}

func mustInt(t *testing.T, v any) int64 {
	t.Helper()
	n, ok := v.(json.Number)
	i, err := n.Int64()
	if !ok || err != nil {
		t.Fatalf("not an integer: %v", v)
	}
	return i
}

func TestDuplicates(t *testing.T) {
	tw := newTwin(t)
	ix := tw.ix
	ctx := context.Background()
	orig := withHash(doc("upload/lighthouse.jpg", "1", t0, "Lighthouse"), "aa", "")
	copy1 := withHash(doc("upload/copy of lighthouse.jpg", "2", t0.Add(time.Minute), "Lighthouse"), "aa", orig.ID)
	copy2 := withHash(doc("upload/again.jpg", "3", t0.Add(2*time.Minute), "Lighthouse"), "aa", orig.ID)
	dog := withHash(doc("upload/dog.jpg", "4", t0.Add(time.Hour), "Dog"), "bb", "")
	upsert(t, ix, searchindex.OutcomeCreated, copy2, dog, orig, copy1)

	group, err := ix.FindByContentHash(ctx, "aa")
	if err != nil || fmt.Sprint(keysOf(group)) != "[upload/lighthouse.jpg upload/copy of lighthouse.jpg upload/again.jpg]" {
		t.Fatalf("group aa: %v %v", keysOf(group), err)
	}
	if g, err := ix.FindByContentHash(ctx, "cc"); len(g) != 0 || err != nil {
		t.Errorf("unknown hash: %v %v", keysOf(g), err)
	}
	if g, err := ix.FindByContentHash(ctx, ""); len(g) != 0 || err != nil {
		t.Errorf("empty hash: %v %v", keysOf(g), err)
	}

	// Search: each image once, the original with its duplicates' keys; totals count originals.
	res, err := ix.Search(ctx, searchindex.Query{Text: "*"})
	if err != nil || res.Total != 2 || fmt.Sprint(keys(res)) != "[upload/dog.jpg upload/lighthouse.jpg]" {
		t.Fatalf("search *: %v total %d %v", keys(res), res.Total, err)
	}
	if got := fmt.Sprint(res.Images[1].AlsoKeys); got != "[upload/copy of lighthouse.jpg upload/again.jpg]" || res.Images[0].AlsoKeys != nil {
		t.Errorf("alsoKeys: %s, dog %v", got, res.Images[0].AlsoKeys)
	}
	res, err = ix.Search(ctx, searchindex.Query{Text: "lighthouse"})
	if err != nil || res.Total != 1 || len(res.Images) != 1 || len(res.Images[0].AlsoKeys) != 2 {
		t.Errorf("search lighthouse: %v total %d %v", keys(res), res.Total, err)
	}
	// Paging counts originals only.
	res, err = ix.Search(ctx, searchindex.Query{Text: "*", From: 1, Size: 1})
	if err != nil || res.Total != 2 || fmt.Sprint(keys(res)) != "[upload/lighthouse.jpg]" || len(res.Images[0].AlsoKeys) != 2 {
		t.Errorf("page 2: %v total %d %v", keys(res), res.Total, err)
	}
	// alsoKeys is never stored.
	if stored, _, _ := ix.Get(ctx, orig.ID); stored.AlsoKeys != nil {
		t.Errorf("alsoKeys stored: %v", stored.AlsoKeys)
	}
	if n, _ := ix.Count(ctx); n != 4 {
		t.Errorf("count = %d, want every document", n)
	}
}

// Reconcile, through the adapter, converges a content group on its earliest document.
func TestReconcile(t *testing.T) {
	tw := newTwin(t)
	ix := tw.ix
	ctx := context.Background()
	a := withHash(doc("upload/a.jpg", "1", t0.Add(time.Minute), "Cat"), "aa", "")
	bb := withHash(doc("upload/b.jpg", "1", t0.Add(2*time.Minute), "Cat"), "aa", "")
	c := withHash(doc("upload/c.jpg", "1", t0.Add(time.Minute), "Cat"), "aa", "") // same time as a: the smaller id wins
	first, second := a, c
	if c.ID < a.ID {
		first, second = c, a
	}
	upsert(t, ix, searchindex.OutcomeCreated, a, bb, c)
	check := func(want map[string]string) {
		t.Helper()
		for id, dup := range want {
			d, ok, err := ix.Get(ctx, id)
			if err != nil || !ok || d.DuplicateOf != dup {
				t.Errorf("%s: duplicateOf %q, want %q (%v %v)", d.Key, d.DuplicateOf, dup, ok, err)
			}
		}
	}
	if orig, n, err := searchindex.Reconcile(ctx, ix, "aa"); err != nil || n != 2 || orig != first.ID {
		t.Fatalf("reconcile: %s %d %v", orig, n, err)
	}
	check(map[string]string{first.ID: "", second.ID: first.ID, bb.ID: first.ID})
	if _, n, err := searchindex.Reconcile(ctx, ix, "aa"); err != nil || n != 0 {
		t.Errorf("second reconcile rewrote %d: %v", n, err)
	}
	if orig, n, err := searchindex.Reconcile(ctx, ix, "aa", first.ID); err != nil || n != 2 || orig != second.ID {
		t.Errorf("promote: %s %d %v", orig, n, err)
	}
	check(map[string]string{second.ID: "", bb.ID: second.ID})
	if err := ix.Delete(ctx, first.ID); err != nil {
		t.Fatal(err)
	}
	res, _ := ix.Search(ctx, searchindex.Query{Text: "cat"})
	if res.Total != 1 || res.Images[0].ID != second.ID || fmt.Sprint(res.Images[0].AlsoKeys) != "[upload/b.jpg]" {
		t.Errorf("after promotion: %v total %d", keys(res), res.Total)
	}
}

// An index made before the duplicate fields existed gains them through the
// adapter's PUT _mapping; as in OpenSearch, documents written before are not
// indexed again, and are found by hash once written again.
func TestOldMappingGainsFields(t *testing.T) {
	tw := newTwin(t)
	ctx := context.Background()
	st, out := tw.call("PUT", "/images", `{"settings":{"index":{"number_of_shards":1}},"mappings":{"dynamic":false,"properties":{
		"id":{"type":"keyword"},"key":{"type":"text"},"uploadedAt":{"type":"date"},"labels":{"properties":{"name":{"type":"text"}}}}}}`)
	if st != 200 || out["acknowledged"] != true {
		t.Fatalf("create: %d %v", st, out)
	}
	a := withHash(doc("upload/a.jpg", "1", t0, "Cat"), "aa", "")
	raw, _ := json.Marshal(a)
	if st, out := tw.call("PUT", "/images/_doc/"+a.ID+"?refresh=wait_for", string(raw)); st != 201 {
		t.Fatalf("old write: %d %v", st, out)
	}
	b := withHash(doc("upload/b.jpg", "1", t0.Add(time.Minute), "Cat"), "aa", "")
	upsert(t, tw.ix, searchindex.OutcomeCreated, b)
	if g, err := tw.ix.FindByContentHash(ctx, "aa"); err != nil || fmt.Sprint(keysOf(g)) != "[upload/b.jpg]" {
		t.Errorf("after the mapping update: %v %v", keysOf(g), err)
	}
	upsert(t, tw.ix, searchindex.OutcomeUpdated, a)
	if g, err := tw.ix.FindByContentHash(ctx, "aa"); err != nil || fmt.Sprint(keysOf(g)) != "[upload/a.jpg upload/b.jpg]" {
		t.Errorf("after writing a again: %v %v", keysOf(g), err)
	}
	if st, out := tw.call("GET", "/images/_doc/"+a.ID, ""); st != 200 || mustInt(t, out["_version"]) != 2 {
		t.Errorf("a: %d %v", st, out)
	}
}

// The search's filters and date sorts, as the adapter sends them, against the twin.
func TestSearchFilters(t *testing.T) {
	tw := newTwin(t)
	seed(t, tw.ix)
	load := doc("upload/load/run1/0001.jpg", "0D", t0.Add(3*time.Hour), "Cat")
	load.TakenAt = "2019-01-01T00:00:00Z"
	load.Location = &pipeline.Location{Lat: 1, Lon: 2}
	upsert(t, tw.ix, searchindex.OutcomeCreated, load)
	ctx := context.Background()
	for _, tc := range []struct {
		q    searchindex.Query
		want []string
	}{
		{searchindex.Query{Load: searchindex.LoadExclude}, []string{redCar, cat, lighthouse}},
		{searchindex.Query{Load: searchindex.LoadOnly}, []string{load.Key}},
		{searchindex.Query{Text: "cat", Load: searchindex.LoadExclude}, []string{cat, redCar}}, // car: one edit from cat
		{searchindex.Query{Label: "Cat"}, []string{load.Key, cat}},
		{searchindex.Query{Camera: "Nokia 8.3 5G"}, []string{redCar}},
		{searchindex.Query{HasLocation: true}, []string{load.Key}},
		{searchindex.Query{Sort: searchindex.SortTaken}, []string{load.Key, redCar, cat, lighthouse}},     // undated last, newest upload first
		{searchindex.Query{Text: "cat", Sort: searchindex.SortUploaded}, []string{load.Key, redCar, cat}}, // newest upload, not the best match, first
	} {
		tc.q.Size = 10
		res, err := tw.ix.Search(ctx, tc.q)
		if err != nil {
			t.Fatalf("%+v: %v", tc.q, err)
		}
		if fmt.Sprint(keys(res)) != fmt.Sprint(tc.want) {
			t.Errorf("%+v: got %v, want %v", tc.q, keys(res), tc.want)
		}
	}
}

// The date-taken range as the adapter sends it, against the twin and against the
// in-memory fake the API's tests use: both answer the same.
func TestSearchTakenRange(t *testing.T) {
	tw := newTwin(t)
	fake := searchindextest.New()
	var docs []pipeline.Document
	for i, taken := range []string{"2021-07-14T00:00:00Z", "2021-07-14T23:59:59Z", "2021-07-15T00:00:00Z", "2021-07-15T01:30:00+02:00", "2021-07-13T23:59:59.999Z", ""} {
		d := doc(fmt.Sprintf("upload/%d.jpg", i), "0A", t0.Add(time.Duration(-i)*time.Minute), "Cat")
		d.TakenAt = taken
		docs = append(docs, d)
	}
	upsert(t, tw.ix, searchindex.OutcomeCreated, docs...)
	upsert(t, fake, searchindex.OutcomeCreated, docs...)
	day := func(s string) time.Time {
		d, err := time.Parse(searchindex.DayLayout, s)
		if err != nil {
			t.Fatal(err)
		}
		return d
	}
	ctx := context.Background()
	for _, tc := range []struct {
		q    searchindex.Query
		want string
	}{
		{searchindex.Query{}, "[upload/0.jpg upload/1.jpg upload/2.jpg upload/3.jpg upload/4.jpg upload/5.jpg]"},
		{searchindex.Query{TakenFrom: day("2021-07-14"), TakenTo: day("2021-07-14")}, "[upload/0.jpg upload/1.jpg upload/3.jpg]"}, // 3: 23:30 the 14th in UTC
		{searchindex.Query{TakenFrom: day("2021-07-15")}, "[upload/2.jpg]"},
		{searchindex.Query{TakenTo: day("2021-07-13")}, "[upload/4.jpg]"},
		{searchindex.Query{TakenFrom: day("2021-07-16")}, "[]"},
		{searchindex.Query{Text: "cat", TakenFrom: day("2021-07-13"), TakenTo: day("2021-07-15"), Sort: searchindex.SortTaken}, "[upload/2.jpg upload/1.jpg upload/3.jpg upload/0.jpg upload/4.jpg]"},
	} {
		tc.q.Size = 10
		for name, ix := range map[string]searchindex.Index{"twin": tw.ix, "fake": fake} {
			res, err := ix.Search(ctx, tc.q)
			if got := fmt.Sprint(keys(res)); err != nil || got != tc.want || res.Total != int64(len(res.Images)) {
				t.Errorf("%s %+v: %s (total %d) %v, want %s", name, tc.q, got, res.Total, err, tc.want)
			}
		}
	}
}
