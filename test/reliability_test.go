package test

import (
	"bytes"
	"fmt"
	"hash/crc32"
	"image"
	"image/color"
	"image/gif"
	"image/jpeg"
	"image/png"
	"math/rand/v2"
	"os/exec"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/sfn"
	sfntypes "github.com/aws/aws-sdk-go-v2/service/sfn/types"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	sqstypes "github.com/aws/aws-sdk-go-v2/service/sqs/types"

	"github.com/imagepipe/imagepipe/functions/pipeline"
)

// smallJPEG is a distinct small photo for index i.
func smallJPEG(t *testing.T, i int) []byte {
	t.Helper()
	img := image.NewRGBA(image.Rect(0, 0, 96, 64))
	r := rand.New(rand.NewPCG(uint64(i), 7))
	for y := 0; y < 64; y++ {
		for x := 0; x < 96; x++ {
			img.Set(x, y, color.RGBA{uint8(x * 2), uint8(y * 3), uint8(r.IntN(256)), 255})
		}
	}
	var buf bytes.Buffer
	if err := jpeg.Encode(&buf, img, &jpeg.Options{Quality: 80}); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// putAll uploads keys from several concurrent clients and returns when all are in.
func (tw *Twin) putAll(t *testing.T, keys []string, body func(i int) []byte, clients int) {
	t.Helper()
	ctx := ctxT(t)
	var wg sync.WaitGroup
	errs := make(chan error, len(keys))
	for c := 0; c < clients; c++ {
		wg.Add(1)
		go func(c int) {
			defer wg.Done()
			client := tw.S3()
			for i := c; i < len(keys); i += clients {
				_, err := client.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String("images"), Key: aws.String(keys[i]), Body: bytes.NewReader(body(i)), ContentType: aws.String("image/jpeg")})
				if err != nil {
					errs <- fmt.Errorf("put %s: %w", keys[i], err)
				}
			}
		}(c)
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
}

// imagepipe runs the imagepipe CLI and returns its stdout.
func imagepipe(t *testing.T, args ...string) string {
	t.Helper()
	var stdout, stderr bytes.Buffer
	cmd := exec.Command(imagepipeBin, args...)
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	cmd.Env = append(cmd.Environ(), "AWS_ACCESS_KEY_ID=test", "AWS_SECRET_ACCESS_KEY=test", "AWS_REGION=us-east-1")
	if err := cmd.Run(); err != nil {
		t.Fatalf("imagepipe %s: %v\n%s", strings.Join(args, " "), err, stderr.String())
	}
	return stdout.String()
}

func (tw *Twin) setFault(t *testing.T, fn, mode string) {
	t.Helper()
	imagepipe(t, "fault", "--api", tw.HTTPURL, fn, mode)
}

func (tw *Twin) queueDepth(t *testing.T) (visible, inFlight int) {
	t.Helper()
	ctx := ctxT(t)
	url, err := tw.SQS().GetQueueUrl(ctx, &sqs.GetQueueUrlInput{QueueName: aws.String("ImagePipe-FailureQueue")})
	if err != nil {
		t.Fatal(err)
	}
	out, err := tw.SQS().GetQueueAttributes(ctx, &sqs.GetQueueAttributesInput{QueueUrl: url.QueueUrl, AttributeNames: []sqstypes.QueueAttributeName{"ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"}})
	if err != nil {
		t.Fatal(err)
	}
	fmt.Sscan(out.Attributes["ApproximateNumberOfMessages"], &visible)
	fmt.Sscan(out.Attributes["ApproximateNumberOfMessagesNotVisible"], &inFlight)
	return visible, inFlight
}

// executions lists all executions of the pipeline with a status (all when empty).
func (tw *Twin) executions(t *testing.T, status sfntypes.ExecutionStatus) []sfntypes.ExecutionListItem {
	t.Helper()
	p := sfn.NewListExecutionsPaginator(tw.SFN(), &sfn.ListExecutionsInput{StateMachineArn: aws.String(pipelineArn(t, tw)), StatusFilter: status, MaxResults: 1000})
	var all []sfntypes.ExecutionListItem
	for p.HasMorePages() {
		page, err := p.NextPage(ctxT(t))
		if err != nil {
			t.Fatal(err)
		}
		all = append(all, page.Executions...)
	}
	return all
}

