package iam

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/lambda"
	"github.com/aws/aws-sdk-go-v2/service/rekognition"
	rtypes "github.com/aws/aws-sdk-go-v2/service/rekognition/types"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	s3types "github.com/aws/aws-sdk-go-v2/service/s3/types"
	"github.com/aws/aws-sdk-go-v2/service/sfn"
	"github.com/aws/aws-sdk-go-v2/service/sqs"

	"github.com/imagepipe/imagepipe/local/opensearch"
)

// classified is what ActionFor made of one request the SDK sent.
type classified struct {
	op    string
	needs []Need
	err   error
	body  bool // r.Body still read the whole body after ActionFor
}

// classifier is an endpoint that classifies what the real SDK clients send.
func classifier(t *testing.T) (*httptest.Server, chan classified) {
	got := make(chan classified, 4)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		raw, _ := io.ReadAll(r.Body)
		r.Body = io.NopCloser(bytes.NewReader(raw))
		service := "s3"
		if _, rest, ok := strings.Cut(r.Header.Get("Authorization"), "Credential="); ok {
			service = strings.Split(rest, "/")[3]
		}
		var c classified
		c.op, c.err = OperationOf(service, r)
		if c.err == nil {
			c.needs, c.err = ActionFor(twinEnv, service, c.op, r)
		}
		again, _ := io.ReadAll(r.Body)
		c.body = bytes.Equal(again, raw)
		got <- c
		w.WriteHeader(http.StatusBadRequest) // the SDK gives up at once; what it sent is what counts
	}))
	t.Cleanup(srv.Close)
	return srv, got
}

func sdkConfig(url string) aws.Config {
	return aws.Config{Region: "us-east-1", Credentials: credentials.NewStaticCredentialsProvider("test", "test", ""),
		BaseEndpoint: aws.String(url), Retryer: func() aws.Retryer { return aws.NopRetryer{} }}
}

func need(action, resource string) Need { return Need{Action: action, Resource: resource} }

