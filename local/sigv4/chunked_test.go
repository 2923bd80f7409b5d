package sigv4

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"hash/crc32"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
)

// testChunkSigner writes a signed aws-chunked body as S3's "Signature
// Calculations for the Authorization Header: Transferring Payload in Multiple
// Chunks" and "...Including Trailing Headers" describe it, independently of the
// package's own code.
type testChunkSigner struct {
	key        []byte
	date, cred string // "<amz date>", "<day>/<region>/s3/aws4_request"
	prev       string
}

func newTestChunkSigner(secret string, when time.Time, seed string) *testChunkSigner {
	mac := func(k []byte, s string) []byte { h := hmac.New(sha256.New, k); h.Write([]byte(s)); return h.Sum(nil) }
	day := when.Format("20060102")
	k := mac(mac(mac(mac([]byte("AWS4"+secret), day), "us-east-1"), "s3"), "aws4_request")
	return &testChunkSigner{key: k, date: when.Format(amzDateForm), cred: day + "/us-east-1/s3/aws4_request", prev: seed}
}

func (s *testChunkSigner) sign(kind, last string) string {
	h := hmac.New(sha256.New, s.key)
	fmt.Fprintf(h, "%s\n%s\n%s\n%s\n%s", kind, s.date, s.cred, s.prev, last)
	s.prev = hex.EncodeToString(h.Sum(nil))
	return s.prev
}

func (s *testChunkSigner) body(data []byte, chunk int, trailer string) []byte {
	var b bytes.Buffer
	hexHash := func(p []byte) string { sum := sha256.Sum256(p); return hex.EncodeToString(sum[:]) }
	empty := hexHash(nil)
	for len(data) > 0 {
		n := min(chunk, len(data))
		fmt.Fprintf(&b, "%x;chunk-signature=%s\r\n%s\r\n", n, s.sign("AWS4-HMAC-SHA256-PAYLOAD", empty+"\n"+hexHash(data[:n])), data[:n])
		data = data[n:]
	}
	fmt.Fprintf(&b, "0;chunk-signature=%s\r\n", s.sign("AWS4-HMAC-SHA256-PAYLOAD", empty+"\n"+empty))
	if trailer == "" {
		b.WriteString("\r\n")
		return b.Bytes()
	}
	fmt.Fprintf(&b, "%s\r\nx-amz-trailer-signature:%s\r\n\r\n", trailer, s.sign("AWS4-HMAC-SHA256-TRAILER", hexHash([]byte(trailer+"\n"))))
	return b.Bytes()
}

// signedChunkedPut is a PUT whose headers the SDK's signer signs with a streaming
// payload hash; its body is chunked and signed from that seed.
func signedChunkedPut(t *testing.T, payloadHash string, data []byte, trailer string, tamper func([]byte)) *http.Request {
	when := time.Now().UTC().Truncate(time.Second)
	req, _ := http.NewRequest("PUT", "http://127.0.0.1:4566/images/upload/chunked.jpg", nil)
	req.Header.Set("X-Amz-Content-Sha256", payloadHash)
	req.Header.Set("Content-Encoding", "aws-chunked")
	req.Header.Set("X-Amz-Decoded-Content-Length", fmt.Sprint(len(data)))
	if trailer != "" {
		req.Header.Set("X-Amz-Trailer", "x-amz-checksum-crc32")
	}
	err := v4.NewSigner(func(o *v4.SignerOptions) { o.DisableURIPathEscaping = true }).SignHTTP(context.Background(),
		aws.Credentials{AccessKeyID: "test", SecretAccessKey: "test"}, req, payloadHash, "s3", "us-east-1", when)
	if err != nil {
		t.Fatal(err)
	}
	_, seed, _ := strings.Cut(req.Header.Get("Authorization"), "Signature=")
	body := newTestChunkSigner("test", when, seed).body(data, 8192, trailer)
	if tamper != nil {
		tamper(body)
	}
	req.Body, req.ContentLength = io.NopCloser(bytes.NewReader(body)), int64(len(body))
	var wire bytes.Buffer
	if err := req.Write(&wire); err != nil {
		t.Fatal(err)
	}
	return replay(t, wire.Bytes())
}

func crc32Trailer(data []byte) string {
	var b [4]byte
	binary.BigEndian.PutUint32(b[:], crc32.ChecksumIEEE(data))
	return "x-amz-checksum-crc32:" + base64.StdEncoding.EncodeToString(b[:])
}

func TestSignedChunkedWithTrailer(t *testing.T) {
	keys := keysOf("test", "test")
	data := bytes.Repeat([]byte("pixel"), 5000)
	trailer := crc32Trailer(data)
	check := func(r *http.Request) ([]byte, error) {
		t.Helper()
		if _, err := Verify(r, keys, time.Now()); err != nil {
			t.Fatalf("seed refused: %v", err)
		}
		return io.ReadAll(r.Body)
	}
	for _, mode := range []struct{ hash, trailer string }{{streamingSigned, ""}, {streamingSignedTrailer, trailer}} {
		r := signedChunkedPut(t, mode.hash, data, mode.trailer, nil)
		want := r.ContentLength
		got, err := check(r)
		if err != nil || int64(len(got)) != want {
			t.Fatalf("%s: read %d of %d bytes: %v", mode.hash, len(got), want, err)
		}
	}
	for name, tamper := range map[string]func([]byte){
		"trailer value":     func(b []byte) { i := bytes.Index(b, []byte("crc32:")); b[i+7] ^= 1 },
		"trailer signature": func(b []byte) { i := bytes.Index(b, []byte("trailer-signature:")); b[i+20] ^= 1 },
		"data":              func(b []byte) { b[100] ^= 1 },
	} {
		t.Run(name, func(t *testing.T) {
			_, err := check(signedChunkedPut(t, streamingSignedTrailer, data, trailer, tamper))
			wantKind(t, err, SignatureMismatch)
		})
	}
	t.Run("trailer signature missing", func(t *testing.T) {
		r := signedChunkedPut(t, streamingSignedTrailer, data, trailer, nil)
		raw, _ := io.ReadAll(r.Body)
		i := bytes.Index(raw, []byte("x-amz-trailer-signature"))
		r = signedChunkedPut(t, streamingSignedTrailer, data, trailer, nil)
		r.Body = io.NopCloser(bytes.NewReader(append(raw[:i:i], "\r\n"...)))
		_, err := check(r)
		wantKind(t, err, SignatureMismatch)
	})
}
