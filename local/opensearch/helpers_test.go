package opensearch_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"

	"github.com/imagepipe/imagepipe/functions/pipeline"
	"github.com/imagepipe/imagepipe/functions/searchindex"
	"github.com/imagepipe/imagepipe/local/opensearch"
)

// prefix is where the edge mounts a domain (LocalStack's path strategy).
var prefix = opensearch.PathPrefix("us-east-1", "imagepipe")

// twin is one domain behind an HTTP server, as on the edge, and the adapter the
// Lambdas use, pointed at it: the real client, SigV4-signed with test/test.
type twin struct {
	t      *testing.T
	dir    string
	domain *opensearch.Domain
	srv    *httptest.Server
	ix     *searchindex.OpenSearch

	mu       sync.Mutex
	unsigned []string // requests without an es SigV4 signature
}

func newTwin(t *testing.T) *twin {
	t.Helper()
	tw := &twin{t: t, dir: filepath.Join(t.TempDir(), "opensearch")}
	tw.srv = httptest.NewServer(http.HandlerFunc(tw.serve))
	t.Cleanup(func() {
		tw.srv.Close()
		if tw.domain != nil {
			tw.domain.Close()
		}
		tw.mu.Lock()
		defer tw.mu.Unlock()
		if len(tw.unsigned) > 0 {
			t.Errorf("requests not SigV4-signed for es with test/test: %v", tw.unsigned)
		}
	})
	tw.open()
	c, err := searchindex.NewOpenSearchClient(tw.srv.URL+prefix, testAWSConfig(), nil)
	if err != nil {
		t.Fatal(err)
	}
	tw.ix = &searchindex.OpenSearch{Client: c, Name: "images"}
	return tw
}

// testAWSConfig is the twin's developer identity, test/test, in us-east-1.
func testAWSConfig() aws.Config {
	return aws.Config{Region: "us-east-1", Credentials: credentials.NewStaticCredentialsProvider("test", "test", "")}
}

func (tw *twin) open() {
	tw.t.Helper()
	d, err := opensearch.Open(prefix, tw.dir, nil)
	if err != nil {
		tw.t.Fatal(err)
	}
	tw.mu.Lock()
	tw.domain = d
	tw.mu.Unlock()
}

// restart closes the domain and opens its data folder again.
func (tw *twin) restart() {
	tw.t.Helper()
	tw.mu.Lock()
	d := tw.domain
	tw.domain = nil
	tw.mu.Unlock()
	if err := d.Close(); err != nil {
		tw.t.Fatal(err)
	}
	tw.open()
}

func (tw *twin) serve(w http.ResponseWriter, r *http.Request) {
	auth := r.Header.Get("Authorization")
	if r.Header.Get("X-Test-Raw") == "" && (!strings.HasPrefix(auth, "AWS4-HMAC-SHA256 Credential=test/") || !strings.Contains(auth, "/us-east-1/es/aws4_request")) {
		tw.mu.Lock()
		tw.unsigned = append(tw.unsigned, r.Method+" "+r.URL.Path)
		tw.mu.Unlock()
	}
	tw.mu.Lock()
	d := tw.domain
	tw.mu.Unlock()
	d.ServeHTTP(w, r)
}

// call sends a raw request under the prefix and decodes the JSON answer.
func (tw *twin) call(method, path, body string) (int, map[string]any) {
	tw.t.Helper()
	req, err := http.NewRequest(method, tw.srv.URL+prefix+path, strings.NewReader(body))
	if err != nil {
		tw.t.Fatal(err)
	}
	req.Header.Set("X-Test-Raw", "1")
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		tw.t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	if ct := resp.Header.Get("Content-Type"); ct != "application/json; charset=UTF-8" {
		tw.t.Errorf("%s %s: Content-Type %q", method, path, ct)
	}
	var out map[string]any
	d := json.NewDecoder(bytes.NewReader(raw))
	d.UseNumber()
	if err := d.Decode(&out); err != nil {
		tw.t.Fatalf("%s %s: answer %q is not a JSON object: %v", method, path, raw, err)
	}
	return resp.StatusCode, out
}

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

func withHash(d pipeline.Document, hash, dupOf string) pipeline.Document {
	d.ContentHash, d.DuplicateOf = hash, dupOf
	return d
}

func keys(r searchindex.Result) []string {
	return keysOf(r.Images)
}

func keysOf(docs []pipeline.Document) []string {
	k := []string{}
	for _, d := range docs {
		k = append(k, d.Key)
	}
	return k
}

func upsert(t testing.TB, ix searchindex.Index, want string, docs ...pipeline.Document) {
	t.Helper()
	for _, d := range docs {
		if got, err := ix.Upsert(context.Background(), d); err != nil || want != "" && got != want {
			t.Fatalf("upsert %s (%s): %q %v, want %q", d.Key, d.Sequencer, got, err, want)
		}
	}
}

// errorType is error.type of an OpenSearch error answer, and its root cause's.
func errorType(out map[string]any) (typ, rootType, reason string) {
	e, _ := out["error"].(map[string]any)
	if e == nil {
		return "", "", ""
	}
	typ, _ = e["type"].(string)
	if rc, _ := e["root_cause"].([]any); len(rc) == 1 {
		m, _ := rc[0].(map[string]any)
		rootType, _ = m["type"].(string)
		reason, _ = m["reason"].(string)
	}
	return typ, rootType, reason
}
