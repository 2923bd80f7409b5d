package searchindex

import (
	"context"
	"fmt"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/imagepipe/imagepipe/functions/pipeline"
)

var t0 = time.Date(2024, 5, 1, 12, 0, 0, 0, time.UTC)

func doc(key, seq string, uploaded time.Time, labels ...string) pipeline.Document {
	d := pipeline.Document{
		ID: pipeline.DocumentID("images", key), Bucket: "images", Key: key,
		Sequencer: seq, Format: "jpeg", Size: 1234, UploadedAt: uploaded,
		ProcessedAt: uploaded.Add(time.Second),
	}
	for _, l := range labels {
		d.Labels = append(d.Labels, pipeline.Label{Name: l, Confidence: 90})
	}
	return d
}

func openTemp(t *testing.T) (*Bleve, string) {
	t.Helper()
	path := filepath.Join(t.TempDir(), "index.bleve")
	b, err := OpenBleve(path)
	if err != nil {
		t.Fatal(err)
	}
	return b, path
}

func keys(r Result) []string {
	var k []string
	for _, d := range r.Images {
		k = append(k, d.Key)
	}
	return k
}

func seed(t *testing.T, ix Index) {
	t.Helper()
	ctx := context.Background()
	docs := []pipeline.Document{
		doc("upload/2024/IMG_0200.jpg", "0A", t0, "Lighthouse", "Sea", "Blue"),
		doc("upload/cat.png", "0B", t0.Add(time.Hour), "Cat", "Pet"),
		doc("upload/red car.jpg", "0C", t0.Add(2*time.Hour), "Car", "Red"),
	}
	docs[1].Format = "png"
	docs[2].Camera = &pipeline.Camera{Make: "HMD Global", Model: "Nokia 8.3 5G"}
	for _, d := range docs {
		if out, err := ix.Upsert(ctx, d); err != nil || out != OutcomeCreated {
			t.Fatalf("upsert %s: %q %v", d.Key, out, err)
		}
	}
}

func TestBleveSearch(t *testing.T) {
	b, _ := openTemp(t)
	defer b.Close()
	seed(t, b)
	ctx := context.Background()
	tests := []struct {
		q    string
		want []string
	}{
		{"Lighthouse", []string{"upload/2024/IMG_0200.jpg"}},
		{"ligthouse", []string{"upload/2024/IMG_0200.jpg"}}, // typo
		{"light", []string{"upload/2024/IMG_0200.jpg"}},     // prefix
		{"LIGHTHOUSE sea", []string{"upload/2024/IMG_0200.jpg"}},
		{"nokia", []string{"upload/red car.jpg"}},
		{"hmd", []string{"upload/red car.jpg"}},
		{"png", []string{"upload/cat.png"}},
		{"IMG_0200", []string{"upload/2024/IMG_0200.jpg"}},
		{"2024", []string{"upload/2024/IMG_0200.jpg"}},
		{"red car", []string{"upload/red car.jpg"}},
		{"cat lighthouse", nil}, // every word must match
		{"zebra", nil},
		{`label:cat OR *:* "`, nil},                                                        // query syntax is just words here
		{"", []string{"upload/red car.jpg", "upload/cat.png", "upload/2024/IMG_0200.jpg"}}, // newest first
		{"*", []string{"upload/red car.jpg", "upload/cat.png", "upload/2024/IMG_0200.jpg"}},
	}
	for _, tc := range tests {
		res, err := b.Search(ctx, Query{Text: tc.q, Size: 10})
		if err != nil {
			t.Fatalf("%q: %v", tc.q, err)
		}
		if fmt.Sprint(keys(res)) != fmt.Sprint(tc.want) || res.Total != int64(len(tc.want)) {
			t.Errorf("%q: got %v (total %d), want %v", tc.q, keys(res), res.Total, tc.want)
		}
	}
	// Paging.
	res, err := b.Search(ctx, Query{Text: "*", From: 1, Size: 1})
	if err != nil || res.Total != 3 || fmt.Sprint(keys(res)) != "[upload/cat.png]" {
		t.Errorf("page: %v %d %v", keys(res), res.Total, err)
	}
	if n, err := b.Count(ctx); err != nil || n != 3 {
		t.Errorf("count = %d, %v", n, err)
	}
}

