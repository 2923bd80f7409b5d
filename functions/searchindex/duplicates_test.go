package searchindex

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/blevesearch/bleve/v2"
	"github.com/blevesearch/bleve/v2/mapping"

	"github.com/imagepipe/imagepipe/functions/pipeline"
)

func withHash(d pipeline.Document, hash, dupOf string) pipeline.Document {
	d.ContentHash, d.DuplicateOf = hash, dupOf
	return d
}

func TestBleveDuplicates(t *testing.T) {
	b, _ := openTemp(t)
	defer b.Close()
	ctx := context.Background()
	orig := withHash(doc("upload/lighthouse.jpg", "1", t0, "Lighthouse"), "aa", "")
	copy1 := withHash(doc("upload/copy of lighthouse.jpg", "2", t0.Add(time.Minute), "Lighthouse"), "aa", orig.ID)
	copy2 := withHash(doc("upload/again.jpg", "3", t0.Add(2*time.Minute), "Lighthouse"), "aa", orig.ID)
	cat := withHash(doc("upload/cat.jpg", "4", t0.Add(time.Hour), "Cat"), "bb", "")
	for _, d := range []pipeline.Document{copy2, cat, orig, copy1} {
		if _, err := b.Upsert(ctx, d); err != nil {
			t.Fatal(err)
		}
	}

	group, err := b.FindByContentHash(ctx, "aa")
	if err != nil || fmt.Sprint(keysOf(group)) != "[upload/lighthouse.jpg upload/copy of lighthouse.jpg upload/again.jpg]" {
		t.Fatalf("group aa: %v %v", keysOf(group), err)
	}
	if g, err := b.FindByContentHash(ctx, "cc"); len(g) != 0 || err != nil {
		t.Errorf("unknown hash: %v %v", keysOf(g), err)
	}
	if g, err := b.FindByContentHash(ctx, ""); len(g) != 0 || err != nil {
		t.Errorf("empty hash: %v %v", keysOf(g), err)
	}

	// Search: each image once, the original with its duplicates' keys; totals count originals.
	res, err := b.Search(ctx, Query{Text: "*"})
	if err != nil || res.Total != 2 || fmt.Sprint(keys(res)) != "[upload/cat.jpg upload/lighthouse.jpg]" {
		t.Fatalf("search *: %v total %d %v", keys(res), res.Total, err)
	}
	if got := fmt.Sprint(res.Images[1].AlsoKeys); got != "[upload/copy of lighthouse.jpg upload/again.jpg]" || res.Images[0].AlsoKeys != nil {
		t.Errorf("alsoKeys: %s, cat %v", got, res.Images[0].AlsoKeys)
	}
	res, err = b.Search(ctx, Query{Text: "lighthouse"})
	if err != nil || res.Total != 1 || len(res.Images) != 1 || len(res.Images[0].AlsoKeys) != 2 {
		t.Errorf("search lighthouse: %v total %d %v", keys(res), res.Total, err)
	}
	// Paging counts originals only.
	res, err = b.Search(ctx, Query{Text: "*", From: 1, Size: 1})
	if err != nil || res.Total != 2 || fmt.Sprint(keys(res)) != "[upload/lighthouse.jpg]" || len(res.Images[0].AlsoKeys) != 2 {
		t.Errorf("page 2: %v total %d %v", keys(res), res.Total, err)
	}
	// alsoKeys is never stored.
	stored, _, _ := b.Get(ctx, orig.ID)
	if stored.AlsoKeys != nil {
		t.Errorf("alsoKeys stored: %v", stored.AlsoKeys)
	}
	if n, _ := b.Count(ctx); n != 4 {
		t.Errorf("count = %d, want every document", n)
	}
}

