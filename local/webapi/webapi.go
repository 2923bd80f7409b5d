// Package webapi is the twin's browser-facing server on :8080: the web app from
// web/dist, its runtime config.json, and under /api/ the template's API Gateway
// stage. The web app talks to the twin exactly as it talks to AWS — signed API calls,
// presigned S3 URLs, Cognito — so this server holds no data routes of its own; the
// only other routes are the twin's controls that have no AWS counterpart (fault
// switches), which the twin guards with the developer identity.
package webapi

import (
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
)

// Config wires the server.
type Config struct {
	// API is the template's API Gateway stage, served under /api/.
	API http.Handler
	// AppConfig is the config.json the web app reads for a request (the twin's
	// endpoints, its Cognito pools, the stack's names).
	AppConfig func(r *http.Request) any
	WebDir    string                  // web/dist; empty or missing: a short page says how to build it
	Controls  map[string]http.Handler // the twin's own controls, by mux pattern (outside /api/)
	Logger    *slog.Logger
}

// New returns the server's handler.
func New(cfg Config) http.Handler {
	mux := http.NewServeMux()
	mux.Handle("/api/", cfg.API)
	for p, h := range cfg.Controls {
		mux.Handle(p, h)
	}
	mux.HandleFunc("GET /config.json", func(w http.ResponseWriter, r *http.Request) {
		if cfg.AppConfig == nil {
			writeJSON(w, http.StatusNotFound, map[string]string{"error": "this twin serves no web app configuration"})
			return
		}
		w.Header().Set("Cache-Control", "no-store")
		writeJSON(w, http.StatusOK, cfg.AppConfig(r))
	})
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) { static(w, r, cfg.WebDir) })
	return mux
}

func static(w http.ResponseWriter, r *http.Request, dir string) {
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		writeJSON(w, http.StatusMethodNotAllowed, map[string]string{"error": "method not allowed"})
		return
	}
	if dir == "" {
		dir = "web/dist"
	}
	index := filepath.Join(dir, "index.html")
	if _, err := os.Stat(index); err != nil {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		fmt.Fprint(w, `<!doctype html><title>imagepipe</title><p>The web app is not built yet: run <code>make build</code>, then reload.</p>`)
		return
	}
	p := filepath.Join(dir, filepath.FromSlash(filepath.Clean("/"+r.URL.Path)))
	if st, err := os.Stat(p); err != nil || st.IsDir() {
		p = index // SPA routing
	}
	http.ServeFile(w, r, p)
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}