// assertIndexedOnce checks that every key has exactly one document and nothing else is there.
func (tw *Twin) assertIndexedOnce(t *testing.T, keys []string, query string) {
	t.Helper()
	ans := tw.search(t, query, 100)
	got := map[string]int{}
	for from := 0; from < int(ans.Total); from += 100 {
		var page searchAnswer
		tw.getJSON(t, fmt.Sprintf("/api/images?search=%s&size=100&from=%d", query, from), &page)
		for _, d := range page.Images {
			got[d.Key]++
		}
	}
	for _, k := range keys {
		if got[k] != 1 {
			t.Errorf("%s: %d documents, want 1", k, got[k])
		}
	}
	if int(ans.Total) != len(keys) {
		t.Errorf("search %q: total %d, want %d", query, ans.Total, len(keys))
	}
}

// The workshop's lab: break index-document, watch the failure queue fill, heal, redrive:
// every image ends indexed exactly once and the queue is empty; a second redrive does
// nothing.
func TestFaultRedriveIndexesEveryImageOnce(t *testing.T) {
	tw := startTwin(t)
	tw.setFault(t, "index-document", "always")
	const n = 50
	keys := make([]string, n)
	for i := range keys {
		keys[i] = fmt.Sprintf("upload/fault/img-%02d.jpg", i)
	}
	tw.putAll(t, keys, func(i int) []byte { return smallJPEG(t, i) }, 5)

	waitFor(t, 4*time.Minute, "50 failure-queue messages", func() (bool, error) {
		v, _ := tw.queueDepth(t)
		return v == n, nil
	})
	failures := tw.failures(t)
	for _, f := range failures {
		if f.State != "IndexDocument" || f.Error != "TransientError" || !strings.Contains(f.Cause, "injected fault") {
			t.Fatalf("failure message %+v: want state IndexDocument, TransientError, the injected cause", f)
		}
	}
	// Each execution ends in its Fail state just after its message is sent.
	waitFor(t, 30*time.Second, fmt.Sprintf("%d FAILED executions", n), func() (bool, error) {
		return len(tw.executions(t, sfntypes.ExecutionStatusFailed)) == n, nil
	})
	if c := tw.search(t, "fault", 10).Total; c != 0 {
		t.Fatalf("%d documents indexed while index-document always fails", c)
	}

	tw.setFault(t, "index-document", "off")
	var rep struct{ Started, Existing, Failed int }
	mustJSON(t, imagepipe(t, "redrive", "--endpoint", tw.EdgeURL), &rep)
	if rep.Started != n || rep.Failed != 0 {
		t.Fatalf("redrive report %+v, want %d started", rep, n)
	}
	waitFor(t, 3*time.Minute, "all images indexed after the redrive", func() (bool, error) {
		return tw.search(t, "fault", 1).Total == n, nil
	})
	tw.assertIndexedOnce(t, keys, "fault")
	if v, inFlight := tw.queueDepth(t); v != 0 || inFlight != 0 {
		t.Errorf("failure queue holds %d visible, %d in flight after the redrive", v, inFlight)
	}
	mustJSON(t, imagepipe(t, "redrive", "--endpoint", tw.EdgeURL), &rep)
	if rep.Started != 0 {
		t.Errorf("a second redrive started %d executions", rep.Started)
	}
	if succeeded := tw.executions(t, sfntypes.ExecutionStatusSucceeded); len(succeeded) != n {
		t.Errorf("%d SUCCEEDED executions, want %d (one per redriven message)", len(succeeded), n)
	}
}

