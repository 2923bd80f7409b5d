package smoke

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"image"
	"image/jpeg"
	"io"
	"net/http"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	s3types "github.com/aws/aws-sdk-go-v2/service/s3/types"
	"github.com/aws/aws-sdk-go-v2/service/sfn"
	sfntypes "github.com/aws/aws-sdk-go-v2/service/sfn/types"

	"github.com/imagepipe/imagepipe/functions/pipeline"
)

// upload puts the photo and the corrupt file; both go through the pipeline at once.
func (ru *run) upload(ctx context.Context) (string, error) {
	ru.uploaded = time.Now()
	photo, corrupt := Photo(ru.RunID), Corrupt(ru.RunID)
	for _, o := range []struct {
		key  string
		body []byte
	}{{ru.photoKey, photo}, {ru.corruptKey, corrupt}} {
		_, err := ru.S3.PutObject(ctx, &s3.PutObjectInput{
			Bucket: aws.String(ru.Target.Bucket), Key: aws.String(o.key),
			Body: bytes.NewReader(o.body), ContentLength: aws.Int64(int64(len(o.body))), ContentType: aws.String("image/jpeg"),
		})
		if err != nil {
			return "", fmt.Errorf("put s3://%s/%s: %w", ru.Target.Bucket, o.key, err)
		}
	}
	return fmt.Sprintf("s3://%s/%s (%d bytes) and corrupt.jpg (%d bytes) in %s", ru.Target.Bucket, ru.photoKey, len(photo), len(corrupt), since(ru.uploaded)), nil
}

// execution finds the photo's execution (EventBridge names it at random, so by its
// input) and waits until it ends; SUCCEEDED passes.
func (ru *run) execution(ctx context.Context) (string, error) {
	seen := map[string]bool{} // executions already read that are not the photo's
	var arn string
	err := ru.poll(ctx, func() (bool, error) {
		a, err := ru.findExecution(ctx, ru.photoKey, seen)
		var express *sfntypes.StateMachineTypeNotSupported
		switch {
		case errors.As(err, &express):
			return true, errSkip{"not checked: an Express state machine keeps no execution list (the search and thumbnail checks prove the run)"}
		case err != nil:
			return true, err
		case a == "":
			return false, fmt.Errorf("no execution of %s started for %s", arnName(ru.Target.PipelineArn), ru.photoKey)
		}
		arn = a
		return true, nil
	})
	if err != nil {
		return "", err
	}
	var ex *sfn.DescribeExecutionOutput
	err = ru.poll(ctx, func() (bool, error) {
		out, err := ru.SFN.DescribeExecution(ctx, &sfn.DescribeExecutionInput{ExecutionArn: aws.String(arn)})
		if err != nil {
			return true, fmt.Errorf("describe %s: %w", arn, err)
		}
		ex = out
		if out.Status == sfntypes.ExecutionStatusRunning || out.Status == sfntypes.ExecutionStatusPendingRedrive {
			return false, fmt.Errorf("execution %s still %s", arnName(arn), out.Status)
		}
		return true, nil
	})
	if err != nil {
		return "", err
	}
	ru.execStatus = string(ex.Status)
	took := ""
	if ex.StartDate != nil && ex.StopDate != nil {
		took = " in " + ex.StopDate.Sub(*ex.StartDate).Round(time.Millisecond).String()
	}
	if ex.Status != sfntypes.ExecutionStatusSucceeded {
		return "", fmt.Errorf("%s%s, want SUCCEEDED: %s: %s (%s)", ex.Status, took, aws.ToString(ex.Error), clip(cause(aws.ToString(ex.Cause)), 200), arn)
	}
	return fmt.Sprintf("SUCCEEDED%s (%s)", took, arn), nil
}

// findExecution pages the pipeline's executions, newest first, back to a minute
// before the upload (clocks differ), and returns the one whose input names key.
func (ru *run) findExecution(ctx context.Context, key string, seen map[string]bool) (string, error) {
	cutoff := ru.uploaded.Add(-time.Minute)
	p := sfn.NewListExecutionsPaginator(ru.SFN, &sfn.ListExecutionsInput{StateMachineArn: aws.String(ru.Target.PipelineArn), MaxResults: 100})
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			return "", fmt.Errorf("list executions of %s: %w", ru.Target.PipelineArn, err)
		}
		for _, it := range page.Executions {
			a := aws.ToString(it.ExecutionArn)
			if it.StartDate != nil && it.StartDate.Before(cutoff) {
				return "", nil
			}
			if seen[a] {
				continue
			}
			out, err := ru.SFN.DescribeExecution(ctx, &sfn.DescribeExecutionInput{ExecutionArn: aws.String(a)})
			if err != nil {
				return "", fmt.Errorf("describe %s: %w", a, err)
			}
			var ev pipeline.ObjectEvent
			if json.Unmarshal([]byte(aws.ToString(out.Input)), &ev) == nil {
				if k, err := ev.Key(); err == nil && k == key {
					return a, nil
				}
			}
			seen[a] = true
		}
	}
	return "", nil
}

