package twin

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"image"
	"image/color"
	"image/jpeg"
	"io"
	"log/slog"
	"maps"
	"math"
	"math/rand/v2"
	"net/http"
	"os"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	awssfn "github.com/aws/aws-sdk-go-v2/service/sfn"
)

// BenchmarkUploadToSearchable drives the whole twin in process (S3 edge, event
// router, Step Functions, the Lambda service, the search domain) with small JPEGs from
// 8 clients, so that `go test -bench . -cpuprofile/-blockprofile/-mutexprofile` shows
// where the twin, not the image work, spends its time (the functions' own work runs
// in their processes). One iteration is 100 uploads, all searchable. It needs the
// functions built for this machine: `make twin-lambdas`.
func BenchmarkUploadToSearchable(b *testing.B) {
	ctx := context.Background()
	fnDir := "../../build/twin"
	if _, err := os.Stat(fnDir); err != nil {
		b.Skip("run `make twin-lambdas` first:", err)
	}
	tw, err := Start(ctx, Config{
		DataDir: b.TempDir(), EdgeAddr: "127.0.0.1:0", HTTPAddr: "127.0.0.1:0",
		Template: "../../" + DefaultTemplate, FunctionsDir: fnDir,
		Logger: slog.New(slog.NewJSONHandler(io.Discard, nil)),
	})
	if err != nil {
		b.Fatal(err)
	}
	defer tw.Close(ctx)
	client := s3.New(s3.Options{
		Region: Region, BaseEndpoint: aws.String(tw.EdgeURL()), UsePathStyle: true,
		Credentials: credentials.NewStaticCredentialsProvider("test", "test", ""),
	})
	const perIter, clients = 100, 8
	bodies := make([][]byte, perIter)
	var big []byte
	if os.Getenv("IMAGEPIPE_BENCH_BIG") != "" {
		big = bigJPEG(b)
	}
	for i := range bodies {
		if big != nil {
			// Byte-distinct copies (a JPEG comment), so that no two share a content hash.
			c := fmt.Sprintf("upload %d", i)
			bodies[i] = append(append([]byte{0xFF, 0xD8, 0xFF, 0xFE, 0, byte(len(c) + 2)}, c...), big[2:]...)
			continue
		}
		bodies[i] = tinyJPEG(b, i)
	}
	b.ResetTimer()
	var total int
	for it := 0; it < b.N; it++ {
		var wg sync.WaitGroup
		errs := make(chan error, perIter)
		for c := range clients {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for i := c; i < perIter; i += clients {
					key := fmt.Sprintf("upload/bench/%d/%03d.jpg", it, i)
					if _, err := client.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String(tw.Bucket()), Key: aws.String(key), Body: bytes.NewReader(bodies[i])}); err != nil {
						errs <- err
					}
				}
			}()
		}
		wg.Wait()
		close(errs)
		for err := range errs {
			b.Fatal(err)
		}
		total += perIter
		deadline := time.Now().Add(5 * time.Minute)
		for {
			n, err := pingCount(tw.HTTPURL())
			if err != nil {
				b.Fatal(err)
			}
			if n >= int64(total) {
				break
			}
			if time.Now().After(deadline) {
				b.Fatalf("%d of %d searchable after 5 minutes", n, total)
			}
			time.Sleep(10 * time.Millisecond) // a poll interval
		}
	}
	b.ReportMetric(float64(total)/b.Elapsed().Seconds(), "images/s")
	b.StopTimer()
	sfnClient := awssfn.New(awssfn.Options{
		Region: Region, BaseEndpoint: aws.String(tw.EdgeURL()),
		Credentials: credentials.NewStaticCredentialsProvider("test", "test", ""),
	})
	times, err := stateTimes(ctx, sfnClient, tw.PipelineARN())
	if err != nil {
		b.Fatal(err)
	}
	names := slices.Sorted(maps.Keys(times))
	for _, n := range names {
		fmt.Fprintf(os.Stderr, "%-20s n=%d median %v\n", n, len(times[n]), median(times[n]).Round(time.Millisecond))
	}
}