// sdkCases are calls of the SDK clients the stack uses, against url.
func sdkCases(url string) []sdkCase {
	ctx := context.Background()
	cfg := sdkConfig(url)
	s3c := s3.NewFromConfig(cfg, func(o *s3.Options) { o.UsePathStyle = true })
	b, k := aws.String("images"), aws.String("upload/a b+c.jpg")
	obj := "arn:aws:s3:::images/upload/a b+c.jpg"
	fn := "arn:aws:lambda:us-east-1:000000000000:function:ImagePipe-SearchFunction"
	queue := url + "/000000000000/ImagePipe-FailureQueue"
	queueARN := "arn:aws:sqs:us-east-1:000000000000:ImagePipe-FailureQueue"
	sm := "arn:aws:states:us-east-1:000000000000:stateMachine:ImagePipe-Pipeline"
	exec := "arn:aws:states:us-east-1:000000000000:execution:ImagePipe-Pipeline:x"
	body := strings.NewReader("pixels")
	return []sdkCase{
		{"PutObject", func() { s3c.PutObject(ctx, &s3.PutObjectInput{Bucket: b, Key: k, Body: body}) }, []Need{need("s3:PutObject", obj)}},
		{"PutObject", func() {
			s3c.PutObject(ctx, &s3.PutObjectInput{Bucket: b, Key: k, Body: strings.NewReader("x"), Tagging: aws.String("a=b"), ACL: s3types.ObjectCannedACLPrivate})
		}, []Need{need("s3:PutObject", obj), need("s3:PutObjectTagging", obj), need("s3:PutObjectAcl", obj)}},
		{"GetObject", func() { s3c.GetObject(ctx, &s3.GetObjectInput{Bucket: b, Key: k}) }, []Need{need("s3:GetObject", obj)}},
		{"GetObject", func() { s3c.GetObject(ctx, &s3.GetObjectInput{Bucket: b, Key: k, VersionId: aws.String("v1")}) }, []Need{need("s3:GetObjectVersion", obj)}},
		{"HeadObject", func() { s3c.HeadObject(ctx, &s3.HeadObjectInput{Bucket: b, Key: k}) }, []Need{need("s3:GetObject", obj)}},
		{"DeleteObject", func() { s3c.DeleteObject(ctx, &s3.DeleteObjectInput{Bucket: b, Key: k}) }, []Need{need("s3:DeleteObject", obj)}},
		{"DeleteObjects", func() {
			s3c.DeleteObjects(ctx, &s3.DeleteObjectsInput{Bucket: b, Delete: &s3types.Delete{Objects: []s3types.ObjectIdentifier{{Key: aws.String("thumbnail/1.jpg")}, {Key: aws.String("preview/1.jpg")}}}})
		}, []Need{need("s3:DeleteObject", "arn:aws:s3:::images/thumbnail/1.jpg"), need("s3:DeleteObject", "arn:aws:s3:::images/preview/1.jpg")}},
		{"ListObjectsV2", func() { s3c.ListObjectsV2(ctx, &s3.ListObjectsV2Input{Bucket: b}) }, []Need{need("s3:ListBucket", "arn:aws:s3:::images")}},
		{"CopyObject", func() {
			s3c.CopyObject(ctx, &s3.CopyObjectInput{Bucket: b, Key: aws.String("thumbnail/x.jpg"), CopySource: aws.String("images/upload/x y.jpg")})
		}, []Need{need("s3:PutObject", "arn:aws:s3:::images/thumbnail/x.jpg"), need("s3:GetObject", "arn:aws:s3:::images/upload/x y.jpg")}},
		{"CreateMultipartUpload", func() { s3c.CreateMultipartUpload(ctx, &s3.CreateMultipartUploadInput{Bucket: b, Key: k}) }, []Need{need("s3:PutObject", obj)}},
		{"UploadPart", func() {
			s3c.UploadPart(ctx, &s3.UploadPartInput{Bucket: b, Key: k, UploadId: aws.String("u"), PartNumber: aws.Int32(1), Body: strings.NewReader("p")})
		}, []Need{need("s3:PutObject", obj)}},
		{"CompleteMultipartUpload", func() {
			s3c.CompleteMultipartUpload(ctx, &s3.CompleteMultipartUploadInput{Bucket: b, Key: k, UploadId: aws.String("u")})
		}, []Need{need("s3:PutObject", obj)}},
		{"AbortMultipartUpload", func() {
			s3c.AbortMultipartUpload(ctx, &s3.AbortMultipartUploadInput{Bucket: b, Key: k, UploadId: aws.String("u")})
		}, []Need{need("s3:AbortMultipartUpload", obj)}},
		{"ListBuckets", func() { s3c.ListBuckets(ctx, &s3.ListBucketsInput{}) }, []Need{need("s3:ListAllMyBuckets", "*")}},
		{"StartExecution", func() { sfn.NewFromConfig(cfg).StartExecution(ctx, &sfn.StartExecutionInput{StateMachineArn: &sm}) }, []Need{need("states:StartExecution", sm)}},
		{"ListExecutions", func() { sfn.NewFromConfig(cfg).ListExecutions(ctx, &sfn.ListExecutionsInput{StateMachineArn: &sm}) }, []Need{need("states:ListExecutions", sm)}},
		{"DescribeExecution", func() {
			sfn.NewFromConfig(cfg).DescribeExecution(ctx, &sfn.DescribeExecutionInput{ExecutionArn: &exec})
		}, []Need{need("states:DescribeExecution", exec)}},
		{"RedriveExecution", func() { sfn.NewFromConfig(cfg).RedriveExecution(ctx, &sfn.RedriveExecutionInput{ExecutionArn: &exec}) }, []Need{need("states:RedriveExecution", exec)}},
		{"GetExecutionHistory", func() {
			sfn.NewFromConfig(cfg).GetExecutionHistory(ctx, &sfn.GetExecutionHistoryInput{ExecutionArn: &exec})
		}, []Need{need("states:GetExecutionHistory", exec)}},
		{"ListStateMachines", func() { sfn.NewFromConfig(cfg).ListStateMachines(ctx, &sfn.ListStateMachinesInput{}) }, []Need{need("states:ListStateMachines", "*")}},
		{"CreateStateMachine", func() {
			sfn.NewFromConfig(cfg).CreateStateMachine(ctx, &sfn.CreateStateMachineInput{Name: aws.String("M"), Definition: aws.String("{}"), RoleArn: aws.String("arn:aws:iam::000000000000:role/R")})
		}, []Need{need("states:CreateStateMachine", "arn:aws:states:us-east-1:000000000000:stateMachine:M"), need("iam:PassRole", "arn:aws:iam::000000000000:role/R")}},
		{"SendMessage", func() {
			sqs.NewFromConfig(cfg).SendMessage(ctx, &sqs.SendMessageInput{QueueUrl: &queue, MessageBody: aws.String("m")})
		}, []Need{need("sqs:SendMessage", queueARN)}},
		{"ReceiveMessage", func() { sqs.NewFromConfig(cfg).ReceiveMessage(ctx, &sqs.ReceiveMessageInput{QueueUrl: &queue}) }, []Need{need("sqs:ReceiveMessage", queueARN)}},
		{"DeleteMessage", func() {
			sqs.NewFromConfig(cfg).DeleteMessage(ctx, &sqs.DeleteMessageInput{QueueUrl: &queue, ReceiptHandle: aws.String("h")})
		}, []Need{need("sqs:DeleteMessage", queueARN)}},
		{"GetQueueUrl", func() {
			sqs.NewFromConfig(cfg).GetQueueUrl(ctx, &sqs.GetQueueUrlInput{QueueName: aws.String("ImagePipe-FailureQueue")})
		}, []Need{need("sqs:GetQueueUrl", queueARN)}},
		{"ListQueues", func() { sqs.NewFromConfig(cfg).ListQueues(ctx, &sqs.ListQueuesInput{}) }, []Need{need("sqs:ListQueues", "*")}},
		{"Invoke", func() {
			lambda.NewFromConfig(cfg).Invoke(ctx, &lambda.InvokeInput{FunctionName: aws.String("ImagePipe-SearchFunction")})
		}, []Need{need("lambda:InvokeFunction", fn)}},
		{"Invoke", func() {
			lambda.NewFromConfig(cfg).Invoke(ctx, &lambda.InvokeInput{FunctionName: aws.String(fn), Qualifier: aws.String("$LATEST")})
		}, []Need{need("lambda:InvokeFunction", fn+":$LATEST")}},
		{"Invoke", func() {
			lambda.NewFromConfig(cfg).Invoke(ctx, &lambda.InvokeInput{FunctionName: aws.String("000000000000:function:ImagePipe-SearchFunction:live")})
		}, []Need{need("lambda:InvokeFunction", fn+":live")}},
		{"GetFunction", func() {
			lambda.NewFromConfig(cfg).GetFunction(ctx, &lambda.GetFunctionInput{FunctionName: aws.String("ImagePipe-SearchFunction")})
		}, []Need{need("lambda:GetFunction", fn)}},
		{"GetFunctionConfiguration", func() {
			lambda.NewFromConfig(cfg).GetFunctionConfiguration(ctx, &lambda.GetFunctionConfigurationInput{FunctionName: aws.String("ImagePipe-SearchFunction")})
		}, []Need{need("lambda:GetFunctionConfiguration", fn)}},
		{"GetFunctionConcurrency", func() {
			lambda.NewFromConfig(cfg).GetFunctionConcurrency(ctx, &lambda.GetFunctionConcurrencyInput{FunctionName: aws.String("ImagePipe-SearchFunction")})
		}, []Need{need("lambda:GetFunctionConcurrency", fn)}},
		{"ListFunctions", func() { lambda.NewFromConfig(cfg).ListFunctions(ctx, &lambda.ListFunctionsInput{}) }, []Need{need("lambda:ListFunctions", "*")}},
		{"DetectLabels", func() {
			rekognition.NewFromConfig(cfg).DetectLabels(ctx, &rekognition.DetectLabelsInput{Image: &rtypes.Image{S3Object: &rtypes.S3Object{Bucket: b, Name: aws.String("upload/x.jpg")}}})
		}, []Need{need("rekognition:DetectLabels", "*"), need("s3:GetObject", "arn:aws:s3:::images/upload/x.jpg")}},
		{"DetectLabels", func() {
			rekognition.NewFromConfig(cfg).DetectLabels(ctx, &rekognition.DetectLabelsInput{Image: &rtypes.Image{Bytes: []byte{0xff, 0xd8}}})
		}, []Need{need("rekognition:DetectLabels", "*")}},
	}
}

