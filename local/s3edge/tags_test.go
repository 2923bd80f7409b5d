package s3edge

import (
	"bytes"
	"context"
	"fmt"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"
	"github.com/imagepipe/imagepipe/functions/pipeline"
)

func tagSet(kv ...string) []types.Tag {
	var out []types.Tag
	for i := 0; i+1 < len(kv); i += 2 {
		out = append(out, types.Tag{Key: aws.String(kv[i]), Value: aws.String(kv[i+1])})
	}
	return out
}

func getTags(t *testing.T, c *s3.Client, key string) string {
	t.Helper()
	out, err := c.GetObjectTagging(context.Background(), &s3.GetObjectTaggingInput{Bucket: aws.String("images"), Key: aws.String(key)})
	if err != nil {
		t.Fatalf("get tagging %q: %v", key, err)
	}
	var parts []string
	for _, tg := range out.TagSet {
		parts = append(parts, aws.ToString(tg.Key)+"="+aws.ToString(tg.Value))
	}
	return strings.Join(parts, "&")
}

// TestObjectTaggingAsS3: Put/Get/DeleteObjectTagging and x-amz-tagging on
// PutObject, CopyObject and multipart uploads, persisted with the object, with S3's
// limits (10 tags, keys 128 and values 256 characters, unique keys, no aws: prefix).
func TestObjectTaggingAsS3(t *testing.T) {
	k := &sink{}
	dir := t.TempDir()
	e := start(t, dir, k)
	ctx := context.Background()
	c := e.client
	_, err := c.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String("images"), Key: aws.String("upload/a.jpg"),
		Body: strings.NewReader("a"), Tagging: aws.String("colour=red&note=a%20b%26c")})
	if err != nil {
		t.Fatal(err)
	}
	if got := getTags(t, c, "upload/a.jpg"); got != "colour=red&note=a b&c" {
		t.Errorf("tags from x-amz-tagging: %q", got)
	}
	out, _ := get(t, c, "upload/a.jpg")
	if aws.ToInt32(out.TagCount) != 2 {
		t.Errorf("GET x-amz-tagging-count %d, want 2", aws.ToInt32(out.TagCount))
	}
	k.take()
	if _, err := c.PutObjectTagging(ctx, &s3.PutObjectTaggingInput{Bucket: aws.String("images"), Key: aws.String("upload/a.jpg"),
		Tagging: &types.Tagging{TagSet: tagSet("imagepipe:status", "rejected")}}); err != nil {
		t.Fatal(err)
	}
	if evs := k.take(); len(evs) != 0 {
		t.Errorf("PutObjectTagging raised %v; the edge raises only Object Created/Deleted", evs)
	}
	// Copies keep the source's tags unless told to replace them.
	if _, err := c.CopyObject(ctx, &s3.CopyObjectInput{Bucket: aws.String("images"), Key: aws.String("upload/copy.jpg"), CopySource: aws.String("images/upload/a.jpg")}); err != nil {
		t.Fatal(err)
	}
	if _, err := c.CopyObject(ctx, &s3.CopyObjectInput{Bucket: aws.String("images"), Key: aws.String("upload/copy2.jpg"), CopySource: aws.String("images/upload/a.jpg"),
		TaggingDirective: types.TaggingDirectiveReplace, Tagging: aws.String("x=y")}); err != nil {
		t.Fatal(err)
	}
	u, err := c.CreateMultipartUpload(ctx, &s3.CreateMultipartUploadInput{Bucket: aws.String("images"), Key: aws.String("upload/mp.jpg"), Tagging: aws.String("m=1")})
	if err != nil {
		t.Fatal(err)
	}
	p, err := c.UploadPart(ctx, &s3.UploadPartInput{Bucket: aws.String("images"), Key: aws.String("upload/mp.jpg"), UploadId: u.UploadId, PartNumber: aws.Int32(1), Body: bytes.NewReader([]byte("p"))})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.CompleteMultipartUpload(ctx, &s3.CompleteMultipartUploadInput{Bucket: aws.String("images"), Key: aws.String("upload/mp.jpg"), UploadId: u.UploadId,
		MultipartUpload: &types.CompletedMultipartUpload{Parts: []types.CompletedPart{{ETag: p.ETag, PartNumber: aws.Int32(1)}}}}); err != nil {
		t.Fatal(err)
	}
	// Tags persist: reopen the store.
	e.stop()
	e = start(t, dir, k)
	c = e.client
	for key, want := range map[string]string{"upload/a.jpg": "imagepipe:status=rejected", "upload/copy.jpg": "imagepipe:status=rejected", "upload/copy2.jpg": "x=y", "upload/mp.jpg": "m=1"} {
		if got := getTags(t, c, key); got != want {
			t.Errorf("%s after restart: tags %q, want %q", key, got, want)
		}
	}
	if _, err := c.DeleteObjectTagging(ctx, &s3.DeleteObjectTaggingInput{Bucket: aws.String("images"), Key: aws.String("upload/a.jpg")}); err != nil {
		t.Fatal(err)
	}
	if got := getTags(t, c, "upload/a.jpg"); got != "" {
		t.Errorf("after DeleteObjectTagging: %q", got)
	}
	if _, b := get(t, c, "upload/a.jpg"); string(b) != "a" {
		t.Errorf("tagging changed the object: %q", b)
	}

	many := make([]string, 0, 22)
	for i := range 11 {
		many = append(many, fmt.Sprintf("k%d", i), "v")
	}
	for _, tc := range []struct {
		name string
		tags []types.Tag
		code string
	}{
		{"11 tags", tagSet(many...), "BadRequest"},
		{"key of 129", tagSet(strings.Repeat("k", 129), "v"), "InvalidTag"},
		{"value of 257", tagSet("k", strings.Repeat("é", 257)), "InvalidTag"},
		{"same key twice", tagSet("k", "1", "k", "2"), "InvalidTag"},
		{"aws: prefix", tagSet("aws:x", "1"), "InvalidTag"},
	} {
		_, err := c.PutObjectTagging(ctx, &s3.PutObjectTaggingInput{Bucket: aws.String("images"), Key: aws.String("upload/a.jpg"), Tagging: &types.Tagging{TagSet: tc.tags}})
		apiError(t, tc.name, err, tc.code, 400)
	}
	ok := tagSet(many[:20]...)
	ok[0].Key = aws.String(strings.Repeat("k", 128))
	ok[1].Value = aws.String(strings.Repeat("é", 256))
	if _, err := c.PutObjectTagging(ctx, &s3.PutObjectTaggingInput{Bucket: aws.String("images"), Key: aws.String("upload/a.jpg"), Tagging: &types.Tagging{TagSet: ok}}); err != nil {
		t.Errorf("10 tags at the limits: %v", err)
	}
	_, err = c.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String("images"), Key: aws.String("upload/b.jpg"), Body: strings.NewReader("b"),
		Tagging: aws.String(strings.Repeat("k", 129) + "=v")})
	apiError(t, "PutObject with a key of 129", err, "InvalidTag", 400)
	_, err = c.PutObjectTagging(ctx, &s3.PutObjectTaggingInput{Bucket: aws.String("images"), Key: aws.String("upload/none.jpg"), Tagging: &types.Tagging{TagSet: tagSet("a", "b")}})
	apiError(t, "tags on a missing key", err, "NoSuchKey", 404)
}

