package loadgen

import (
	"testing"
	"time"
)

// The timeline puts each answered upload in its second, counts refusals apart, and
// keeps empty seconds so a chart shows the gap.
func TestTimeline(t *testing.T) {
	ms := time.Millisecond
	got := timeline([]upload{
		{at: 100 * ms, took: 40 * ms}, {at: 900 * ms, took: 20 * ms}, {at: 950 * ms, took: 60 * ms, failed: true},
		{at: 2500 * ms, took: 10 * ms},
	})
	want := []Second{
		{T: 0, Sent: 2, Failed: 1, UploadP50: 40, UploadMax: 60},
		{T: 1},
		{T: 2, Sent: 1, UploadP50: 10, UploadMax: 10},
	}
	if len(got) != len(want) {
		t.Fatalf("timeline %+v, want %+v", got, want)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Errorf("second %d: %+v, want %+v", i, got[i], want[i])
		}
	}
	if timeline(nil) != nil {
		t.Error("an empty run has a timeline")
	}
}