// sdkCase is one SDK call and what it needs.
type sdkCase struct {
	op    string
	call  func()
	needs []Need
}

func TestActionForSDKRequests(t *testing.T) {
	srv, got := classifier(t)
	for _, c := range sdkCases(srv.URL) {
		c.call()
		var g classified
		select {
		case g = <-got:
		case <-time.After(10 * time.Second):
			t.Fatalf("%s: no request", c.op)
		}
		if g.err != nil || g.op != c.op || !reflect.DeepEqual(g.needs, c.needs) || !g.body {
			t.Errorf("%s: got %s %+v (err %v, body kept %v); want %+v", c.op, g.op, g.needs, g.err, g.body, c.needs)
		}
	}
}

func TestActionForS3Context(t *testing.T) {
	r := httptest.NewRequest("PUT", "/images/upload/x.jpg", strings.NewReader("x"))
	r.Header.Set("If-None-Match", "*")
	needs, err := ActionFor(twinEnv, "s3", "", r)
	if err != nil || len(needs) != 1 || !reflect.DeepEqual(needs[0].Context, map[string][]string{"s3:if-none-match": {"*"}}) {
		t.Errorf("%+v %v", needs, err)
	}
	r = httptest.NewRequest("GET", "/images?list-type=2&prefix=upload%2F&delimiter=%2F", nil)
	needs, err = ActionFor(twinEnv, "s3", "", r)
	if err != nil || len(needs) != 1 || needs[0].Action != "s3:ListBucket" || needs[0].Context["s3:prefix"][0] != "upload/" || needs[0].Context["s3:delimiter"][0] != "/" {
		t.Errorf("%+v %v", needs, err)
	}
}