// With 30% of calls failing, each function in turn, every image still succeeds through
// the Retry policies, and the retries show in the execution histories.
func TestFlakyFunctionsSucceedThroughRetries(t *testing.T) {
	tw := startTwin(t)
	var keys []string
	for round, fn := range []string{"extract-metadata", "detect-labels", "make-thumbnail", "index-document"} {
		tw.setFault(t, fn, "rate=0.3")
		batch := make([]string, 5)
		for i := range batch {
			batch[i] = fmt.Sprintf("upload/flaky/%s-%d.jpg", fn, i)
		}
		tw.putAll(t, batch, func(i int) []byte { return smallJPEG(t, 100*round+i) }, 3)
		for _, k := range batch {
			tw.documentByKey(t, k, 3*time.Minute)
		}
		tw.setFault(t, fn, "off")
		keys = append(keys, batch...)
	}
	tw.assertIndexedOnce(t, keys, "flaky")
	if v, _ := tw.queueDepth(t); v != 0 {
		t.Errorf("%d failure messages, want none", v)
	}
	// Count retried Task attempts: a TaskFailed followed by the same Task scheduled again.
	retried := 0
	for _, e := range tw.executions(t, "") {
		if e.Status != sfntypes.ExecutionStatusSucceeded {
			t.Errorf("execution %s is %s", aws.ToString(e.Name), e.Status)
		}
		h, err := tw.SFN().GetExecutionHistory(ctxT(t), &sfn.GetExecutionHistoryInput{ExecutionArn: e.ExecutionArn, MaxResults: 1000})
		if err != nil {
			t.Fatal(err)
		}
		for i, ev := range h.Events {
			if ev.Type == sfntypes.HistoryEventTypeTaskFailed && i+1 < len(h.Events) {
				for _, next := range h.Events[i+1:] {
					if next.Type == sfntypes.HistoryEventTypeTaskScheduled {
						retried++
						break
					}
				}
			}
		}
	}
	if retried == 0 {
		t.Error("no retry is visible in any execution history")
	}
	t.Logf("%d retried task attempts across %d images", retried, len(keys))
}

// Hostile input ends in a FAILED execution with a readable cause and exactly one
// failure-queue message each; the twin keeps serving and a good image next to them
// is indexed.
func TestHostileInputFailsCleanly(t *testing.T) {
	tw := startTwin(t, "--max-object-bytes", "2000000")
	var truncated bytes.Buffer
	jpeg.Encode(&truncated, photo(400, 300, 3), nil)
	hugePNG := pngHeader(100000, 100000)
	var hugeGIF bytes.Buffer
	gif.Encode(&hugeGIF, image.NewPaletted(image.Rect(0, 0, 2, 2), color.Palette{color.Black, color.White}), nil)
	g := hugeGIF.Bytes()
	g[6], g[7], g[8], g[9] = 0xff, 0xff, 0xff, 0xff // logical screen 65535×65535
	big := make([]byte, 3_000_000)
	copy(big, truncated.Bytes())
	heic := append([]byte{0, 0, 0, 0x18, 'f', 't', 'y', 'p', 'h', 'e', 'i', 'c', 0, 0, 0, 0, 'm', 'i', 'f', '1', 'h', 'e', 'i', 'c'}, make([]byte, 64)...)
	cases := []struct {
		key   string
		body  []byte
		error string // the failure's error name
		cause string // a word the cause must carry
	}{
		{"upload/hostile/zero.jpg", nil, "NotAnImageError", "zero-byte"},
		{"upload/hostile/random.jpg", randomBytes(4096), "NotAnImageError", "image"},
		{"upload/hostile/truncated.jpg", truncated.Bytes()[:truncated.Len()/2], "CorruptImageError", "jpeg"},
		{"upload/hostile/bomb.png", hugePNG, "ImageTooLargeError", "exceeds the limit"},
		{"upload/hostile/bomb.gif", g, "ImageTooLargeError", "exceeds the limit"},
		{"upload/hostile/over-limit.jpg", big, "ImageTooLargeError", "bytes"},
		{"upload/hostile/photo.heic", heic, "UnsupportedFormatError", "hei"},
	}
	ctx := ctxT(t)
	client := tw.S3()
	for _, c := range cases {
		if _, err := client.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String("images"), Key: aws.String(c.key), Body: bytes.NewReader(c.body)}); err != nil {
			t.Fatalf("put %s: %v", c.key, err)
		}
	}
	good := "upload/hostile/good photo.jpg"
	client.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String("images"), Key: aws.String(good), Body: bytes.NewReader(smallJPEG(t, 1))})
	tw.documentByKey(t, good, time.Minute)

	var msgs []failureBody
	waitFor(t, 2*time.Minute, "a failure message per hostile file", func() (bool, error) {
		msgs = tw.failures(t)
		return len(msgs) >= len(cases), nil
	})
	byKey := map[string][]failureBody{}
	for _, m := range msgs {
		key, err := m.Input.Key()
		if err != nil {
			t.Fatal(err)
		}
		byKey[key] = append(byKey[key], m)
	}
	for _, c := range cases {
		got := byKey[c.key]
		if len(got) != 1 {
			t.Errorf("%s: %d failure messages, want 1", c.key, len(got))
			continue
		}
		if got[0].Error != c.error || !strings.Contains(strings.ToLower(got[0].Cause), c.cause) {
			t.Errorf("%s: error %q cause %q, want %s mentioning %q", c.key, got[0].Error, got[0].Cause, c.error, c.cause)
		}
	}
	// The queue message is sent just before the Fail state ends the execution.
	waitFor(t, time.Minute, "a FAILED execution per hostile file", func() (bool, error) {
		return len(tw.executions(t, sfntypes.ExecutionStatusFailed)) == len(cases), nil
	})
	var ping struct{ Count int64 }
	if tw.getJSON(t, "/api/ping", &ping); ping.Count != 1 {
		t.Errorf("ping count %d, want 1 (only the good photo)", ping.Count)
	}
}

