// Package objects reads and writes the pipeline's S3 objects and turns S3 failures
// into the pipeline's typed errors (missing → ObjectNotFoundError, throttling →
// ThrottledError, network and 5xx → TransientError).
package objects

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"
	smithy "github.com/aws/smithy-go"
	smithyhttp "github.com/aws/smithy-go/transport/http"

	"github.com/imagepipe/imagepipe/functions/pipeline"
)

// S3API is the part of *s3.Client the pipeline uses.
type S3API interface {
	GetObject(ctx context.Context, in *s3.GetObjectInput, opts ...func(*s3.Options)) (*s3.GetObjectOutput, error)
	PutObject(ctx context.Context, in *s3.PutObjectInput, opts ...func(*s3.Options)) (*s3.PutObjectOutput, error)
	DeleteObject(ctx context.Context, in *s3.DeleteObjectInput, opts ...func(*s3.Options)) (*s3.DeleteObjectOutput, error)
}

// Store is the pipeline's view of S3.
type Store struct {
	S3 S3API
}

// ReadRange reads n bytes at offset off (fewer at the end of the object). It also
// returns the object's total size.
func (s Store) ReadRange(ctx context.Context, bucket, key string, off, n int64) ([]byte, int64, error) {
	out, err := s.S3.GetObject(ctx, &s3.GetObjectInput{
		Bucket: aws.String(bucket),
		Key:    aws.String(key),
		Range:  aws.String(fmt.Sprintf("bytes=%d-%d", off, off+n-1)),
	})
	if err != nil {
		if isInvalidRange(err) { // a zero-byte object has no byte 0
			return nil, 0, nil
		}
		return nil, 0, classify("get "+key, bucket, key, err)
	}
	defer out.Body.Close()
	data, err := io.ReadAll(io.LimitReader(out.Body, n))
	if err != nil {
		return nil, 0, &pipeline.TransientError{Op: "read " + key, Err: err}
	}
	total := int64(len(data)) + off
	if out.ContentRange != nil { // "bytes 0-65535/2190194"
		if i := strings.LastIndexByte(*out.ContentRange, '/'); i >= 0 {
			fmt.Sscan((*out.ContentRange)[i+1:], &total)
		}
	}
	return data, total, nil
}

// ReadAll reads the whole object, refusing one larger than max bytes before reading it.
func (s Store) ReadAll(ctx context.Context, bucket, key string, max int64) ([]byte, error) {
	out, err := s.S3.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String(bucket), Key: aws.String(key)})
	if err != nil {
		return nil, classify("get "+key, bucket, key, err)
	}
	defer out.Body.Close()
	if out.ContentLength != nil && *out.ContentLength > max {
		return nil, &pipeline.ImageTooLargeError{What: "bytes", Value: *out.ContentLength, Limit: max}
	}
	data, err := io.ReadAll(io.LimitReader(out.Body, max+1))
	if err != nil {
		return nil, &pipeline.TransientError{Op: "read " + key, Err: err}
	}
	if int64(len(data)) > max {
		return nil, &pipeline.ImageTooLargeError{What: "bytes", Value: int64(len(data)), Limit: max}
	}
	return data, nil
}

// SHA256 streams the whole object through SHA-256 (hex), refusing one larger than
// max bytes, without holding it in memory.
func (s Store) SHA256(ctx context.Context, bucket, key string, max int64) (string, error) {
	out, err := s.S3.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String(bucket), Key: aws.String(key)})
	if err != nil {
		return "", classify("get "+key, bucket, key, err)
	}
	defer out.Body.Close()
	if out.ContentLength != nil && *out.ContentLength > max {
		return "", &pipeline.ImageTooLargeError{What: "bytes", Value: *out.ContentLength, Limit: max}
	}
	h := sha256.New()
	n, err := io.Copy(h, io.LimitReader(out.Body, max+1))
	if err != nil {
		return "", &pipeline.TransientError{Op: "read " + key, Err: err}
	}
	if n > max {
		return "", &pipeline.ImageTooLargeError{What: "bytes", Value: n, Limit: max}
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}

// Put writes body under key with the given headers.
func (s Store) Put(ctx context.Context, bucket, key string, body []byte, contentType, cacheControl string) error {
	_, err := s.S3.PutObject(ctx, &s3.PutObjectInput{
		Bucket:        aws.String(bucket),
		Key:           aws.String(key),
		Body:          bytes.NewReader(body),
		ContentLength: aws.Int64(int64(len(body))),
		ContentType:   aws.String(contentType),
		CacheControl:  aws.String(cacheControl),
	})
	if err != nil {
		return classify("put "+key, bucket, key, err)
	}
	return nil
}

// Delete removes key; deleting a missing key succeeds, as in S3.
func (s Store) Delete(ctx context.Context, bucket, key string) error {
	_, err := s.S3.DeleteObject(ctx, &s3.DeleteObjectInput{Bucket: aws.String(bucket), Key: aws.String(key)})
	if err != nil {
		var nf *pipeline.ObjectNotFoundError
		if err := classify("delete "+key, bucket, key, err); !errors.As(err, &nf) {
			return err
		}
	}
	return nil
}

func isInvalidRange(err error) bool {
	var ae smithy.APIError
	return errors.As(err, &ae) && ae.ErrorCode() == "InvalidRange"
}

// classify maps an S3 error to the pipeline's typed errors.
func classify(op, bucket, key string, err error) error {
	var nsk *types.NoSuchKey
	var nf *types.NotFound
	if errors.As(err, &nsk) || errors.As(err, &nf) {
		return &pipeline.ObjectNotFoundError{Bucket: bucket, Key: key}
	}
	var ae smithy.APIError
	if errors.As(err, &ae) {
		switch ae.ErrorCode() {
		case "NoSuchKey", "NotFound":
			return &pipeline.ObjectNotFoundError{Bucket: bucket, Key: key}
		case "SlowDown", "Throttling", "ThrottlingException", "RequestLimitExceeded":
			return &pipeline.ThrottledError{Service: "s3", Err: err}
		}
	}
	var re *smithyhttp.ResponseError
	if errors.As(err, &re) && re.HTTPStatusCode() >= 500 {
		return &pipeline.TransientError{Op: op, Err: err}
	}
	var ne net.Error
	if errors.As(err, &ne) || errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, context.DeadlineExceeded) {
		return &pipeline.TransientError{Op: op, Err: err}
	}
	return &pipeline.StorageError{Op: op, Err: err}
}
