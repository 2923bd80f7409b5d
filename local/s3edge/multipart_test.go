package s3edge

import (
	"bytes"
	"context"
	"crypto/md5"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"
	"github.com/aws/smithy-go"
)

// apiError checks that err is the S3 error code with the HTTP status.
func apiError(t *testing.T, what string, err error, code string, status int) {
	t.Helper()
	var ae smithy.APIError
	var re interface{ HTTPStatusCode() int }
	if !errors.As(err, &ae) || ae.ErrorCode() != code || !errors.As(err, &re) || re.HTTPStatusCode() != status {
		t.Errorf("%s: %v, want %d %s", what, err, status, code)
	}
}

type mpu struct {
	t      *testing.T
	c      *s3.Client
	key    string
	id     *string
	parts  []types.CompletedPart
	bodies [][]byte
}

func startUpload(t *testing.T, c *s3.Client, key string) *mpu {
	t.Helper()
	cr, err := c.CreateMultipartUpload(context.Background(), &s3.CreateMultipartUploadInput{
		Bucket: aws.String("images"), Key: aws.String(key), ContentType: aws.String("image/jpeg"),
	})
	if err != nil {
		t.Fatal(err)
	}
	return &mpu{t: t, c: c, key: key, id: cr.UploadId}
}

func (u *mpu) part(n int32, body []byte) error {
	out, err := u.c.UploadPart(context.Background(), &s3.UploadPartInput{
		Bucket: aws.String("images"), Key: aws.String(u.key), UploadId: u.id,
		PartNumber: aws.Int32(n), Body: bytes.NewReader(body),
	})
	if err == nil {
		u.parts = append(u.parts, types.CompletedPart{ETag: out.ETag, PartNumber: aws.Int32(n)})
		u.bodies = append(u.bodies, body)
	}
	return err
}

func (u *mpu) complete(parts ...types.CompletedPart) (*s3.CompleteMultipartUploadOutput, error) {
	if parts == nil {
		parts = u.parts
	}
	return u.c.CompleteMultipartUpload(context.Background(), &s3.CompleteMultipartUploadInput{
		Bucket: aws.String("images"), Key: aws.String(u.key), UploadId: u.id,
		MultipartUpload: &types.CompletedMultipartUpload{Parts: parts},
	})
}

func partFiles(t *testing.T, dir string) int {
	t.Helper()
	entries, err := os.ReadDir(filepath.Join(dir, "parts"))
	if err != nil {
		t.Fatal(err)
	}
	return len(entries)
}

// multipartETag is S3's: MD5 of the parts' MD5s, "-", the part count.
func multipartETag(bodies ...[]byte) string {
	h := md5.New()
	for _, b := range bodies {
		s := md5.Sum(b)
		h.Write(s[:])
	}
	return fmt.Sprintf("%s-%d", hex.EncodeToString(h.Sum(nil)), len(bodies))
}

