package asl

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"
)

// benchDoc is a search-document-sized object (about 6 KB).
var benchDoc = []byte(`{"id":"` + strings.Repeat("a", 64) + `","bucket":"images","key":"upload/2024/IMG_0200.jpg","size":2190194,` +
	`"exif":{` + strings.Repeat(`"Make":"HMD Global","Model":"Nokia 8.3 5G","DateTimeOriginal":"2019:06:01 10:22:31","ExposureTime":"1/120",`, 40) +
	`"Last":1},"labels":[` + strings.Repeat(`{"name":"Lighthouse","confidence":97.1},`, 30) + `{"name":"Sea","confidence":90}]}`)

// BenchmarkOrderedJSON reads and writes a document with the engine's ordered values.
func BenchmarkOrderedJSON(b *testing.B) {
	b.SetBytes(int64(len(benchDoc)))
	for b.Loop() {
		v, err := decodeJSON(benchDoc)
		if err != nil {
			b.Fatal(err)
		}
		_ = encodeJSON(v)
	}
}

// BenchmarkEncodingJSON is the same round trip through encoding/json and Go maps,
// which the engine used before objects kept their order.
func BenchmarkEncodingJSON(b *testing.B) {
	b.SetBytes(int64(len(benchDoc)))
	for b.Loop() {
		d := json.NewDecoder(bytes.NewReader(benchDoc))
		d.UseNumber()
		var v any
		if err := d.Decode(&v); err != nil {
			b.Fatal(err)
		}
		var buf bytes.Buffer
		e := json.NewEncoder(&buf)
		e.SetEscapeHTML(false)
		_ = e.Encode(v)
	}
}