func tinyJPEG(b *testing.B, i int) []byte {
	img := image.NewRGBA(image.Rect(0, 0, 96, 64))
	r := rand.New(rand.NewPCG(uint64(i), 7))
	for y := range 64 {
		for x := range 96 {
			img.Set(x, y, color.RGBA{uint8(x * 2), uint8(y * 3), uint8(r.IntN(256)), 255})
		}
	}
	var buf bytes.Buffer
	if err := jpeg.Encode(&buf, img, &jpeg.Options{Quality: 80}); err != nil {
		b.Fatal(err)
	}
	return buf.Bytes()
}

// stateTimes reads every execution of the pipeline and returns, per state name, the
// durations from its Entered to its Exited event; "(queued)" is ExecutionStarted to
// the first state entered, "(total)" ExecutionStarted to the execution's end.
func stateTimes(ctx context.Context, client *awssfn.Client, smARN string) (map[string][]time.Duration, error) {
	out := map[string][]time.Duration{}
	p := awssfn.NewListExecutionsPaginator(client, &awssfn.ListExecutionsInput{StateMachineArn: aws.String(smARN)})
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			return nil, err
		}
		for _, ex := range page.Executions {
			h, err := client.GetExecutionHistory(ctx, &awssfn.GetExecutionHistoryInput{ExecutionArn: ex.ExecutionArn, MaxResults: 1000})
			if err != nil {
				return nil, err
			}
			var start time.Time
			entered := map[string]time.Time{}
			first := true
			for _, ev := range h.Events {
				ts := aws.ToTime(ev.Timestamp)
				switch {
				case ev.Type == "ExecutionStarted":
					start = ts
				case ev.StateEnteredEventDetails != nil:
					if first {
						out["(queued)"] = append(out["(queued)"], ts.Sub(start))
						first = false
					}
					entered[aws.ToString(ev.StateEnteredEventDetails.Name)] = ts
				case ev.StateExitedEventDetails != nil:
					n := aws.ToString(ev.StateExitedEventDetails.Name)
					out[n] = append(out[n], ts.Sub(entered[n]))
				case ev.Type == "ExecutionSucceeded" || ev.Type == "ExecutionFailed":
					out["(total)"] = append(out["(total)"], ts.Sub(start))
				}
			}
		}
	}
	return out, nil
}

func median(d []time.Duration) time.Duration {
	if len(d) == 0 {
		return 0
	}
	s := slices.Clone(d)
	slices.Sort(s)
	return s[len(s)/2]
}

// bigJPEG is a 12-megapixel photograph-like JPEG (quality 90, 4:2:0).
func bigJPEG(b *testing.B) []byte {
	const w, h = 4000, 3000
	img := image.NewYCbCr(image.Rect(0, 0, w, h), image.YCbCrSubsampleRatio420)
	r := rand.New(rand.NewPCG(1, 42))
	for y := range h {
		for x := range w {
			u, v := float64(x)/w, float64(y)/h
			l := 60 + 120*v + 30*math.Sin(u*5*math.Pi)*math.Cos(v*3*math.Pi) + r.NormFloat64()*9
			img.Y[img.YOffset(x, y)] = uint8(max(0, min(255, l)))
		}
	}
	for i := range img.Cb {
		img.Cb[i], img.Cr[i] = uint8(110+i%40), uint8(140-i%30)
	}
	var buf bytes.Buffer
	if err := jpeg.Encode(&buf, img, &jpeg.Options{Quality: 90}); err != nil {
		b.Fatal(err)
	}
	return buf.Bytes()
}

// pingCount asks the API's ping route how many documents are indexed.
func pingCount(base string) (int64, error) {
	resp, err := http.Get(base + "/api/ping")
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	var ans struct{ Count int64 }
	if err := json.NewDecoder(resp.Body).Decode(&ans); err != nil {
		return 0, fmt.Errorf("ping: %s: %w", resp.Status, err)
	}
	return ans.Count, nil
}