func TestMultipartSizeRulesAsS3(t *testing.T) {
	k := &sink{}
	dir := t.TempDir()
	e := start(t, dir, k)
	u := startUpload(t, e.client, "upload/small parts.jpg")
	for _, n := range []int32{0, 10001, -1} {
		apiError(t, fmt.Sprintf("part number %d", n), u.part(n, []byte("x")), "InvalidArgument", 400)
	}
	if err := u.part(1, []byte("a")); err != nil {
		t.Fatal(err)
	}
	if err := u.part(2, []byte("b")); err != nil {
		t.Fatal(err)
	}
	if got := partFiles(t, dir); got != 2 {
		t.Errorf("parts on disk: %d files, want 2", got)
	}
	_, err := u.complete()
	apiError(t, "1-byte first part", err, "EntityTooSmall", 400)
	_, err = u.complete(u.parts[1], u.parts[0])
	apiError(t, "parts out of order", err, "InvalidPartOrder", 400)
	_, err = u.complete(types.CompletedPart{PartNumber: aws.Int32(1), ETag: aws.String(`"0123"`)})
	apiError(t, "wrong ETag", err, "InvalidPart", 400)
	_, err = u.complete(types.CompletedPart{PartNumber: aws.Int32(7), ETag: u.parts[0].ETag})
	apiError(t, "part never uploaded", err, "InvalidPart", 400)
	if len(k.take()) != 0 {
		t.Fatal("a refused completion raised an event")
	}

	// The upload survives the refusals: replace part 1 with 5 MiB and complete.
	big := bytes.Repeat([]byte("5"), minPartSize)
	u.parts, u.bodies = nil, nil
	if err := u.part(1, big); err != nil {
		t.Fatal(err)
	}
	if err := u.part(2, []byte("b")); err != nil {
		t.Fatal(err)
	}
	if err := u.part(10000, []byte("last")); err != nil {
		t.Fatalf("part 10000: %v", err)
	}
	_, err = u.complete()
	apiError(t, "1-byte middle part", err, "EntityTooSmall", 400)
	// Parts left out of the list are discarded, as S3 discards them.
	out, err := u.complete(u.parts[0], u.parts[2])
	if err != nil {
		t.Fatal(err)
	}
	want := multipartETag(u.bodies[0], u.bodies[2])
	if aws.ToString(out.ETag) != `"`+want+`"` {
		t.Errorf("ETag %s, want %q", aws.ToString(out.ETag), want)
	}
	evs := k.take()
	expect(t, evs, "Object Created|CompleteMultipartUpload|upload/small parts.jpg")
	if evs[0].Detail.Object.ETag != want || evs[0].Detail.Object.Size != int64(len(big)+4) {
		t.Errorf("event etag/size %s/%d", evs[0].Detail.Object.ETag, evs[0].Detail.Object.Size)
	}
	head, err := e.client.HeadObject(context.Background(), &s3.HeadObjectInput{Bucket: aws.String("images"), Key: aws.String(u.key)})
	if err != nil || aws.ToString(head.ETag) != `"`+want+`"` || aws.ToString(head.ContentType) != "image/jpeg" {
		t.Errorf("HEAD: %v %s %s", err, aws.ToString(head.ETag), aws.ToString(head.ContentType))
	}
	if got := partFiles(t, dir); got != 0 {
		t.Errorf("%d part files left after completion", got)
	}
	_, err = e.client.UploadPart(context.Background(), &s3.UploadPartInput{
		Bucket: aws.String("images"), Key: aws.String(u.key), UploadId: u.id, PartNumber: aws.Int32(3), Body: strings.NewReader("late"),
	})
	apiError(t, "part after completion", err, "NoSuchUpload", 404)
}

func TestMultipartAbortListAndRestart(t *testing.T) {
	k := &sink{}
	dir := t.TempDir()
	e := start(t, dir, k)
	ctx := context.Background()
	a := startUpload(t, e.client, "upload/a.jpg")
	b := startUpload(t, e.client, "upload/b.jpg")
	first := bytes.Repeat([]byte{'x'}, minPartSize)
	for _, u := range []*mpu{a, b} {
		if err := u.part(1, first); err != nil {
			t.Fatal(err)
		}
	}
	lu, err := e.client.ListMultipartUploads(ctx, &s3.ListMultipartUploadsInput{Bucket: aws.String("images")})
	if err != nil || len(lu.Uploads) != 2 || aws.ToString(lu.Uploads[0].Key) != "upload/a.jpg" {
		t.Fatalf("ListMultipartUploads: %v %+v", err, lu)
	}
	lp, err := e.client.ListParts(ctx, &s3.ListPartsInput{Bucket: aws.String("images"), Key: aws.String("upload/a.jpg"), UploadId: a.id})
	if err != nil || len(lp.Parts) != 1 || aws.ToInt64(lp.Parts[0].Size) != minPartSize || aws.ToString(lp.Parts[0].ETag) != aws.ToString(a.parts[0].ETag) {
		t.Fatalf("ListParts: %v %+v", err, lp)
	}
	if _, err := e.client.AbortMultipartUpload(ctx, &s3.AbortMultipartUploadInput{Bucket: aws.String("images"), Key: aws.String("upload/a.jpg"), UploadId: a.id}); err != nil {
		t.Fatal(err)
	}
	_, err = e.client.AbortMultipartUpload(ctx, &s3.AbortMultipartUploadInput{Bucket: aws.String("images"), Key: aws.String("upload/a.jpg"), UploadId: a.id})
	apiError(t, "second abort", err, "NoSuchUpload", 404)
	apiError(t, "part of an aborted upload", a.part(2, []byte("x")), "NoSuchUpload", 404)
	if got := partFiles(t, dir); got != 1 {
		t.Errorf("after abort: %d part files, want b's 1", got)
	}

	// b's part is on disk, not in memory: it survives a restart and completes.
	e.stop()
	e = start(t, dir, k)
	b.c = e.client
	if err := b.part(2, []byte("tail")); err != nil {
		t.Fatal(err)
	}
	if _, err := b.complete(); err != nil {
		t.Fatal(err)
	}
	expect(t, k.take(), "Object Created|CompleteMultipartUpload|upload/b.jpg")
	if _, got := get(t, e.client, "upload/b.jpg"); !bytes.Equal(got, append(append([]byte{}, first...), "tail"...)) {
		t.Errorf("object after restart: %d bytes", len(got))
	}
}

