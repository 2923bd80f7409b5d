package test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"image/jpeg"
	"io"
	"math"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/sfn"
	sfntypes "github.com/aws/aws-sdk-go-v2/service/sfn/types"

	"github.com/imagepipe/imagepipe/functions/pipeline"
)

// An upload with the real aws CLI becomes a searchable document with the EXIF facts,
// a correctly oriented 80-pixel JPEG thumbnail, and executions the CLI can list.
func TestCLIUploadIsIndexedWithThumbnail(t *testing.T) {
	tw := startTwin(t)
	// Stored 320×160 with orientation 6: displayed as 160×320, the red corner top-right.
	data := jpegWithEXIF(t, photo(320, 160, 0), exifFacts{
		Make: "HMD Global", Model: "Nokia 8.3 5G", DateTimeOriginal: "2019:06:01 10:22:31",
		Orientation: 6, Lat: -43.467, Lon: -11.885,
	})
	file := filepath.Join(t.TempDir(), "lighthouse photo.jpg")
	if err := os.WriteFile(file, data, 0o644); err != nil {
		t.Fatal(err)
	}
	key := "upload/2024/lighthouse photo.jpg"
	tw.runAWS(t, "s3", "cp", file, "s3://images/"+key)

	doc := tw.documentByKey(t, key, 60*time.Second)
	if doc.ID != pipeline.DocumentID("images", key) || doc.Bucket != "images" || doc.Key != key {
		t.Errorf("identity: %+v", doc)
	}
	// The document names the execution that made it ($$.Execution.Id).
	if !strings.HasPrefix(doc.ExecutionARN, "arn:aws:states:us-east-1:000000000000:execution:ImagePipe-Pipeline:") {
		t.Errorf("executionArn %q", doc.ExecutionARN)
	}
	if doc.Format != "jpeg" || doc.Width != 320 || doc.Height != 160 || doc.Orientation != 6 {
		t.Errorf("image facts: format %q %dx%d orientation %d", doc.Format, doc.Width, doc.Height, doc.Orientation)
	}
	if doc.Size != int64(len(data)) {
		t.Errorf("size %d, want %d", doc.Size, len(data))
	}
	if doc.Camera == nil || doc.Camera.Make != "HMD Global" || doc.Camera.Model != "Nokia 8.3 5G" {
		t.Errorf("camera %+v", doc.Camera)
	}
	if doc.TakenAt != "2019-06-01T10:22:31Z" {
		t.Errorf("takenAt %q", doc.TakenAt)
	}
	if doc.Location == nil || math.Abs(doc.Location.Lat+43.467) > 1e-4 || math.Abs(doc.Location.Lon+11.885) > 1e-4 {
		t.Errorf("location %+v, want -43.467,-11.885", doc.Location)
	}
	if doc.EXIF["Make"] != "HMD Global" || doc.EXIF["DateTimeOriginal"] != "2019:06:01 10:22:31" {
		t.Errorf("exif %v", doc.EXIF)
	}
	if doc.ETag == "" || strings.Contains(doc.ETag, `"`) {
		t.Errorf("etag %q", doc.ETag)
	}
	if doc.Thumbnail != "thumbnail/2024/lighthouse photo.jpg" {
		t.Errorf("thumbnail key %q", doc.Thumbnail)
	}

	// The thumbnail: a JPEG whose longer side is 80, displayed upright.
	out, err := tw.S3().GetObject(ctxT(t), &s3.GetObjectInput{Bucket: aws.String("images"), Key: aws.String(doc.Thumbnail)})
	if err != nil {
		t.Fatalf("get thumbnail: %v", err)
	}
	thumbBytes, _ := io.ReadAll(out.Body)
	out.Body.Close()
	if ct := aws.ToString(out.ContentType); ct != "image/jpeg" {
		t.Errorf("thumbnail content type %q", ct)
	}
	thumb, err := jpeg.Decode(bytes.NewReader(thumbBytes))
	if err != nil {
		t.Fatalf("thumbnail is not a JPEG: %v", err)
	}
	if b := thumb.Bounds(); b.Dx() != 40 || b.Dy() != 80 {
		t.Errorf("thumbnail %dx%d, want 40x80", b.Dx(), b.Dy())
	}
	if c := orientedRedCorner(thumb); c != "top-right" {
		t.Errorf("red corner at %s, want top-right (orientation 6 applied)", c)
	}
	if bytes.Contains(thumbBytes, []byte("Exif")) {
		t.Error("thumbnail carries EXIF")
	}

	// Free-text search finds it by camera and by key.
	for _, q := range []string{"nokia", "lighthouse"} {
		if ans := tw.search(t, q, 10); ans.Total < 1 || !hasKey(ans.Images, key) {
			t.Errorf("search %q: %d results, key missing", q, ans.Total)
		}
	}

	// The CLI sees the state machine, the execution and its history.
	var machines struct {
		StateMachines []struct{ StateMachineArn, Name string }
	}
	mustJSON(t, tw.runAWS(t, "stepfunctions", "list-state-machines"), &machines)
	var pipelineArn string
	for _, m := range machines.StateMachines {
		if isPipeline(m.Name) {
			pipelineArn = m.StateMachineArn
		}
	}
	if pipelineArn == "" {
		t.Fatalf("no pipeline state machine in %+v", machines)
	}
	var execs struct {
		Executions []struct{ ExecutionArn, Status string }
	}
	mustJSON(t, tw.runAWS(t, "stepfunctions", "list-executions", "--state-machine-arn", pipelineArn), &execs)
	if len(execs.Executions) != 1 || execs.Executions[0].Status != "SUCCEEDED" {
		t.Fatalf("executions %+v, want one SUCCEEDED", execs.Executions)
	}
	var hist struct {
		Events []struct {
			Type                     string
			StateEnteredEventDetails *struct{ Name string }
		}
	}
	mustJSON(t, tw.runAWS(t, "stepfunctions", "get-execution-history", "--execution-arn", execs.Executions[0].ExecutionArn), &hist)
	entered := map[string]bool{}
	for _, e := range hist.Events {
		if e.StateEnteredEventDetails != nil {
			entered[e.StateEnteredEventDetails.Name] = true
		}
	}
	for _, s := range []string{"ExtractMetadata", "DetectLabels", "MakeThumbnail", "IndexDocument"} {
		if !entered[s] {
			t.Errorf("history never entered %s (saw %v)", s, entered)
		}
	}
	if last := hist.Events[len(hist.Events)-1].Type; last != "ExecutionSucceeded" {
		t.Errorf("last history event %s", last)
	}
}

