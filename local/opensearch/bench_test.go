package opensearch_test

import (
	"context"
	"fmt"
	"net/http/httptest"
	"path/filepath"
	"sync/atomic"
	"testing"
	"time"

	"github.com/imagepipe/imagepipe/functions/searchindex"
	"github.com/imagepipe/imagepipe/local/opensearch"
)

// BenchmarkUpsertSingleDocument is the indexing rate the twin's domain sustains for
// what index-document does per image: one Upsert (a GET of the document, then a
// sequencer-guarded PUT), each document its own, through the Lambdas' real adapter
// over HTTP. Its documents/s is the figure in the README's capacity table.
func BenchmarkUpsertSingleDocument(b *testing.B) {
	d, err := opensearch.Open(prefix, filepath.Join(b.TempDir(), "opensearch"), nil)
	if err != nil {
		b.Fatal(err)
	}
	srv := httptest.NewServer(d)
	b.Cleanup(func() { srv.Close(); d.Close() })
	c, err := searchindex.NewOpenSearchClient(srv.URL+prefix, testAWSConfig(), nil)
	if err != nil {
		b.Fatal(err)
	}
	ix := &searchindex.OpenSearch{Client: c, Name: "images"}
	ctx := context.Background()
	if _, err := ix.Upsert(ctx, doc("upload/first.jpg", "01", t0, "Warm")); err != nil { // the index exists
		b.Fatal(err)
	}
	var next atomic.Int64
	b.SetParallelism(4) // index-document's concurrent invocations on a small machine
	start := time.Now()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			i := next.Add(1)
			if _, err := ix.Upsert(ctx, doc(fmt.Sprintf("upload/bench/%07d.jpg", i), "0A", t0, "Lighthouse", "Sea")); err != nil {
				b.Error(err)
				return
			}
		}
	})
	b.StopTimer()
	b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "docs/s")
}
