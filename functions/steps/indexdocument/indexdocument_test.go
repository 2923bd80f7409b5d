package indexdocument

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"reflect"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/lambda"

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

func TestHandleContract(t *testing.T) {
	ix := searchindextest.New()
	now := time.Date(2024, 5, 1, 12, 0, 5, 0, time.UTC)
	h := lambda.NewHandler(Handler{Index: ix, Now: func() time.Time { return now }}.Handle)
	ctx := context.Background()
	input := fixture(t, "index-document-input.json")
	id := pipeline.DocumentID("images", "upload/2024/IMG_0200.jpg")

	for _, want := range []string{"created", "updated"} { // a duplicate event is idempotent
		out, err := h.Invoke(ctx, input)
		if err != nil {
			t.Fatal(err)
		}
		if string(out) != `{"id":"`+id+`","outcome":"`+want+`"}` {
			t.Errorf("output %s, want outcome %s", out, want)
		}
	}

	got, ok, err := ix.Get(ctx, id)
	if err != nil || !ok {
		t.Fatalf("get: %v %v", ok, err)
	}
	var want pipeline.Document
	if err := json.Unmarshal(bytes.Replace(fixture(t, "index-document-document.json"), []byte("PLACEHOLDER"), []byte(id), 1), &want); err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got, want) {
		g, _ := json.Marshal(got)
		w, _ := json.Marshal(want)
		t.Errorf("document\n got %s\nwant %s", g, w)
	}

	// An older event (smaller sequencer) for the same key never overwrites.
	var in pipeline.IndexInput
	if err := json.Unmarshal(input, &in); err != nil {
		t.Fatal(err)
	}
	in.Event.Detail.Object.Sequencer = "00617F08299329D100"
	in.Labels.Labels = []pipeline.Label{{Name: "Cat", Confidence: 99}}
	older, _ := json.Marshal(in)
	out, err := h.Invoke(ctx, older)
	if err != nil || string(out) != `{"id":"`+id+`","outcome":"skipped-older"}` {
		t.Errorf("older: %s %v", out, err)
	}
	if got, _, _ := ix.Get(ctx, id); got.Labels[0].Name != "Lighthouse" {
		t.Errorf("older event overwrote: %+v", got.Labels)
	}
}

func TestHandleInvalidEvent(t *testing.T) {
	ix := searchindextest.New()
	_, err := lambda.NewHandler(Handler{Index: ix}.Handle).Invoke(context.Background(), []byte(`{"event":{"detail":{"bucket":{"name":"images"},"object":{"key":""}}}}`))
	if _, ok := err.(*pipeline.InvalidEventError); !ok {
		t.Errorf("err = %v (%T)", err, err)
	}
}
