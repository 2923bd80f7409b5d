package s3edge

import (
	"context"
	"errors"
	"net/url"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/smithy-go"
)

// eventKeys are keys with every character class S3's event encoding treats
// differently, and the encoded form S3 writes into its events.
var eventKeys = []struct{ key, encoded string }{
	{"upload/red flower.jpg", "upload/red+flower.jpg"}, // S3's documented example
	{"upload/a+b.jpg", "upload/a%2Bb.jpg"},
	{"upload/100%.jpg", "upload/100%25.jpg"},
	{"upload/year=2025/month=08/x.jpg", "upload/year%3D2025/month%3D08/x.jpg"},
	{"upload/a@b", "upload/a%40b"},
	{"upload/写真 ü.jpg", "upload/%E5%86%99%E7%9C%9F+%C3%BC.jpg"},
	{"upload/(1) copy.jpg", "upload/%281%29+copy.jpg"},
	{"upload/x*y_z-1.2~!'.jpg", "upload/x*y_z-1.2%7E%21%27.jpg"},
	{"upload/a?b&c#d:e;f,g$h.jpg", "upload/a%3Fb%26c%23d%3Ae%3Bf%2Cg%24h.jpg"},
	{"upload/a  +  b.jpg", "upload/a++%2B++b.jpg"},
}

func TestEventKeyEncodesAsS3AndDecodes(t *testing.T) {
	for _, tc := range eventKeys {
		if got := EventKey(tc.key); got != tc.encoded {
			t.Errorf("EventKey(%q) = %q, want %q", tc.key, got, tc.encoded)
		}
		if back, err := url.QueryUnescape(tc.encoded); err != nil || back != tc.key {
			t.Errorf("QueryUnescape(%q) = %q, %v", tc.encoded, back, err)
		}
	}
}

// TestEventKeysRoundTrip writes each key through the SDK and checks the event
// carries it encoded as S3 encodes it, that the pipeline's ObjectEvent.Key gives
// the key back, and that the decoded key reads the object.
func TestEventKeysRoundTrip(t *testing.T) {
	k := &sink{}
	e := start(t, t.TempDir(), k)
	for _, tc := range eventKeys {
		body := []byte("body of " + tc.key)
		put(t, e.client, tc.key, body)
		evs := k.take()
		if len(evs) != 1 {
			t.Fatalf("%q: %d events", tc.key, len(evs))
		}
		if got := evs[0].Detail.Object.Key; got != tc.encoded {
			t.Errorf("event key for %q = %q, want %q", tc.key, got, tc.encoded)
		}
		key, err := evs[0].Key()
		if err != nil || key != tc.key {
			t.Errorf("ObjectEvent.Key() for %q = %q, %v", tc.key, key, err)
			continue
		}
		if _, got := get(t, e.client, key); string(got) != string(body) {
			t.Errorf("%q: read back %q", key, got)
		}
		if _, err := e.client.DeleteObject(context.Background(), &s3.DeleteObjectInput{Bucket: aws.String("images"), Key: aws.String(key)}); err != nil {
			t.Fatal(err)
		}
		if evs := k.take(); len(evs) != 1 || evs[0].Detail.Object.Key != tc.encoded {
			t.Errorf("delete event for %q: %+v", tc.key, evs)
		}
	}
}

func TestInvalidKeysRefusedAsS3Does(t *testing.T) {
	k := &sink{}
	e := start(t, t.TempDir(), k)
	ctx := context.Background()
	for _, tc := range []struct {
		name, key, code string
	}{
		{"invalid UTF-8", "upload/bad\xff\xfe.jpg", "InvalidURI"},
		{"1,025 bytes", "upload/" + strings.Repeat("k", 1025-len("upload/")), "KeyTooLongError"},
	} {
		_, err := e.client.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String("images"), Key: aws.String(tc.key), Body: strings.NewReader("x")})
		var ae smithy.APIError
		if !errors.As(err, &ae) || ae.ErrorCode() != tc.code {
			t.Errorf("%s: PutObject = %v, want %s", tc.name, err, tc.code)
		}
		var re interface{ HTTPStatusCode() int }
		if !errors.As(err, &re) || re.HTTPStatusCode() != 400 {
			t.Errorf("%s: status %v, want 400", tc.name, err)
		}
	}
	_, err := e.client.CreateMultipartUpload(ctx, &s3.CreateMultipartUploadInput{Bucket: aws.String("images"), Key: aws.String("upload/\xc3(.jpg")})
	if ae := (smithy.APIError)(nil); !errors.As(err, &ae) || ae.ErrorCode() != "InvalidURI" {
		t.Errorf("CreateMultipartUpload with invalid UTF-8: %v", err)
	}
	if evs := k.take(); len(evs) != 0 {
		t.Errorf("refused keys raised %d events", len(evs))
	}
	list, err := e.client.ListObjectsV2(ctx, &s3.ListObjectsV2Input{Bucket: aws.String("images")})
	if err != nil || len(list.Contents) != 0 {
		t.Errorf("refused keys stored: %v %v", list, err)
	}
}
