package smoke

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	sqstypes "github.com/aws/aws-sdk-go-v2/service/sqs/types"

	"github.com/imagepipe/imagepipe/functions/pipeline"
	"github.com/imagepipe/imagepipe/functions/redrive"
)

// How the failure queue is read: others' messages are hidden only while the run
// looks past them, then handed back.
const (
	receiveVisibility = 30 // seconds
	receiveWait       = 1  // seconds of long polling per receive
	// afterFound is how long the scan goes on once the corrupt file's message is
	// found, to take the run's other messages too (a failed photo's) off the queue.
	afterFound = 3 * time.Second
)

// failure waits for the corrupt file's message on the failure queue: a permanent
// error with a cause. It deletes every message of this run it meets (the smoke
// test's failures are its own to clean up) and hands the others back.
func (ru *run) failure(ctx context.Context) (string, error) {
	var (
		found     *redrive.Failure
		foundAt   time.Time
		held      []sqstypes.Message
		deleted   int
		deleteErr error
	)
	defer func() { ru.release(context.WithoutCancel(ctx), held) }()
	err := ru.poll(ctx, func() (bool, error) {
		out, err := ru.SQS.ReceiveMessage(ctx, &sqs.ReceiveMessageInput{
			QueueUrl: aws.String(ru.Target.FailureQueueURL), MaxNumberOfMessages: 10,
			VisibilityTimeout: receiveVisibility, WaitTimeSeconds: receiveWait,
		})
		if err != nil {
			return true, fmt.Errorf("receive from %s: %w", ru.Target.FailureQueueURL, err)
		}
		for _, m := range out.Messages {
			f, ev, perr := redrive.ParseFailure(aws.ToString(m.Body))
			key, kerr := ev.Key()
			if perr != nil || kerr != nil || !strings.HasPrefix(key, ru.prefix) {
				held = append(held, m)
				continue
			}
			if _, err := ru.SQS.DeleteMessage(ctx, &sqs.DeleteMessageInput{QueueUrl: aws.String(ru.Target.FailureQueueURL), ReceiptHandle: m.ReceiptHandle}); err != nil {
				deleteErr = fmt.Errorf("delete message %s: %w", aws.ToString(m.MessageId), err)
				continue
			}
			deleted++
			if key == ru.corruptKey && found == nil {
				found, foundAt = &f, time.Now()
			}
		}
		if found != nil && (len(out.Messages) == 0 || time.Since(foundAt) > afterFound) {
			return true, nil
		}
		if found != nil {
			return false, nil
		}
		return false, fmt.Errorf("no message for %s on the failure queue", ru.corruptKey)
	})
	if err != nil && found == nil { // found, the deadline only cut the sweep short
		return "", err
	}
	if deleteErr != nil {
		return "", deleteErr
	}
	if !redrive.IsPermanentError(found.Error) || strings.TrimSpace(found.Cause) == "" {
		return "", fmt.Errorf("%s in %s: %q, want a permanent error (%s) with its cause", found.Error, found.State, clip(cause(found.Cause), 160), strings.Join(redrive.PermanentErrorNames, ", "))
	}
	return fmt.Sprintf("%s in %s: %q; %d message(s) of this run deleted", found.Error, found.State, clip(cause(found.Cause), 120), deleted), nil
}

// release makes the messages of others visible again at once.
func (ru *run) release(ctx context.Context, msgs []sqstypes.Message) {
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	for _, m := range msgs {
		// Best effort: without sqs:ChangeMessageVisibility they come back after
		// receiveVisibility seconds anyway.
		ru.SQS.ChangeMessageVisibility(ctx, &sqs.ChangeMessageVisibilityInput{
			QueueUrl: aws.String(ru.Target.FailureQueueURL), ReceiptHandle: m.ReceiptHandle, VisibilityTimeout: 0,
		})
	}
}

// cleanup deletes both uploads and waits for the remove pipeline: the document,
// the thumbnail and the preview gone.
func (ru *run) cleanup(ctx context.Context) (string, error) {
	t0 := time.Now()
	var errs []error
	for _, key := range []string{ru.photoKey, ru.corruptKey} {
		if _, err := ru.S3.DeleteObject(ctx, &s3.DeleteObjectInput{Bucket: aws.String(ru.Target.Bucket), Key: aws.String(key)}); err != nil {
			errs = append(errs, fmt.Errorf("delete s3://%s/%s: %w", ru.Target.Bucket, key, err))
		}
	}
	if err := errors.Join(errs...); err != nil {
		return "", err
	}
	derived := []string{
		pipeline.ThumbnailPrefix + strings.TrimPrefix(ru.prefix, pipeline.UploadPrefix),
		pipeline.PreviewPrefix + strings.TrimPrefix(ru.prefix, pipeline.UploadPrefix),
	}
	err := ru.poll(ctx, func() (bool, error) {
		var left []string
		for _, p := range derived {
			out, err := ru.S3.ListObjectsV2(ctx, &s3.ListObjectsV2Input{Bucket: aws.String(ru.Target.Bucket), Prefix: aws.String(p)})
			if err != nil {
				return true, fmt.Errorf("list s3://%s/%s: %w", ru.Target.Bucket, p, err)
			}
			for _, o := range out.Contents {
				left = append(left, aws.ToString(o.Key))
			}
		}
		docs, err := ru.Search.Find(ctx, ru.RunID)
		if err != nil {
			return refused(err), err
		}
		for _, d := range docs {
			if d.Key == ru.photoKey {
				left = append(left, "the document "+d.ID)
			}
		}
		if len(left) > 0 {
			return false, fmt.Errorf("the remove pipeline left %s", strings.Join(left, ", "))
		}
		return true, nil
	})
	if err != nil {
		return "", err
	}
	return fmt.Sprintf("both uploads deleted; document, thumbnail and preview gone after %s", since(t0)), nil
}
