package imagingtest

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"strings"
	"sync"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"
	smithy "github.com/aws/smithy-go"
)

// Object is one stored object of FakeS3.
type Object struct {
	Body                      []byte
	ContentType, CacheControl string
}

// FakeS3 is an in-memory objects.S3API that honours Range as S3 does (bytes=a-b,
// clamped at the end, InvalidRange past it) and counts what it serves.
type FakeS3 struct {
	mu          sync.Mutex
	Objects     map[string]Object // "bucket/key"
	Gets        int
	BytesServed int64
	Ranges      []string
}

// NewFakeS3 returns an empty fake.
func NewFakeS3() *FakeS3 { return &FakeS3{Objects: map[string]Object{}} }

// Add stores body under bucket/key.
func (f *FakeS3) Add(bucket, key string, body []byte) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.Objects[bucket+"/"+key] = Object{Body: body}
}

// Get returns a stored object.
func (f *FakeS3) Get(bucket, key string) (Object, bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	o, ok := f.Objects[bucket+"/"+key]
	return o, ok
}

func (f *FakeS3) GetObject(_ context.Context, in *s3.GetObjectInput, _ ...func(*s3.Options)) (*s3.GetObjectOutput, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	o, ok := f.Objects[aws.ToString(in.Bucket)+"/"+aws.ToString(in.Key)]
	if !ok {
		return nil, &types.NoSuchKey{Message: aws.String("The specified key does not exist.")}
	}
	f.Gets++
	body := o.Body
	out := &s3.GetObjectOutput{}
	if r := aws.ToString(in.Range); r != "" {
		f.Ranges = append(f.Ranges, r)
		var a, b int64
		if _, err := fmt.Sscanf(strings.TrimPrefix(r, "bytes="), "%d-%d", &a, &b); err != nil || a > b {
			return nil, fmt.Errorf("fake s3: unsupported range %q", r)
		}
		n := int64(len(body))
		if a >= n {
			return nil, &smithy.GenericAPIError{Code: "InvalidRange", Message: "The requested range is not satisfiable"}
		}
		b = min(b, n-1)
		body = body[a : b+1]
		out.ContentRange = aws.String(fmt.Sprintf("bytes %d-%d/%d", a, b, n))
	}
	f.BytesServed += int64(len(body))
	out.Body = io.NopCloser(bytes.NewReader(body))
	out.ContentLength = aws.Int64(int64(len(body)))
	return out, nil
}

func (f *FakeS3) PutObject(_ context.Context, in *s3.PutObjectInput, _ ...func(*s3.Options)) (*s3.PutObjectOutput, error) {
	body, err := io.ReadAll(in.Body)
	if err != nil {
		return nil, err
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	f.Objects[aws.ToString(in.Bucket)+"/"+aws.ToString(in.Key)] = Object{
		Body: body, ContentType: aws.ToString(in.ContentType), CacheControl: aws.ToString(in.CacheControl),
	}
	return &s3.PutObjectOutput{}, nil
}

func (f *FakeS3) DeleteObject(_ context.Context, in *s3.DeleteObjectInput, _ ...func(*s3.Options)) (*s3.DeleteObjectOutput, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	delete(f.Objects, aws.ToString(in.Bucket)+"/"+aws.ToString(in.Key))
	return &s3.DeleteObjectOutput{}, nil
}
