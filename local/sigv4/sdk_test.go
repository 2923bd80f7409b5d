package sigv4

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/lambda"
	"github.com/aws/aws-sdk-go-v2/service/rekognition"
	rtypes "github.com/aws/aws-sdk-go-v2/service/rekognition/types"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	s3types "github.com/aws/aws-sdk-go-v2/service/s3/types"
	"github.com/aws/aws-sdk-go-v2/service/sfn"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
)

// seen is what the recording server learned of one request.
type seen struct {
	raw  []byte // the request as it arrived, for replays
	id   Identity
	err  error // Verify's
	body []byte
	read error // reading the body after Verify
}

// recorder is an AWS endpoint that verifies every request and keeps what it saw.
// Its answers are minimal: the tests judge what the server saw, not what the SDK
// made of the answer.
type recorder struct {
	srv  *httptest.Server
	keys *Keys
	got  chan seen
}

func newRecorder(t *testing.T, tls bool) *recorder {
	rec := &recorder{keys: keysOf("test", "test"), got: make(chan seen, 16)}
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var s seen
		s.raw, _ = httputil.DumpRequest(r, true) // restores r.Body
		s.id, s.err = Verify(r, rec.keys, time.Now())
		if s.err == nil {
			s.body, s.read = io.ReadAll(r.Body)
		}
		rec.got <- s
		if s.err != nil {
			p, _ := ProtocolFor(serviceOf(r))
			p.WriteError(w, s.err)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		w.Write([]byte("{}"))
	})
	if tls {
		rec.srv = httptest.NewTLSServer(h)
	} else {
		rec.srv = httptest.NewServer(h)
	}
	t.Cleanup(rec.srv.Close)
	return rec
}

// next is the request the server saw last; each SDK call makes exactly one.
func (rec *recorder) next(t *testing.T) seen {
	t.Helper()
	select {
	case s := <-rec.got:
		return s
	case <-time.After(10 * time.Second):
		t.Fatal("no request reached the server")
	}
	return seen{}
}

func serviceOf(r *http.Request) string {
	cred := r.URL.Query().Get("X-Amz-Credential")
	if _, rest, ok := strings.Cut(r.Header.Get("Authorization"), "Credential="); ok {
		cred, _, _ = strings.Cut(rest, ",")
	}
	if p := strings.Split(cred, "/"); len(p) == 5 {
		return p[3]
	}
	return "s3"
}

func (rec *recorder) config(id, secret, token string) aws.Config {
	return aws.Config{
		Region:       "us-east-1",
		Credentials:  credentials.NewStaticCredentialsProvider(id, secret, token),
		HTTPClient:   rec.srv.Client(),
		BaseEndpoint: aws.String(rec.srv.URL),
		Retryer:      func() aws.Retryer { return aws.NopRetryer{} },
		// What config.LoadDefaultConfig gives the functions.
		RequestChecksumCalculation: aws.RequestChecksumCalculationWhenSupported,
	}
}

func (rec *recorder) s3(id, secret string) *s3.Client {
	return s3.NewFromConfig(rec.config(id, secret, ""), func(o *s3.Options) { o.UsePathStyle = true })
}

// mustVerify fails unless the server accepted the request and read its body whole.
func mustVerify(t *testing.T, s seen, service string) seen {
	t.Helper()
	if s.err != nil {
		t.Fatalf("refused: %v", s.err)
	}
	if s.read != nil {
		t.Fatalf("body read after Verify: %v", s.read)
	}
	if s.id.Service != service || s.id.Region != "us-east-1" || s.id.AccessKeyID != "test" {
		t.Fatalf("identity %+v", s.id)
	}
	return s
}

func TestSDKS3(t *testing.T) {
	ctx := context.Background()
	rec := newRecorder(t, false)
	c := rec.s3("test", "test")
	body := bytes.Repeat([]byte("photo "), 5000)
	for _, key := range []string{"upload/IMG_0200.jpg", "upload/a b+c$d/é=ü&?.jpg", "upload//double//slash", "upload/../dots/./x"} {
		c.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String("images"), Key: aws.String(key), Body: bytes.NewReader(body)})
		s := mustVerify(t, rec.next(t), "s3")
		if !bytes.Equal(s.body, body) || !isHexSHA256(s.id.PayloadHash) {
			t.Errorf("PutObject %q: %d bytes, payload hash %q", key, len(s.body), s.id.PayloadHash)
		}
		c.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String("images"), Key: aws.String(key), Range: aws.String("bytes=0-9")})
		mustVerify(t, rec.next(t), "s3")
	}
	c.ListObjectsV2(ctx, &s3.ListObjectsV2Input{Bucket: aws.String("images"), Prefix: aws.String("upload/a b/"), Delimiter: aws.String("/")})
	mustVerify(t, rec.next(t), "s3")
	c.DeleteObjects(ctx, &s3.DeleteObjectsInput{Bucket: aws.String("images"), Delete: &s3types.Delete{Objects: []s3types.ObjectIdentifier{{Key: aws.String("x")}}}})
	mustVerify(t, rec.next(t), "s3")
}

