package s3edge

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/smithy-go"
	smithyhttp "github.com/aws/smithy-go/transport/http"

	"github.com/imagepipe/imagepipe/local/quota"
)

// Past a prefix's request rate S3 answers 503 SlowDown, which the SDK knows as a
// throttle; the write is refused before anything is stored or raised, other prefixes
// are untouched, and reads and writes have separate rates.
func TestPrefixRateAnswersSlowDown(t *testing.T) {
	k := &sink{}
	srv, err := New(t.TempDir(), Options{Emit: k.emit, RedeliverEvery: -1, Logger: slog.New(slog.DiscardHandler),
		Rates: RequestRates{Writes: quota.NewKeyed(2, 1.0/3600), Reads: quota.NewKeyed(1, 1.0/3600)}})
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	c := newClient(newHTTPTest(t, srv), 1) // one attempt: see S3's own answer
	ctx := context.Background()
	putKey := func(key string) error {
		_, err := c.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String("images"), Key: aws.String(key), Body: bytes.NewReader([]byte("x"))})
		return err
	}
	for _, key := range []string{"upload/a", "upload/b"} {
		if err := putKey(key); err != nil {
			t.Fatalf("put %s within the rate: %v", key, err)
		}
	}
	isSlowDown := func(err error) bool {
		var ae smithy.APIError
		var re *smithyhttp.ResponseError
		return errors.As(err, &ae) && ae.ErrorCode() == "SlowDown" && errors.As(err, &re) && re.HTTPStatusCode() == 503
	}
	if err := putKey("upload/c"); !isSlowDown(err) {
		t.Fatalf("third put on upload/ in the second: %v, want 503 SlowDown", err)
	}
	if err := putKey("thumbnail/c"); err != nil {
		t.Fatalf("a put on another prefix: %v", err)
	}
	if n := len(k.take()); n != 3 {
		t.Fatalf("%d events raised, want 3 (none for the refused put)", n)
	}
	if _, err := c.HeadObject(ctx, &s3.HeadObjectInput{Bucket: aws.String("images"), Key: aws.String("upload/a")}); err != nil {
		t.Fatalf("a read within the read rate: %v", err)
	}
	_, err = c.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String("images"), Key: aws.String("upload/b")})
	if !isSlowDown(err) {
		t.Fatalf("second read on upload/: %v, want 503 SlowDown", err)
	}
	if r, w := srv.SlowDowns(); r != 1 || w != 1 {
		t.Fatalf("SlowDowns() = %d reads, %d writes; want 1 and 1", r, w)
	}
	// The twin's own services' reads wait for the rate rather than fail.
	short, cancel := context.WithTimeout(ctx, 50*time.Millisecond)
	defer cancel()
	if _, err := srv.Get(short, "images", "upload/a", ""); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("an internal read past the rate: %v, want it to wait (deadline exceeded)", err)
	}
}
