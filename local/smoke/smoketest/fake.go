// Package smoketest is a deployed pipeline in memory, for the smoke test's own tests:
// an S3 bucket whose uploads run the pipeline at once (metadata, thumbnail and
// preview from the real step code, an execution, a search document, a failure
// message), a signed search API, and switches that break one part on purpose.
package smoketest

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"image/jpeg"
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	s3types "github.com/aws/aws-sdk-go-v2/service/s3/types"
	sfntypes "github.com/aws/aws-sdk-go-v2/service/sfn/types"

	"github.com/imagepipe/imagepipe/functions/imaging"
	"github.com/imagepipe/imagepipe/functions/metadata"
	"github.com/imagepipe/imagepipe/functions/pipeline"
	"github.com/imagepipe/imagepipe/functions/redrive/redrivetest"
	"github.com/imagepipe/imagepipe/functions/steps/makethumbnail"
)

// Names of the fake stack.
const (
	Bucket      = "images"
	PipelineArn = "arn:aws:states:us-east-1:000000000000:stateMachine:ImagePipe-Pipeline"
	QueueURL    = "http://127.0.0.1:4566/000000000000/ImagePipe-FailureQueue"
)

// Breaks are the switches that break the fake pipeline.
type Breaks struct {
	IgnoreOrientation bool   // make-thumbnail fits the stored pixels, unrotated
	FailThumbnail     bool   // make-thumbnail fails: FAILED execution, a TransientError message, no document
	KeepOnDelete      bool   // the remove pipeline does nothing
	DropLocation      bool   // the document has no location
	SearchStatus      int    // the search API answers this status (0: it works)
	QueueNoise        string // a message of someone else's already waits on the queue
}

// Pipeline is the fake stack. Use its S3, SFN and SQS as the smoke test's clients
// and SearchURL as the API.
type Pipeline struct {
	Breaks Breaks
	SFN    *redrivetest.SFN
	SQS    *redrivetest.Queue

	mu      sync.Mutex
	objects map[string][]byte
	docs    map[string]pipeline.Document
	seq     int
	server  *httptest.Server
	// Signed records the Authorization headers the search API was called with.
	Signed []string
}

// New starts the fake; Close stops its search API.
func New(b Breaks) *Pipeline {
	p := &Pipeline{Breaks: b, SFN: redrivetest.NewSFN(), SQS: redrivetest.NewQueue(redrivetest.NewClock()),
		objects: map[string][]byte{}, docs: map[string]pipeline.Document{}}
	if b.QueueNoise != "" {
		p.SQS.Send(redrivetest.FailureBody("TransientError", redrivetest.Event(pipeline.DetailTypeCreated, b.QueueNoise), "", nil))
	}
	p.server = httptest.NewServer(http.HandlerFunc(p.search))
	return p
}

// SearchURL is the API stage's base URL.
func (p *Pipeline) SearchURL() string { return p.server.URL + "/api" }

// Close stops the search API.
func (p *Pipeline) Close() { p.server.Close() }

// Keys lists the bucket's keys.
func (p *Pipeline) Keys() []string {
	p.mu.Lock()
	defer p.mu.Unlock()
	var out []string
	for k := range p.objects {
		out = append(out, k)
	}
	slices.Sort(out)
	return out
}

// search answers GET /api/images?search=Q with the documents whose key holds Q,
// after checking that the request is SigV4-signed for execute-api.
func (p *Pipeline) search(w http.ResponseWriter, r *http.Request) {
	auth := r.Header.Get("Authorization")
	p.mu.Lock()
	p.Signed = append(p.Signed, auth)
	status := p.Breaks.SearchStatus
	var docs []pipeline.Document
	for _, d := range p.docs {
		if q := r.URL.Query().Get("search"); q != "" && strings.Contains(d.Key, q) {
			docs = append(docs, d)
		}
	}
	p.mu.Unlock()
	switch {
	case r.URL.Path != "/api/images":
		http.NotFound(w, r)
	case !strings.HasPrefix(auth, "AWS4-HMAC-SHA256 ") || !strings.Contains(auth, "/us-east-1/execute-api/aws4_request"):
		http.Error(w, `{"message":"Missing Authentication Token"}`, http.StatusForbidden)
	case status != 0:
		http.Error(w, `{"message":"broken on purpose"}`, status)
	default:
		json.NewEncoder(w).Encode(map[string]any{"total": len(docs), "images": append([]pipeline.Document{}, docs...)})
	}
}

// PutObject stores the object; one under upload/ runs the pipeline before it answers.
func (p *Pipeline) PutObject(ctx context.Context, in *s3.PutObjectInput, _ ...func(*s3.Options)) (*s3.PutObjectOutput, error) {
	body, err := io.ReadAll(in.Body)
	if err != nil {
		return nil, err
	}
	key := aws.ToString(in.Key)
	p.mu.Lock()
	p.objects[key] = body
	p.mu.Unlock()
	if strings.HasPrefix(key, pipeline.UploadPrefix) {
		p.process(ctx, key, body)
	}
	return &s3.PutObjectOutput{}, nil
}

