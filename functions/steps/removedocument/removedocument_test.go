package removedocument

import (
	"context"
	"encoding/json"
	"os"
	"sort"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/lambda"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/imagepipe/imagepipe/functions/objects"
	"github.com/imagepipe/imagepipe/functions/pipeline"
	"github.com/imagepipe/imagepipe/functions/searchindex/searchindextest"
)

func fixture(t *testing.T, name string) []byte {
	t.Helper()
	b, err := os.ReadFile("../../testdata/" + name)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// deletes records DeleteObject calls.
type deletes struct {
	mu   sync.Mutex
	keys []string
}

func (d *deletes) GetObject(context.Context, *s3.GetObjectInput, ...func(*s3.Options)) (*s3.GetObjectOutput, error) {
	panic("not used")
}
func (d *deletes) PutObject(context.Context, *s3.PutObjectInput, ...func(*s3.Options)) (*s3.PutObjectOutput, error) {
	panic("not used")
}
func (d *deletes) DeleteObject(_ context.Context, in *s3.DeleteObjectInput, _ ...func(*s3.Options)) (*s3.DeleteObjectOutput, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.keys = append(d.keys, aws.ToString(in.Bucket)+"/"+aws.ToString(in.Key))
	return &s3.DeleteObjectOutput{}, nil
}

func TestHandle(t *testing.T) {
	ix := searchindextest.New()
	ctx := context.Background()
	key := "upload/2024/IMG_0200.jpg"
	id := pipeline.DocumentID("images", key)
	put := func(seq string) {
		t.Helper()
		_, err := ix.Upsert(ctx, pipeline.Document{ID: id, Bucket: "images", Key: key, Sequencer: seq,
			Thumbnail: "thumbnail/2024/IMG_0200.jpg", Preview: "preview/2024/IMG_0200.jpg", UploadedAt: time.Unix(0, 0)})
		if err != nil {
			t.Fatal(err)
		}
	}
	s3 := &deletes{}
	h := lambda.NewHandler(Handler{Index: ix, Store: objects.Store{S3: s3}}.Handle)
	event := fixture(t, "remove-document-event.json") // sequencer 00617F0829A0000000

	// A newer re-upload is indexed: the older delete leaves it and its thumbnails.
	put("00617F0829B0000000")
	out, err := h.Invoke(ctx, event)
	if err != nil || string(out) != `{"id":"`+id+`","outcome":"skipped-newer"}` || len(s3.keys) != 0 {
		t.Fatalf("older delete: %s %v %v", out, err, s3.keys)
	}

	// The upload the delete follows: all goes.
	if err := ix.Delete(ctx, id); err != nil {
		t.Fatal(err)
	}
	put("00617F08299329D189")
	out, err = h.Invoke(ctx, event)
	if err != nil {
		t.Fatal(err)
	}
	var res Result
	if err := json.Unmarshal(out, &res); err != nil {
		t.Fatal(err)
	}
	if res.Outcome != OutcomeDeleted || res.ID != id || len(res.Removed) != 2 {
		t.Errorf("delete: %s", out)
	}
	sort.Strings(s3.keys)
	if len(s3.keys) != 2 || s3.keys[0] != "images/preview/2024/IMG_0200.jpg" || s3.keys[1] != "images/thumbnail/2024/IMG_0200.jpg" {
		t.Errorf("deleted objects: %v", s3.keys)
	}
	if _, ok, _ := ix.Get(ctx, id); ok {
		t.Error("document still indexed")
	}

	// A duplicate delete event succeeds.
	out, err = h.Invoke(ctx, event)
	if err != nil || !json.Valid(out) {
		t.Fatalf("duplicate: %s %v", out, err)
	}
	_ = json.Unmarshal(out, &res)
	if res.Outcome != OutcomeAbsent {
		t.Errorf("duplicate outcome: %s", out)
	}

	// A bad event is an InvalidEventError.
	_, err = h.Invoke(ctx, []byte(`{"detail":{"bucket":{"name":"images"},"object":{"key":"elsewhere/x.jpg"}}}`))
	if _, ok := err.(*pipeline.InvalidEventError); !ok {
		t.Errorf("bad event: %v (%T)", err, err)
	}
}