// TestSDKS3OverTLS: over HTTPS the SDK streams PutObject as aws-chunked with a
// trailing checksum (STREAMING-UNSIGNED-PAYLOAD-TRAILER), or sends UNSIGNED-PAYLOAD.
func TestSDKS3OverTLS(t *testing.T) {
	ctx := context.Background()
	rec := newRecorder(t, true)
	c := rec.s3("test", "test")
	body := bytes.Repeat([]byte("0123456789"), 20000)
	c.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String("images"), Key: aws.String("upload/big.jpg"), Body: bytes.NewReader(body)})
	s := mustVerify(t, rec.next(t), "s3")
	if s.id.PayloadHash != streamingUnsignedTrailer {
		t.Fatalf("payload hash %q, want the SDK's aws-chunked trailer mode", s.id.PayloadHash)
	}
	if !bytes.Contains(s.body, body[:1000]) || !bytes.Contains(s.body, []byte("x-amz-checksum-crc32")) {
		t.Errorf("the aws-chunked body passes through framed: %d bytes", len(s.body))
	}
	c.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String("images"), Key: aws.String("upload/u.jpg"), Body: bytes.NewReader(body)},
		func(o *s3.Options) { o.RequestChecksumCalculation = aws.RequestChecksumCalculationWhenRequired })
	if s := mustVerify(t, rec.next(t), "s3"); s.id.PayloadHash != unsignedPayload {
		t.Errorf("payload hash %q, want UNSIGNED-PAYLOAD", s.id.PayloadHash)
	}
}

func TestSDKS3Presigned(t *testing.T) {
	ctx := context.Background()
	rec := newRecorder(t, false)
	pc := s3.NewPresignClient(rec.s3("test", "test"))
	get, err := pc.PresignGetObject(ctx, &s3.GetObjectInput{Bucket: aws.String("images"), Key: aws.String("thumbnail/a b.jpg")},
		s3.WithPresignExpires(15*time.Minute))
	if err != nil {
		t.Fatal(err)
	}
	resp, err := http.Get(get.URL)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	s := mustVerify(t, rec.next(t), "s3")
	if !s.id.Presigned {
		t.Error("not seen as presigned")
	}
	// The same URL after its 15 minutes: expired.
	_, err = Verify(replay(t, s.raw), rec.keys, time.Now().Add(16*time.Minute))
	wantKind(t, err, RequestExpired)

	put, err := pc.PresignPutObject(ctx, &s3.PutObjectInput{Bucket: aws.String("images"), Key: aws.String("upload/p.jpg")})
	if err != nil {
		t.Fatal(err)
	}
	req, _ := http.NewRequest(put.Method, put.URL, strings.NewReader("presigned body"))
	for k, v := range put.SignedHeader {
		req.Header[k] = v
	}
	if resp, err := http.DefaultClient.Do(req); err == nil {
		resp.Body.Close()
	}
	if s := mustVerify(t, rec.next(t), "s3"); string(s.body) != "presigned body" {
		t.Errorf("presigned PUT body %q", s.body)
	}
}