func TestActionForOpenSearch(t *testing.T) {
	if OpenSearchPathRoot != opensearch.PathRoot {
		t.Fatalf("OpenSearchPathRoot %q is not the edge's %q", OpenSearchPathRoot, opensearch.PathRoot)
	}
	for _, c := range []struct{ method, path, action, resource string }{
		{"PUT", "/opensearch/us-east-1/imagepipe/images/_doc/3f2a", "es:ESHttpPut", "domain/imagepipe/images/_doc/3f2a"},
		{"GET", "/opensearch/us-east-1/imagepipe/images/_count", "es:ESHttpGet", "domain/imagepipe/images/_count"},
		{"POST", "/opensearch/us-east-1/imagepipe/images/_search", "es:ESHttpPost", "domain/imagepipe/images/_search"},
		{"DELETE", "/opensearch/us-east-1/imagepipe/images/_doc/3f2a", "es:ESHttpDelete", "domain/imagepipe/images/_doc/3f2a"},
		{"HEAD", "/opensearch/us-east-1/imagepipe/images", "es:ESHttpHead", "domain/imagepipe/images"},
		{"GET", "/opensearch/us-east-1/imagepipe/", "es:ESHttpGet", "domain/imagepipe/"},
	} {
		needs, err := ActionFor(twinEnv, "es", "", httptest.NewRequest(c.method, c.path, nil))
		want := []Need{need(c.action, "arn:aws:es:us-east-1:000000000000:"+c.resource)}
		if err != nil || !reflect.DeepEqual(needs, want) {
			t.Errorf("%s %s: %+v %v", c.method, c.path, needs, err)
		}
	}
	if _, err := ActionFor(twinEnv, "es", "", httptest.NewRequest("GET", "/images/_search", nil)); err == nil {
		t.Error("a path outside the domain root was classified")
	}
}

