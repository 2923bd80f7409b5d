package apigw

import (
	"context"
	"io"
	"log/slog"
	"net/http/httptest"
	"testing"
	"time"
)

// The stage's own cost per request, with a function that answers at once.
func BenchmarkSearch(b *testing.B) { benchmark(b, "GET", "/api/images?search=lighthouse") }

func BenchmarkPreflight(b *testing.B) { benchmark(b, "OPTIONS", "/api/images") }

func benchmark(b *testing.B, method, target string) {
	rs := edit(b, fixture(), "Stage", func(p map[string]any) { delete(p, "MethodSettings") })
	answer := []byte(`{"statusCode":200,"headers":{"Content-Type":"application/json"},"body":"{\"total\":0,\"images\":[]}"}`)
	inv := invokerFunc(func(context.Context, string, []byte) ([]byte, error) { return answer, nil })
	clk := newClock() // a millisecond a request: under the account's 10,000 a second
	api, err := New(rs, Options{Account: testAccount, Invoker: inv, BasePath: "/api", Now: clk.Now, Authorize: allowAll,
		Logger: slog.New(slog.NewJSONHandler(io.Discard, nil))})
	if err != nil {
		b.Fatal(err)
	}
	h := api.Handler()
	b.ReportAllocs()
	for b.Loop() {
		r := httptest.NewRequest(method, target, nil)
		r.Header.Set("Origin", "http://localhost:5173")
		w := httptest.NewRecorder()
		h.ServeHTTP(w, r)
		if w.Code >= 300 {
			b.Fatalf("%d %s", w.Code, w.Body.String())
		}
		clk.Advance(time.Millisecond)
	}
}

type invokerFunc func(ctx context.Context, arn string, payload []byte) ([]byte, error)

func (f invokerFunc) Invoke(ctx context.Context, arn string, payload []byte) ([]byte, error) {
	return f(ctx, arn, payload)
}
