package sigv4

import (
	"bytes"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

// The worked examples of the Amazon S3 API Reference ("Examples: Signature
// Calculations in AWS Signature Version 4", "Authenticating Requests: Using Query
// Parameters", "Transferring Payload in Multiple Chunks"): key
// AKIAIOSFODNN7EXAMPLE, 2013-05-24T00:00:00Z, us-east-1.
const (
	s3DocKey    = "AKIAIOSFODNN7EXAMPLE"
	s3DocSecret = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"
	s3DocDate   = "20130524T000000Z"
	s3DocScope  = s3DocKey + "/20130524/us-east-1/s3/aws4_request"
)

func s3DocKeys() *Keys { return keysOf(s3DocKey, s3DocSecret) }

func s3DocAuth(signed, sig string) [2]string {
	return [2]string{"Authorization", "AWS4-HMAC-SHA256 Credential=" + s3DocScope + ",SignedHeaders=" + signed + ",Signature=" + sig}
}

func TestS3DocumentationExamples(t *testing.T) {
	now := mustTime(t, s3DocDate)
	host := [2]string{"Host", "examplebucket.s3.amazonaws.com"}
	date := [2]string{"x-amz-date", s3DocDate}
	empty := [2]string{"x-amz-content-sha256", emptyHash}
	cases := []struct {
		name, method, target, body string
		headers                    [][2]string
	}{
		{"GET Object", "GET", "/test.txt", "", [][2]string{host, {"Range", "bytes=0-9"}, empty, date,
			s3DocAuth("host;range;x-amz-content-sha256;x-amz-date", "f0e8bdb87c964420e857bd35b5d6ed310bd44f0170aba48dd91039c6036bdb41")}},
		{"PUT Object", "PUT", "/test$file.text", "Welcome to Amazon S3.", [][2]string{host, {"Date", "Fri, 24 May 2013 00:00:00 GMT"}, date,
			{"x-amz-storage-class", "REDUCED_REDUNDANCY"}, {"x-amz-content-sha256", "44ce7dd67c959e0d3524ffac1771dfbba87d2b6b4b4e99e42034a8b803f8b072"},
			s3DocAuth("date;host;x-amz-content-sha256;x-amz-date;x-amz-storage-class", "98ad721746da40c64f1a55b78f14c238d841ea1380cd77a1b5971af0ece108bd")}},
		{"GET Bucket Lifecycle", "GET", "/?lifecycle", "", [][2]string{host, empty, date,
			s3DocAuth("host;x-amz-content-sha256;x-amz-date", "fea454ca298b7da1c68078a5d1bdbfbbe0d65c699e0f91ac7a200a0136783543")}},
		{"Get Bucket (List Objects)", "GET", "/?max-keys=2&prefix=J", "", [][2]string{host, empty, date,
			s3DocAuth("host;x-amz-content-sha256;x-amz-date", "34b48302e7b5fa45bde8084f4b7868a86f0a534bc59db6670ed5711ef69dc6f7")}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			r := wireRequest(t, c.method, c.target, c.headers, c.body)
			id, err := Verify(r, s3DocKeys(), now)
			if err != nil {
				t.Fatal(err)
			}
			if id.Service != "s3" || id.Region != "us-east-1" || id.AccessKeyID != s3DocKey {
				t.Errorf("identity %+v", id)
			}
			if got, _ := io.ReadAll(r.Body); string(got) != c.body {
				t.Errorf("body after Verify %q, want %q", got, c.body)
			}
		})
	}
	t.Run("PUT Object, body swapped", func(t *testing.T) {
		c := cases[1]
		r := wireRequest(t, c.method, c.target, c.headers, "Welcome to Amazon S4.")
		_, err := Verify(r, s3DocKeys(), now)
		wantKind(t, err, ContentSHA256Mismatch)
		if s := S3.Shape(err.(*Error)); s.Code != "XAmzContentSHA256Mismatch" || s.Status != 400 {
			t.Errorf("S3 shape %+v", s)
		}
	})
}

const s3DocPresigned = "/test.txt?X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=AKIAIOSFODNN7EXAMPLE%2F20130524%2Fus-east-1%2Fs3%2Faws4_request&X-Amz-Date=20130524T000000Z&X-Amz-Expires=86400&X-Amz-SignedHeaders=host&X-Amz-Signature=aeeed9bbccd4d02ee5c0109b86d86835f995330da4c265957d157751f604d404"