// search waits until the photo's document is listed by the search API. After a
// failed execution nothing will index it: one look is enough.
func (ru *run) search(ctx context.Context) (string, error) {
	t0 := time.Now()
	failed := ru.execStatus != "" && ru.execStatus != string(sfntypes.ExecutionStatusSucceeded)
	err := ru.poll(ctx, func() (bool, error) {
		docs, err := ru.Search.Find(ctx, ru.RunID)
		if err != nil {
			return failed || refused(err), err
		}
		for i := range docs {
			if docs[i].Key == ru.photoKey {
				ru.doc = &docs[i]
				return true, nil
			}
		}
		if failed {
			return true, fmt.Errorf("not searchable: the execution ended %s", ru.execStatus)
		}
		return false, fmt.Errorf("%s not listed by a search for %q", ru.photoKey, ru.RunID)
	})
	if err != nil {
		return "", err
	}
	return fmt.Sprintf("listed by GET %s/images?search=%s (signed for execute-api) after %s", strings.TrimSuffix(ru.Target.APIURL, "/"), ru.RunID, since(t0)), nil
}

// document compares the document's fields with the photo's facts.
func (ru *run) document() (string, error) {
	d := ru.doc
	if d == nil {
		return "", errors.New("no document to check (not searchable)")
	}
	if bad := VerifyDocument(*d, ru.Target.Bucket, ru.photoKey); len(bad) > 0 {
		return "", errors.New(strings.Join(bad, "; "))
	}
	var labels []string
	for i, l := range d.Labels {
		if i == 3 {
			labels = append(labels, "…")
			break
		}
		labels = append(labels, l.Name)
	}
	return fmt.Sprintf("%s %d×%d orientation %d, camera %s / %s, taken %s at %.3f,%.3f, labels %s",
		d.Format, d.Width, d.Height, d.Orientation, d.Camera.Make, d.Camera.Model, d.TakenAt,
		d.Location.Lat, d.Location.Lon, strings.Join(labels, ", ")), nil
}

// thumbnailSteps reads the thumbnail once (the execution has ended, or the document
// is indexed, by now) and checks its size, then where its corner markers are.
func (ru *run) thumbnailSteps(ctx context.Context) {
	key := pipeline.ThumbnailKey(ru.photoKey)
	var img image.Image
	ru.step(CheckThumbnail, func() (string, error) {
		m, n, err := ru.getJPEG(ctx, key)
		if err != nil {
			return "", err
		}
		img = m
		if msg := VerifyThumbnailSize(m); msg != "" {
			return "", errors.New(msg)
		}
		return fmt.Sprintf("s3://%s/%s %d×%d, %d bytes", ru.Target.Bucket, key, m.Bounds().Dx(), m.Bounds().Dy(), n), nil
	})
	ru.step(CheckOrientation, func() (string, error) {
		if img == nil {
			return "", errors.New("no thumbnail to look at")
		}
		if msg := VerifyOrientation(img); msg != "" {
			return "", errors.New(msg)
		}
		return fmt.Sprintf("red corner at top-right, as EXIF orientation %d puts it", Orientation), nil
	})
}

func (ru *run) getJPEG(ctx context.Context, key string) (image.Image, int, error) {
	out, err := ru.S3.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String(ru.Target.Bucket), Key: aws.String(key)})
	var nsk *s3types.NoSuchKey
	if errors.As(err, &nsk) {
		return nil, 0, fmt.Errorf("s3://%s/%s: no such object (make-thumbnail did not write it)", ru.Target.Bucket, key)
	}
	if err != nil {
		return nil, 0, fmt.Errorf("get s3://%s/%s: %w", ru.Target.Bucket, key, err)
	}
	defer out.Body.Close()
	body, err := io.ReadAll(io.LimitReader(out.Body, 8<<20))
	if err != nil {
		return nil, 0, fmt.Errorf("get s3://%s/%s: %w", ru.Target.Bucket, key, err)
	}
	m, err := jpeg.Decode(bytes.NewReader(body))
	if err != nil {
		return nil, 0, fmt.Errorf("s3://%s/%s is not a JPEG: %w", ru.Target.Bucket, key, err)
	}
	return m, len(body), nil
}

// cause is a failure's cause for a line: the message of a Lambda function's error
// ({"errorMessage", "errorType"}), else the cause as it is.
func cause(s string) string {
	var le struct {
		ErrorMessage string `json:"errorMessage"`
	}
	if json.Unmarshal([]byte(s), &le) == nil && le.ErrorMessage != "" {
		return le.ErrorMessage
	}
	return s
}

// refused reports an answer of the search API that waiting will not change: the
// request is unsigned, not allowed or malformed.
func refused(err error) bool {
	var apiErr *APIError
	return errors.As(err, &apiErr) && apiErr.Status < 500 && apiErr.Status != http.StatusTooManyRequests
}

// arnName is the last part of an ARN.
func arnName(arn string) string { return arn[strings.LastIndex(arn, ":")+1:] }

// clip puts s on one line of at most n characters.
func clip(s string, n int) string {
	r := []rune(strings.Join(strings.Fields(s), " "))
	if len(r) > n {
		return string(r[:n]) + "…"
	}
	return string(r)
}
