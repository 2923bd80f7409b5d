package removedocument

import (
	"context"
	"encoding/json"
	"fmt"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/lambda"

	"github.com/imagepipe/imagepipe/functions/objects"
	"github.com/imagepipe/imagepipe/functions/pipeline"
	"github.com/imagepipe/imagepipe/functions/searchindex"
	"github.com/imagepipe/imagepipe/functions/searchindex/searchindextest"
)

func deleteEvent(t *testing.T, key string) []byte {
	t.Helper()
	var ev pipeline.ObjectEvent
	if err := json.Unmarshal(fixture(t, "remove-document-event.json"), &ev); err != nil {
		t.Fatal(err)
	}
	ev.Detail.Object.Key = key
	raw, err := json.Marshal(ev)
	if err != nil {
		t.Fatal(err)
	}
	return raw
}

// Deleting the original of copies promotes the earliest remaining copy, re-points the
// others, and removes only the original's own thumbnail and preview.
func TestRemoveOriginalPromotesCopy(t *testing.T) {
	ix := searchindextest.New()
	ctx := context.Background()
	t0 := time.Date(2024, 5, 1, 12, 0, 0, 0, time.UTC)
	keys := []string{"upload/a.jpg", "upload/b.jpg", "upload/c.jpg"}
	ids := map[string]string{}
	for i, k := range keys {
		ids[k] = pipeline.DocumentID("images", k)
		d := pipeline.Document{ID: ids[k], Bucket: "images", Key: k, Sequencer: "00617F0829", ContentHash: "feed",
			Thumbnail: pipeline.ThumbnailKey(k), Preview: pipeline.PreviewKey(k), UploadedAt: t0.Add(time.Duration(i) * time.Minute),
			Labels: []pipeline.Label{{Name: "Lighthouse", Confidence: 90}}}
		if i > 0 {
			d.DuplicateOf = ids[keys[0]]
		}
		if _, err := ix.Upsert(ctx, d); err != nil {
			t.Fatal(err)
		}
	}
	s3 := &deletes{}
	h := lambda.NewHandler(Handler{Index: ix, Store: objects.Store{S3: s3}}.Handle)
	dupOf := func(k string) string {
		t.Helper()
		d, ok, err := ix.Get(ctx, ids[k])
		if !ok || err != nil {
			t.Fatalf("%s: %v %v", k, ok, err)
		}
		return d.DuplicateOf
	}

	out, err := h.Invoke(ctx, deleteEvent(t, "upload/a.jpg"))
	if err != nil {
		t.Fatal(err)
	}
	var res Result
	_ = json.Unmarshal(out, &res)
	if res.Outcome != OutcomeDeleted || res.Promoted != ids["upload/b.jpg"] {
		t.Errorf("result: %s", out)
	}
	if fmt.Sprint(s3.keys) != "[images/thumbnail/a.jpg images/preview/a.jpg]" {
		t.Errorf("deleted objects: %v", s3.keys)
	}
	if dupOf("upload/b.jpg") != "" || dupOf("upload/c.jpg") != ids["upload/b.jpg"] {
		t.Errorf("after delete: b→%q c→%q", dupOf("upload/b.jpg"), dupOf("upload/c.jpg"))
	}
	sr, err := ix.Search(ctx, searchindex.Query{Text: "lighthouse"})
	if err != nil || sr.Total != 1 || sr.Images[0].Key != "upload/b.jpg" || fmt.Sprint(sr.Images[0].AlsoKeys) != "[upload/c.jpg]" {
		t.Errorf("search: %+v %v", sr, err)
	}

	// A redelivered delete finds nothing and changes nothing.
	out, err = h.Invoke(ctx, deleteEvent(t, "upload/a.jpg"))
	res = Result{}
	_ = json.Unmarshal(out, &res)
	if err != nil || res.Outcome != OutcomeAbsent || res.Promoted != "" {
		t.Errorf("again: %s %v", out, err)
	}

	// Deleting a copy promotes nobody; the original loses that key from alsoKeys.
	out, err = h.Invoke(ctx, deleteEvent(t, "upload/c.jpg"))
	res = Result{}
	_ = json.Unmarshal(out, &res)
	if err != nil || res.Outcome != OutcomeDeleted || res.Promoted != "" {
		t.Errorf("copy: %s %v", out, err)
	}
	sr, _ = ix.Search(ctx, searchindex.Query{Text: "*"})
	if sr.Total != 1 || sr.Images[0].Key != "upload/b.jpg" || sr.Images[0].AlsoKeys != nil {
		t.Errorf("search after copy removed: %+v", sr)
	}
}