func TestSDKJSONAndRestServices(t *testing.T) {
	ctx := context.Background()
	rec := newRecorder(t, false)
	cfg := rec.config("test", "test", "")
	fn := "arn:aws:lambda:us-east-1:000000000000:function:ImagePipe-MakeThumbnailFunction"
	calls := []struct {
		name, service string
		call          func()
	}{
		{"SFN StartExecution", "states", func() {
			sfn.NewFromConfig(cfg).StartExecution(ctx, &sfn.StartExecutionInput{
				StateMachineArn: aws.String("arn:aws:states:us-east-1:000000000000:stateMachine:ImagePipe-Pipeline"), Input: aws.String(`{"a":"é"}`)})
		}},
		{"SQS SendMessage", "sqs", func() {
			sqs.NewFromConfig(cfg).SendMessage(ctx, &sqs.SendMessageInput{
				QueueUrl: aws.String(rec.srv.URL + "/000000000000/ImagePipe-FailureQueue"), MessageBody: aws.String("failed")})
		}},
		{"Lambda Invoke by ARN and qualifier", "lambda", func() {
			lambda.NewFromConfig(cfg).Invoke(ctx, &lambda.InvokeInput{FunctionName: aws.String(fn), Qualifier: aws.String("$LATEST"), Payload: []byte(`{}`)})
		}},
		{"Lambda GetFunction", "lambda", func() {
			lambda.NewFromConfig(cfg).GetFunction(ctx, &lambda.GetFunctionInput{FunctionName: aws.String("ImagePipe-SearchFunction")})
		}},
		{"Rekognition DetectLabels", "rekognition", func() {
			rekognition.NewFromConfig(cfg).DetectLabels(ctx, &rekognition.DetectLabelsInput{
				Image: &rtypes.Image{S3Object: &rtypes.S3Object{Bucket: aws.String("images"), Name: aws.String("upload/a.jpg")}}})
		}},
	}
	for _, c := range calls {
		t.Run(c.name, func(t *testing.T) {
			c.call()
			s := mustVerify(t, rec.next(t), c.service)
			if s.id.PayloadHash != sha256Hex(s.body) {
				t.Errorf("payload hash %s is not the body's", s.id.PayloadHash)
			}
		})
	}
}

// TestSDKSessionToken: temporary credentials sign their token; without it, with
// another, or expired, they are refused.
func TestSDKSessionToken(t *testing.T) {
	ctx := context.Background()
	rec := newRecorder(t, false)
	rec.keys.Put("ASIATEMP", Secret{SecretAccessKey: "tempsecret", SessionToken: "token/with+chars=", Expires: time.Now().Add(time.Hour)})
	sfnWith := func(token string) seen {
		sfn.NewFromConfig(rec.config("ASIATEMP", "tempsecret", token)).ListStateMachines(ctx, &sfn.ListStateMachinesInput{})
		return rec.next(t)
	}
	if s := sfnWith("token/with+chars="); s.err != nil || !s.id.Temporary {
		t.Fatalf("temporary credentials: %+v, %v", s.id, s.err)
	}
	wantKind(t, sfnWith("").err, InvalidToken)
	wantKind(t, sfnWith("another").err, InvalidToken)

	pc := s3.NewPresignClient(s3.NewFromConfig(rec.config("ASIATEMP", "tempsecret", "token/with+chars="), func(o *s3.Options) { o.UsePathStyle = true }))
	get, _ := pc.PresignGetObject(ctx, &s3.GetObjectInput{Bucket: aws.String("images"), Key: aws.String("k")})
	if resp, err := http.Get(get.URL); err == nil {
		resp.Body.Close()
	}
	s := rec.next(t)
	if s.err != nil {
		t.Fatalf("presigned with a session token: %v", s.err)
	}
	rec.keys.Put("ASIATEMP", Secret{SecretAccessKey: "tempsecret", SessionToken: "token/with+chars=", Expires: time.Now().Add(-time.Second)})
	_, err := Verify(replay(t, s.raw), rec.keys, time.Now())
	wantKind(t, err, ExpiredToken)
	// A long-term key with a token it does not have.
	sfn.NewFromConfig(rec.config("test", "test", "stray-token")).ListStateMachines(ctx, &sfn.ListStateMachinesInput{})
	wantKind(t, rec.next(t).err, InvalidToken)
}

// TestOpenSearchSigner signs as the functions' OpenSearch client does
// (opensearch-go's awsv2 signer: the SDK's signer for service "es", with
// X-Amz-Content-Sha256 set to the body's hash), on the edge's domain path.
func TestOpenSearchSigner(t *testing.T) {
	rec := newRecorder(t, false)
	body := `{"bucket":"images","key":"upload/a b.jpg"}`
	req, _ := http.NewRequest("PUT", rec.srv.URL+"/opensearch/us-east-1/imagepipe/images/_doc/3f2a?refresh=true&if_seq_no=1&if_primary_term=1", strings.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	hash := sha256Hex([]byte(body))
	req.Header.Set("X-Amz-Content-Sha256", hash)
	if err := v4.NewSigner().SignHTTP(context.Background(), aws.Credentials{AccessKeyID: "test", SecretAccessKey: "test"}, req, hash, "es", "us-east-1", time.Now()); err != nil {
		t.Fatal(err)
	}
	resp, err := rec.srv.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if s := mustVerify(t, rec.next(t), "es"); string(s.body) != body {
		t.Errorf("body %q", s.body)
	}
}
