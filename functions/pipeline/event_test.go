package pipeline

import (
	"strings"
	"testing"
)

func TestDerivedKeys(t *testing.T) {
	if got := ThumbnailKey("upload/2024/IMG_0200.jpg"); got != "thumbnail/2024/IMG_0200.jpg" {
		t.Errorf("ThumbnailKey = %q", got)
	}
	if got := PreviewKey("upload/a b/c.jpg"); got != "preview/a b/c.jpg" {
		t.Errorf("PreviewKey = %q", got)
	}
	long := "upload/" + strings.Repeat("x", MaxKeyBytes-len("upload/"))
	a, b := ThumbnailKey(long), ThumbnailKey(long+"")
	if len(a) > MaxKeyBytes || !strings.HasPrefix(a, ThumbnailPrefix+"_long/") || a != b {
		t.Errorf("long key → %q (%d bytes), want a stable hashed key under thumbnail/_long/", a, len(a))
	}
	if ThumbnailKey(long) == ThumbnailKey(long[:len(long)-1]+"y") {
		t.Error("two long keys share a thumbnail key")
	}
}

func TestCompareSequencers(t *testing.T) {
	cases := []struct {
		a, b string
		want int
	}{
		{"0055AED6DCD90281E5", "0055AED6DCD90281E6", -1},
		{"FF", "0100", -1}, // left-padded: 00FF < 0100
		{"", "01", -1},
		{"00aa", "00AA", 0},
		{"0200", "1FF", 1},
	}
	for _, c := range cases {
		if got := CompareSequencers(c.a, c.b); got != c.want {
			t.Errorf("CompareSequencers(%q, %q) = %d, want %d", c.a, c.b, got, c.want)
		}
	}
}

func TestValidate(t *testing.T) {
	var ev ObjectEvent
	ev.Detail.Bucket.Name, ev.Detail.Object.Key = "images", "upload/a.jpg"
	if err := ev.Validate(); err != nil {
		t.Errorf("valid event: %v", err)
	}
	ev.Detail.Object.Key = "thumbnail/a.jpg"
	if err := ev.Validate(); err == nil {
		t.Error("a key outside upload/ passed")
	}
}

func TestErrorName(t *testing.T) {
	if got := ErrorName(&NotAnImageError{Reason: "x"}); got != ErrNameNotAnImage {
		t.Errorf("ErrorName(*NotAnImageError) = %q", got)
	}
	if got := ErrorName(valueError{}); got != "valueError" {
		t.Errorf("ErrorName(a value error) = %q", got)
	}
	if got := ErrorName(nil); got != "" {
		t.Errorf("ErrorName(nil) = %q", got)
	}
}

// valueError is an error type with a value receiver.
type valueError struct{}

func (valueError) Error() string { return "value" }

// A short key cannot take a long key's hashed thumbnail name: keys that would land
// under _long/ are hashed too, so the mapping stays one to one.
func TestDerivedKeysCannotCollide(t *testing.T) {
	long := UploadPrefix + strings.Repeat("k", MaxKeyBytes-len(UploadPrefix))
	hashed := ThumbnailKey(long)
	if !strings.HasPrefix(hashed, ThumbnailPrefix+"_long/") {
		t.Fatalf("long key's thumbnail %q", hashed)
	}
	forged := UploadPrefix + strings.TrimPrefix(hashed, ThumbnailPrefix) // upload/_long/<hash>.jpg
	if got := ThumbnailKey(forged); got == hashed {
		t.Errorf("upload/%s takes the long key's thumbnail %s", strings.TrimPrefix(forged, UploadPrefix), got)
	}
	if got := PreviewKey("upload/a/b.jpg"); got != "preview/a/b.jpg" {
		t.Errorf("ordinary key: %q", got)
	}
	if len(ThumbnailKey(forged)) > MaxKeyBytes {
		t.Error("the forged key's thumbnail is too long")
	}
}
