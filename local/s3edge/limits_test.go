package s3edge

import (
	"bufio"
	"bytes"
	"context"
	"crypto/md5"
	"encoding/base64"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"
)

func objectIDs(keys ...string) []types.ObjectIdentifier {
	out := make([]types.ObjectIdentifier, len(keys))
	for i, k := range keys {
		out[i] = types.ObjectIdentifier{Key: aws.String(k)}
	}
	return out
}

// TestDeleteObjectsAtMost1000Keys: S3 answers more than 1,000 keys with 400
// MalformedXML and deletes nothing.
func TestDeleteObjectsAtMost1000Keys(t *testing.T) {
	k := &sink{}
	e := start(t, t.TempDir(), k)
	ctx := context.Background()
	put(t, e.client, "upload/kept.jpg", []byte("x"))
	k.take()
	keys := make([]string, 1001)
	for i := range keys {
		keys[i] = fmt.Sprintf("upload/%04d.jpg", i)
	}
	keys[0] = "upload/kept.jpg"
	_, err := e.client.DeleteObjects(ctx, &s3.DeleteObjectsInput{Bucket: aws.String("images"), Delete: &types.Delete{Objects: objectIDs(keys...)}})
	apiError(t, "1,001 keys", err, "MalformedXML", 400)
	if evs := k.take(); len(evs) != 0 {
		t.Errorf("refused DeleteObjects raised %d events", len(evs))
	}
	if _, got := get(t, e.client, "upload/kept.jpg"); string(got) != "x" {
		t.Error("refused DeleteObjects deleted")
	}
	out, err := e.client.DeleteObjects(ctx, &s3.DeleteObjectsInput{Bucket: aws.String("images"), Delete: &types.Delete{Objects: objectIDs(keys[:1000]...)}})
	if err != nil || len(out.Deleted) != 1000 {
		t.Fatalf("1,000 keys: %v (%d deleted)", err, len(out.Deleted))
	}
	// S3 raises ObjectRemoved:Delete ("Object Deleted") for every key DeleteObjects
	// names, existing or not (see deleteObjects).
	if evs := k.take(); len(evs) != 1000 {
		t.Errorf("1,000 keys: %d events, want 1000", len(evs))
	}
}

// TestDeleteOfMissingKeyAnswers204 as S3 does, with the event S3 raises.
func TestDeleteOfMissingKeyAnswers204(t *testing.T) {
	k := &sink{}
	e := start(t, t.TempDir(), k)
	req, _ := http.NewRequest(http.MethodDelete, e.http.URL+"/images/upload/never%20written.jpg", nil)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusNoContent {
		t.Errorf("status %d, want 204", resp.StatusCode)
	}
	expect(t, k.take(), "Object Deleted|DeleteObject|upload/never written.jpg")
	resp, err = http.Post(e.http.URL+"/images/upload/x.jpg?versionId=abc", "", nil)
	if err == nil {
		resp.Body.Close()
	}
	req, _ = http.NewRequest(http.MethodDelete, e.http.URL+"/images/upload/x.jpg?versionId=abc", nil)
	if resp, err = http.DefaultClient.Do(req); err != nil || resp.StatusCode != 400 {
		t.Errorf("DELETE with a version id on an unversioned bucket: %v %v", resp, err)
	}
	resp.Body.Close()
}