// GetObject reads an object, or NoSuchKey.
func (p *Pipeline) GetObject(_ context.Context, in *s3.GetObjectInput, _ ...func(*s3.Options)) (*s3.GetObjectOutput, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	b, ok := p.objects[aws.ToString(in.Key)]
	if !ok {
		return nil, &s3types.NoSuchKey{Message: aws.String("The specified key does not exist.")}
	}
	return &s3.GetObjectOutput{Body: io.NopCloser(bytes.NewReader(b)), ContentLength: aws.Int64(int64(len(b)))}, nil
}

// DeleteObject deletes; under upload/ it runs the remove pipeline.
func (p *Pipeline) DeleteObject(_ context.Context, in *s3.DeleteObjectInput, _ ...func(*s3.Options)) (*s3.DeleteObjectOutput, error) {
	key := aws.ToString(in.Key)
	p.mu.Lock()
	defer p.mu.Unlock()
	delete(p.objects, key)
	if strings.HasPrefix(key, pipeline.UploadPrefix) && !p.Breaks.KeepOnDelete {
		delete(p.objects, pipeline.ThumbnailKey(key))
		delete(p.objects, pipeline.PreviewKey(key))
		delete(p.docs, pipeline.DocumentID(Bucket, key))
	}
	return &s3.DeleteObjectOutput{}, nil
}

// ListObjectsV2 lists keys under a prefix, in one page.
func (p *Pipeline) ListObjectsV2(_ context.Context, in *s3.ListObjectsV2Input, _ ...func(*s3.Options)) (*s3.ListObjectsV2Output, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	out := &s3.ListObjectsV2Output{}
	for k := range p.objects {
		if strings.HasPrefix(k, aws.ToString(in.Prefix)) {
			out.Contents = append(out.Contents, s3types.Object{Key: aws.String(k)})
		}
	}
	return out, nil
}

// process is the pipeline for one upload: the execution, then either the thumbnail,
// preview and document, or a failure message.
func (p *Pipeline) process(ctx context.Context, key string, body []byte) {
	p.mu.Lock()
	p.seq++
	name := fmt.Sprintf("run-%d", p.seq)
	br := p.Breaks
	p.mu.Unlock()
	ev := redrivetest.Event(pipeline.DetailTypeCreated, key)
	arn := redrivetest.ExecutionArn(PipelineArn, name)
	now := time.Now()
	exec := redrivetest.Execution{Arn: arn, StateMachineArn: PipelineArn, Name: name, Input: ev, Status: sfntypes.ExecutionStatusSucceeded}
	fail := func(errName, state string, cause error) {
		exec.Status, exec.Error = sfntypes.ExecutionStatusFailed, errName
		b, _ := json.Marshal(map[string]any{"error": errName, "cause": cause.Error(), "state": state, "input": json.RawMessage(ev), "executionArn": arn})
		p.SQS.Send(string(b))
		p.SFN.Add(exec)
	}
	md, err := metadata.ExtractBytes(body, imaging.DefaultLimits)
	if err != nil {
		fail(pipeline.ErrNameCorrupt, "ExtractMetadata", err)
		return
	}
	if br.FailThumbnail {
		fail(pipeline.ErrNameTransient, "MakeThumbnail", fmt.Errorf("injected fault (make-thumbnail always)"))
		return
	}
	r, err := makethumbnail.Render(ctx, body, imaging.DefaultLimits, 80, 640)
	if err != nil {
		fail(pipeline.ErrNameCorrupt, "MakeThumbnail", err)
		return
	}
	thumb := r.Thumbnail.JPEG
	if br.IgnoreOrientation {
		m, _ := jpeg.Decode(bytes.NewReader(body))
		tw, th := imaging.FitSize(md.Width, md.Height, 80)
		thumb, _ = imaging.EncodeJPEG(imaging.Resize(m, tw, th))
	}
	doc := pipeline.NewDocument(pipeline.IndexInput{
		Event:     mustEvent(ev),
		Metadata:  md,
		Labels:    pipeline.Labels{Labels: []pipeline.Label{{Name: "Gray", Confidence: 91}}},
		Thumbnail: pipeline.Thumbnail{Key: pipeline.ThumbnailKey(key), PreviewKey: pipeline.PreviewKey(key)},
	}, now)
	if br.DropLocation {
		doc.Location = nil
	}
	p.mu.Lock()
	p.objects[pipeline.ThumbnailKey(key)] = thumb
	p.objects[pipeline.PreviewKey(key)] = r.Preview.JPEG
	p.docs[doc.ID] = doc
	p.mu.Unlock()
	p.SFN.Add(exec)
}

func mustEvent(s string) pipeline.ObjectEvent {
	var ev pipeline.ObjectEvent
	if err := json.Unmarshal([]byte(s), &ev); err != nil {
		panic(err)
	}
	return ev
}