// Keys users really make: spaces, '+', unicode, percent signs, 1024 bytes. Objects
// outside upload/ and the pipeline's own thumbnails never start anything.
func TestWeirdKeysAndPrefixes(t *testing.T) {
	tw := startTwin(t)
	long := "upload/" + strings.Repeat("l", 1024-len("upload/")-len(".jpg")) + ".jpg"
	keys := []string{"upload/with space.jpg", "upload/a+b.jpg", "upload/ünïcødé/写真.jpg", "upload/100%25 sure.jpg", long}
	tw.putAll(t, keys, func(i int) []byte { return smallJPEG(t, 500+i) }, 2)
	ctx := ctxT(t)
	client := tw.S3()
	client.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String("images"), Key: aws.String("elsewhere/ignored.jpg"), Body: bytes.NewReader(smallJPEG(t, 9))})
	for _, k := range keys {
		d := tw.documentByKey(t, k, time.Minute)
		if d.Key != k {
			t.Errorf("document key %q, want %q", d.Key, k)
		}
		if _, err := client.HeadObject(ctx, &s3.HeadObjectInput{Bucket: aws.String("images"), Key: aws.String(pipeline.ThumbnailKey(k))}); err != nil {
			t.Errorf("thumbnail of %q: %v", k, err)
		}
	}
	// Exactly one execution per upload: neither the thumbnails nor elsewhere/ started any.
	if all := tw.executions(t, ""); len(all) != len(keys) {
		t.Errorf("%d executions, want %d", len(all), len(keys))
	}
}

// Deleting an original removes its document and its thumbnail.
func TestDeleteRemovesDocumentAndThumbnail(t *testing.T) {
	tw := startTwin(t)
	key := "upload/delete/me.jpg"
	tw.putAll(t, []string{key}, func(int) []byte { return smallJPEG(t, 42) }, 1)
	doc := tw.documentByKey(t, key, time.Minute)
	ctx := ctxT(t)
	client := tw.S3()
	if _, err := client.DeleteObject(ctx, &s3.DeleteObjectInput{Bucket: aws.String("images"), Key: aws.String(key)}); err != nil {
		t.Fatal(err)
	}
	waitFor(t, time.Minute, "the document to go", func() (bool, error) {
		return tw.getJSON(t, "/api/images/"+doc.ID, nil) == 404, nil
	})
	waitFor(t, time.Minute, "the thumbnail to go", func() (bool, error) {
		_, err := client.HeadObject(ctx, &s3.HeadObjectInput{Bucket: aws.String("images"), Key: aws.String(doc.Thumbnail)})
		return err != nil, nil
	})
}

