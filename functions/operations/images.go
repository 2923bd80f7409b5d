package operations

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"unicode/utf8"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/imagepipe/imagepipe/functions/pipeline"
)

// ObjectDeleter is the part of the S3 client POST /images/delete uses: the
// function's role may delete keys under upload/ of the images bucket and nothing
// else of S3.
type ObjectDeleter interface {
	DeleteObject(ctx context.Context, in *s3.DeleteObjectInput, opts ...func(*s3.Options)) (*s3.DeleteObjectOutput, error)
}

// DeleteImageRequest is POST /images/delete's body.
type DeleteImageRequest struct {
	Key string `json:"key"`
}

// DeletedImage is POST /images/delete's answer (202): S3 has deleted the upload;
// its search document, thumbnail and preview go when the remove state machine,
// started by S3's Object Deleted event, has run.
type DeletedImage struct {
	Key     string `json:"key"`
	Deleted bool   `json:"deleted"`
}

// deleteImage answers POST /images/delete. It deletes the upload itself, never the
// derived objects or the document: those are the remove pipeline's, so that a
// delete through the API and one through S3 take the same path. S3's DeleteObject
// succeeds on a missing key (unversioned bucket: "returns a 204 even if the object
// does not exist", docs.aws.amazon.com/AmazonS3/latest/API/API_DeleteObject.html),
// so deleting twice answers 202 twice; the role has no s3:GetObject to tell.
func (h Handler) deleteImage(ctx context.Context, body string) events.APIGatewayProxyResponse {
	key, err := parseDeleteImage(body)
	if err != nil {
		return h.fail(ctx, "delete image", err)
	}
	if h.Bucket == "" || h.S3 == nil {
		return h.error(http.StatusInternalServerError, "the operations function has no images bucket (IMAGES_BUCKET)")
	}
	if _, err := h.S3.DeleteObject(ctx, &s3.DeleteObjectInput{Bucket: aws.String(h.Bucket), Key: aws.String(key)}); err != nil {
		return h.fail(ctx, "delete image", fmt.Errorf("delete s3://%s/%s: %w", h.Bucket, key, err))
	}
	h.log().InfoContext(ctx, "image deleted", "bucket", h.Bucket, "key", key)
	return h.json(http.StatusAccepted, DeletedImage{Key: key, Deleted: true})
}

// parseDeleteImage reads {"key"} and checks that it names an upload: a key under
// upload/ (the only prefix whose deletes start the remove pipeline, and the only
// one the role may delete), something below it, and a valid S3 key (UTF-8, at most
// 1024 bytes: docs.aws.amazon.com/AmazonS3/latest/userguide/object-keys.html).
func parseDeleteImage(body string) (string, error) {
	var in DeleteImageRequest
	dec := json.NewDecoder(bytes.NewReader([]byte(body)))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&in); err != nil {
		return "", &InputError{"body: want {\"key\": \"upload/...\"}: " + err.Error()}
	}
	if dec.More() {
		return "", &InputError{"body: one JSON object only"}
	}
	switch k := in.Key; {
	case k == "":
		return "", &InputError{"key: required"}
	case !utf8.ValidString(k):
		return "", &InputError{"key: not valid UTF-8"}
	case len(k) > pipeline.MaxKeyBytes:
		return "", &InputError{fmt.Sprintf("key: %d bytes, S3 keys have at most %d", len(k), pipeline.MaxKeyBytes)}
	case !strings.HasPrefix(k, pipeline.UploadPrefix) || k == pipeline.UploadPrefix:
		return "", &InputError{"key: " + fmt.Sprintf("%q", k) + " is not an upload (a key under " + pipeline.UploadPrefix + ")"}
	case strings.HasSuffix(k, "/"):
		return "", &InputError{"key: " + fmt.Sprintf("%q", k) + " names a folder, not an image"}
	}
	return in.Key, nil
}
