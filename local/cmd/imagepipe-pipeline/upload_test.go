package main

import (
	"bytes"
	"context"
	"github.com/imagepipe/imagepipe/local/cli"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
)

// fakeS3 records path-style PUTs.
type fakeS3 struct {
	mu      sync.Mutex
	objects map[string]string // bucket/key → content type
	bodies  map[string][]byte
}

func (f *fakeS3) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodPut {
		http.Error(w, "unexpected", http.StatusBadRequest)
		return
	}
	body, _ := io.ReadAll(r.Body)
	f.mu.Lock()
	f.objects[strings.TrimPrefix(r.URL.Path, "/")] = r.Header.Get("Content-Type")
	f.bodies[strings.TrimPrefix(r.URL.Path, "/")] = body
	f.mu.Unlock()
	w.Header().Set("ETag", `"e"`)
}

func writeFile(t *testing.T, path, content string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
}

func TestUploadFoldersAndFiles(t *testing.T) {
	t.Setenv("AWS_ACCESS_KEY_ID", "test")
	t.Setenv("AWS_SECRET_ACCESS_KEY", "test")
	t.Setenv("AWS_REGION", "us-east-1")
	dir := t.TempDir()
	writeFile(t, filepath.Join(dir, "album", "2024", "a.JPG"), "jpeg-a")
	writeFile(t, filepath.Join(dir, "album", "b.png"), "png-b")
	writeFile(t, filepath.Join(dir, "album", "notes.txt"), "skip me")
	writeFile(t, filepath.Join(dir, "single.jpeg"), "jpeg-s")

	fake := &fakeS3{objects: map[string]string{}, bodies: map[string][]byte{}}
	srv := httptest.NewServer(fake)
	defer srv.Close()
	var out, errOut bytes.Buffer
	args := []string{filepath.Join(dir, "album"), filepath.Join(dir, "single.jpeg"), "--endpoint", srv.URL, "--prefix", "upload/trip"}
	if err := upload(context.Background(), args, &out, &errOut); err != nil {
		t.Fatalf("%v\n%s", err, errOut.String())
	}
	want := map[string]string{
		"images/upload/trip/2024/a.JPG":  "image/jpeg",
		"images/upload/trip/b.png":       "image/png",
		"images/upload/trip/single.jpeg": "image/jpeg",
	}
	if len(fake.objects) != len(want) {
		t.Errorf("uploaded %v, want %v", fake.objects, want)
	}
	for k, ct := range want {
		if fake.objects[k] != ct {
			t.Errorf("%s: content type %q, want %q (all: %v)", k, fake.objects[k], ct, fake.objects)
		}
	}
	if string(fake.bodies["images/upload/trip/b.png"]) != "png-b" {
		t.Errorf("body = %q", fake.bodies["images/upload/trip/b.png"])
	}
	keys := strings.Fields(out.String())
	slices.Sort(keys)
	if !slices.Equal(keys, []string{"upload/trip/2024/a.JPG", "upload/trip/b.png", "upload/trip/single.jpeg"}) {
		t.Errorf("stdout keys = %q", keys)
	}
	if !strings.Contains(errOut.String(), "3/3 files") {
		t.Errorf("no progress on stderr: %q", errOut.String())
	}
}

func TestUploadErrors(t *testing.T) {
	dir := t.TempDir()
	writeFile(t, filepath.Join(dir, "x", "a.jpg"), "1")
	writeFile(t, filepath.Join(dir, "y", "a.jpg"), "2")
	if _, err := collectUploads([]string{filepath.Join(dir, "x"), filepath.Join(dir, "y")}, "upload/"); err == nil || !strings.Contains(err.Error(), "both") {
		t.Errorf("duplicate keys: err = %v", err)
	}
	writeFile(t, filepath.Join(dir, "z", "readme.md"), "no images")
	var out, errOut bytes.Buffer
	if err := upload(context.Background(), []string{filepath.Join(dir, "z")}, &out, &errOut); err == nil || !strings.Contains(err.Error(), "no images") {
		t.Errorf("no images: err = %v", err)
	}
	if err := upload(context.Background(), []string{filepath.Join(dir, "missing")}, &out, &errOut); err == nil {
		t.Error("missing path accepted")
	}
	if err := upload(context.Background(), nil, &out, &errOut); err != cli.ErrUsage {
		t.Errorf("no args: err = %v", err)
	}
}

func TestPutAllJoinsFailures(t *testing.T) {
	files := []uploadFile{{path: "a", key: "upload/a", size: 1}, {path: "b", key: "upload/b", size: 1}}
	var out, errOut bytes.Buffer
	err := putAll(context.Background(), files, 2, func(_ context.Context, f uploadFile) error {
		if f.path == "b" {
			return io.ErrUnexpectedEOF
		}
		return nil
	}, &out, &errOut)
	if err == nil || !strings.Contains(err.Error(), "b: unexpected EOF") {
		t.Errorf("err = %v", err)
	}
	if strings.TrimSpace(out.String()) != "upload/a" {
		t.Errorf("stdout = %q", out.String())
	}
}