// Uploads through aws-sdk-go-v2 are searchable; ping counts them; a corrupt file fails
// with a readable cause and one failure-queue message, and the twin keeps serving.
func TestSDKUploadsAndCorruptFile(t *testing.T) {
	tw := startTwin(t)
	ctx := ctxT(t)
	client := tw.S3()
	keys := []string{"upload/a/one.jpg", "upload/a/two.png+plus ü.jpg"}
	for i, k := range keys {
		var buf bytes.Buffer
		jpeg.Encode(&buf, photo(200+i*10, 150, uint8(i*40)), nil)
		if _, err := client.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String("images"), Key: aws.String(k), Body: bytes.NewReader(buf.Bytes()), ContentType: aws.String("image/jpeg")}); err != nil {
			t.Fatalf("put %s: %v", k, err)
		}
	}
	bad := "upload/a/corrupt.jpg"
	if _, err := client.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String("images"), Key: aws.String(bad), Body: strings.NewReader("\xff\xd8\xff\xe0 this is not really a jpeg")}); err != nil {
		t.Fatal(err)
	}
	for _, k := range keys {
		tw.documentByKey(t, k, 60*time.Second)
	}

	var failures []failureBody
	waitFor(t, 60*time.Second, "a failure-queue message for the corrupt file", func() (bool, error) {
		failures = tw.failures(t)
		return len(failures) > 0, nil
	})
	if len(failures) != 1 {
		t.Fatalf("%d failure messages, want 1: %+v", len(failures), failures)
	}
	f := failures[0]
	if k, _ := f.Input.Key(); k != bad || f.Error == "" || !strings.Contains(strings.ToLower(f.Cause), "jpeg") {
		t.Errorf("failure message %+v", f)
	}
	execs, err := tw.SFN().ListExecutions(ctx, &sfn.ListExecutionsInput{StateMachineArn: aws.String(pipelineArn(t, tw)), StatusFilter: sfntypes.ExecutionStatusFailed})
	if err != nil {
		t.Fatal(err)
	}
	if len(execs.Executions) != 1 {
		t.Fatalf("%d failed executions, want 1", len(execs.Executions))
	}
	desc, err := tw.SFN().DescribeExecution(ctx, &sfn.DescribeExecutionInput{ExecutionArn: execs.Executions[0].ExecutionArn})
	if err != nil {
		t.Fatal(err)
	}
	if aws.ToString(desc.Cause) == "" || aws.ToString(desc.Error) == "" {
		t.Errorf("failed execution without error/cause: %+v", desc)
	}

	var ping struct{ Count int64 }
	if st := tw.getJSON(t, "/api/ping", &ping); st != 200 || ping.Count != 2 {
		t.Errorf("ping: status %d count %d, want 2", st, ping.Count)
	}
}

