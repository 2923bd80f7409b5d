package operations

import (
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/s3"
)

const imagesBucket = "imagepipe-images"

// fakeS3 is S3's REST protocol for DeleteObject on an httptest server, path-style,
// so that the tests go through the SDK client as the Lambda does. Deleting a
// missing key answers 204, as S3 does on an unversioned bucket; a key in refuse
// answers 403 AccessDenied (the role's policy would refuse it).
type fakeS3 struct {
	mu      sync.Mutex
	objects map[string]bool // "bucket/key"
	deletes []string
	refuse  map[string]bool
}

func (f *fakeS3) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	f.mu.Lock()
	defer f.mu.Unlock()
	path, err := url.PathUnescape(strings.TrimPrefix(r.URL.EscapedPath(), "/"))
	if err != nil || r.Method != http.MethodDelete {
		http.Error(w, "unexpected request "+r.Method+" "+r.URL.String(), http.StatusBadRequest)
		return
	}
	bucket, key, _ := strings.Cut(path, "/")
	if bucket != imagesBucket {
		w.Header().Set("Content-Type", "application/xml")
		w.WriteHeader(http.StatusNotFound)
		w.Write([]byte(`<Error><Code>NoSuchBucket</Code><Message>The specified bucket does not exist</Message></Error>`))
		return
	}
	if f.refuse[key] {
		w.Header().Set("Content-Type", "application/xml")
		w.WriteHeader(http.StatusForbidden)
		w.Write([]byte(`<Error><Code>AccessDenied</Code><Message>Access Denied</Message></Error>`))
		return
	}
	f.deletes = append(f.deletes, key)
	delete(f.objects, path)
	w.WriteHeader(http.StatusNoContent)
}

func newS3World(t *testing.T) (*world, *fakeS3) {
	t.Helper()
	w := newWorld(t)
	f := &fakeS3{objects: map[string]bool{}, refuse: map[string]bool{}}
	srv := httptest.NewServer(f)
	t.Cleanup(srv.Close)
	w.h.S3 = s3.New(s3.Options{
		Region: "us-east-1", BaseEndpoint: aws.String(srv.URL), UsePathStyle: true, RetryMaxAttempts: 1,
		Credentials: credentials.NewStaticCredentialsProvider("test", "test", ""),
	})
	w.h.Bucket = imagesBucket
	return w, f
}

func TestDeleteImageDeletesTheUpload(t *testing.T) {
	w, f := newS3World(t)
	key := "upload/eu-west-1:abc/red flower+1.jpg"
	f.objects[imagesBucket+"/"+key] = true
	f.objects[imagesBucket+"/upload/other.jpg"] = true
	st, body := call(t, w.h, post("/images/delete", `{"key":"upload/eu-west-1:abc/red flower+1.jpg"}`))
	got := decode[DeletedImage](t, body)
	if st != 202 || got.Key != key || !got.Deleted {
		t.Fatalf("status %d: %s", st, body)
	}
	if f.objects[imagesBucket+"/"+key] || !f.objects[imagesBucket+"/upload/other.jpg"] || len(f.deletes) != 1 || f.deletes[0] != key {
		t.Errorf("objects %v after deletes %q", f.objects, f.deletes)
	}
	// S3 deletes are idempotent: a second delete of the same key succeeds too.
	if st, body := call(t, w.h, post("/images/delete", `{"key":"`+key+`"}`)); st != 202 {
		t.Errorf("second delete: %d %s", st, body)
	}
}

func TestDeleteImageRefusesWhatIsNotAnUpload(t *testing.T) {
	w, f := newS3World(t)
	long := "upload/" + strings.Repeat("a", 1020)
	for _, tc := range []struct{ body, want string }{
		{``, "body"},
		{`not json`, "body"},
		{`{}`, "key: required"},
		{`{"key":""}`, "key: required"},
		{`{"key":"upload/a.jpg","extra":1}`, "unknown field"},
		{`{"key":"upload/a.jpg"} {"key":"upload/b.jpg"}`, "one JSON object"},
		{`{"key":["upload/a.jpg"]}`, "body"},
		{`{"key":"thumbnail/a.jpg"}`, "not an upload"},
		{`{"key":"preview/upload/a.jpg"}`, "not an upload"},
		{`{"key":"upload/"}`, "not an upload"},
		{`{"key":"uploads/a.jpg"}`, "not an upload"},
		{`{"key":"upload/a/"}`, "folder"},
		{`{"key":"upload/\ud800.jpg"}`, ""}, // JSON decodes a lone surrogate to U+FFFD: valid UTF-8, a valid key
		{`{"key":"` + long + `"}`, "1024"},
	} {
		st, body := call(t, w.h, post("/images/delete", tc.body))
		if tc.want == "" {
			if st != 202 {
				t.Errorf("%s: %d %s", tc.body, st, body)
			}
			continue
		}
		e := decode[struct{ Error string }](t, body)
		if st != 400 || !strings.Contains(e.Error, tc.want) {
			t.Errorf("%.60s: %d %s, want 400 with %q", tc.body, st, body, tc.want)
		}
	}
	if len(f.deletes) != 1 {
		t.Errorf("deletes %q, want only the valid key's", f.deletes)
	}
}

func TestDeleteImageErrors(t *testing.T) {
	w, f := newS3World(t)
	f.refuse["upload/locked.jpg"] = true
	st, body := call(t, w.h, post("/images/delete", `{"key":"upload/locked.jpg"}`))
	if e := decode[struct{ Error, Code string }](t, body); st != 502 || e.Code != "AccessDenied" {
		t.Errorf("refused by S3: %d %s, want 502 AccessDenied (the function's role)", st, body)
	}
	w.h.Bucket = "no-such-bucket"
	if st, body := call(t, w.h, post("/images/delete", `{"key":"upload/a.jpg"}`)); st != 502 || !strings.Contains(body, "NoSuchBucket") {
		t.Errorf("missing bucket: %d %s", st, body)
	}
	w.h.Bucket = ""
	if st, body := call(t, w.h, post("/images/delete", `{"key":"upload/a.jpg"}`)); st != 500 || !strings.Contains(body, "IMAGES_BUCKET") {
		t.Errorf("no bucket configured: %d %s", st, body)
	}
	// Guests never reach it (IAM), and the function refuses them should a policy slip.
	req := post("/images/delete", `{"key":"upload/a.jpg"}`)
	req.RequestContext.Identity.CognitoAuthenticationType = "unauthenticated"
	w.h.Bucket = imagesBucket
	if st, _ := call(t, w.h, req); st != 403 {
		t.Errorf("guest: %d", st)
	}
	if len(f.deletes) != 0 {
		t.Errorf("deleted %q", f.deletes)
	}
	// A base64 body (binary media types) is decoded first.
	req = post("/images/delete", "eyJrZXkiOiJ1cGxvYWQvYi5qcGcifQ==")
	req.IsBase64Encoded = true
	if st, body := call(t, w.h, req); st != 202 || !strings.Contains(body, `"upload/b.jpg"`) {
		t.Errorf("base64 body: %d %s", st, body)
	}
}
