package searchindextest

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/imagepipe/imagepipe/functions/pipeline"
	"github.com/imagepipe/imagepipe/functions/searchindex"
)

var t0 = time.Date(2024, 5, 1, 12, 0, 0, 0, time.UTC)

func doc(key, seq string, uploaded time.Time, labels ...string) pipeline.Document {
	d := pipeline.Document{ID: pipeline.DocumentID("images", key), Bucket: "images", Key: key, Sequencer: seq, Format: "jpeg", UploadedAt: uploaded}
	for _, l := range labels {
		d.Labels = append(d.Labels, pipeline.Label{Name: l, Confidence: 90})
	}
	return d
}

func keys(r searchindex.Result) []string {
	var k []string
	for _, d := range r.Images {
		k = append(k, d.Key)
	}
	return k
}

func TestSequencerGuard(t *testing.T) {
	m := New()
	ctx := context.Background()
	newer := doc("upload/x.jpg", "00000062C0FFEE1", t0, "Dog")
	older := doc("upload/x.jpg", "62C0FFEE0", t0, "Cat") // shorter hex: left-padded before comparing
	for _, step := range []struct {
		d    pipeline.Document
		want string
	}{{newer, searchindex.OutcomeCreated}, {older, searchindex.OutcomeSkippedOlder}, {newer, searchindex.OutcomeUpdated}} {
		if got, err := m.Upsert(ctx, step.d); err != nil || got != step.want {
			t.Fatalf("upsert %s: %q %v, want %q", step.d.Sequencer, got, err, step.want)
		}
	}
	got, ok, err := m.Get(ctx, newer.ID)
	if err != nil || !ok || got.Labels[0].Name != "Dog" {
		t.Fatalf("get: %+v %v %v", got, ok, err)
	}
	got.Labels[0].Name = "changed by the caller"
	if again, _, _ := m.Get(ctx, newer.ID); again.Labels[0].Name != "Dog" {
		t.Error("a caller's change reached the store")
	}
	for range 2 { // deleting a missing document succeeds
		if err := m.Delete(ctx, newer.ID); err != nil {
			t.Fatal(err)
		}
	}
	if _, ok, _ := m.Get(ctx, newer.ID); ok {
		t.Error("still there after delete")
	}
}

func TestSearch(t *testing.T) {
	m := New()
	ctx := context.Background()
	orig := doc("upload/lighthouse.jpg", "1", t0, "Lighthouse")
	orig.ContentHash = "aa"
	dup := doc("upload/copy.jpg", "1", t0.Add(time.Minute), "Lighthouse")
	dup.ContentHash, dup.DuplicateOf = "aa", orig.ID
	cat := doc("upload/cat.png", "1", t0.Add(time.Hour), "Cat")
	cat.Camera = &pipeline.Camera{Make: "HMD Global", Model: "Nokia 8.3 5G"}
	for _, d := range []pipeline.Document{dup, cat, orig} {
		if _, err := m.Upsert(ctx, d); err != nil {
			t.Fatal(err)
		}
	}
	for q, want := range map[string]string{
		"ligthouse":      "[upload/lighthouse.jpg]", // a typo
		"light":          "[upload/lighthouse.jpg]", // a prefix
		"nokia":          "[upload/cat.png]",
		"cat lighthouse": "[upload/cat.png upload/lighthouse.jpg]", // any word, as OpenSearch's query
		"zebra":          "[]",
		"*":              "[upload/cat.png upload/lighthouse.jpg]",
	} {
		res, err := m.Search(ctx, searchindex.Query{Text: q})
		if got := fmt.Sprint(keys(res)); err != nil || got != want || res.Total != int64(len(res.Images)) {
			t.Errorf("%q: %s total %d %v, want %s", q, got, res.Total, err, want)
		}
	}
	res, _ := m.Search(ctx, searchindex.Query{Text: "*", From: 1, Size: 1})
	if res.Total != 2 || fmt.Sprint(keys(res)) != "[upload/lighthouse.jpg]" || fmt.Sprint(res.Images[0].AlsoKeys) != "[upload/copy.jpg]" {
		t.Errorf("page 2: %v total %d alsoKeys %v", keys(res), res.Total, res.Images)
	}
	if n, _ := m.Count(ctx); n != 3 {
		t.Errorf("count %d, want every document", n)
	}
	group, _ := m.FindByContentHash(ctx, "aa")
	if len(group) != 2 || group[0].ID != orig.ID || group[1].ID != dup.ID {
		t.Errorf("group: %+v", group)
	}
	if g, _ := m.FindByContentHash(ctx, ""); g != nil {
		t.Errorf("empty hash: %+v", g)
	}
}

func TestDistance(t *testing.T) {
	for _, tc := range []struct {
		a, b string
		want int
	}{{"ligthouse", "lighthouse", 1}, {"ab", "ba", 1}, {"", "abc", 3}, {"kitten", "sitting", 3}, {"日本", "日本", 0}} {
		if got := distance(tc.a, tc.b); got != tc.want {
			t.Errorf("distance(%q, %q) = %d, want %d", tc.a, tc.b, got, tc.want)
		}
	}
}

// The date-taken range: UTC days, both ends inclusive, undated images outside it.
func TestSearchTakenRange(t *testing.T) {
	m := New()
	ctx := context.Background()
	for i, taken := range []string{"2021-07-14T00:00:00Z", "2021-07-14T23:59:59.999Z", "2021-07-15T00:00:00Z", "2021-07-15T01:30:00+02:00", ""} {
		d := doc(fmt.Sprintf("upload/%d.jpg", i), "1", t0.Add(time.Duration(-i)*time.Minute), "Cat")
		d.TakenAt = taken
		if _, err := m.Upsert(ctx, d); err != nil {
			t.Fatal(err)
		}
	}
	day := func(s string) time.Time {
		t.Helper()
		d, err := time.Parse(searchindex.DayLayout, s)
		if err != nil {
			t.Fatal(err)
		}
		return d
	}
	for _, tc := range []struct {
		from, to string
		want     string
	}{
		{"", "", "[upload/0.jpg upload/1.jpg upload/2.jpg upload/3.jpg upload/4.jpg]"},
		{"2021-07-14", "2021-07-14", "[upload/0.jpg upload/1.jpg upload/3.jpg]"}, // 3: 23:30 the 14th in UTC
		{"2021-07-15", "", "[upload/2.jpg]"},
		{"", "2021-07-13", "[]"},
		{"2021-07-13", "2021-07-15", "[upload/0.jpg upload/1.jpg upload/2.jpg upload/3.jpg]"},
	} {
		q := searchindex.Query{}
		if tc.from != "" {
			q.TakenFrom = day(tc.from)
		}
		if tc.to != "" {
			q.TakenTo = day(tc.to)
		}
		res, err := m.Search(ctx, q)
		if got := fmt.Sprint(keys(res)); err != nil || got != tc.want {
			t.Errorf("%s..%s: %s %v, want %s", tc.from, tc.to, got, err, tc.want)
		}
	}
}