func TestBleveSequencerGuard(t *testing.T) {
	b, _ := openTemp(t)
	defer b.Close()
	ctx := context.Background()
	key := "upload/x.jpg"
	newer := doc(key, "00000062C0FFEE1", t0, "Dog")
	older := doc(key, "62C0FFEE0", t0, "Cat") // shorter hex: left-padded before comparing
	if out, _ := b.Upsert(ctx, newer); out != OutcomeCreated {
		t.Fatalf("first upsert: %q", out)
	}
	if out, err := b.Upsert(ctx, older); err != nil || out != OutcomeSkippedOlder {
		t.Fatalf("older upsert: %q %v", out, err)
	}
	if out, err := b.Upsert(ctx, newer); err != nil || out != OutcomeUpdated {
		t.Fatalf("same sequencer: %q %v", out, err)
	}
	got, ok, err := b.Get(ctx, newer.ID)
	if err != nil || !ok || got.Labels[0].Name != "Dog" {
		t.Fatalf("get: %+v %v %v", got, ok, err)
	}
	if res, _ := b.Search(ctx, Query{Text: "cat"}); res.Total != 0 {
		t.Errorf("older labels leaked into the index: %v", keys(res))
	}
	if err := b.Delete(ctx, newer.ID); err != nil {
		t.Fatal(err)
	}
	if err := b.Delete(ctx, newer.ID); err != nil { // idempotent
		t.Fatal(err)
	}
	if _, ok, _ := b.Get(ctx, newer.ID); ok {
		t.Error("document still there after delete")
	}
	if n, _ := b.Count(ctx); n != 0 {
		t.Errorf("count after delete = %d", n)
	}
}

func TestBleveConcurrentUpserts(t *testing.T) {
	b, _ := openTemp(t)
	defer b.Close()
	ctx := context.Background()
	var wg sync.WaitGroup
	for i := 1; i <= 16; i++ {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			if _, err := b.Upsert(ctx, doc("upload/same.jpg", fmt.Sprintf("%04X", i), t0, fmt.Sprintf("L%d", i))); err != nil {
				t.Error(err)
			}
		}(i)
	}
	wg.Wait()
	got, _, _ := b.Get(ctx, pipeline.DocumentID("images", "upload/same.jpg"))
	if got.Sequencer != "0010" {
		t.Errorf("newest sequencer lost: %q", got.Sequencer)
	}
}

func TestBleveReopen(t *testing.T) {
	b, path := openTemp(t)
	seed(t, b)
	if err := b.Close(); err != nil {
		t.Fatal(err)
	}
	b2, err := OpenBleve(path)
	if err != nil {
		t.Fatal(err)
	}
	defer b2.Close()
	res, err := b2.Search(context.Background(), Query{Text: "ligthouse"})
	if err != nil || res.Total != 1 || res.Images[0].Labels[0].Name != "Lighthouse" {
		t.Errorf("after reopen: %+v %v", res, err)
	}
}

func TestWords(t *testing.T) {
	if got := fmt.Sprint(Words(`upload/2024/IMG_0200.jpg "a"+b:c*`)); got != "[upload 2024 img 0200 jpg a b c]" {
		t.Errorf("Words = %s", got)
	}
	if n := len(Words("a b c d e f g h i j k")); n != maxWords {
		t.Errorf("words not capped: %d", n)
	}
}

func FuzzBleveQuery(f *testing.F) {
	for _, s := range []string{"ligthouse", "", "*", `a:"b" OR c~2 /re.*/`, "\x00\xff", "日本 語"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		q := BleveQuery(s) // must not panic, and must validate
		if v, ok := q.(interface{ Validate() error }); ok {
			if err := v.Validate(); err != nil {
				t.Fatalf("%q: %v", s, err)
			}
		}
	})
}

func fmtSscan(s string, v *int) (int, error) { return fmt.Sscan(s, v) }