type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *clock) set(t time.Time) {
	c.mu.Lock()
	c.t = t
	c.mu.Unlock()
}

// TestAbandonedUploadsExpireAsLifecycleSays uses the template's rule (1 day) and
// S3's rounding: an upload initiated 2024-01-15 10:30 UTC is aborted from
// 2024-01-17 00:00 UTC, not before.
func TestAbandonedUploadsExpireAsLifecycleSays(t *testing.T) {
	dir := t.TempDir()
	c := &clock{t: time.Date(2024, 1, 15, 10, 30, 0, 0, time.UTC)}
	days := AbortIncompleteUploadDays(map[string]any{"Rules": []any{
		map[string]any{"Id": "abort-incomplete-multipart-uploads", "Status": "Enabled",
			"AbortIncompleteMultipartUpload": map[string]any{"DaysAfterInitiation": float64(1)}, "Prefix": "upload/"},
		map[string]any{"Status": "Disabled", "AbortIncompleteMultipartUpload": map[string]any{"DaysAfterInitiation": float64(0.5)}},
	}})
	srv, err := New(dir, Options{
		RedeliverEvery: -1, LifecycleEvery: -1, Now: c.Now, Logger: slog.New(slog.DiscardHandler),
		UploadExpiryDays: func(_, key string) int { return days(key) },
	})
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	hs := newHTTPTest(t, srv)
	cl := newClient(hs, 0)
	old := startUpload(t, cl, "upload/abandoned.jpg")
	kept := startUpload(t, cl, "elsewhere/kept.jpg") // no rule applies: kept, as S3 keeps it
	for _, u := range []*mpu{old, kept} {
		if err := u.part(1, []byte("part")); err != nil {
			t.Fatal(err)
		}
	}
	for _, tc := range []struct {
		at   time.Time
		want int
	}{
		{time.Date(2024, 1, 16, 10, 30, 0, 0, time.UTC), 0},
		{time.Date(2024, 1, 16, 23, 59, 59, 0, time.UTC), 0},
		{time.Date(2024, 1, 17, 0, 0, 0, 0, time.UTC), 1},
		{time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC), 0},
	} {
		c.set(tc.at)
		if n, err := srv.ExpireUploads(context.Background()); n != tc.want || err != nil {
			t.Errorf("at %s: expired %d (%v), want %d", tc.at, n, err, tc.want)
		}
	}
	apiError(t, "part of an expired upload", old.part(2, []byte("x")), "NoSuchUpload", 404)
	if err := kept.part(2, []byte("x")); err != nil {
		t.Errorf("upload without a rule: %v", err)
	}
	if got := partFiles(t, dir); got != 2 {
		t.Errorf("%d part files, want kept's 2", got)
	}
}

func TestAbortIncompleteUploadDaysFromTemplate(t *testing.T) {
	days := AbortIncompleteUploadDays(map[string]any{"Rules": []any{
		map[string]any{"Status": "Enabled", "AbortIncompleteMultipartUpload": map[string]any{"DaysAfterInitiation": "7"}},
		map[string]any{"Status": "Enabled", "Prefix": "tmp/", "AbortIncompleteMultipartUpload": map[string]any{"DaysAfterInitiation": float64(2)}},
		map[string]any{"Status": "Enabled", "Prefix": "tagged/", "TagFilters": []any{map[string]any{"Key": "k", "Value": "v"}},
			"AbortIncompleteMultipartUpload": map[string]any{"DaysAfterInitiation": float64(1)}},
		map[string]any{"Status": "Enabled", "ExpirationInDays": float64(90)},
	}})
	for key, want := range map[string]int{"upload/a.jpg": 7, "tmp/a": 2, "tagged/a": 7} {
		if got := days(key); got != want {
			t.Errorf("days(%q) = %d, want %d", key, got, want)
		}
	}
	if got := AbortIncompleteUploadDays(nil)("upload/a.jpg"); got != 0 {
		t.Errorf("no lifecycle: %d, want 0 (never)", got)
	}
}
