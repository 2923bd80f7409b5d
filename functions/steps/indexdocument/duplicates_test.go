package indexdocument

import (
	"context"
	"encoding/json"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/lambda"

	"github.com/imagepipe/imagepipe/functions/pipeline"
	"github.com/imagepipe/imagepipe/functions/searchindex"
	"github.com/imagepipe/imagepipe/functions/searchindex/searchindextest"
)

// input is the fixture's index input for another key, upload time, sequencer and hash.
func input(t *testing.T, key string, uploaded time.Time, seq, hash string) []byte {
	t.Helper()
	var in pipeline.IndexInput
	if err := json.Unmarshal(fixture(t, "index-document-input.json"), &in); err != nil {
		t.Fatal(err)
	}
	in.Event.Detail.Object.Key = key
	in.Event.Detail.Object.Sequencer = seq
	in.Event.Time = uploaded
	in.Thumbnail.Key = pipeline.ThumbnailKey(key)
	in.Thumbnail.PreviewKey = pipeline.PreviewKey(key)
	in.Thumbnail.ContentSHA256 = hash
	raw, err := json.Marshal(in)
	if err != nil {
		t.Fatal(err)
	}
	return raw
}

func openIndex(t *testing.T) *searchindextest.Memory {
	t.Helper()
	return searchindextest.New()
}

func invoke(t *testing.T, h lambda.Handler, payload []byte) pipeline.IndexResult {
	t.Helper()
	out, err := h.Invoke(context.Background(), payload)
	if err != nil {
		t.Fatal(err)
	}
	var r pipeline.IndexResult
	if err := json.Unmarshal(out, &r); err != nil {
		t.Fatal(err)
	}
	return r
}

func duplicateOf(t *testing.T, ix searchindex.Index, key string) string {
	t.Helper()
	d, ok, err := ix.Get(context.Background(), pipeline.DocumentID("images", key))
	if err != nil || !ok {
		t.Fatalf("%s: %v %v", key, ok, err)
	}
	return d.DuplicateOf
}

var t0 = time.Date(2024, 5, 1, 12, 0, 0, 0, time.UTC)

func TestDuplicateInOrder(t *testing.T) {
	ix := openIndex(t)
	h := lambda.NewHandler(Handler{Index: ix}.Handle)
	first := input(t, "upload/a.jpg", t0, "01", "feed")
	second := input(t, "upload/copy/a.jpg", t0.Add(time.Minute), "02", "feed")
	idA := pipeline.DocumentID("images", "upload/a.jpg")

	if r := invoke(t, h, first); r.Outcome != "created" || r.DuplicateOf != "" {
		t.Errorf("first: %+v", r)
	}
	for _, want := range []string{"created", "updated"} { // the same event twice: idempotent
		out, err := h.Invoke(context.Background(), second)
		if err != nil {
			t.Fatal(err)
		}
		id := pipeline.DocumentID("images", "upload/copy/a.jpg")
		if string(out) != `{"id":"`+id+`","outcome":"`+want+`","duplicateOf":"`+idA+`"}` {
			t.Errorf("second (%s): %s", want, out)
		}
	}
	if r := invoke(t, h, first); r.Outcome != "updated" || r.DuplicateOf != "" {
		t.Errorf("first again: %+v", r)
	}
	if got := duplicateOf(t, ix, "upload/copy/a.jpg"); got != idA {
		t.Errorf("copy: duplicateOf %q", got)
	}
	if got := duplicateOf(t, ix, "upload/a.jpg"); got != "" {
		t.Errorf("original points at %q", got)
	}
	res, err := ix.Search(context.Background(), searchindex.Query{Text: "lighthouse"})
	if err != nil || res.Total != 1 || fmt.Sprint(res.Images[0].AlsoKeys) != "[upload/copy/a.jpg]" {
		t.Errorf("search: %+v %v", res, err)
	}
	if n, _ := ix.Count(context.Background()); n != 2 {
		t.Errorf("count %d", n)
	}
}

// The later upload is indexed first (executions finish out of order): when the
// earlier one arrives it becomes the original and the later one is re-pointed.
func TestDuplicateOutOfOrder(t *testing.T) {
	ix := openIndex(t)
	h := lambda.NewHandler(Handler{Index: ix}.Handle)
	earlyKey, lateKey := "upload/early.jpg", "upload/late.jpg"
	early := input(t, earlyKey, t0, "01", "feed")
	late := input(t, lateKey, t0.Add(time.Hour), "02", "feed")
	if r := invoke(t, h, late); r.DuplicateOf != "" {
		t.Errorf("late alone: %+v", r)
	}
	if r := invoke(t, h, early); r.DuplicateOf != "" {
		t.Errorf("early: %+v", r)
	}
	if got := duplicateOf(t, ix, lateKey); got != pipeline.DocumentID("images", earlyKey) {
		t.Errorf("late: duplicateOf %q", got)
	}
	if got := duplicateOf(t, ix, earlyKey); got != "" {
		t.Errorf("the earliest points at a later one: %q", got)
	}
}

// A key re-uploaded with other bytes leaves its group: the copy becomes the original.
func TestReuploadOtherBytes(t *testing.T) {
	ix := openIndex(t)
	h := lambda.NewHandler(Handler{Index: ix}.Handle)
	invoke(t, h, input(t, "upload/a.jpg", t0, "01", "feed"))
	invoke(t, h, input(t, "upload/b.jpg", t0.Add(time.Minute), "01", "feed"))
	if r := invoke(t, h, input(t, "upload/a.jpg", t0.Add(time.Hour), "05", "beef")); r.DuplicateOf != "" || r.Outcome != "updated" {
		t.Errorf("re-upload: %+v", r)
	}
	if got := duplicateOf(t, ix, "upload/b.jpg"); got != "" {
		t.Errorf("b still points at %q", got)
	}
	res, _ := ix.Search(context.Background(), searchindex.Query{Text: "*"})
	if res.Total != 2 || len(res.Images[0].AlsoKeys)+len(res.Images[1].AlsoKeys) != 0 {
		t.Errorf("search: %+v", res)
	}
	// An older event for b's key (a stale re-delivery) changes nothing.
	if r := invoke(t, h, input(t, "upload/b.jpg", t0.Add(time.Minute), "00", "feed")); r.Outcome != "skipped-older" {
		t.Errorf("older: %+v", r)
	}
}

// Many copies indexed at once converge on one original, whatever the interleaving.
func TestDuplicatesConcurrent(t *testing.T) {
	ix := openIndex(t)
	h := lambda.NewHandler(Handler{Index: ix}.Handle)
	const n = 12
	var wg sync.WaitGroup
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			key := fmt.Sprintf("upload/copy-%02d.jpg", i)
			if _, err := h.Invoke(context.Background(), input(t, key, t0.Add(time.Duration(i)*time.Second), "01", "feed")); err != nil {
				t.Error(err)
			}
		}()
	}
	wg.Wait()
	orig := pipeline.DocumentID("images", "upload/copy-00.jpg")
	for i := range n {
		key := fmt.Sprintf("upload/copy-%02d.jpg", i)
		want := orig
		if i == 0 {
			want = ""
		}
		if got := duplicateOf(t, ix, key); got != want {
			t.Errorf("%s: duplicateOf %q, want %q", key, got, want)
		}
	}
	res, err := ix.Search(context.Background(), searchindex.Query{Text: "*"})
	if err != nil || res.Total != 1 || len(res.Images[0].AlsoKeys) != n-1 || res.Images[0].AlsoKeys[0] != "upload/copy-01.jpg" {
		t.Errorf("search: total %d, %v", res.Total, res.Images)
	}
}