// A kill -9 in the middle of a batch loses nothing: after a restart every image is
// indexed exactly once.
func TestCrashMidBatchLosesNothing(t *testing.T) {
	tw := startTwin(t)
	ctx := ctxT(t)
	client := tw.S3()
	const n = 100
	var wg sync.WaitGroup
	accepted := make(chan string, n)
	for w := 0; w < 4; w++ {
		wg.Add(1)
		go func(w int) {
			defer wg.Done()
			for i := w; i < n; i += 4 {
				k := fmt.Sprintf("upload/crash/%03d.jpg", i)
				if _, err := client.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String("images"), Key: aws.String(k), Body: bytes.NewReader(smallJPEG(t, i))}); err == nil {
					accepted <- k
				}
			}
		}(w)
	}
	// Kill once some uploads are in and executions are still running.
	waitFor(t, 60*time.Second, "some accepted uploads", func() (bool, error) { return len(accepted) >= n/4, nil })
	tw.Kill()
	wg.Wait()
	close(accepted)
	var keys []string
	for k := range accepted {
		keys = append(keys, k)
	}
	if len(keys) == 0 {
		t.Fatal("no upload was accepted before the kill")
	}
	tw.Start()
	for _, k := range keys {
		tw.documentByKey(t, k, 90*time.Second)
	}
	ans := tw.search(t, "crash", 100)
	seen := map[string]int{}
	for _, d := range ans.Images {
		seen[d.Key]++
	}
	for _, k := range keys {
		if seen[k] != 1 {
			t.Errorf("%s indexed %d times", k, seen[k])
		}
	}
	if int(ans.Total) != len(seen) {
		t.Errorf("total %d but %d distinct keys", ans.Total, len(seen))
	}
}

// isPipeline tells the pipeline state machine (ImagePipe-Pipeline, as the twin names
// the template's Pipeline construct) from the remove one.
func isPipeline(name string) bool { return strings.HasSuffix(strings.ToLower(name), "-pipeline") }

func pipelineArn(t *testing.T, tw *Twin) string {
	t.Helper()
	out, err := tw.SFN().ListStateMachines(ctxT(t), &sfn.ListStateMachinesInput{})
	if err != nil {
		t.Fatal(err)
	}
	for _, m := range out.StateMachines {
		if isPipeline(aws.ToString(m.Name)) {
			return aws.ToString(m.StateMachineArn)
		}
	}
	t.Fatal("no pipeline state machine")
	return ""
}

func hasKey(docs []pipeline.Document, key string) bool {
	for _, d := range docs {
		if d.Key == key {
			return true
		}
	}
	return false
}

func mustJSON(t *testing.T, s string, v any) {
	t.Helper()
	if err := json.Unmarshal([]byte(s), v); err != nil {
		t.Fatalf("decode %q: %v", s, err)
	}
}
