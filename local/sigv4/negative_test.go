package sigv4

import (
	"bytes"
	"context"
	"io"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/sfn"
)

// swapBody replaces a recorded request's body with another of the same length,
// as a man in the middle would after the signature was made.
func swapBody(t *testing.T, raw []byte, from, to string) []byte {
	t.Helper()
	if len(from) != len(to) {
		t.Fatal("swap bodies of the same length, so Content-Length still holds")
	}
	head, body, ok := bytes.Cut(raw, []byte("\r\n\r\n"))
	if !ok || !bytes.Contains(body, []byte(from)) {
		t.Fatalf("recorded body has no %q", from)
	}
	out := append(bytes.Clone(head), "\r\n\r\n"...) // head shares raw's array: do not write into it
	return append(out, bytes.Replace(body, []byte(from), []byte(to), 1)...)
}

// editHeaders rewrites a recorded request's header block.
func editHeaders(raw []byte, edit func(head string) string) []byte {
	head, body, _ := bytes.Cut(raw, []byte("\r\n\r\n"))
	return append([]byte(edit(string(head))+"\r\n\r\n"), body...)
}

func dropHeader(name string) func(string) string {
	return func(head string) string {
		var keep []string
		for _, l := range strings.Split(head, "\r\n") {
			if !strings.HasPrefix(strings.ToLower(l), strings.ToLower(name)+":") {
				keep = append(keep, l)
			}
		}
		return strings.Join(keep, "\r\n")
	}
}

func recordSFN(t *testing.T, rec *recorder, input string) seen {
	sfn.NewFromConfig(rec.config("test", "test", "")).StartExecution(context.Background(), &sfn.StartExecutionInput{
		StateMachineArn: aws.String("arn:aws:states:us-east-1:000000000000:stateMachine:ImagePipe-Pipeline"), Input: aws.String(input)})
	return mustVerify(t, rec.next(t), "states")
}

func recordS3Put(t *testing.T, rec *recorder, body string) seen {
	rec.s3("test", "test").PutObject(context.Background(), &s3.PutObjectInput{
		Bucket: aws.String("images"), Key: aws.String("upload/x.jpg"), Body: strings.NewReader(body)})
	return mustVerify(t, rec.next(t), "s3")
}

func TestReplay(t *testing.T) {
	rec := newRecorder(t, false)
	s := recordSFN(t, rec, `{"key":"upload/a.jpg"}`)
	// SigV4 has no nonce: within its 15 minutes a replay is a valid request, in AWS
	// too. Outside them it is refused.
	if _, err := Verify(replay(t, s.raw), rec.keys, time.Now().Add(10*time.Minute)); err != nil {
		t.Errorf("replay within the window: %v", err)
	}
	_, err := Verify(replay(t, s.raw), rec.keys, time.Now().Add(16*time.Minute))
	wantKind(t, err, RequestExpired)
	if sh := JSON10.Shape(err.(*Error)); sh.Code != "InvalidSignatureException" || !strings.HasPrefix(sh.Message, "Signature expired: ") {
		t.Errorf("JSON shape %+v", sh)
	}
	_, err = Verify(replay(t, s.raw), rec.keys, time.Now().Add(-16*time.Minute))
	wantKind(t, err, NotYetValid)

	p := recordS3Put(t, rec, "image bytes")
	_, err = Verify(replay(t, p.raw), rec.keys, time.Now().Add(16*time.Minute))
	wantKind(t, err, RequestExpired)
	if sh := S3.Shape(err.(*Error)); sh.Code != "RequestTimeTooSkewed" || sh.Status != 403 {
		t.Errorf("S3 shape %+v", sh)
	}
}

func TestBodySwappedAfterSigning(t *testing.T) {
	rec := newRecorder(t, false)
	s := recordSFN(t, rec, `{"key":"upload/a.jpg"}`)
	_, err := Verify(replay(t, swapBody(t, s.raw, "upload/a.jpg", "upload/b.jpg")), rec.keys, time.Now())
	wantKind(t, err, SignatureMismatch)

	p := recordS3Put(t, rec, "the real image")
	_, err = Verify(replay(t, swapBody(t, p.raw, "real", "fake")), rec.keys, time.Now())
	wantKind(t, err, ContentSHA256Mismatch)

	// A body too large to hold is checked as it streams: a reader that stops at
	// Content-Length gets the error, not the swapped body whole.
	big := strings.Repeat("0123456789", 1000)
	p = recordS3Put(t, rec, big)
	r := replay(t, swapBody(t, p.raw, "0123", "9999"))
	if _, err := VerifyWith(r, rec.keys, time.Now(), Options{MaxBody: 100}); err != nil {
		t.Fatalf("the signature covers the header, not the body: %v", err)
	}
	buf := make([]byte, r.ContentLength)
	n, err := io.ReadFull(r.Body, buf)
	wantKind(t, err, ContentSHA256Mismatch)
	if n == len(buf) {
		t.Error("the whole swapped body was read")
	}
	// The genuine body streams through whole.
	r = replay(t, p.raw)
	if _, err := VerifyWith(r, rec.keys, time.Now(), Options{MaxBody: 100}); err != nil {
		t.Fatal(err)
	}
	if got, err := io.ReadAll(r.Body); err != nil || string(got) != big {
		t.Errorf("streamed body: %d bytes, %v", len(got), err)
	}
}

