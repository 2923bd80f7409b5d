package webapi

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"

	"github.com/imagepipe/imagepipe/functions/pipeline"
)

type docs map[string]pipeline.Document

func (d docs) Get(_ context.Context, id string) (pipeline.Document, bool, error) {
	doc, ok := d[id]
	return doc, ok, nil
}

func newTestServer(t *testing.T) http.Handler {
	t.Helper()
	id := pipeline.DocumentID("images", "upload/a b.jpg")
	return New(Config{
		API: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			json.NewEncoder(w).Encode(map[string]any{"echo": r.URL.Query().Get("search"), "path": r.URL.Path})
		}),
		Documents: docs{id: {ID: id, Key: "upload/a b.jpg", Thumbnail: "thumbnail/a b.jpg"}},
		Bucket:    "images",
		WebDir:    t.TempDir(),
	})
}

func serve(h http.Handler, method, path string) *httptest.ResponseRecorder {
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest(method, path, strings.NewReader("x")))
	return rec
}

func TestSearchAndPingGoToTheAPIStage(t *testing.T) {
	rec := serve(newTestServer(t), http.MethodGet, "/api/images?search=light+house")
	var got map[string]string
	json.Unmarshal(rec.Body.Bytes(), &got)
	if rec.Code != 200 || got["echo"] != "light house" || got["path"] != "/api/images" {
		t.Errorf("%d %v", rec.Code, got)
	}
}

func TestDocumentByID(t *testing.T) {
	h := newTestServer(t)
	id := pipeline.DocumentID("images", "upload/a b.jpg")
	rec := serve(h, http.MethodGet, "/api/images/"+id)
	var d pipeline.Document
	json.Unmarshal(rec.Body.Bytes(), &d)
	if rec.Code != 200 || d.ThumbnailURL != "/api/objects/thumbnail/a%20b.jpg" {
		t.Errorf("%d thumbnailUrl %q", rec.Code, d.ThumbnailURL)
	}
	if rec := serve(h, http.MethodGet, "/api/images/"+strings.Repeat("0", 64)); rec.Code != 404 {
		t.Errorf("missing document: %d", rec.Code)
	}
	if rec := serve(h, http.MethodGet, "/api/images/not-an-id"); rec.Code != 400 {
		t.Errorf("bad id: %d", rec.Code)
	}
}

func TestValidationAndRouting(t *testing.T) {
	h := newTestServer(t)
	for _, c := range []struct {
		method, path string
		want         int
	}{
		{http.MethodPut, "/api/objects/thumbnail/x.jpg", 400}, // only under upload/
		{http.MethodPut, "/api/objects/upload/" + strings.Repeat("k", 1024), 400},
		{http.MethodGet, "/api/nothing", 404},
		{http.MethodPost, "/", 405},
		{http.MethodGet, "/api/executions?maxResults=0", 400},
	} {
		if rec := serve(h, c.method, c.path); rec.Code != c.want {
			t.Errorf("%s %s: %d, want %d (%s)", c.method, c.path, rec.Code, c.want, rec.Body)
		}
	}
	rec := serve(h, http.MethodGet, "/config.json")
	var cfg map[string]string
	json.Unmarshal(rec.Body.Bytes(), &cfg)
	if cfg["mode"] != "local" || cfg["apiBase"] != "/api" {
		t.Errorf("config.json %v", cfg)
	}
	if rec := serve(h, http.MethodGet, "/"); rec.Code != 200 || !strings.Contains(rec.Body.String(), "make build") {
		t.Errorf("without web/dist: %d %s", rec.Code, rec.Body)
	}
}

// Redrive and Stop on one execution go to Step Functions as signed calls naming it.
func TestExecutionActionsCallStepFunctions(t *testing.T) {
	var got []string
	sfn := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var in struct{ ExecutionArn string }
		json.NewDecoder(r.Body).Decode(&in)
		if !strings.HasPrefix(r.Header.Get("Authorization"), "AWS4-HMAC-SHA256 ") {
			w.WriteHeader(http.StatusForbidden)
			return
		}
		got = append(got, r.Header.Get("X-Amz-Target")+" "+in.ExecutionArn)
		w.Write([]byte(`{}`))
	}))
	defer sfn.Close()
	h := New(Config{API: http.NotFoundHandler(), EdgeURL: sfn.URL, Credentials: aws.Credentials{AccessKeyID: "test", SecretAccessKey: "test"}, WebDir: t.TempDir()})
	arn := "arn:aws:states:us-east-1:000000000000:execution:P:e1"
	for _, action := range []string{"redrive", "stop"} {
		if rec := serve(h, http.MethodPost, "/api/executions/"+url.PathEscape(arn)+"/"+action); rec.Code != 200 {
			t.Errorf("%s: %d %s", action, rec.Code, rec.Body.String())
		}
	}
	want := []string{"AWSStepFunctions.RedriveExecution " + arn, "AWSStepFunctions.StopExecution " + arn}
	if strings.Join(got, "|") != strings.Join(want, "|") {
		t.Errorf("calls %v, want %v", got, want)
	}
}