// Load on loopback: 500 uploads from 8 concurrent clients, zero lost, zero doubled;
// the figures are printed (they are measurements, not assertions).
func TestLoadFiveHundredUploads(t *testing.T) {
	if testing.Short() {
		t.Skip("load test skipped in -short mode")
	}
	tw := startTwin(t)
	const n = 500
	keys := make([]string, n)
	bodies := make([][]byte, n)
	for i := range keys {
		keys[i] = fmt.Sprintf("upload/load/%03d.jpg", i)
		bodies[i] = smallJPEG(t, 1000+i)
	}
	start := time.Now()
	tw.putAll(t, keys, func(i int) []byte { return bodies[i] }, 8)
	uploaded := time.Since(start)
	waitFor(t, 8*time.Minute, "500 images searchable", func() (bool, error) {
		var ping struct{ Count int64 }
		tw.getJSON(t, "/api/ping", &ping)
		return ping.Count >= n, nil
	})
	total := time.Since(start)
	tw.assertIndexedOnce(t, keys, "load")
	if all := tw.executions(t, ""); len(all) != n {
		t.Errorf("%d executions, want %d", len(all), n)
	}
	// Latency from the S3 event to the indexed document, from the documents themselves.
	var lat []time.Duration
	for _, k := range keys {
		var d pipeline.Document
		tw.getJSON(t, "/api/images/"+pipeline.DocumentID("images", k), &d)
		lat = append(lat, d.ProcessedAt.Sub(d.UploadedAt))
	}
	sort.Slice(lat, func(i, j int) bool { return lat[i] < lat[j] })
	pct := func(p float64) time.Duration { return lat[int(p*float64(len(lat)-1))] }
	t.Logf("load: %d uploads in %v (%.0f/s), all searchable after %v (%.1f images/s); upload→indexed p50 %v p95 %v p99 %v",
		n, uploaded.Round(time.Millisecond), float64(n)/uploaded.Seconds(), total.Round(time.Millisecond), float64(n)/total.Seconds(),
		pct(0.50).Round(time.Millisecond), pct(0.95).Round(time.Millisecond), pct(0.99).Round(time.Millisecond))
}

func randomBytes(n int) []byte {
	r := rand.New(rand.NewPCG(1, 2))
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(r.IntN(256))
	}
	b[0] = 0x42 // not a JPEG/PNG/GIF magic by accident
	return b
}

// pngHeader is a valid PNG signature and IHDR claiming w×h, with one tiny IDAT.
func pngHeader(w, h uint32) []byte {
	var small bytes.Buffer
	png.Encode(&small, image.NewGray(image.Rect(0, 0, 1, 1)))
	b := small.Bytes()
	// IHDR data starts at 16: width, height (big-endian); fix the CRC after.
	be := func(v uint32) []byte { return []byte{byte(v >> 24), byte(v >> 16), byte(v >> 8), byte(v)} }
	copy(b[16:], be(w))
	copy(b[20:], be(h))
	copy(b[29:], be(crc32.ChecksumIEEE(b[12:29])))
	return b
}

// The same bytes under two keys: the later document says duplicateOf the earlier, and
// search shows the image once with both keys.
func TestDuplicateBytesAreRecognised(t *testing.T) {
	tw := startTwin(t)
	body := smallJPEG(t, 77)
	first, second := "upload/dup/original.jpg", "upload/dup/copy.jpg"
	tw.putAll(t, []string{first}, func(int) []byte { return body }, 1)
	orig := tw.documentByKey(t, first, time.Minute)
	// S3 event times have one-second resolution: "later" needs a later second.
	waitFor(t, 5*time.Second, "the next second", func() (bool, error) {
		return time.Now().UTC().Truncate(time.Second).After(orig.UploadedAt), nil
	})
	tw.putAll(t, []string{second}, func(int) []byte { return body }, 1)
	dup := tw.documentByKey(t, second, time.Minute)
	if dup.DuplicateOf != orig.ID || orig.ContentHash == "" || dup.ContentHash != orig.ContentHash {
		t.Fatalf("copy: duplicateOf %q (want %q), hashes %q / %q", dup.DuplicateOf, orig.ID, dup.ContentHash, orig.ContentHash)
	}
	ans := tw.search(t, "dup", 10)
	if ans.Total != 1 || len(ans.Images) != 1 || ans.Images[0].Key != first {
		t.Fatalf("search: %d results %+v, want the original once", ans.Total, ans.Images)
	}
	if also := ans.Images[0].AlsoKeys; len(also) != 1 || also[0] != second {
		t.Errorf("alsoKeys %v, want [%s]", also, second)
	}
}

