package s3edge

import (
	"bytes"
	"context"
	"crypto/md5"
	"encoding/hex"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"sort"
	"strings"
	"sync"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"
	"github.com/aws/smithy-go"
	"github.com/imagepipe/imagepipe/functions/pipeline"
)

// sink collects emitted events; fail makes the next n emissions fail.
type sink struct {
	mu   sync.Mutex
	evs  []pipeline.ObjectEvent
	fail int
}

func (k *sink) emit(_ context.Context, ev pipeline.ObjectEvent) error {
	k.mu.Lock()
	defer k.mu.Unlock()
	if k.fail > 0 {
		k.fail--
		return errors.New("router unavailable")
	}
	k.evs = append(k.evs, ev)
	return nil
}

func (k *sink) take() []pipeline.ObjectEvent {
	k.mu.Lock()
	defer k.mu.Unlock()
	out := k.evs
	k.evs = nil
	return out
}

type env struct {
	srv    *Server
	http   *httptest.Server
	client *s3.Client
	sink   *sink
}

func start(t *testing.T, dir string, k *sink) *env {
	t.Helper()
	srv, err := New(dir, Options{Emit: k.emit, RedeliverEvery: -1, Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	hs := httptest.NewServer(srv.Handler())
	e := &env{srv: srv, http: hs, sink: k, client: newClient(hs.URL, 0)}
	t.Cleanup(func() { e.stop() })
	return e
}

func (e *env) stop() {
	if e.http != nil {
		e.http.Close()
		e.srv.Close()
		e.http = nil
	}
}

// newClient is a default S3 client (checksums as the SDK sends them by default).
func newClient(url string, attempts int) *s3.Client {
	return s3.New(s3.Options{
		Region:           "us-east-1",
		BaseEndpoint:     aws.String(url),
		UsePathStyle:     true,
		Credentials:      credentials.NewStaticCredentialsProvider("test", "test", ""),
		RetryMaxAttempts: attempts,
	})
}

func md5hex(b []byte) string {
	s := md5.Sum(b)
	return hex.EncodeToString(s[:])
}

func put(t *testing.T, c *s3.Client, key string, body []byte) {
	t.Helper()
	_, err := c.PutObject(context.Background(), &s3.PutObjectInput{
		Bucket: aws.String("images"), Key: aws.String(key), Body: bytes.NewReader(body),
		ContentType: aws.String("image/jpeg"), CacheControl: aws.String("max-age=60"),
	})
	if err != nil {
		t.Fatalf("put %q: %v", key, err)
	}
}

func get(t *testing.T, c *s3.Client, key string) (*s3.GetObjectOutput, []byte) {
	t.Helper()
	out, err := c.GetObject(context.Background(), &s3.GetObjectInput{Bucket: aws.String("images"), Key: aws.String(key)})
	if err != nil {
		t.Fatalf("get %q: %v", key, err)
	}
	defer out.Body.Close()
	b, err := io.ReadAll(out.Body)
	if err != nil {
		t.Fatal(err)
	}
	return out, b
}

// checkShape compares an event's JSON field names with the shape S3 sends.
func checkShape(t *testing.T, ev pipeline.ObjectEvent) {
	t.Helper()
	raw, _ := json.Marshal(ev)
	var m map[string]any
	_ = json.Unmarshal(raw, &m)
	names := func(v any) string {
		var ks []string
		for k := range v.(map[string]any) {
			ks = append(ks, k)
		}
		sort.Strings(ks)
		return strings.Join(ks, ",")
	}
	if got, want := names(m), "account,detail,detail-type,id,region,resources,source,time,version"; got != want {
		t.Errorf("event fields %s, want %s", got, want)
	}
	d := m["detail"].(map[string]any)
	obj := "etag,key,sequencer,size"
	want := "bucket,object,reason,request-id,requester,source-ip-address,version"
	if ev.DetailType == pipeline.DetailTypeDeleted {
		obj = "key,sequencer"
		want = "bucket,deletion-type,object,reason,request-id,requester,source-ip-address,version"
	}
	if got := names(d); got != want {
		t.Errorf("detail fields %s, want %s", got, want)
	}
	if got := names(d["object"]); got != obj {
		t.Errorf("detail.object fields %s, want %s", got, obj)
	}
	if ev.Version != "0" || ev.Detail.Version != "0" || ev.Source != "aws.s3" || ev.Account != Account ||
		ev.Region != Region || len(ev.Resources) != 1 || ev.Resources[0] != "arn:aws:s3:::images" ||
		ev.Detail.Bucket.Name != "images" || len(ev.ID) != 36 || ev.Time.IsZero() ||
		ev.Detail.RequestID == "" || ev.Detail.Requester != Account || ev.Detail.SourceIPAddress != "127.0.0.1" {
		t.Errorf("event envelope wrong: %s", raw)
	}
	if len(ev.Detail.Object.Sequencer) != 16 {
		t.Errorf("sequencer %q is not 16 hex digits", ev.Detail.Object.Sequencer)
	}
	if strings.Contains(ev.Detail.Object.ETag, `"`) {
		t.Errorf("etag %q has quotes", ev.Detail.Object.ETag)
	}
}

// expect compares events with "detail-type|reason|key", the key as the pipeline
// decodes it from the event.
func expect(t *testing.T, evs []pipeline.ObjectEvent, want ...string) {
	t.Helper()
	var got []string
	for _, ev := range evs {
		checkShape(t, ev)
		key, err := ev.Key()
		if err != nil {
			t.Errorf("event key: %v", err)
		}
		got = append(got, ev.DetailType+"|"+ev.Detail.Reason+"|"+key)
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Fatalf("events:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}

func TestObjectLifecycleRaisesS3Events(t *testing.T) {
	k := &sink{}
	e := start(t, t.TempDir(), k)
	ctx := context.Background()
	body := []byte("not really a jpeg")

	put(t, e.client, "upload/a.jpg", body)
	evs := k.take()
	expect(t, evs, "Object Created|PutObject|upload/a.jpg")
	if evs[0].Detail.Object.Size != int64(len(body)) || evs[0].Detail.Object.ETag != md5hex(body) {
		t.Errorf("size/etag = %d/%s", evs[0].Detail.Object.Size, evs[0].Detail.Object.ETag)
	}
	seqA1 := evs[0].Detail.Object.Sequencer

	out, got := get(t, e.client, "upload/a.jpg")
	if !bytes.Equal(got, body) || aws.ToString(out.ContentType) != "image/jpeg" || aws.ToString(out.CacheControl) != "max-age=60" {
		t.Errorf("get: %q type=%q cache=%q", got, aws.ToString(out.ContentType), aws.ToString(out.CacheControl))
	}
	if aws.ToString(out.ETag) != `"`+md5hex(body)+`"` {
		t.Errorf("etag %s", aws.ToString(out.ETag))
	}
	// A browser GET (no SDK) sees the stored Content-Type.
	resp, err := http.Get(e.http.URL + "/images/upload/a.jpg")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.Header.Get("Content-Type") != "image/jpeg" || resp.StatusCode != 200 {
		t.Errorf("browser GET: %d %q", resp.StatusCode, resp.Header.Get("Content-Type"))
	}

	put(t, e.client, "upload/a.jpg", []byte("second version"))
	evs = k.take()
	expect(t, evs, "Object Created|PutObject|upload/a.jpg")
	if pipeline.CompareSequencers(evs[0].Detail.Object.Sequencer, seqA1) <= 0 {
		t.Errorf("sequencer did not increase: %s then %s", seqA1, evs[0].Detail.Object.Sequencer)
	}

	if _, err := e.client.CopyObject(ctx, &s3.CopyObjectInput{
		Bucket: aws.String("images"), Key: aws.String("upload/b.jpg"), CopySource: aws.String("images/upload/a.jpg"),
	}); err != nil {
		t.Fatal(err)
	}
	evs = k.take()
	expect(t, evs, "Object Created|CopyObject|upload/b.jpg")
	if evs[0].Detail.Object.ETag != md5hex([]byte("second version")) {
		t.Errorf("copy etag %s", evs[0].Detail.Object.ETag)
	}
	if out, _ := get(t, e.client, "upload/b.jpg"); aws.ToString(out.ContentType) != "image/jpeg" {
		t.Errorf("copy lost Content-Type: %q", aws.ToString(out.ContentType))
	}

	list, err := e.client.ListObjectsV2(ctx, &s3.ListObjectsV2Input{Bucket: aws.String("images"), Prefix: aws.String("upload/")})
	if err != nil {
		t.Fatal(err)
	}
	if len(list.Contents) != 2 || aws.ToString(list.Contents[0].Key) != "upload/a.jpg" {
		t.Fatalf("list: %+v", list.Contents)
	}

	if _, err := e.client.DeleteObject(ctx, &s3.DeleteObjectInput{Bucket: aws.String("images"), Key: aws.String("upload/a.jpg")}); err != nil {
		t.Fatal(err)
	}
	evs = k.take()
	expect(t, evs, "Object Deleted|DeleteObject|upload/a.jpg")
	if evs[0].Detail.DeletionType != "Permanently Deleted" {
		t.Errorf("deletion-type %q", evs[0].Detail.DeletionType)
	}

	put(t, e.client, "upload/c.jpg", body)
	k.take()
	if _, err := e.client.DeleteObjects(ctx, &s3.DeleteObjectsInput{Bucket: aws.String("images"), Delete: &types.Delete{
		Objects: []types.ObjectIdentifier{{Key: aws.String("upload/b.jpg")}, {Key: aws.String("upload/c.jpg")}},
		Quiet:   aws.Bool(true),
	}}); err != nil {
		t.Fatal(err)
	}
	expect(t, k.take(), "Object Deleted|DeleteObject|upload/b.jpg", "Object Deleted|DeleteObject|upload/c.jpg")
	list, _ = e.client.ListObjectsV2(ctx, &s3.ListObjectsV2Input{Bucket: aws.String("images")})
	if len(list.Contents) != 0 {
		t.Errorf("objects left: %d", len(list.Contents))
	}
}

func TestMultipartUpload(t *testing.T) {
	k := &sink{}
	e := start(t, t.TempDir(), k)
	ctx := context.Background()
	key := "upload/big photo.jpg"
	part1 := bytes.Repeat([]byte{'a'}, 5<<20)
	part2 := []byte("tail")
	cr, err := e.client.CreateMultipartUpload(ctx, &s3.CreateMultipartUploadInput{
		Bucket: aws.String("images"), Key: aws.String(key), ContentType: aws.String("image/jpeg"),
	})
	if err != nil {
		t.Fatal(err)
	}
	var parts []types.CompletedPart
	for i, p := range [][]byte{part1, part2} {
		up, err := e.client.UploadPart(ctx, &s3.UploadPartInput{
			Bucket: aws.String("images"), Key: aws.String(key), UploadId: cr.UploadId,
			PartNumber: aws.Int32(int32(i + 1)), Body: bytes.NewReader(p),
		})
		if err != nil {
			t.Fatalf("part %d: %v", i+1, err)
		}
		parts = append(parts, types.CompletedPart{ETag: up.ETag, PartNumber: aws.Int32(int32(i + 1))})
	}
	if len(k.take()) != 0 {
		t.Fatal("parts raised events")
	}
	if _, err := e.client.CompleteMultipartUpload(ctx, &s3.CompleteMultipartUploadInput{
		Bucket: aws.String("images"), Key: aws.String(key), UploadId: cr.UploadId,
		MultipartUpload: &types.CompletedMultipartUpload{Parts: parts},
	}); err != nil {
		t.Fatal(err)
	}
	evs := k.take()
	expect(t, evs, "Object Created|CompleteMultipartUpload|"+key)
	whole := append(append([]byte{}, part1...), part2...)
	if evs[0].Detail.Object.Size != int64(len(whole)) {
		t.Errorf("size %d", evs[0].Detail.Object.Size)
	}
	out, got := get(t, e.client, key)
	if !bytes.Equal(got, whole) || aws.ToString(out.ContentType) != "image/jpeg" {
		t.Errorf("multipart object differs (%d bytes, %q)", len(got), aws.ToString(out.ContentType))
	}
}

var weirdKeys = []string{
	"upload/with space.jpg",
	"upload/plus+sign.jpg",
	"upload/percent%20literal.jpg",
	"upload/ünïcödé/写真.jpg",
	"upload/a?b=c&d#e.jpg",
	"upload/" + strings.Repeat("k", 1024-len("upload/")),
}

func TestWeirdKeysRoundTrip(t *testing.T) {
	k := &sink{}
	e := start(t, t.TempDir(), k)
	for _, key := range weirdKeys {
		body := []byte("body of " + key)
		put(t, e.client, key, body)
		evs := k.take()
		if len(evs) != 1 || evs[0].Detail.Object.Key != EventKey(key) {
			t.Fatalf("event key for %q: %+v", key, evs)
		}
		if got, err := evs[0].Key(); err != nil || got != key {
			t.Fatalf("decoded event key for %q: %q, %v", key, got, err)
		}
		if _, got := get(t, e.client, key); !bytes.Equal(got, body) {
			t.Errorf("%q: got %q", key, got)
		}
	}
	list, err := e.client.ListObjectsV2(context.Background(), &s3.ListObjectsV2Input{Bucket: aws.String("images")})
	if err != nil {
		t.Fatal(err)
	}
	var listed []string
	for _, o := range list.Contents {
		listed = append(listed, aws.ToString(o.Key))
	}
	want := append([]string(nil), weirdKeys...)
	sort.Strings(want)
	if strings.Join(listed, "\n") != strings.Join(want, "\n") {
		t.Errorf("listed:\n%s\nwant:\n%s", strings.Join(listed, "\n"), strings.Join(want, "\n"))
	}
	tooLong := "upload/" + strings.Repeat("k", 1025-len("upload/"))
	_, err = e.client.PutObject(context.Background(), &s3.PutObjectInput{Bucket: aws.String("images"), Key: aws.String(tooLong), Body: strings.NewReader("x")})
	var ae smithy.APIError
	if !errors.As(err, &ae) || ae.ErrorCode() != "KeyTooLongError" {
		t.Errorf("1025-byte key: %v", err)
	}
}

func TestPersistsAcrossRestart(t *testing.T) {
	dir := t.TempDir()
	k := &sink{}
	e := start(t, dir, k)
	put(t, e.client, "upload/keep.jpg", []byte("kept"))
	first := k.take()[0].Detail.Object.Sequencer
	e.stop()

	e2 := start(t, dir, k)
	out, got := get(t, e2.client, "upload/keep.jpg")
	if string(got) != "kept" || aws.ToString(out.ContentType) != "image/jpeg" || aws.ToString(out.CacheControl) != "max-age=60" {
		t.Errorf("after restart: %q %q %q", got, aws.ToString(out.ContentType), aws.ToString(out.CacheControl))
	}
	put(t, e2.client, "upload/keep.jpg", []byte("kept again"))
	second := k.take()[0].Detail.Object.Sequencer
	if pipeline.CompareSequencers(second, first) <= 0 {
		t.Errorf("sequencer went back across a restart: %s then %s", first, second)
	}
}

func TestEmitFailureAnswers503AndLosesNothing(t *testing.T) {
	k := &sink{fail: 1}
	e := start(t, t.TempDir(), k)
	noRetry := newClient(e.http.URL, 1)
	_, err := noRetry.PutObject(context.Background(), &s3.PutObjectInput{
		Bucket: aws.String("images"), Key: aws.String("upload/x.jpg"), Body: strings.NewReader("x"),
	})
	var re interface{ HTTPStatusCode() int }
	if !errors.As(err, &re) || re.HTTPStatusCode() != http.StatusServiceUnavailable {
		t.Fatalf("put with failing emit: %v, want 503", err)
	}
	if len(k.take()) != 0 {
		t.Fatal("event recorded although emit failed")
	}
	// The client's retry raises a new event; the outbox delivers the first too.
	put(t, noRetry, "upload/x.jpg", []byte("x"))
	if n, err := e.srv.Redeliver(context.Background()); n != 0 || err != nil {
		t.Fatalf("redeliver: %d %v", n, err)
	}
	evs := k.take()
	expect(t, evs, "Object Created|PutObject|upload/x.jpg", "Object Created|PutObject|upload/x.jpg")
	// The default client retries 503 by itself.
	k.fail = 1
	put(t, e.client, "upload/y.jpg", []byte("y"))
	if n, _ := e.srv.Redeliver(context.Background()); n != 0 {
		t.Fatal("outbox not drained")
	}
	if evs := k.take(); len(evs) != 2 {
		t.Fatalf("want 2 events for y (one redelivered), got %d", len(evs))
	}
}

// An unseekable body over http: the SDK sends UNSIGNED-PAYLOAD (it streams
// aws-chunked trailers only over TLS; TestAWSChunkedTrailerUpload covers those).
func TestStreamingTrailerUpload(t *testing.T) {
	k := &sink{}
	e := start(t, t.TempDir(), k)
	seen := make(chan string, 4)
	hs := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method == http.MethodPut {
			seen <- r.Header.Get("X-Amz-Content-Sha256")
		}
		e.srv.Handler().ServeHTTP(w, r)
	}))
	defer hs.Close()
	body := bytes.Repeat([]byte("0123456789"), 100_000)
	_, err := newClient(hs.URL, 0).PutObject(context.Background(), &s3.PutObjectInput{
		Bucket: aws.String("images"), Key: aws.String("upload/stream.jpg"),
		Body: struct{ io.Reader }{bytes.NewReader(body)}, ContentLength: aws.Int64(int64(len(body))),
	}, s3.WithAPIOptions(v4.SwapComputePayloadSHA256ForUnsignedPayloadMiddleware))
	if err != nil {
		t.Fatal(err)
	}
	<-seen
	if _, got := get(t, e.client, "upload/stream.jpg"); !bytes.Equal(got, body) {
		t.Fatalf("streamed object differs: %d bytes", len(got))
	}
	if evs := k.take(); len(evs) != 1 || evs[0].Detail.Object.Size != int64(len(body)) {
		t.Fatalf("events %+v", evs)
	}
}

// newHTTPTest serves srv on a loopback listener for the test's duration.
func newHTTPTest(t *testing.T, srv *Server) string {
	t.Helper()
	hs := httptest.NewServer(srv.Handler())
	t.Cleanup(hs.Close)
	return hs.URL
}