func TestS3DocumentationPresignedURL(t *testing.T) {
	now := mustTime(t, s3DocDate)
	get := func() *http.Request {
		return wireRequest(t, "GET", s3DocPresigned, [][2]string{{"Host", "examplebucket.s3.amazonaws.com"}}, "")
	}
	id, err := Verify(get(), s3DocKeys(), now.Add(23*time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	if !id.Presigned || id.PayloadHash != unsignedPayload {
		t.Errorf("identity %+v", id)
	}
	_, err = Verify(get(), s3DocKeys(), now.Add(24*time.Hour+time.Second))
	wantKind(t, err, RequestExpired)
	if s := S3.Shape(err.(*Error)); s.Code != "AccessDenied" || s.Message != "Request has expired" || s.Status != 403 {
		t.Errorf("expired presigned URL: S3 shape %+v", s)
	}
	// The URL cannot be moved to another object or host.
	other := wireRequest(t, "GET", strings.Replace(s3DocPresigned, "/test.txt", "/secret.txt", 1), [][2]string{{"Host", "examplebucket.s3.amazonaws.com"}}, "")
	_, err = Verify(other, s3DocKeys(), now)
	wantKind(t, err, SignatureMismatch)
	// An x-amz-* header added to a presigned request is refused (S3 HeadersNotSigned).
	r := get()
	r.Header.Set("X-Amz-Acl", "public-read")
	_, err = Verify(r, s3DocKeys(), now)
	wantKind(t, err, HeadersNotSigned)
}

// chunkedDoc is the S3 documentation's chunked upload: 65 KiB of 'a' in a 64 KiB
// chunk and a 1 KiB chunk, then the final empty chunk.
func chunkedDoc(t *testing.T, body []byte) *http.Request {
	return wireRequest(t, "PUT", "/examplebucket/chunkObject.txt", [][2]string{
		{"Host", "s3.amazonaws.com"}, {"x-amz-date", s3DocDate}, {"x-amz-storage-class", "REDUCED_REDUNDANCY"},
		s3DocAuth("content-encoding;content-length;host;x-amz-content-sha256;x-amz-date;x-amz-decoded-content-length;x-amz-storage-class",
			"4f232c4386841ef735655705268965c44a0e4690baa4adea153f7db9fa80a0a9"),
		{"x-amz-content-sha256", "STREAMING-AWS4-HMAC-SHA256-PAYLOAD"}, {"Content-Encoding", "aws-chunked"},
		{"x-amz-decoded-content-length", "66560"}, {"Content-Length", "66824"},
	}, string(body))
}

func chunkedDocBody() []byte {
	var b bytes.Buffer
	b.WriteString("10000;chunk-signature=ad80c730a21e5b8d04586a2213dd63b9a0e99e0e2307b0ade35a65485a288648\r\n")
	b.Write(bytes.Repeat([]byte("a"), 65536))
	b.WriteString("\r\n400;chunk-signature=0055627c9e194cb4542bae2aa5492e3c1575bbb81b612b7d234b86a503ef5497\r\n")
	b.Write(bytes.Repeat([]byte("a"), 1024))
	b.WriteString("\r\n0;chunk-signature=b6c6ea8a5354eaf15b3cb7646744f4275b71ea724fed81ceb9323e279d449df9\r\n\r\n")
	return b.Bytes()
}

func TestS3DocumentationChunkedUpload(t *testing.T) {
	now := mustTime(t, s3DocDate)
	body := chunkedDocBody()
	if len(body) != 66824 {
		t.Fatalf("the documented body is 66824 bytes, built %d", len(body))
	}
	r := chunkedDoc(t, body)
	id, err := Verify(r, s3DocKeys(), now)
	if err != nil {
		t.Fatal(err)
	}
	if id.PayloadHash != streamingSigned {
		t.Errorf("payload hash %q", id.PayloadHash)
	}
	got, err := io.ReadAll(r.Body)
	if err != nil || !bytes.Equal(got, body) {
		t.Fatalf("body passes through unchanged: err %v, %d bytes of %d", err, len(got), len(body))
	}

	for name, tamper := range map[string]func(b []byte){
		"data of the second chunk": func(b []byte) { b[len(b)-200] = 'b' },
		"a chunk signature":        func(b []byte) { b[30] ^= 1 },
		"the final signature":      func(b []byte) { b[len(b)-10] ^= 1 },
	} {
		t.Run(name, func(t *testing.T) {
			bad := bytes.Clone(body)
			tamper(bad)
			r := chunkedDoc(t, bad)
			if _, err := Verify(r, s3DocKeys(), now); err != nil {
				t.Fatalf("the seed signature is intact, Verify answers %v", err)
			}
			got, err := io.ReadAll(r.Body)
			wantKind(t, err, SignatureMismatch)
			if len(got) >= len(body) {
				t.Errorf("a reader got %d bytes of a tampered %d-byte body", len(got), len(body))
			}
		})
	}
	t.Run("truncated", func(t *testing.T) {
		r := chunkedDoc(t, body[:len(body)-60])
		if _, err := Verify(r, s3DocKeys(), now); err != nil {
			t.Fatal(err)
		}
		_, err := io.ReadAll(r.Body)
		wantKind(t, err, Malformed)
	})
}

// TestChunkedThroughServer: the chunk check holds on a body read off a real
// connection in small pieces.
func TestChunkedThroughServer(t *testing.T) {
	now := mustTime(t, s3DocDate)
	body := chunkedDocBody()
	type result struct {
		n   int
		err error
	}
	results := make(chan result, 1)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if _, err := Verify(r, s3DocKeys(), now); err != nil {
			results <- result{err: err}
			return
		}
		buf := make([]byte, 7) // odd reads across chunk boundaries
		n := 0
		for {
			k, err := r.Body.Read(buf)
			n += k
			if err == io.EOF {
				results <- result{n: n}
				return
			}
			if err != nil {
				results <- result{n, err}
				return
			}
		}
	}))
	defer srv.Close()
	req := chunkedDoc(t, body)
	out, _ := http.NewRequest("PUT", srv.URL+req.RequestURI, bytes.NewReader(body))
	out.Header = req.Header
	out.Host = req.Host
	resp, err := srv.Client().Do(out)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	res := <-results
	if res.err != nil || res.n != len(body) {
		t.Fatalf("read %d of %d bytes, err %v", res.n, len(body), res.err)
	}
}