func TestReconcile(t *testing.T) {
	b, _ := openTemp(t)
	defer b.Close()
	ctx := context.Background()
	a := withHash(doc("upload/a.jpg", "1", t0.Add(time.Minute), "Cat"), "aa", "")
	bb := withHash(doc("upload/b.jpg", "1", t0.Add(2*time.Minute), "Cat"), "aa", "")
	// Same upload time as a: the smaller id wins.
	c := withHash(doc("upload/c.jpg", "1", t0.Add(time.Minute), "Cat"), "aa", "")
	first, second := a, c
	if c.ID < a.ID {
		first, second = c, a
	}
	for _, d := range []pipeline.Document{a, bb, c} {
		if _, err := b.Upsert(ctx, d); err != nil {
			t.Fatal(err)
		}
	}
	check := func(want map[string]string) {
		t.Helper()
		for id, dup := range want {
			d, ok, err := b.Get(ctx, id)
			if err != nil || !ok || d.DuplicateOf != dup {
				t.Errorf("%s: duplicateOf %q, want %q (%v %v)", d.Key, d.DuplicateOf, dup, ok, err)
			}
		}
	}
	orig, n, err := Reconcile(ctx, b, "aa")
	if err != nil || n != 2 || orig != first.ID {
		t.Fatalf("reconcile: %s %d %v", orig, n, err)
	}
	check(map[string]string{first.ID: "", second.ID: first.ID, bb.ID: first.ID})
	if _, n, err := Reconcile(ctx, b, "aa"); err != nil || n != 0 { // idempotent
		t.Errorf("second reconcile rewrote %d: %v", n, err)
	}
	// The original goes: the earliest remaining one is promoted, the rest re-pointed.
	if orig, n, err := Reconcile(ctx, b, "aa", first.ID); err != nil || n != 2 || orig != second.ID {
		t.Errorf("promote: %s %d %v", orig, n, err)
	}
	check(map[string]string{second.ID: "", bb.ID: second.ID})
	if err := b.Delete(ctx, first.ID); err != nil {
		t.Fatal(err)
	}
	res, _ := b.Search(ctx, Query{Text: "cat"})
	if res.Total != 1 || res.Images[0].ID != second.ID || fmt.Sprint(res.Images[0].AlsoKeys) != "[upload/b.jpg]" {
		t.Errorf("after promotion: %v total %d alsoKeys %v", keys(res), res.Total, res.Images[0].AlsoKeys)
	}
	if orig, n, err := Reconcile(ctx, b, ""); orig != "" || n != 0 || err != nil {
		t.Errorf("empty hash: %d %v", n, err)
	}
}

func TestDuplicateOf(t *testing.T) {
	a := doc("upload/a.jpg", "1", t0)
	later := doc("upload/z.jpg", "1", t0.Add(time.Second))
	if got := DuplicateOf(later, []pipeline.Document{a, later}); got != a.ID {
		t.Errorf("later: %q", got)
	}
	if got := DuplicateOf(a, []pipeline.Document{later}); got != "" {
		t.Errorf("earliest points at %q", got)
	}
	// A stored older version of d itself is not another document.
	old := a
	old.UploadedAt = t0.Add(-time.Hour)
	if got := DuplicateOf(a, []pipeline.Document{old}); got != "" {
		t.Errorf("self: %q", got)
	}
	// Only the same content counts, whatever a backend returns.
	other := doc("upload/0.jpg", "1", t0.Add(-time.Hour))
	other.ContentHash = "elsewhere"
	if got := DuplicateOf(later, []pipeline.Document{other}); got != "" {
		t.Errorf("other content: %q", got)
	}
}

// An index made before the duplicate fields existed is rebuilt on open, keeping
// every document, and then finds duplicates.
func TestBleveRebuildsOldMapping(t *testing.T) {
	path := filepath.Join(t.TempDir(), "index.bleve")
	im := bleveMapping().(*mapping.IndexMappingImpl)
	for _, f := range []string{fieldContentHash, fieldDuplicateOf, fieldDuplicate} {
		delete(im.DefaultMapping.Properties, f)
	}
	idx, err := bleve.New(path, im)
	if err != nil {
		t.Fatal(err)
	}
	old := &Bleve{idx: idx}
	ctx := context.Background()
	a := withHash(doc("upload/a.jpg", "1", t0, "Cat"), "aa", "")
	c := withHash(doc("upload/c.jpg", "1", t0.Add(time.Minute), "Cat"), "aa", a.ID)
	for _, d := range []pipeline.Document{a, c, doc("upload/dog.jpg", "1", t0, "Dog")} {
		if _, err := old.Upsert(ctx, d); err != nil {
			t.Fatal(err)
		}
	}
	if g, _ := old.FindByContentHash(ctx, "aa"); len(g) != 0 {
		t.Fatalf("old mapping indexes the hash: %v", keysOf(g))
	}
	old.Close()

	b, err := OpenBleve(path)
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	if n, _ := b.Count(ctx); n != 3 {
		t.Errorf("count after rebuild = %d", n)
	}
	if g, err := b.FindByContentHash(ctx, "aa"); err != nil || fmt.Sprint(keysOf(g)) != "[upload/a.jpg upload/c.jpg]" {
		t.Errorf("after rebuild: %v %v", keysOf(g), err)
	}
	res, _ := b.Search(ctx, Query{Text: "*"})
	if res.Total != 2 {
		t.Errorf("search after rebuild: %v", keys(res))
	}
	if _, err := os.Stat(path + ".old"); !os.IsNotExist(err) {
		t.Errorf("backup left behind: %v", err)
	}
}
