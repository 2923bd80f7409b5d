package api

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"log/slog"
	"mime"
	"net/http"
	"regexp"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/imagepipe/imagepipe/functions/pipeline"
)

// Upload limits. The size limit is the pipeline's (MAX_OBJECT_BYTES, 50 MiB by
// default): a browser cannot choose another, because the POST policy S3 checks is
// signed here.
const (
	DefaultUploadExpiry = 15 * time.Minute
	MaxUploadName       = 255  // bytes of the file name kept in the key
	maxUploadRequest    = 4096 // bytes of the JSON request
)

// PostPresigner is the part of *s3.PresignClient that signs a POST Object policy.
type PostPresigner interface {
	PresignPostObject(ctx context.Context, in *s3.PutObjectInput, optFns ...func(*s3.PresignPostOptions)) (*s3.PresignedPostRequest, error)
}

// PresignUpload answers POST /uploads: a presigned S3 POST (browser-based upload,
// SigV4 POST policy) for one new key under the caller's own prefix,
// upload/<Cognito identity id>/<random>/<name>. The policy pins the bucket, the key,
// the Content-Type and a size of 1 to MaxBytes bytes, and expires after Expires; S3
// enforces all of it, whatever the browser sends.
type PresignUpload struct {
	Presigner   PostPresigner
	Bucket      string
	MaxBytes    int64
	Expires     time.Duration // 0: DefaultUploadExpiry
	AllowOrigin string        // "" means "*"
	Now         func() time.Time
	Logger      *slog.Logger
}

// UploadRequest is POST /uploads' body.
type UploadRequest struct {
	Name        string `json:"name"`
	Size        *int64 `json:"size"`
	ContentType string `json:"contentType"`
}

// UploadResponse is what a browser needs to POST the file: the bucket's URL, the
// form fields to send before the file (key, policy, the x-amz-* signature fields,
// Content-Type), the key, the size limit and when the policy expires.
type UploadResponse struct {
	URL       string            `json:"url"`
	Fields    map[string]string `json:"fields"`
	Key       string            `json:"key"`
	MaxBytes  int64             `json:"maxBytes"`
	ExpiresAt string            `json:"expiresAt"`
}

// Handle answers one API Gateway proxy request.
func (h PresignUpload) Handle(ctx context.Context, req events.APIGatewayProxyRequest) (events.APIGatewayProxyResponse, error) {
	log := h.Logger
	if log == nil {
		log = slog.Default()
	}
	switch req.HTTPMethod {
	case http.MethodPost, "":
	case http.MethodOptions:
		return events.APIGatewayProxyResponse{StatusCode: http.StatusNoContent, Headers: uploadHeaders(h.AllowOrigin)}, nil
	default:
		return h.answer(http.StatusMethodNotAllowed, message("method "+req.HTTPMethod+" not allowed")), nil
	}
	identity := aws.ToString(identityID(req))
	if !validIdentityID(identity) {
		return h.answer(http.StatusForbidden, message("uploads need a Cognito identity: sign the request with credentials from the identity pool")), nil
	}
	in, err := h.parse(req)
	if err != nil {
		return h.answer(http.StatusBadRequest, message(err.Error())), nil
	}
	name, err := SafeName(in.Name)
	if err != nil {
		return h.answer(http.StatusBadRequest, message(err.Error())), nil
	}
	key := pipeline.UploadPrefix + identity + "/" + randomHex() + "/" + name
	exp := h.Expires
	if exp <= 0 {
		exp = DefaultUploadExpiry
	}
	post, err := h.Presigner.PresignPostObject(ctx, &s3.PutObjectInput{Bucket: aws.String(h.Bucket), Key: aws.String(key)},
		func(o *s3.PresignPostOptions) {
			o.Expires = exp
			o.Conditions = []any{
				map[string]string{"key": key},
				[]any{"content-length-range", 1, h.MaxBytes},
				map[string]string{"Content-Type": in.ContentType},
			}
		})
	if err != nil {
		log.ErrorContext(ctx, "presign upload failed", "key", key, "error", err.Error())
		return h.answer(http.StatusInternalServerError, message("could not sign the upload")), nil
	}
	fields := map[string]string{"Content-Type": in.ContentType}
	for k, v := range post.Values {
		fields[k] = v
	}
	log.InfoContext(ctx, "upload presigned", "key", key, "size", *in.Size, "contentType", in.ContentType)
	return h.answer(http.StatusOK, UploadResponse{
		URL: post.URL, Fields: fields, Key: key, MaxBytes: h.MaxBytes,
		// The SDK signs with its own clock; this is within a second of its expiration.
		ExpiresAt: h.now().Add(exp).UTC().Format(time.RFC3339),
	}), nil
}

