package webapi

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func serve(h http.Handler, method, path string) *httptest.ResponseRecorder {
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest(method, path, strings.NewReader("x")))
	return rec
}

// Everything under /api/ is the API stage's, the controls are the twin's, the rest
// is the app (with SPA routing), and config.json is asked of the twin per request.
func TestRoutes(t *testing.T) {
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "index.html"), []byte("<!doctype html>app"), 0o644); err != nil {
		t.Fatal(err)
	}
	h := New(Config{
		API: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.Write([]byte("stage " + r.URL.Path)) }),
		AppConfig: func(r *http.Request) any {
			return map[string]string{"apiUrl": "http://" + r.Host + "/api"}
		},
		Controls: map[string]http.Handler{"GET /twin/faults": http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.Write([]byte("faults")) })},
		WebDir:   dir,
	})
	for _, c := range []struct{ method, path, want string }{
		{"GET", "/api/images", "stage /api/images"},
		{"POST", "/api/failures/redrive", "stage /api/failures/redrive"},
		{"GET", "/twin/faults", "faults"},
		{"GET", "/executions/some-arn", "<!doctype html>app"},
	} {
		if rec := serve(h, c.method, c.path); rec.Code != 200 || rec.Body.String() != c.want {
			t.Errorf("%s %s: %d %q, want %q", c.method, c.path, rec.Code, rec.Body, c.want)
		}
	}
	rec := serve(h, "GET", "/config.json")
	var cfg map[string]string
	json.Unmarshal(rec.Body.Bytes(), &cfg)
	if cfg["apiUrl"] != "http://example.com/api" || rec.Header().Get("Cache-Control") != "no-store" {
		t.Errorf("config.json %v %v", cfg, rec.Header())
	}
	if rec := serve(h, "POST", "/"); rec.Code != 405 {
		t.Errorf("POST /: %d", rec.Code)
	}
}

func TestWithoutBuiltApp(t *testing.T) {
	h := New(Config{API: http.NotFoundHandler(), WebDir: t.TempDir()})
	if rec := serve(h, "GET", "/"); rec.Code != 200 || !strings.Contains(rec.Body.String(), "make build") {
		t.Errorf("without web/dist: %d %s", rec.Code, rec.Body)
	}
	if rec := serve(h, "GET", "/config.json"); rec.Code != 404 {
		t.Errorf("config.json without a configuration: %d", rec.Code)
	}
}