func TestActionForUnknown(t *testing.T) {
	for _, c := range []struct{ service, target string }{{"states", "AWSStepFunctions.DeleteActivity"}, {"sqs", ""}, {"dynamodb", "DynamoDB_20120810.GetItem"}} {
		r := httptest.NewRequest("POST", "/", strings.NewReader("{}"))
		r.Header.Set("X-Amz-Target", c.target)
		if _, err := ActionFor(twinEnv, c.service, "", r); !errors.Is(err, ErrUnknownOperation) {
			t.Errorf("%s %s: %v", c.service, c.target, err)
		}
	}
	if _, err := ActionFor(twinEnv, "s3", "", httptest.NewRequest("POST", "/images", nil)); !errors.Is(err, ErrUnknownOperation) {
		t.Errorf("S3 POST without ?delete: %v", err)
	}
}

func TestExecuteAPIArn(t *testing.T) {
	for path, want := range map[string]string{
		"/images": "arn:aws:execute-api:us-east-1:000000000000:d63c10d486/prod/GET/images",
		"/":       "arn:aws:execute-api:us-east-1:000000000000:d63c10d486/prod/GET/",
		"/a/b":    "arn:aws:execute-api:us-east-1:000000000000:d63c10d486/prod/GET/a/b",
	} {
		if got := ExecuteAPIArn(twinEnv, "d63c10d486", "prod", "get", path); got != want {
			t.Errorf("%s: %s", path, got)
		}
	}
}

func TestTaskNeeds(t *testing.T) {
	fn := "arn:aws:lambda:us-east-1:000000000000:function:ImagePipe-MakeThumbnailFunction"
	for _, c := range []struct {
		resource string
		params   map[string]any
		want     []Need
	}{
		{"arn:aws:states:::lambda:invoke", map[string]any{"FunctionName": fn, "Payload.$": "$"}, []Need{need("lambda:InvokeFunction", fn)}},
		{"arn:aws:states:::lambda:invoke", map[string]any{"FunctionName": "ImagePipe-MakeThumbnailFunction", "Qualifier": "live"}, []Need{need("lambda:InvokeFunction", fn+":live")}},
		{"arn:aws:states:::lambda:invoke.waitForTaskToken", map[string]any{"FunctionName": fn + ":3"}, []Need{need("lambda:InvokeFunction", fn+":3")}},
		{fn, nil, []Need{need("lambda:InvokeFunction", fn)}},
		{"arn:aws:states:::sqs:sendMessage", map[string]any{"QueueUrl": "http://127.0.0.1:4566/000000000000/ImagePipe-FailureQueue"},
			[]Need{need("sqs:SendMessage", "arn:aws:sqs:us-east-1:000000000000:ImagePipe-FailureQueue")}},
		{"arn:aws:states:::states:startExecution.sync:2", map[string]any{"StateMachineArn": "arn:aws:states:us-east-1:000000000000:stateMachine:Child"}, []Need{
			need("states:StartExecution", "arn:aws:states:us-east-1:000000000000:stateMachine:Child"),
			need("states:DescribeExecution", "arn:aws:states:us-east-1:000000000000:execution:Child:*"),
			need("states:StopExecution", "arn:aws:states:us-east-1:000000000000:execution:Child:*"),
			need("events:PutTargets", "arn:aws:events:us-east-1:000000000000:rule/StepFunctionsGetEventsForStepFunctionsExecutionRule"),
			need("events:PutRule", "arn:aws:events:us-east-1:000000000000:rule/StepFunctionsGetEventsForStepFunctionsExecutionRule"),
			need("events:DescribeRule", "arn:aws:events:us-east-1:000000000000:rule/StepFunctionsGetEventsForStepFunctionsExecutionRule")}},
	} {
		got, err := TaskNeeds(twinEnv, c.resource, c.params)
		if err != nil || !reflect.DeepEqual(got, c.want) {
			t.Errorf("%s: %+v %v", c.resource, got, err)
		}
	}
	if _, err := TaskNeeds(twinEnv, "arn:aws:states:::dynamodb:putItem", nil); !errors.Is(err, ErrUnknownOperation) {
		t.Errorf("unknown integration: %v", err)
	}
}
