package test

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/sfn"
	"github.com/aws/aws-sdk-go-v2/service/sfn/types"
	smithy "github.com/aws/smithy-go"

	"github.com/imagepipe/imagepipe/functions/imaging"
	"github.com/imagepipe/imagepipe/functions/steps/makethumbnail"
)

// expressTemplate is the committed snapshot of the app synthesized with
// -c express=true (`make snapshot` writes it beside the Standard one).
func expressTemplate() string {
	return filepath.Join(repoRoot(), "infra", "snapshot", "ImagePipe-express.template.json")
}

// expressEvents are the Express history events the twin logged (where AWS logs
// Express history: CloudWatch Logs), of the executions whose ARN contains sub.
func (tw *Twin) expressEvents(sub string) []map[string]any {
	var out []map[string]any
	sc := bufio.NewScanner(strings.NewReader(tw.logs.String()))
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		var m map[string]any
		if json.Unmarshal(sc.Bytes(), &m) != nil || m["msg"] != "step functions express event" {
			continue
		}
		if arn, _ := m["execution_arn"].(string); strings.Contains(arn, sub) {
			out = append(out, m)
		}
	}
	return out
}

// succeeded is the ARNs of the logged executions that succeeded.
func succeeded(events []map[string]any) []string {
	var arns []string
	for _, e := range events {
		if e["type"] == "ExecutionSucceeded" {
			arns = append(arns, e["execution_arn"].(string))
		}
	}
	return arns
}

// The Express variant on the twin, with every start delivered twice (Express runs
// at least once): each upload runs the whole pipeline twice, concurrently, and
// leaves one document and the same thumbnail bytes a single run writes; nothing
// reaches the failure queue. The execution APIs refuse Express runs as AWS does, and
// their history is in the log.
func TestExpressPipelineUnderDuplicatedStarts(t *testing.T) {
	tw := startTwin(t, "--template", expressTemplate(), "--express-deliveries", "2")
	ctx := ctxT(t)
	photos := map[string][]byte{
		"upload/express/turned.jpg": jpegWithEXIF(t, photo(320, 160, 3), exifFacts{Make: "HMD Global", Model: "Nokia 8.3 5G", Orientation: 6}),
		"upload/express/plain.jpg":  jpegWithEXIF(t, photo(240, 240, 60), exifFacts{}),
	}
	for key, body := range photos {
		if _, err := tw.S3().PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String("images"), Key: aws.String(key), Body: bytes.NewReader(body)}); err != nil {
			t.Fatalf("put %s: %v", key, err)
		}
	}
	const pipelineRuns = ":express:ImagePipe-Pipeline:"
	waitFor(t, 90*time.Second, "four pipeline runs (two uploads, each delivered twice)", func() (bool, error) {
		return len(succeeded(tw.expressEvents(pipelineRuns))) >= 2*len(photos), nil
	})
	runs := succeeded(tw.expressEvents(pipelineRuns))
	distinct := map[string]bool{}
	for _, a := range runs {
		distinct[a] = true
	}
	if len(runs) != 4 || len(distinct) != 4 {
		t.Errorf("pipeline runs that succeeded: %v, want four distinct", runs)
	}
	if n := strings.Count(tw.logs.String(), "express start delivered again"); n != len(photos) {
		t.Errorf("%d duplicate deliveries logged, want %d", n, len(photos))
	}

	// One document per upload, and the thumbnail one run writes.
	for key, body := range photos {
		doc := tw.documentByKey(t, key, 30*time.Second)
		if hits := tw.search(t, strings.TrimSuffix(filepath.Base(key), ".jpg"), 10); hits.Total != 1 {
			t.Errorf("%s: search finds %d documents, want 1", key, hits.Total)
		}
		want, err := makethumbnail.Render(context.Background(), body, imaging.DefaultLimits, makethumbnail.DefaultSize, 640)
		if err != nil {
			t.Fatal(err)
		}
		out, err := tw.S3().GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String("images"), Key: aws.String(doc.Thumbnail)})
		if err != nil {
			t.Fatalf("%s: thumbnail: %v", key, err)
		}
		got, _ := io.ReadAll(out.Body)
		out.Body.Close()
		if !bytes.Equal(got, want.Thumbnail.JPEG) {
			t.Errorf("%s: thumbnail (%d bytes) is not the one a single run renders (%d bytes)", key, len(got), len(want.Thumbnail.JPEG))
		}
		if doc.ContentHash != want.ContentSHA256 || doc.DuplicateOf != "" {
			t.Errorf("%s: contentSha256 %q duplicateOf %q", key, doc.ContentHash, doc.DuplicateOf)
		}
	}
	if all := tw.search(t, "", 50); all.Total != int64(len(photos)) {
		t.Errorf("the index lists %d images, want %d", all.Total, len(photos))
	}
	if f := tw.failures(t); len(f) != 0 {
		t.Errorf("failure queue: %+v", f)
	}

	// What Express does not have.
	c := tw.SFN()
	_, err := c.ListExecutions(ctx, &sfn.ListExecutionsInput{StateMachineArn: aws.String(pipelineArn(t, tw))})
	var notSupported *types.StateMachineTypeNotSupported
	if !errors.As(err, &notSupported) {
		t.Errorf("ListExecutions: %v, want StateMachineTypeNotSupported", err)
	}
	var ae smithy.APIError
	if _, err := c.GetExecutionHistory(ctx, &sfn.GetExecutionHistoryInput{ExecutionArn: aws.String(runs[0])}); !errors.As(err, &ae) || ae.ErrorCode() != "InvalidArn" {
		t.Errorf("GetExecutionHistory: %v, want InvalidArn", err)
	}
	if _, err := c.RedriveExecution(ctx, &sfn.RedriveExecutionInput{ExecutionArn: aws.String(runs[0])}); !errors.As(err, &ae) || ae.ErrorCode() != "InvalidArn" {
		t.Errorf("RedriveExecution: %v, want InvalidArn", err)
	}
	// What a run's logged history weighs: the CloudWatch Logs ingestion the Express
	// variant needs for any history (README, "Standard or Express").
	var logged int
	for _, line := range strings.Split(tw.logs.String(), "\n") {
		if strings.Contains(line, `"msg":"step functions express event"`) && strings.Contains(line, pipelineRuns) {
			logged += len(line) + 1
		}
	}
	t.Logf("logged history: %d bytes per pipeline run (%d runs)", logged/len(runs), len(runs))

	// The history is in the log instead: every state of a run, in order.
	var kinds []string
	for _, e := range tw.expressEvents(runs[0]) {
		kinds = append(kinds, e["type"].(string))
	}
	for _, want := range []string{"ExecutionStarted", "ParallelStateEntered", "TaskSucceeded", "ExecutionSucceeded"} {
		if !strings.Contains(strings.Join(kinds, ","), want) {
			t.Errorf("logged history of %s: %v, lacks %s", runs[0], kinds, want)
		}
	}
}
