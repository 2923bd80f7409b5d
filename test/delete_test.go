package test

import (
	"bytes"
	"encoding/json"
	"errors"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	s3types "github.com/aws/aws-sdk-go-v2/service/s3/types"

	"github.com/imagepipe/imagepipe/functions/operations"
	"github.com/imagepipe/imagepipe/functions/pipeline"
)

// An operator deletes an image through the API (POST /images/delete): the operations
// function deletes the upload under its own role, S3's Object Deleted event starts
// the remove state machine, and the document, thumbnail and preview go. A key that
// is not an upload is refused before S3 is asked.
func TestDeleteImageThroughAPIRunsRemovePipeline(t *testing.T) {
	tw := startTwin(t)
	ctx := ctxT(t)
	client := tw.S3()
	key := "upload/delete-me/red flower+1.jpg"
	if _, err := client.PutObject(ctx, &s3.PutObjectInput{
		Bucket: aws.String("images"), Key: aws.String(key), Body: bytes.NewReader(smallJPEG(t, 15)), ContentType: aws.String("image/jpeg"),
	}); err != nil {
		t.Fatal(err)
	}
	doc := tw.documentByKey(t, key, 60*time.Second)
	derived := []string{doc.Thumbnail, doc.Preview}
	for _, k := range derived {
		if k == "" || !tw.objectExists(t, k) {
			t.Fatalf("derived object %q of %s missing before the delete (document %+v)", k, key, doc)
		}
	}

	for _, bad := range []string{`{"key":"thumbnail/delete-me/red flower+1.jpg"}`, `{"key":"upload/"}`, `{}`} {
		if st, body := tw.signedCall(t, "POST", "/api/images/delete", bad); st != 400 {
			t.Errorf("POST %s: %d %s, want 400", bad, st, body)
		}
	}
	if !tw.objectExists(t, doc.Thumbnail) {
		t.Fatal("a refused delete removed the thumbnail")
	}

	body, err := json.Marshal(operations.DeleteImageRequest{Key: key})
	if err != nil {
		t.Fatal(err)
	}
	st, raw := tw.signedCall(t, "POST", "/api/images/delete", string(body))
	var got operations.DeletedImage
	if err := json.Unmarshal(raw, &got); st != 202 || err != nil || got.Key != key || !got.Deleted {
		t.Fatalf("POST /api/images/delete: %d %s", st, raw)
	}
	if tw.objectExists(t, key) {
		t.Error("the upload is still there after 202")
	}
	id := pipeline.DocumentID("images", key)
	waitFor(t, 60*time.Second, "GET /api/images/"+id+" to answer 404", func() (bool, error) {
		return tw.getJSON(t, "/api/images/"+id, nil) == 404, nil
	})
	waitFor(t, 30*time.Second, "the thumbnail and preview to be gone", func() (bool, error) {
		return !tw.objectExists(t, derived[0]) && !tw.objectExists(t, derived[1]), nil
	})
}

// objectExists asks the twin's S3 (HeadObject) whether key is in the images bucket.
func (tw *Twin) objectExists(t *testing.T, key string) bool {
	t.Helper()
	_, err := tw.S3().HeadObject(ctxT(t), &s3.HeadObjectInput{Bucket: aws.String("images"), Key: aws.String(key)})
	var nf *s3types.NotFound
	switch {
	case err == nil:
		return true
	case errors.As(err, &nf):
		return false
	}
	t.Fatalf("head %s: %v", key, err)
	return false
}
