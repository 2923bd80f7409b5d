package s3edge

import (
	"bytes"
	"context"
	"errors"
	"io"
	"log/slog"
	"mime/multipart"
	"net/http"
	"runtime"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/imagepipe/imagepipe/local/sigv4"
)

// postAuth is the twin's PostAuth in miniature: one key, and a principal that may
// write only under allow.
type postAuth struct {
	allow string
}

func (postAuth) Lookup(id string) (sigv4.Secret, bool) {
	if id != "test" {
		return sigv4.Secret{}, false
	}
	return sigv4.Secret{SecretAccessKey: "test", Principal: sigv4.Principal{ARN: "arn:aws:iam::000000000000:user/t", Account: "000000000000"}}, true
}

func (a postAuth) AuthorizePost(_ *http.Request, p sigv4.Principal, bucket, key string, _ bool) error {
	if !strings.HasPrefix(key, a.allow) {
		return errors.New("User: " + p.ARN + " is not authorized to perform: s3:PutObject on resource: arn:aws:s3:::" + bucket + "/" + key)
	}
	return nil
}

type postEnv struct {
	url    string
	client *s3.Client
	clock  *clock
	sink   *sink
}

func startPost(t *testing.T) *postEnv {
	t.Helper()
	c := &clock{t: time.Now()}
	k := &sink{}
	srv, err := New(t.TempDir(), Options{Emit: k.emit, RedeliverEvery: -1, LifecycleEvery: -1, Now: c.Now,
		Logger: slog.New(slog.DiscardHandler), PostAuth: postAuth{allow: "upload/"}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { srv.Close() })
	url := newHTTPTest(t, srv)
	return &postEnv{url: url, client: newClient(url, 0), clock: c, sink: k}
}

// presign is what presign-upload hands a browser: the SDK's presigned POST for one
// key, a size range and a Content-Type.
func (e *postEnv) presign(t *testing.T, key string, maxBytes int64) (string, map[string]string) {
	t.Helper()
	pc := s3.NewPresignClient(e.client)
	req, err := pc.PresignPostObject(context.Background(), &s3.PutObjectInput{Bucket: aws.String("images"), Key: aws.String(key)},
		func(o *s3.PresignPostOptions) {
			o.Expires = 15 * time.Minute
			o.Conditions = []any{
				map[string]string{"key": key},
				[]any{"content-length-range", 1, maxBytes},
				map[string]string{"Content-Type": "image/jpeg"},
			}
		})
	if err != nil {
		t.Fatal(err)
	}
	fields := map[string]string{"Content-Type": "image/jpeg"}
	for k, v := range req.Values {
		fields[k] = v
	}
	return req.URL, fields
}

// postForm sends the fields (in a stable order) and the file as a browser does.
func postForm(t *testing.T, url string, fields map[string]string, file []byte) (*http.Response, string) {
	t.Helper()
	var body bytes.Buffer
	mw := multipart.NewWriter(&body)
	names := make([]string, 0, len(fields))
	for k := range fields {
		names = append(names, k)
	}
	sort.Strings(names)
	for _, k := range names {
		_ = mw.WriteField(k, fields[k])
	}
	fw, _ := mw.CreateFormFile("file", "photo.jpg")
	_, _ = fw.Write(file)
	_ = mw.Close()
	resp, err := http.Post(url, mw.FormDataContentType(), &body)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp, string(b)
}

func TestPostObjectPolicyAsS3(t *testing.T) {
	e := startPost(t)
	url, fields := e.presign(t, "upload/id-1/abc/red flower.jpg", 100)
	if !strings.HasSuffix(url, "/images") {
		t.Fatalf("presigned POST URL %q: want the path-style bucket URL", url)
	}
	resp, body := postForm(t, url, fields, []byte("jpeg bytes"))
	if resp.StatusCode != http.StatusNoContent || resp.Header.Get("ETag") != `"`+md5hex([]byte("jpeg bytes"))+`"` {
		t.Fatalf("good POST: %d %s %v", resp.StatusCode, body, resp.Header)
	}
	out, got := get(t, e.client, "upload/id-1/abc/red flower.jpg")
	if string(got) != "jpeg bytes" || aws.ToString(out.ContentType) != "image/jpeg" {
		t.Errorf("stored %q as %q", got, aws.ToString(out.ContentType))
	}
	evs := e.sink.take()
	if len(evs) != 1 || evs[0].DetailType != "Object Created" || evs[0].Detail.Reason != ReasonPost ||
		evs[0].Detail.Object.Key != "upload/id-1/abc/red+flower.jpg" || evs[0].Detail.Object.Size != 10 {
		t.Fatalf("events %+v, want one Object Created (PostObject)", evs)
	}
	checkShape(t, evs[0])

	with := func(change map[string]string) map[string]string {
		out := map[string]string{}
		for k, v := range fields {
			out[k] = v
		}
		for k, v := range change {
			if v == "" {
				delete(out, k)
			} else {
				out[k] = v
			}
		}
		return out
	}
	url2, f2 := e.presign(t, "upload/id-1/abc/b.jpg", 100)
	f2["success_action_status"] = "201"
	resp, body = postForm(t, url2, f2, []byte("x"))
	if resp.StatusCode != http.StatusForbidden || !strings.Contains(body, "Extra input fields: success_action_status") {
		t.Errorf("unlisted success_action_status: %d %s", resp.StatusCode, body)
	}

	for _, tc := range []struct {
		name   string
		fields map[string]string
		file   []byte
		at     time.Duration
		status int
		want   string
	}{
		{"key outside the condition", with(map[string]string{"key": "upload/id-2/x.jpg"}), []byte("x"), 0, 403, "Policy Condition failed: {&#34;key&#34;:&#34;upload/id-1/abc/red flower.jpg&#34;}"},
		{"tampered policy", with(map[string]string{"policy": strings.Replace(fields["policy"], "A", "B", 1)}), []byte("x"), 0, 403, "<Code>SignatureDoesNotMatch</Code>"},
		{"tampered signature", with(map[string]string{"X-Amz-Signature": strings.Repeat("0", 64)}), []byte("x"), 0, 403, "<Code>SignatureDoesNotMatch</Code>"},
		{"expired", fields, []byte("x"), 16 * time.Minute, 403, "Invalid according to Policy: Policy expired."},
		{"too large", fields, bytes.Repeat([]byte("x"), 101), 0, 400, "<Code>EntityTooLarge</Code>"},
		{"too small", fields, nil, 0, 400, "<Code>EntityTooSmall</Code>"},
		{"extra unlisted field", with(map[string]string{"x-amz-meta-owner": "me"}), []byte("x"), 0, 403, "Extra input fields: x-amz-meta-owner"},
		{"other content type", with(map[string]string{"Content-Type": "text/html"}), []byte("x"), 0, 403, "Policy Condition failed"},
		{"no policy", with(map[string]string{"policy": ""}), []byte("x"), 0, 403, "<Code>AccessDenied</Code>"},
		{"unknown key id", with(map[string]string{"X-Amz-Credential": strings.Replace(fields["X-Amz-Credential"], "test/", "nobody/", 1)}), []byte("x"), 0, 403, "<Code>InvalidAccessKeyId</Code>"},
		{"no key field", with(map[string]string{"key": ""}), []byte("x"), 0, 400, "Bucket POST must contain a field named &#39;key&#39;"},
	} {
		e.clock.set(time.Now().Add(tc.at))
		resp, body := postForm(t, url, tc.fields, tc.file)
		if resp.StatusCode != tc.status || !strings.Contains(body, tc.want) {
			t.Errorf("%s: %d %s, want %d %s", tc.name, resp.StatusCode, body, tc.status, tc.want)
		}
	}
	e.clock.set(time.Now())
	// A policy the signer may not act on: the principal may write only under upload/.
	url3, f3 := e.presign(t, "thumbnail/x.jpg", 100)
	resp, body = postForm(t, url3, f3, []byte("x"))
	if resp.StatusCode != 403 || !strings.Contains(body, "is not authorized to perform: s3:PutObject") {
		t.Errorf("key the signer may not write: %d %s", resp.StatusCode, body)
	}
	if evs := e.sink.take(); len(evs) != 0 {
		t.Errorf("refused POSTs raised %d events", len(evs))
	}
}

// TestPostObjectSuccessActions: success_action_status 201 answers S3's PostResponse
// document, a success_action_redirect a 303 with bucket, key and etag.
func TestPostObjectSuccessActions(t *testing.T) {
	e := startPost(t)
	pc := s3.NewPresignClient(e.client)
	req, err := pc.PresignPostObject(context.Background(), &s3.PutObjectInput{Bucket: aws.String("images"), Key: aws.String("upload/a/${filename}")},
		func(o *s3.PresignPostOptions) {
			o.Conditions = []any{
				[]any{"starts-with", "$key", "upload/a/"},
				map[string]string{"success_action_status": "201"},
				[]any{"starts-with", "$success_action_redirect", ""},
			}
		})
	if err != nil {
		t.Fatal(err)
	}
	req.Values["success_action_status"] = "201"
	req.Values["success_action_redirect"] = ""
	resp, body := postForm(t, req.URL, req.Values, []byte("one"))
	if resp.StatusCode != 201 || !strings.Contains(body, "<PostResponse><Location>") || !strings.Contains(body, "<Key>upload/a/photo.jpg</Key>") {
		t.Errorf("201: %d %s", resp.StatusCode, body)
	}
	req.Values["success_action_redirect"] = "https://app.example/done?x=1"
	client := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	var b bytes.Buffer
	mw := multipart.NewWriter(&b)
	for k, v := range req.Values {
		_ = mw.WriteField(k, v)
	}
	fw, _ := mw.CreateFormFile("file", "two.jpg")
	_, _ = fw.Write([]byte("two"))
	_ = mw.Close()
	r, err := client.Post(req.URL, mw.FormDataContentType(), &b)
	if err != nil {
		t.Fatal(err)
	}
	r.Body.Close()
	if loc := r.Header.Get("Location"); r.StatusCode != 303 || !strings.HasPrefix(loc, "https://app.example/done?") || !strings.Contains(loc, "key=upload%2Fa%2Ftwo.jpg") {
		t.Errorf("redirect: %d %s", r.StatusCode, loc)
	}
}

// TestPostObjectStreams64MiBWithUnder8MiBAllocated: the form's file goes to disk as
// it arrives, as a PUT's body does; and a 64 MiB file against a 50 MiB policy is
// refused once the 50 MiB + 1st byte arrives, with nothing stored.
func TestPostObjectStreams64MiBWithUnder8MiBAllocated(t *testing.T) {
	e := startPost(t)
	const size = 64 << 20
	send := func(maxBytes int64) (int, string) {
		url, fields := e.presign(t, "upload/id-1/big/big.bin", maxBytes)
		pr, pw := io.Pipe()
		mw := multipart.NewWriter(pw)
		go func() {
			for k, v := range fields {
				_ = mw.WriteField(k, v)
			}
			fw, _ := mw.CreateFormFile("file", "big.bin")
			if _, err := io.Copy(fw, io.LimitReader(zeros{}, size)); err != nil {
				pw.CloseWithError(err)
				return
			}
			pw.CloseWithError(mw.Close())
		}()
		resp, err := http.Post(url, mw.FormDataContentType(), pr)
		if err != nil {
			return 0, err.Error()
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	st, body := send(size)
	runtime.ReadMemStats(&after)
	if st != http.StatusNoContent {
		t.Fatalf("64 MiB POST: %d %s", st, body)
	}
	alloc := after.TotalAlloc - before.TotalAlloc
	t.Logf("64 MiB POST allocated %.1f MiB in all (client and server)", float64(alloc)/(1<<20))
	if alloc > 8<<20 {
		t.Errorf("64 MiB POST allocated %d bytes: the file is buffered", alloc)
	}
	if evs := e.sink.take(); len(evs) != 1 || evs[0].Detail.Object.Size != size {
		t.Errorf("events %+v", evs)
	}
	if st, body := send(50 << 20); st != 0 && (st != 400 || !strings.Contains(body, "<Code>EntityTooLarge</Code>")) {
		t.Errorf("64 MiB against a 50 MiB policy: %d %s", st, body)
	}
	if evs := e.sink.take(); len(evs) != 0 {
		t.Errorf("refused POST raised %v", evs)
	}
	if _, b := get(t, e.client, "upload/id-1/big/big.bin"); len(b) != size {
		t.Errorf("the refused POST replaced the stored object: %d bytes", len(b))
	}
}
