package pipeline

import (
	"encoding/json"
	"errors"
	"testing"
	"time"
)

// s3EncodedKeys pairs real keys with detail.object.key as S3 writes it into its
// events: form-encoded, "/" kept ("red flower.jpg" → "red+flower.jpg" is S3's
// documented example; "a@b" → "a%40b" and "year=…" → "year%3D…" are recorded).
var s3EncodedKeys = []struct{ key, encoded string }{
	{"upload/red flower.jpg", "upload/red+flower.jpg"},
	{"upload/a+b.jpg", "upload/a%2Bb.jpg"},
	{"upload/100%.jpg", "upload/100%25.jpg"},
	{"upload/year=2025/x.jpg", "upload/year%3D2025/x.jpg"},
	{"upload/写真 ü.jpg", "upload/%E5%86%99%E7%9C%9F+%C3%BC.jpg"},
	{"upload/(1) copy.jpg", "upload/%281%29+copy.jpg"},
	{"upload/a  +  b.jpg", "upload/a++%2B++b.jpg"},
}

func TestObjectEventKeyDecodesS3Encoding(t *testing.T) {
	for _, tc := range s3EncodedKeys {
		var ev ObjectEvent
		raw := `{"source":"aws.s3","detail-type":"Object Created","detail":{"bucket":{"name":"images"},` +
			`"object":{"key":` + jsonString(tc.encoded) + `,"size":5,"etag":"e","sequencer":"01"}}}`
		if err := json.Unmarshal([]byte(raw), &ev); err != nil {
			t.Fatal(err)
		}
		key, err := ev.Key()
		if err != nil || key != tc.key {
			t.Errorf("Key() of %q = %q, %v; want %q", tc.encoded, key, err, tc.key)
		}
		if err := ev.Validate(); err != nil {
			t.Errorf("Validate(%q): %v", tc.encoded, err)
		}
		d := NewDocument(IndexInput{Event: ev}, time.Now())
		if d.Key != tc.key || d.ID != DocumentID("images", tc.key) {
			t.Errorf("document for %q: key %q id %s, want the decoded key and its id", tc.encoded, d.Key, d.ID)
		}
	}
}

func TestObjectEventKeyRefusesBadEncoding(t *testing.T) {
	var ev ObjectEvent
	ev.Detail.Bucket.Name, ev.Detail.Object.Key = "images", "upload/100%.jpg" // "%" unencoded: not from S3
	_, err := ev.Key()
	var ie *InvalidEventError
	if !errors.As(err, &ie) {
		t.Errorf("Key() = %v, want an InvalidEventError", err)
	}
	if err := ev.Validate(); !errors.As(err, &ie) {
		t.Errorf("Validate() = %v, want an InvalidEventError", err)
	}
	ev.Detail.Object.Key = "thumbnail%2Fa.jpg" // decodes outside upload/
	if err := ev.Validate(); !errors.As(err, &ie) {
		t.Errorf("Validate() of an encoded key outside upload/ = %v", err)
	}
}

func jsonString(s string) string {
	b, _ := json.Marshal(s)
	return string(b)
}
