package loadgen

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/sfn"
	sfntypes "github.com/aws/aws-sdk-go-v2/service/sfn/types"

	"github.com/imagepipe/imagepipe/functions/pipeline"
)

// S3Uploader puts objects with aws-sdk-go-v2 (path-style for the twin is the
// client's option).
type S3Uploader struct{ Client *s3.Client }

// Put implements Uploader.
func (u S3Uploader) Put(ctx context.Context, bucket, key string, body []byte, contentType string) error {
	_, err := u.Client.PutObject(ctx, &s3.PutObjectInput{
		Bucket:        aws.String(bucket),
		Key:           aws.String(key),
		Body:          bytes.NewReader(body),
		ContentLength: aws.Int64(int64(len(body))),
		ContentType:   aws.String(contentType),
	})
	if err != nil {
		return fmt.Errorf("put s3://%s/%s: %w", bucket, key, err)
	}
	return nil
}

// SFNChecker follows the pipeline's executions in Step Functions (AWS, or the twin's
// edge): an EventBridge rule cannot name the execution it starts, so it lists the
// executions started since Since, reads each one's input once to learn its key, and
// takes SUCCEEDED as searchable (IndexDocument is the last state) and FAILED,
// TIMED_OUT or ABORTED as failed.
type SFNChecker struct {
	Client          *sfn.Client
	StateMachineArn string
	Since           time.Time

	mu    sync.Mutex
	byArn map[string]string // execution ARN → object key
}

// Poll implements Checker.
func (c *SFNChecker) Poll(ctx context.Context, bucket string, keys []string) (map[string]Outcome, error) {
	want := make(map[string]bool, len(keys))
	for _, k := range keys {
		want[k] = true
	}
	c.mu.Lock()
	if c.byArn == nil {
		c.byArn = map[string]string{}
	}
	c.mu.Unlock()
	out := map[string]Outcome{}
	p := sfn.NewListExecutionsPaginator(c.Client, &sfn.ListExecutionsInput{StateMachineArn: aws.String(c.StateMachineArn), MaxResults: 100})
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			return out, fmt.Errorf("list executions: %w", err)
		}
		older := false
		for _, e := range page.Executions {
			// Newest first: stop at executions from before the run.
			if e.StartDate != nil && e.StartDate.Before(c.Since) {
				older = true
				break
			}
			if e.Status == sfntypes.ExecutionStatusRunning || e.Status == sfntypes.ExecutionStatusPendingRedrive {
				continue
			}
			arn := aws.ToString(e.ExecutionArn)
			key, err := c.keyOf(ctx, arn, bucket)
			if err != nil {
				return out, err
			}
			if !want[key] {
				continue
			}
			if e.Status == sfntypes.ExecutionStatusSucceeded {
				out[key] = Outcome{}
			} else if _, done := out[key]; !done {
				out[key] = Outcome{Failed: true, Reason: "execution " + string(e.Status)}
			}
		}
		if older {
			break
		}
	}
	return out, nil
}

// keyOf learns (once) which object an execution works on, from its input event.
func (c *SFNChecker) keyOf(ctx context.Context, arn, bucket string) (string, error) {
	c.mu.Lock()
	key, ok := c.byArn[arn]
	c.mu.Unlock()
	if ok {
		return key, nil
	}
	d, err := c.Client.DescribeExecution(ctx, &sfn.DescribeExecutionInput{ExecutionArn: aws.String(arn)})
	if err != nil {
		return "", fmt.Errorf("describe execution: %w", err)
	}
	var ev pipeline.ObjectEvent
	if json.Unmarshal([]byte(aws.ToString(d.Input)), &ev) == nil && ev.Detail.Bucket.Name == bucket {
		key, _ = ev.Key() // S3 URL-encodes the key in its events; "" if it cannot be decoded
	}
	c.mu.Lock()
	c.byArn[arn] = key
	c.mu.Unlock()
	return key, nil
}
