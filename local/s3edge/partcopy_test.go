package s3edge

import (
	"bytes"
	"context"
	"strconv"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"
)

// TestUploadPartCopyAsS3: parts copied from ranges of an existing object assemble
// into the same bytes; S3's range and size rules hold (ranges inside the source,
// every part but the last at least 5 MiB at completion).
func TestUploadPartCopyAsS3(t *testing.T) {
	k := &sink{}
	e := start(t, t.TempDir(), k)
	ctx := context.Background()
	src := make([]byte, 6<<20+123)
	for i := range src {
		src[i] = byte(i * 7)
	}
	put(t, e.client, "upload/src.bin", src)
	k.take()
	copyPart := func(u *mpu, n int32, rng string) (*s3.UploadPartCopyOutput, error) {
		in := &s3.UploadPartCopyInput{Bucket: aws.String("images"), Key: aws.String(u.key), UploadId: u.id, PartNumber: aws.Int32(n), CopySource: aws.String("images/upload/src.bin")}
		if rng != "" {
			in.CopySourceRange = aws.String(rng)
		}
		out, err := e.client.UploadPartCopy(ctx, in)
		if err == nil {
			u.parts = append(u.parts, types.CompletedPart{ETag: out.CopyPartResult.ETag, PartNumber: aws.Int32(n)})
		}
		return out, err
	}
	u := startUpload(t, e.client, "upload/copied.bin")
	out, err := copyPart(u, 1, "bytes=0-5242879")
	if err != nil {
		t.Fatal(err)
	}
	if got := aws.ToString(out.CopyPartResult.ETag); got != `"`+md5hex(src[:5<<20])+`"` {
		t.Errorf("part 1 ETag %s, want the MD5 of the range", got)
	}
	if _, err := copyPart(u, 2, "bytes=5242880-"+strconv.Itoa(len(src)-1)); err != nil {
		t.Fatal(err)
	}
	if _, err := u.complete(u.parts...); err != nil {
		t.Fatal(err)
	}
	if _, got := get(t, e.client, "upload/copied.bin"); !bytes.Equal(got, src) {
		t.Errorf("copied object: %d bytes, differs from the source", len(got))
	}
	expect(t, k.take(), "Object Created|CompleteMultipartUpload|upload/copied.bin")

	v := startUpload(t, e.client, "upload/bad.bin")
	for _, tc := range []struct{ rng, code string }{
		{"bytes=0-" + strconv.Itoa(len(src)), "InvalidArgument"}, // past the end
		{"bytes=10-5", "InvalidArgument"},
		{"0-5", "InvalidArgument"},
	} {
		_, err := copyPart(v, 1, tc.rng)
		apiError(t, "range "+tc.rng, err, tc.code, 400)
	}
	_, err = e.client.UploadPartCopy(ctx, &s3.UploadPartCopyInput{Bucket: aws.String("images"), Key: aws.String("upload/bad.bin"), UploadId: v.id, PartNumber: aws.Int32(1), CopySource: aws.String("images/upload/none.bin")})
	apiError(t, "missing source", err, "NoSuchKey", 404)
	// A whole small object as a part that is not the last: too small at completion.
	put(t, e.client, "upload/small.bin", []byte("small"))
	w := startUpload(t, e.client, "upload/small-parts.bin")
	for n := int32(1); n <= 2; n++ {
		in := &s3.UploadPartCopyInput{Bucket: aws.String("images"), Key: aws.String(w.key), UploadId: w.id, PartNumber: aws.Int32(n), CopySource: aws.String("images/upload/small.bin")}
		out, err := e.client.UploadPartCopy(ctx, in)
		if err != nil {
			t.Fatal(err)
		}
		w.parts = append(w.parts, types.CompletedPart{ETag: out.CopyPartResult.ETag, PartNumber: aws.Int32(n)})
	}
	_, err = w.complete(w.parts...)
	apiError(t, "a 5-byte copied part before the last", err, "EntityTooSmall", 400)
}
