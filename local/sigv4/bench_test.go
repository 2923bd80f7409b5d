package sigv4

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
)

// signedWire is a request signed by the SDK's signer, as the wire carries it.
func signedWire(b *testing.B, service, method, url, payloadHash string, body []byte) []byte {
	req, _ := http.NewRequest(method, url, bytes.NewReader(body))
	if service == "s3" {
		req.Header.Set("X-Amz-Content-Sha256", payloadHash)
	}
	err := v4.NewSigner(func(o *v4.SignerOptions) { o.DisableURIPathEscaping = service == "s3" }).SignHTTP(context.Background(),
		aws.Credentials{AccessKeyID: "test", SecretAccessKey: "test"}, req, payloadHash, service, "us-east-1", time.Now())
	if err != nil {
		b.Fatal(err)
	}
	var w bytes.Buffer
	req.Write(&w)
	return w.Bytes()
}

func benchVerify(b *testing.B, raw []byte) {
	keys := keysOf("test", "test")
	b.SetBytes(int64(len(raw)))
	b.ReportAllocs()
	for b.Loop() {
		r := replay(b, raw)
		if _, err := Verify(r, keys, time.Now()); err != nil {
			b.Fatal(err)
		}
		io.Copy(io.Discard, r.Body)
	}
}

func BenchmarkVerifyStartExecution(b *testing.B) {
	body := []byte(`{"stateMachineArn":"arn:aws:states:us-east-1:000000000000:stateMachine:ImagePipe-Pipeline","input":"{}"}`)
	benchVerify(b, signedWire(b, "states", "POST", "http://127.0.0.1:4566/", sha256Hex(body), body))
}

func BenchmarkVerifyS3PutObject1MiB(b *testing.B) {
	body := bytes.Repeat([]byte("p"), 1<<20)
	benchVerify(b, signedWire(b, "s3", "PUT", "http://127.0.0.1:4566/images/upload/a.jpg", sha256Hex(body), body))
}

func BenchmarkVerifyS3Chunked1MiB(b *testing.B) {
	data := bytes.Repeat([]byte("p"), 1<<20)
	when := time.Now().UTC().Truncate(time.Second)
	req, _ := http.NewRequest("PUT", "http://127.0.0.1:4566/images/upload/a.jpg", nil)
	req.Header.Set("X-Amz-Content-Sha256", streamingSigned)
	req.Header.Set("Content-Encoding", "aws-chunked")
	v4.NewSigner(func(o *v4.SignerOptions) { o.DisableURIPathEscaping = true }).SignHTTP(context.Background(),
		aws.Credentials{AccessKeyID: "test", SecretAccessKey: "test"}, req, streamingSigned, "s3", "us-east-1", when)
	_, seed, _ := strings.Cut(req.Header.Get("Authorization"), "Signature=")
	body := newTestChunkSigner("test", when, seed).body(data, 64<<10, "")
	req.Body, req.ContentLength = io.NopCloser(bytes.NewReader(body)), int64(len(body))
	var w bytes.Buffer
	req.Write(&w)
	benchVerify(b, w.Bytes())
}
