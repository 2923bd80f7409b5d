package smoke

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
	"github.com/aws/aws-sdk-go-v2/service/cloudformation"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/sfn"
	"github.com/aws/aws-sdk-go-v2/service/sqs"

	"github.com/imagepipe/imagepipe/functions/pipeline"
)

// The AWS calls the smoke test makes; the SDK clients satisfy these, tests give fakes.
type (
	S3API interface {
		PutObject(context.Context, *s3.PutObjectInput, ...func(*s3.Options)) (*s3.PutObjectOutput, error)
		GetObject(context.Context, *s3.GetObjectInput, ...func(*s3.Options)) (*s3.GetObjectOutput, error)
		DeleteObject(context.Context, *s3.DeleteObjectInput, ...func(*s3.Options)) (*s3.DeleteObjectOutput, error)
		ListObjectsV2(context.Context, *s3.ListObjectsV2Input, ...func(*s3.Options)) (*s3.ListObjectsV2Output, error)
	}
	SFNAPI interface {
		ListExecutions(context.Context, *sfn.ListExecutionsInput, ...func(*sfn.Options)) (*sfn.ListExecutionsOutput, error)
		DescribeExecution(context.Context, *sfn.DescribeExecutionInput, ...func(*sfn.Options)) (*sfn.DescribeExecutionOutput, error)
	}
	SQSAPI interface {
		ReceiveMessage(context.Context, *sqs.ReceiveMessageInput, ...func(*sqs.Options)) (*sqs.ReceiveMessageOutput, error)
		DeleteMessage(context.Context, *sqs.DeleteMessageInput, ...func(*sqs.Options)) (*sqs.DeleteMessageOutput, error)
		ChangeMessageVisibility(context.Context, *sqs.ChangeMessageVisibilityInput, ...func(*sqs.Options)) (*sqs.ChangeMessageVisibilityOutput, error)
	}
	CFNAPI interface {
		DescribeStacks(context.Context, *cloudformation.DescribeStacksInput, ...func(*cloudformation.Options)) (*cloudformation.DescribeStacksOutput, error)
	}
)

// Target is the deployed pipeline the smoke test reaches.
type Target struct {
	Name            string `json:"name"` // "stack ImagePipe" or "twin http://127.0.0.1:4566", for people
	Bucket          string `json:"bucket"`
	APIURL          string `json:"apiUrl"` // the API stage's base: https://…/prod/ on AWS, http://127.0.0.1:8080/api on the twin
	PipelineArn     string `json:"pipelineArn"`
	FailureQueueURL string `json:"failureQueueUrl"`
}

// The stack outputs a Target is read from (infra/stack/operations.go declares them;
// infra/pipeline_test.go holds the two lists together).
const (
	OutputBucket       = "BucketName"
	OutputAPI          = "ApiUrl"
	OutputPipeline     = "StateMachineArn"
	OutputFailureQueue = "FailureQueueUrl"
)

// StackTarget reads a deployed stack's outputs (DescribeStacks).
func StackTarget(ctx context.Context, cfn CFNAPI, stackName string) (Target, error) {
	out, err := cfn.DescribeStacks(ctx, &cloudformation.DescribeStacksInput{StackName: aws.String(stackName)})
	if err != nil {
		return Target{}, fmt.Errorf("describe stack %s: %w", stackName, err)
	}
	if len(out.Stacks) != 1 {
		return Target{}, fmt.Errorf("describe stack %s: %d stacks", stackName, len(out.Stacks))
	}
	st := out.Stacks[0]
	if s := string(st.StackStatus); !strings.HasSuffix(s, "_COMPLETE") || strings.Contains(s, "ROLLBACK") || strings.HasPrefix(s, "DELETE") {
		return Target{}, fmt.Errorf("stack %s is %s: its last deploy did not complete", stackName, s)
	}
	outputs := map[string]string{}
	for _, o := range st.Outputs {
		outputs[aws.ToString(o.OutputKey)] = aws.ToString(o.OutputValue)
	}
	t := Target{
		Name: "stack " + stackName, Bucket: outputs[OutputBucket], APIURL: outputs[OutputAPI],
		PipelineArn: outputs[OutputPipeline], FailureQueueURL: outputs[OutputFailureQueue],
	}
	var missing []string
	for name, v := range map[string]string{OutputBucket: t.Bucket, OutputAPI: t.APIURL, OutputPipeline: t.PipelineArn, OutputFailureQueue: t.FailureQueueURL} {
		if v == "" {
			missing = append(missing, name)
		}
	}
	if len(missing) > 0 {
		return Target{}, fmt.Errorf("stack %s has no output %s: is it an imagepipe stack?", stackName, strings.Join(missing, ", "))
	}
	return t, nil
}

// Search is the search API as the web app calls it: GET {base}/images?search=Q,
// SigV4-signed for execute-api with the caller's credentials.
type Search struct {
	BaseURL     string
	Region      string
	Credentials aws.CredentialsProvider
	HTTP        *http.Client // nil: a client with a 30 s timeout
}

// emptyPayload is the SHA-256 of an empty body, which a signed GET carries.
var emptyPayload = func() string { s := sha256.Sum256(nil); return hex.EncodeToString(s[:]) }()

// Find returns the documents a search for text lists (at most 100).
func (s *Search) Find(ctx context.Context, text string) ([]pipeline.Document, error) {
	u := strings.TrimSuffix(s.BaseURL, "/") + "/images?" + url.Values{"search": {text}, "size": {"100"}}.Encode()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return nil, err
	}
	if err := s.sign(ctx, req); err != nil {
		return nil, err
	}
	hc := s.HTTP
	if hc == nil {
		hc = &http.Client{Timeout: 30 * time.Second}
	}
	resp, err := hc.Do(req)
	if err != nil {
		return nil, fmt.Errorf("search API: %w", err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 16<<20))
	if err != nil {
		return nil, fmt.Errorf("search API: %w", err)
	}
	if resp.StatusCode != http.StatusOK {
		return nil, &APIError{Status: resp.StatusCode, Body: strings.TrimSpace(string(body))}
	}
	var ans struct {
		Images []pipeline.Document `json:"images"`
	}
	if err := json.Unmarshal(body, &ans); err != nil {
		return nil, fmt.Errorf("search API: decode %.200q: %w", body, err)
	}
	return ans.Images, nil
}

func (s *Search) sign(ctx context.Context, req *http.Request) error {
	creds, err := s.Credentials.Retrieve(ctx)
	if err != nil {
		return fmt.Errorf("credentials for the search API: %w", err)
	}
	return v4.NewSigner().SignHTTP(ctx, creds, req, emptyPayload, "execute-api", s.Region, time.Now())
}

// APIError is an answer of the search API other than 200.
type APIError struct {
	Status int
	Body   string
}

func (e *APIError) Error() string {
	b := e.Body
	if len(b) > 300 {
		b = b[:300] + "…"
	}
	return fmt.Sprintf("search API answered %d: %s", e.Status, b)
}
