package opensearch_test

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"

	"github.com/imagepipe/imagepipe/functions/searchindex"
	"github.com/imagepipe/imagepipe/local/opensearch"
)

// Whatever a user types, the adapter's queries are ones the twin serves: never a 400
// for an unsupported shape, never a 500.
func FuzzSearchBody(f *testing.F) {
	for _, s := range []string{"ligthouse", "", "*", `a:"b" OR c~2 /re.*/`, "\x00\xff", "日本 語", "red car", "IMG_0200", strings.Repeat("ab ", 20)} {
		f.Add(s, 0, 10)
	}
	d, err := opensearch.Open("/", filepath.Join(f.TempDir(), "os"), nil)
	if err != nil {
		f.Fatal(err)
	}
	f.Cleanup(func() { d.Close() })
	srv := httptest.NewServer(d)
	c, err := searchindex.NewOpenSearchClient(srv.URL, testAWSConfig(), nil)
	if err != nil {
		f.Fatal(err)
	}
	seed(f, &searchindex.OpenSearch{Client: c, Name: "images"})
	srv.Close()
	f.Fuzz(func(t *testing.T, s string, from, size int) {
		for _, body := range []map[string]any{
			searchindex.SearchBody(searchindex.Query{Text: s, From: from, Size: size}),
			searchindex.ContentHashBody(s), searchindex.DuplicatesBody([]string{s}),
		} {
			raw, err := json.Marshal(body)
			if err != nil {
				t.Fatal(err)
			}
			rec := httptest.NewRecorder()
			d.ServeHTTP(rec, httptest.NewRequest(http.MethodPost, "/images/_search", strings.NewReader(string(raw))))
			if rec.Code != 200 {
				t.Fatalf("%s: %d %s", raw, rec.Code, rec.Body)
			}
		}
	})
}
