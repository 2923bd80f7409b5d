package searchindex

import (
	"fmt"
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

func TestWords(t *testing.T) {
	if got := fmt.Sprint(Words(`upload/2024/IMG_0200.jpg "a"+b:c*`)); got != "[upload 2024 img 0200 jpg a b c]" {
		t.Errorf("Words = %s", got)
	}
	if n := len(Words("a b c d e f g h i j k")); n != maxWords {
		t.Errorf("words not capped: %d", n)
	}
}

func TestNormalized(t *testing.T) {
	for _, tc := range []struct{ in, want Query }{
		{Query{}, Query{Size: 20}},
		{Query{From: -5, Size: 3}, Query{Size: 3}},
		{Query{From: 9990, Size: 50}, Query{From: 9990, Size: 10}},
		{Query{From: 20000, Size: 5}, Query{From: MaxWindow}},
	} {
		if got := tc.in.Normalized(); got != tc.want {
			t.Errorf("%+v.Normalized() = %+v, want %+v", tc.in, got, tc.want)
		}
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