func rawDeleteObjects(t *testing.T, url string, hdr map[string]string, body string) (int, string) {
	t.Helper()
	req, _ := http.NewRequest(http.MethodPost, url+"/images?delete", strings.NewReader(body))
	for k, v := range hdr {
		req.Header.Set(k, v)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

func TestDeleteObjectsChecksRequestIntegrity(t *testing.T) {
	k := &sink{}
	e := start(t, t.TempDir(), k)
	body := `<Delete><Object><Key>upload/a.jpg</Key></Object></Delete>`
	sum := md5.Sum([]byte(body))
	good := base64.StdEncoding.EncodeToString(sum[:])
	for _, tc := range []struct {
		name string
		hdr  map[string]string
		body string
		code int
		want string
	}{
		{"no Content-MD5 nor checksum", nil, body, 400, "InvalidRequest"},
		{"wrong Content-MD5", map[string]string{"Content-MD5": base64.StdEncoding.EncodeToString(make([]byte, 16))}, body, 400, "BadDigest"},
		{"no objects", map[string]string{"Content-MD5": md5b64("<Delete></Delete>")}, "<Delete></Delete>", 400, "MalformedXML"},
		{"not XML", map[string]string{"Content-MD5": md5b64("{}")}, "{}", 400, "MalformedXML"},
		{"good", map[string]string{"Content-MD5": good}, body, 200, "<Deleted><Key>upload/a.jpg</Key></Deleted>"},
	} {
		code, got := rawDeleteObjects(t, e.http.URL, tc.hdr, tc.body)
		if code != tc.code || !strings.Contains(got, tc.want) {
			t.Errorf("%s: %d %s, want %d %s", tc.name, code, got, tc.code, tc.want)
		}
	}
	expect(t, k.take(), "Object Deleted|DeleteObject|upload/a.jpg")
}

func md5b64(s string) string {
	sum := md5.Sum([]byte(s))
	return base64.StdEncoding.EncodeToString(sum[:])
}

// TestMaxKeysZeroListsNothing: S3 answers max-keys=0 with no keys and IsTruncated
// false (ceph s3-tests test_bucket_list_maxkeys_zero, run against AWS).
func TestMaxKeysZeroListsNothing(t *testing.T) {
	k := &sink{}
	e := start(t, t.TempDir(), k)
	ctx := context.Background()
	for _, key := range []string{"upload/a", "upload/b", "upload/c"} {
		put(t, e.client, key, []byte("x"))
	}
	v2, err := e.client.ListObjectsV2(ctx, &s3.ListObjectsV2Input{Bucket: aws.String("images"), MaxKeys: aws.Int32(0)})
	if err != nil || len(v2.Contents) != 0 || aws.ToBool(v2.IsTruncated) || aws.ToInt32(v2.KeyCount) != 0 {
		t.Errorf("V2 max-keys=0: %v %d keys, truncated %v", err, len(v2.Contents), aws.ToBool(v2.IsTruncated))
	}
	v1, err := e.client.ListObjects(ctx, &s3.ListObjectsInput{Bucket: aws.String("images"), MaxKeys: aws.Int32(0)})
	if err != nil || len(v1.Contents) != 0 || aws.ToBool(v1.IsTruncated) {
		t.Errorf("V1 max-keys=0: %v %d keys", err, len(v1.Contents))
	}
	v2, err = e.client.ListObjectsV2(ctx, &s3.ListObjectsV2Input{Bucket: aws.String("images"), MaxKeys: aws.Int32(2)})
	if err != nil || len(v2.Contents) != 2 || !aws.ToBool(v2.IsTruncated) {
		t.Errorf("max-keys=2: %v %d keys, truncated %v", err, len(v2.Contents), aws.ToBool(v2.IsTruncated))
	}
}

// noUnwrap hides the ResponseWriter's connection, as a wrapping middleware would:
// the edge then times reads itself.
type noUnwrap struct{ http.ResponseWriter }

// TestStalledUploadTimesOutWithinIdleBound: a body that stalls is answered 400
// RequestTimeout after the idle timeout (250 ms here, bound 5 s), and never holds
// its key: another upload of the same key succeeds meanwhile.
func TestStalledUploadTimesOutWithinIdleBound(t *testing.T) {
	for _, wrapped := range []bool{false, true} {
		t.Run(fmt.Sprintf("wrapped=%v", wrapped), func(t *testing.T) {
			k := &sink{}
			srv, err := New(t.TempDir(), Options{Emit: k.emit, RedeliverEvery: -1, ReadIdleTimeout: 250 * time.Millisecond, Logger: slog.New(slog.DiscardHandler)})
			if err != nil {
				t.Fatal(err)
			}
			defer srv.Close()
			var h http.Handler = srv.Handler()
			if wrapped {
				h = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { srv.Handler().ServeHTTP(noUnwrap{w}, r) })
			}
			hs := httptest.NewServer(h)
			defer hs.Close()

			conn, err := net.Dial("tcp", strings.TrimPrefix(hs.URL, "http://"))
			if err != nil {
				t.Fatal(err)
			}
			defer conn.Close()
			began := time.Now()
			fmt.Fprintf(conn, "PUT /images/upload/stalled.jpg HTTP/1.1\r\nHost: x\r\nContent-Length: 1000\r\n\r\n0123456789")

			put(t, newClient(hs.URL, 1), "upload/stalled.jpg", []byte("the other upload"))
			if d := time.Since(began); d > 2*time.Second {
				t.Errorf("the other upload of the key waited %v", d)
			}

			_ = conn.SetReadDeadline(time.Now().Add(5 * time.Second))
			resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
			if err != nil {
				t.Fatalf("no answer to the stalled upload within 5s: %v", err)
			}
			body, _ := io.ReadAll(resp.Body)
			waited := time.Since(began)
			if resp.StatusCode != 400 || !bytes.Contains(body, []byte("<Code>RequestTimeout</Code>")) {
				t.Errorf("stalled upload: %d %s", resp.StatusCode, body)
			}
			t.Logf("stalled upload answered after %v (idle timeout 250ms)", waited.Round(time.Millisecond))
			if _, got := get(t, newClient(hs.URL, 1), "upload/stalled.jpg"); string(got) != "the other upload" {
				t.Errorf("object is %q", got)
			}
			if evs := k.take(); len(evs) != 1 {
				t.Errorf("%d events, want the other upload's 1", len(evs))
			}
		})
	}
}

// TestPutStreams64MiBWithUnder8MiBAllocated: a body goes to disk as it arrives.
func TestPutStreams64MiBWithUnder8MiBAllocated(t *testing.T) {
	k := &sink{}
	e := start(t, t.TempDir(), k)
	const size = 64 << 20
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	req, _ := http.NewRequest(http.MethodPut, e.http.URL+"/images/upload/big.bin", io.LimitReader(zeros{}, size))
	req.ContentLength = size
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	runtime.ReadMemStats(&after)
	if resp.StatusCode != 200 {
		t.Fatalf("status %d", resp.StatusCode)
	}
	alloc := after.TotalAlloc - before.TotalAlloc
	t.Logf("64 MiB PUT allocated %.1f MiB in all (client and server)", float64(alloc)/(1<<20))
	if alloc > 8<<20 {
		t.Errorf("64 MiB PUT allocated %d bytes: the body is buffered", alloc)
	}
	if evs := k.take(); len(evs) != 1 || evs[0].Detail.Object.Size != size {
		t.Errorf("events %+v", evs)
	}
}

type zeros struct{}

func (zeros) Read(p []byte) (int, error) {
	clear(p)
	return len(p), nil
}

func TestPutRefusedBeforeReadingBody(t *testing.T) {
	k := &sink{}
	e := start(t, t.TempDir(), k)
	for _, tc := range []struct {
		name, path string
		hdr        map[string]string
		want       string
	}{
		{"over 5 GiB", "/images/upload/huge.bin", map[string]string{"Content-Length": "5368709121"}, "EntityTooLarge"},
		{"user metadata over 2 KB", "/images/upload/meta.bin", map[string]string{"Content-Length": "1", "X-Amz-Meta-Big": strings.Repeat("m", 2100)}, "MetadataTooLarge"},
		{"no bucket", "/nope/upload/x", map[string]string{"Content-Length": "1"}, "NoSuchBucket"},
		{"acl", "/images/upload/x?acl", map[string]string{"Content-Length": "1"}, "NotImplemented"},
	} {
		conn, err := net.Dial("tcp", strings.TrimPrefix(e.http.URL, "http://"))
		if err != nil {
			t.Fatal(err)
		}
		fmt.Fprintf(conn, "PUT %s HTTP/1.1\r\nHost: x\r\n", tc.path)
		for k, v := range tc.hdr {
			fmt.Fprintf(conn, "%s: %s\r\n", k, v)
		}
		fmt.Fprintf(conn, "\r\n") // and no body: the answer must not wait for one
		_ = conn.SetReadDeadline(time.Now().Add(5 * time.Second))
		resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
		if err != nil {
			t.Fatalf("%s: %v", tc.name, err)
		}
		body, _ := io.ReadAll(resp.Body)
		conn.Close()
		if !bytes.Contains(body, []byte("<Code>"+tc.want+"</Code>")) {
			t.Errorf("%s: %d %s", tc.name, resp.StatusCode, body)
		}
	}
	if evs := k.take(); len(evs) != 0 {
		t.Errorf("refused writes raised %d events", len(evs))
	}
}

func TestPutChecksContentMD5AndChecksums(t *testing.T) {
	k := &sink{}
	e := start(t, t.TempDir(), k)
	for _, tc := range []struct {
		name string
		hdr  map[string]string
		code int
	}{
		{"wrong Content-MD5", map[string]string{"Content-MD5": md5b64("other")}, 400},
		{"malformed Content-MD5", map[string]string{"Content-MD5": "nope"}, 400},
		{"wrong CRC32", map[string]string{"X-Amz-Checksum-Crc32": "AAAAAA=="}, 400},
		{"right Content-MD5", map[string]string{"Content-MD5": md5b64("body")}, 200},
	} {
		req, _ := http.NewRequest(http.MethodPut, e.http.URL+"/images/upload/sum.bin", strings.NewReader("body"))
		for k, v := range tc.hdr {
			req.Header.Set(k, v)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != tc.code {
			t.Errorf("%s: %d, want %d", tc.name, resp.StatusCode, tc.code)
		}
	}
	if evs := k.take(); len(evs) != 1 {
		t.Errorf("%d events, want 1", len(evs))
	}
}
