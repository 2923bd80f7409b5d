package searchindex_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/imagepipe/imagepipe/functions/pipeline"
	"github.com/imagepipe/imagepipe/functions/searchindex"
	"github.com/imagepipe/imagepipe/functions/searchindex/searchindextest"
)

func cat(key string, uploaded time.Time) pipeline.Document {
	return pipeline.Document{
		ID: pipeline.DocumentID("images", key), Bucket: "images", Key: key, Sequencer: "1",
		Format: "jpeg", ContentHash: "aa", UploadedAt: uploaded,
		Labels: []pipeline.Label{{Name: "Cat", Confidence: 90}},
	}
}

func TestReconcile(t *testing.T) {
	ix := searchindextest.New()
	ctx := context.Background()
	t0 := time.Date(2024, 5, 1, 12, 0, 0, 0, time.UTC)
	a := cat("upload/a.jpg", t0.Add(time.Minute))
	bb := cat("upload/b.jpg", t0.Add(2*time.Minute))
	// Same upload time as a: the smaller id wins.
	c := cat("upload/c.jpg", t0.Add(time.Minute))
	first, second := a, c
	if c.ID < a.ID {
		first, second = c, a
	}
	for _, d := range []pipeline.Document{a, bb, c} {
		if _, err := ix.Upsert(ctx, d); err != nil {
			t.Fatal(err)
		}
	}
	check := func(want map[string]string) {
		t.Helper()
		for id, dup := range want {
			d, ok, err := ix.Get(ctx, id)
			if err != nil || !ok || d.DuplicateOf != dup {
				t.Errorf("%s: duplicateOf %q, want %q (%v %v)", d.Key, d.DuplicateOf, dup, ok, err)
			}
		}
	}
	orig, n, err := searchindex.Reconcile(ctx, ix, "aa")
	if err != nil || n != 2 || orig != first.ID {
		t.Fatalf("reconcile: %s %d %v", orig, n, err)
	}
	check(map[string]string{first.ID: "", second.ID: first.ID, bb.ID: first.ID})
	if _, n, err := searchindex.Reconcile(ctx, ix, "aa"); err != nil || n != 0 { // idempotent
		t.Errorf("second reconcile rewrote %d: %v", n, err)
	}
	// The original goes: the earliest remaining one is promoted, the rest re-pointed.
	if orig, n, err := searchindex.Reconcile(ctx, ix, "aa", first.ID); err != nil || n != 2 || orig != second.ID {
		t.Errorf("promote: %s %d %v", orig, n, err)
	}
	check(map[string]string{second.ID: "", bb.ID: second.ID})
	if err := ix.Delete(ctx, first.ID); err != nil {
		t.Fatal(err)
	}
	res, _ := ix.Search(ctx, searchindex.Query{Text: "cat"})
	if res.Total != 1 || res.Images[0].ID != second.ID || fmt.Sprint(res.Images[0].AlsoKeys) != "[upload/b.jpg]" {
		t.Errorf("after promotion: total %d %+v", res.Total, res.Images)
	}
	if orig, n, err := searchindex.Reconcile(ctx, ix, ""); orig != "" || n != 0 || err != nil {
		t.Errorf("empty hash: %d %v", n, err)
	}
}