// TestRejectedUploadsExpireByTheTemplatesRule runs the template's rule (upload/,
// tagged imagepipe:status=rejected, 7 days) on a clock the test advances: only the
// tagged upload goes, at the first midnight UTC 7 days after it was written, with
// the "Object Deleted" event S3 raises for a lifecycle expiration.
func TestRejectedUploadsExpireByTheTemplatesRule(t *testing.T) {
	rules, err := ExpirationRules(map[string]any{"Rules": []any{
		map[string]any{"Id": "abort", "Status": "Enabled", "AbortIncompleteMultipartUpload": map[string]any{"DaysAfterInitiation": float64(1)}},
		map[string]any{"Id": "expire-rejected-uploads", "Status": "Enabled", "Prefix": "upload/", "ExpirationInDays": float64(7),
			"TagFilters": []any{map[string]any{"Key": "imagepipe:status", "Value": "rejected"}}},
		map[string]any{"Id": "off", "Status": "Disabled", "ExpirationInDays": float64(1)},
	}})
	if err != nil || len(rules) != 1 {
		t.Fatalf("rules %+v, %v; want the one expiration rule", rules, err)
	}
	c := &clock{t: time.Date(2024, 1, 15, 10, 30, 0, 0, time.UTC)}
	k := &sink{}
	srv, err := New(t.TempDir(), Options{Emit: k.emit, RedeliverEvery: -1, LifecycleEvery: -1, Now: c.Now, Logger: slog.New(slog.DiscardHandler),
		ExpirationRules: func(b string) []ExpirationRule { return rules }})
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	cl := newClient(newHTTPTest(t, srv), 0)
	ctx := context.Background()
	for key, tags := range map[string]string{
		"upload/bad.txt": "imagepipe:status=rejected", "upload/good.jpg": "", "upload/other.jpg": "imagepipe:status=ok", "thumbnail/bad.txt": "imagepipe:status=rejected",
	} {
		in := &s3.PutObjectInput{Bucket: aws.String("images"), Key: aws.String(key), Body: strings.NewReader("x")}
		if tags != "" {
			in.Tagging = aws.String(tags)
		}
		if _, err := cl.PutObject(ctx, in); err != nil {
			t.Fatal(err)
		}
	}
	k.take()
	for _, tc := range []struct {
		at   time.Time
		want int
	}{
		{time.Date(2024, 1, 22, 10, 30, 0, 0, time.UTC), 0}, // 7 days, not yet midnight
		{time.Date(2024, 1, 22, 23, 59, 59, 0, time.UTC), 0},
		{time.Date(2024, 1, 23, 0, 0, 0, 0, time.UTC), 1},
		{time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC), 0}, // nothing else matches, ever
	} {
		c.set(tc.at)
		if n, err := srv.ExpireObjects(ctx); n != tc.want || err != nil {
			t.Errorf("at %s: expired %d (%v), want %d", tc.at, n, err, tc.want)
		}
	}
	evs := k.take()
	if len(evs) != 1 || evs[0].DetailType != pipeline.DetailTypeDeleted || evs[0].Detail.Reason != ReasonLifecycle ||
		evs[0].Detail.Object.Key != "upload/bad.txt" || evs[0].Detail.DeletionType != DeletionTypePermanent {
		t.Errorf("events %+v, want one Object Deleted (Lifecycle Expiration) for upload/bad.txt", evs)
	}
	_, err = cl.HeadObject(ctx, &s3.HeadObjectInput{Bucket: aws.String("images"), Key: aws.String("upload/bad.txt")})
	apiError(t, "expired object", err, "NotFound", 404)
	for _, key := range []string{"upload/good.jpg", "upload/other.jpg", "thumbnail/bad.txt"} {
		get(t, cl, key)
	}
}