func (h PresignUpload) now() time.Time {
	if h.Now != nil {
		return h.Now()
	}
	return time.Now()
}

// parse reads and checks the request body.
func (h PresignUpload) parse(req events.APIGatewayProxyRequest) (UploadRequest, error) {
	var in UploadRequest
	if len(req.Body) > maxUploadRequest || req.IsBase64Encoded {
		return in, fmt.Errorf("the body must be a JSON object of at most %d bytes", maxUploadRequest)
	}
	dec := json.NewDecoder(strings.NewReader(req.Body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&in); err != nil {
		return in, fmt.Errorf(`the body must be JSON {"name", "size", "contentType"}: %w`, err)
	}
	switch {
	case in.Name == "":
		return in, fmt.Errorf("name is required")
	case in.Size == nil:
		return in, fmt.Errorf("size is required")
	case in.ContentType == "":
		return in, fmt.Errorf("contentType is required")
	case *in.Size <= 0:
		return in, fmt.Errorf("size must be at least 1 byte (got %d)", *in.Size)
	case *in.Size > h.MaxBytes:
		return in, fmt.Errorf("the file is %d bytes; uploads are at most %d bytes (%d MiB)", *in.Size, h.MaxBytes, h.MaxBytes>>20)
	}
	mt, _, err := mime.ParseMediaType(in.ContentType)
	if err != nil || !strings.Contains(mt, "/") || len(in.ContentType) > 255 {
		return in, fmt.Errorf("contentType %q is not a media type", in.ContentType)
	}
	return in, nil
}

// unsafeKeyChars are the characters S3 advises keys to avoid
// (https://docs.aws.amazon.com/AmazonS3/latest/userguide/object-keys.html,
// "Characters to avoid"), and the path separators: a name is one path segment.
const unsafeKeyChars = "\\{}^%`[]\"<>~#|/"

// SafeName makes a file name one safe S3 key segment: the base name of a path,
// S3's characters-to-avoid replaced by "_", surrounding spaces trimmed. A name that
// is not UTF-8, holds control characters, is empty or a dot segment after that, or
// is longer than MaxUploadName bytes is an error.
func SafeName(name string) (string, error) {
	if !utf8.ValidString(name) {
		return "", fmt.Errorf("name is not valid UTF-8")
	}
	if strings.IndexFunc(name, unicode.IsControl) >= 0 {
		return "", fmt.Errorf("name %q contains control characters", name)
	}
	if i := strings.LastIndexAny(name, "/\\"); i >= 0 {
		name = name[i+1:] // a browser may send C:\fakepath\photo.jpg
	}
	name = strings.Map(func(r rune) rune {
		if strings.ContainsRune(unsafeKeyChars, r) {
			return '_'
		}
		return r
	}, strings.TrimSpace(name))
	switch {
	case name == "" || strings.Trim(name, ".") == "":
		return "", fmt.Errorf("name has no file name left once made safe for S3")
	case len(name) > MaxUploadName:
		return "", fmt.Errorf("name is %d bytes; at most %d", len(name), MaxUploadName)
	}
	return name, nil
}

// identityID is the caller's Cognito identity, which API Gateway fills in for a
// request signed with credentials from an identity pool.
func identityID(req events.APIGatewayProxyRequest) *string {
	id := req.RequestContext.Identity.CognitoIdentityID
	if id == "" {
		return nil
	}
	return &id
}

// An identity id is "<region>:<uuid>"; anything else must not become a key prefix.
var identityIDPattern = regexp.MustCompile(`^[a-z]{2}(-[a-z]+)+-\d:[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$`)

func validIdentityID(id string) bool { return identityIDPattern.MatchString(id) }

// randomHex is the key's random segment: 128 bits, so that no upload can name (and
// overwrite) another's key, even its own earlier one.
func randomHex() string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

func message(msg string) map[string]string { return map[string]string{"message": msg} }

func uploadHeaders(origin string) map[string]string {
	h := headers(origin)
	h["Access-Control-Allow-Methods"] = "POST,OPTIONS"
	return h
}

func (h PresignUpload) answer(status int, body any) events.APIGatewayProxyResponse {
	r := respond(h.AllowOrigin, status, body)
	r.Headers = uploadHeaders(h.AllowOrigin)
	return r
}