// The same S3 event delivered twice (a duplicate EventBridge delivery), and a redrive of
// an execution that already succeeded, each leave exactly one document and one thumbnail.
func TestDuplicateEventsConverge(t *testing.T) {
	tw := startTwin(t)
	key := "upload/twice/photo.jpg"
	tw.putAll(t, []string{key}, func(int) []byte { return smallJPEG(t, 5) }, 1)
	doc := tw.documentByKey(t, key, time.Minute)
	// The document is indexed just before its execution records the end.
	var execs []sfntypes.ExecutionListItem
	waitFor(t, 30*time.Second, "the execution succeeded", func() (bool, error) {
		execs = tw.executions(t, sfntypes.ExecutionStatusSucceeded)
		return len(execs) == 1, nil
	})
	ctx := ctxT(t)
	d, err := tw.SFN().DescribeExecution(ctx, &sfn.DescribeExecutionInput{ExecutionArn: execs[0].ExecutionArn})
	if err != nil {
		t.Fatal(err)
	}
	// Deliver the same event again, twice, as EventBridge may.
	for i := 0; i < 2; i++ {
		if _, err := tw.SFN().StartExecution(ctx, &sfn.StartExecutionInput{StateMachineArn: d.StateMachineArn, Input: d.Input}); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := tw.SFN().RedriveExecution(ctx, &sfn.RedriveExecutionInput{ExecutionArn: execs[0].ExecutionArn}); err == nil {
		t.Error("RedriveExecution of a SUCCEEDED execution was accepted")
	}
	waitFor(t, time.Minute, "three succeeded executions", func() (bool, error) {
		return len(tw.executions(t, sfntypes.ExecutionStatusSucceeded)) == 3, nil
	})
	tw.assertIndexedOnce(t, []string{key}, "twice")
	again := tw.documentByKey(t, key, time.Minute)
	if again.ID != doc.ID || again.Thumbnail != doc.Thumbnail || again.Sequencer != doc.Sequencer {
		t.Errorf("document changed identity: %+v vs %+v", again, doc)
	}
	out, err := tw.S3().ListObjectsV2(ctx, &s3.ListObjectsV2Input{Bucket: aws.String("images"), Prefix: aws.String("thumbnail/twice/")})
	if err != nil {
		t.Fatal(err)
	}
	if len(out.Contents) != 1 {
		t.Errorf("%d thumbnails, want 1", len(out.Contents))
	}
}

// The twin stays on loopback unless told otherwise, and then wants credentials.
func TestServeRefusesNonLoopbackWithoutFlag(t *testing.T) {
	run := func(env []string, args ...string) (string, error) {
		cmd := exec.Command(imagepipeBin, append([]string{"serve", "--data", t.TempDir()}, args...)...)
		cmd.Env = append(cmd.Environ(), env...)
		out, err := cmd.CombinedOutput()
		return string(out), err
	}
	out, err := run(nil, "--edge-addr", "0.0.0.0:0", "--http-addr", "127.0.0.1:0")
	if err == nil || !strings.Contains(out, "refusing to listen beyond loopback") {
		t.Errorf("0.0.0.0 without --allow-remote: err %v, output %q", err, out)
	}
	out, err = run(nil, "--allow-remote", "--edge-addr", "0.0.0.0:0", "--http-addr", "127.0.0.1:0")
	if err == nil || !strings.Contains(out, "IMAGEPIPE_SECRET_ACCESS_KEY") {
		t.Errorf("--allow-remote without credentials: err %v, output %q", err, out)
	}
}