func TestWrongSecretUnknownKey(t *testing.T) {
	ctx := context.Background()
	rec := newRecorder(t, false)
	rec.s3("test", "not-the-secret").GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String("images"), Key: aws.String("k")})
	err := rec.next(t).err
	wantKind(t, err, SignatureMismatch)
	if sh := S3.Shape(err.(*Error)); sh.Code != "SignatureDoesNotMatch" || sh.Status != 403 {
		t.Errorf("S3 shape %+v", sh)
	}
	rec.s3("nobody", "x").GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String("images"), Key: aws.String("k")})
	err = rec.next(t).err
	wantKind(t, err, InvalidAccessKeyID)
	if sh := S3.Shape(err.(*Error)); sh.Code != "InvalidAccessKeyId" || sh.Status != 403 {
		t.Errorf("S3 shape %+v", sh)
	}
	sfn.NewFromConfig(rec.config("nobody", "x", "")).ListStateMachines(ctx, &sfn.ListStateMachinesInput{})
	err = rec.next(t).err
	wantKind(t, err, InvalidAccessKeyID)
	if sh := JSON10.Shape(err.(*Error)); sh.Code != "UnrecognizedClientException" {
		t.Errorf("JSON shape %+v", sh)
	}
}

func TestMissingOrExtraParts(t *testing.T) {
	rec := newRecorder(t, false)
	s := recordSFN(t, rec, `{}`)
	p := recordS3Put(t, rec, "img")
	cases := []struct {
		name string
		raw  []byte
		want Kind
	}{
		{"no Authorization", editHeaders(s.raw, dropHeader("Authorization")), MissingAuth},
		{"no X-Amz-Date", editHeaders(s.raw, dropHeader("X-Amz-Date")), Malformed},
		{"no Signature", editHeaders(s.raw, func(h string) string {
			i := strings.Index(h, ", Signature=")
			return h[:i] + h[strings.Index(h[i:], "\r\n")+i:]
		}), Malformed},
		{"SigV2", editHeaders(s.raw, func(h string) string {
			return dropHeader("Authorization")(h) + "\r\nAuthorization: AWS test:frJIUN8DYpKDtOLCwo//yllqDzg="
		}), Unsupported},
		{"S3 without x-amz-content-sha256", editHeaders(p.raw, dropHeader("X-Amz-Content-Sha256")), MissingContentSHA256},
		{"S3 with an unsigned x-amz-acl", editHeaders(p.raw, func(h string) string { return h + "\r\nX-Amz-Acl: public-read" }), HeadersNotSigned},
		{"header and query signature", editHeaders(s.raw, func(h string) string {
			return strings.Replace(h, " HTTP/1.1", "?X-Amz-Algorithm=AWS4-HMAC-SHA256 HTTP/1.1", 1)
		}), Malformed},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := Verify(replay(t, c.raw), rec.keys, time.Now())
			wantKind(t, err, c.want)
		})
	}
	_, err := VerifyWith(replay(t, s.raw), rec.keys, time.Now(), Options{Region: "eu-west-1"})
	wantKind(t, err, WrongRegion)
}

func TestPresignedLimits(t *testing.T) {
	keys := keysOf("test", "test")
	url := "/images/k?X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=test%2F20240101%2Fus-east-1%2Fs3%2Faws4_request&X-Amz-Date=20240101T000000Z&X-Amz-SignedHeaders=host&X-Amz-Signature=00&X-Amz-Expires="
	for expires, want := range map[string]Kind{"604801": Malformed, "-1": Malformed, "x": Malformed, "60": SignatureMismatch} {
		r := httptest.NewRequest("GET", url+expires, nil)
		_, err := Verify(r, keys, mustTime(t, "20240101T000030Z"))
		wantKind(t, err, want)
		if want == Malformed {
			if sh := S3.Shape(err.(*Error)); sh.Code != "AuthorizationQueryParametersError" {
				t.Errorf("X-Amz-Expires=%s: S3 shape %+v", expires, sh)
			}
		}
	}
	r := httptest.NewRequest("GET", strings.Replace(url, "&X-Amz-Signature=00", "", 1)+"60", nil)
	_, err := Verify(r, keys, mustTime(t, "20240101T000030Z"))
	wantKind(t, err, Malformed)
}
