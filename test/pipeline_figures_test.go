package test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"image"
	"image/jpeg"
	"maps"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strconv"
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

// TestPipelineFigures measures the twin end to end: N photographic JPEGs uploaded
// through the S3 endpoint by concurrent clients at an offered rate, until all are
// searchable. It prints images/s, the upload→searchable percentiles and the median
// time per state from the execution histories. It is a measurement, not a test of
// speed (nothing is asserted about time), and runs only when asked:
//
//	IMAGEPIPE_PIPELINE_FIGURES=1 [IMAGEPIPE_FIGURES_N=200] [IMAGEPIPE_FIGURES_RATE=10]
//	[IMAGEPIPE_FIGURES_CLIENTS=16] [IMAGEPIPE_FIGURES_MP=12] \
//	[IMAGEPIPE_FIGURES_TWIN_ARGS="--workers 16"] \
//	  go test -count=1 -v -timeout 30m -run TestPipelineFigures ./test/
//
// RATE 0 offers uploads as fast as the clients go (the sustained throughput); a
// positive RATE schedules upload i at start + i/RATE, and its latency counts from
// that scheduled time (open loop: time spent waiting for a free client counts).
// "Searchable" is the execution's end: IndexDocument has returned, so the document
// is in the index; its time comes from the history, on the same clock.
func TestPipelineFigures(t *testing.T) {
	if os.Getenv("IMAGEPIPE_PIPELINE_FIGURES") == "" {
		t.Skip("set IMAGEPIPE_PIPELINE_FIGURES=1 to measure the pipeline's figures")
	}
	n := envInt(t, "IMAGEPIPE_FIGURES_N", 200)
	rate := envFloat(t, "IMAGEPIPE_FIGURES_RATE", 0)
	clients := envInt(t, "IMAGEPIPE_FIGURES_CLIENTS", 16)
	mp := envFloat(t, "IMAGEPIPE_FIGURES_MP", 12)

	// A few distinct photographs, each upload made byte-distinct by a JPEG comment so
	// that no two share a content hash (the index folds identical bytes).
	w := int(math.Round(math.Sqrt(mp * 1e6 * 4 / 3)))
	h := w * 3 / 4
	bases := make([][]byte, 4)
	var wg sync.WaitGroup
	for i := range bases {
		wg.Add(1)
		go func() {
			defer wg.Done()
			bases[i] = photoJPEG(t, w, h, uint64(i+1))
		}()
	}
	wg.Wait()
	body := func(i int) []byte {
		return withComment(bases[i%len(bases)], fmt.Sprintf("imagepipe figures upload %d", i))
	}
	t.Logf("images: %d×%d (%.1f MP), JPEG quality 90 4:2:0, %.1f-%.1f MB", w, h, float64(w*h)/1e6,
		float64(len(bases[0]))/1e6, float64(len(bases[len(bases)-1]))/1e6)

	tw := startTwin(t, strings.Fields(os.Getenv("IMAGEPIPE_FIGURES_TWIN_ARGS"))...)
	ctx := ctxT(t)
	keys := make([]string, n)
	for i := range keys {
		keys[i] = fmt.Sprintf("upload/figures/%04d.jpg", i)
	}
	cpuBefore := treeCPU(t, tw.pid())
	begin := make([]time.Time, n) // when upload i was offered (rate) or began (no rate)
	jobs := make(chan int, n)
	errs := make(chan error, n)
	start := time.Now()
	go func() {
		for i := range n {
			if rate > 0 {
				at := start.Add(time.Duration(float64(i) / rate * float64(time.Second)))
				time.Sleep(time.Until(at)) // the offered schedule, not a wait for an outcome
				begin[i] = at
			}
			jobs <- i
		}
		close(jobs)
	}()
	var uploads sync.WaitGroup
	var mu sync.Mutex
	for range clients {
		uploads.Add(1)
		go func() {
			defer uploads.Done()
			client := tw.S3()
			for i := range jobs {
				b := body(i)
				mu.Lock()
				if rate <= 0 {
					begin[i] = time.Now()
				}
				mu.Unlock()
				_, err := client.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String("images"), Key: aws.String(keys[i]), Body: bytes.NewReader(b), ContentType: aws.String("image/jpeg")})
				if err != nil {
					errs <- fmt.Errorf("put %s: %w", keys[i], err)
				}
			}
		}()
	}
	uploads.Wait()
	uploaded := time.Since(start)
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	waitFor(t, 20*time.Minute, fmt.Sprintf("%d images searchable", n), func() (bool, error) {
		var ping struct{ Count int64 }
		tw.getJSON(t, "/api/ping", &ping)
		return ping.Count >= int64(n), nil
	})
	// The document is in the index just before its execution records the end.
	waitFor(t, time.Minute, "every execution ended", func() (bool, error) {
		return len(tw.executions(t, sfntypes.ExecutionStatusRunning)) == 0, nil
	})

	cpuAfter := treeCPU(t, tw.pid())
	cpu := cpuAfter.total() - cpuBefore.total()

	// Per execution: its key, its end, and each state's Entered→Exited time.
	runs := pipelineRuns(t, tw)
	if len(runs) != n {
		t.Fatalf("%d executions, want %d", len(runs), n)
	}
	index := map[string]int{}
	for i, k := range keys {
		index[k] = i
	}
	var lat []time.Duration
	var last time.Time
	perState := map[string][]time.Duration{}
	for _, r := range runs {
		i, ok := index[r.key]
		if !ok || r.status != "SUCCEEDED" {
			t.Fatalf("execution for %q: %s", r.key, r.status)
		}
		lat = append(lat, r.end.Sub(begin[i]))
		if r.end.After(last) {
			last = r.end
		}
		for s, d := range r.states {
			perState[s] = append(perState[s], d)
		}
	}
	slices.Sort(lat)
	elapsed := last.Sub(start)
	offered := "as fast as the clients go"
	if rate > 0 {
		offered = fmt.Sprintf("%.1f images/s", rate)
	}
	load, _ := os.ReadFile("/proc/loadavg")
	t.Logf("pipeline figures: %d images of %.1f MP, %d clients, offered %s; uploads done in %v (%.1f/s)",
		n, float64(w*h)/1e6, clients, offered, uploaded.Round(time.Millisecond), float64(n)/uploaded.Seconds())
	t.Logf("  throughput: all searchable after %v: %.1f images/s", elapsed.Round(time.Millisecond), float64(n)/elapsed.Seconds())
	t.Logf("  CPU: %v per image (the twin and its function processes, from /proc)", (cpu / time.Duration(n)).Round(100*time.Microsecond))
	for _, name := range slices.Sorted(maps.Keys(cpuAfter)) {
		t.Logf("    %-40s %v per image", name, ((cpuAfter[name] - cpuBefore[name]) / time.Duration(n)).Round(100*time.Microsecond))
	}
	t.Logf("  upload→searchable: p50 %v  p95 %v  p99 %v  max %v", pct(lat, 0.50), pct(lat, 0.95), pct(lat, 0.99), lat[len(lat)-1].Round(time.Millisecond))
	for _, s := range []string{"(queued)", "ExtractMetadata", "DetectLabels", "MakeThumbnail", "IndexDocument", "(execution)"} {
		d := perState[s]
		slices.Sort(d)
		if len(d) > 0 {
			t.Logf("  %-16s median %7v  p95 %7v", s, pct(d, 0.50), pct(d, 0.95))
		}
	}
	t.Logf("  load average at the end: %s", bytes.TrimSpace(load))
}

func pct(sorted []time.Duration, p float64) time.Duration {
	return sorted[int(p*float64(len(sorted)-1))].Round(time.Millisecond)
}

type pipelineRun struct {
	key, status string
	end         time.Time
	states      map[string]time.Duration
}

// pipelineRuns reads every pipeline execution's history: "(queued)" is
// ExecutionStarted to the first state entered (waiting for a worker), "(execution)"
// ExecutionStarted to the end, and each state its Entered→Exited time.
func pipelineRuns(t *testing.T, tw *Twin) []pipelineRun {
	t.Helper()
	ctx := ctxT(t)
	client := tw.SFN()
	var out []pipelineRun
	p := sfn.NewListExecutionsPaginator(client, &sfn.ListExecutionsInput{StateMachineArn: aws.String(pipelineArn(t, tw)), MaxResults: 1000})
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			t.Fatal(err)
		}
		for _, ex := range page.Executions {
			r := pipelineRun{status: string(ex.Status), states: map[string]time.Duration{}}
			var events []sfntypes.HistoryEvent
			hp := sfn.NewGetExecutionHistoryPaginator(client, &sfn.GetExecutionHistoryInput{ExecutionArn: ex.ExecutionArn, MaxResults: 1000})
			for hp.HasMorePages() {
				h, err := hp.NextPage(ctx)
				if err != nil {
					t.Fatal(err)
				}
				events = append(events, h.Events...)
			}
			var started time.Time
			entered := map[string]time.Time{}
			for _, ev := range events {
				at := aws.ToTime(ev.Timestamp)
				switch {
				case ev.ExecutionStartedEventDetails != nil:
					started = at
					var in pipeline.ObjectEvent
					if err := json.Unmarshal([]byte(aws.ToString(ev.ExecutionStartedEventDetails.Input)), &in); err != nil {
						t.Fatal(err)
					}
					r.key, _ = in.Key() // S3 URL-encodes the key in its events
				case ev.StateEnteredEventDetails != nil:
					if len(entered) == 0 {
						r.states["(queued)"] = at.Sub(started)
					}
					entered[aws.ToString(ev.StateEnteredEventDetails.Name)] = at
				case ev.StateExitedEventDetails != nil:
					name := aws.ToString(ev.StateExitedEventDetails.Name)
					r.states[name] = at.Sub(entered[name])
				case ev.Type == sfntypes.HistoryEventTypeExecutionSucceeded || ev.Type == sfntypes.HistoryEventTypeExecutionFailed:
					r.end = at
					r.states["(execution)"] = at.Sub(started)
				}
			}
			out = append(out, r)
		}
	}
	return out
}

// photoJPEG is a w×h photograph-like JPEG (quality 90, 4:2:0): smooth gradients,
// a few soft shapes and fine texture, so that it compresses as a photo does.
func photoJPEG(t *testing.T, w, h int, seed uint64) []byte {
	img := image.NewYCbCr(image.Rect(0, 0, w, h), image.YCbCrSubsampleRatio420)
	r := rand.New(rand.NewPCG(seed, 42))
	fx, fy := 2+r.Float64()*6, 2+r.Float64()*6
	for y := range h {
		for x := range w {
			u, v := float64(x)/float64(w), float64(y)/float64(h)
			l := 60 + 120*v + 30*math.Sin(u*fx*math.Pi)*math.Cos(v*fy*math.Pi) + 10*math.Sin(float64(x+y)*0.35) + r.NormFloat64()*9
			img.Y[img.YOffset(x, y)] = clamp8(l)
		}
	}
	for y := 0; y < h/2; y++ {
		for x := 0; x < w/2; x++ {
			u, v := float64(2*x)/float64(w), float64(2*y)/float64(h)
			i := y*img.CStride + x
			img.Cb[i] = clamp8(128 + 40*math.Cos(u*3+float64(seed)) - 30*v + r.NormFloat64()*3)
			img.Cr[i] = clamp8(128 + 35*math.Sin(v*4+float64(seed)) + 20*u + r.NormFloat64()*3)
		}
	}
	var buf bytes.Buffer
	if err := jpeg.Encode(&buf, img, &jpeg.Options{Quality: 90}); err != nil {
		t.Error(err)
	}
	return buf.Bytes()
}

func clamp8(v float64) uint8 {
	return uint8(max(0, min(255, math.Round(v))))
}

// withComment inserts a COM segment after SOI: other bytes, the same picture.
func withComment(jpg []byte, comment string) []byte {
	seg := []byte{0xFF, 0xFE, byte((len(comment) + 2) >> 8), byte(len(comment) + 2)}
	out := make([]byte, 0, len(jpg)+len(seg)+len(comment))
	out = append(out, jpg[:2]...)
	out = append(out, seg...)
	out = append(out, comment...)
	return append(out, jpg[2:]...)
}

func envInt(t *testing.T, name string, def int) int {
	v := os.Getenv(name)
	if v == "" {
		return def
	}
	n, err := strconv.Atoi(v)
	if err != nil || n <= 0 {
		t.Fatalf("%s=%q: want a positive integer", name, v)
	}
	return n
}

func envFloat(t *testing.T, name string, def float64) float64 {
	v := os.Getenv(name)
	if v == "" {
		return def
	}
	f, err := strconv.ParseFloat(v, 64)
	if err != nil || f < 0 {
		t.Fatalf("%s=%q: want a number ≥ 0", name, v)
	}
	return f
}

// processCPU is CPU time (user + system) by process: the twin ("imagepipe-pipeline")
// and each function's processes under their bootstrap's folder name.
type processCPU map[string]time.Duration

func (p processCPU) total() time.Duration {
	var sum time.Duration
	for _, d := range p {
		sum += d
	}
	return sum
}

// treeCPU is the CPU time of a process and all its descendants, alive or reaped,
// from /proc, grouped by what each process runs.
func treeCPU(t *testing.T, root int) processCPU {
	t.Helper()
	entries, err := os.ReadDir("/proc")
	if err != nil {
		t.Fatal(err)
	}
	type proc struct {
		ppid, ticks int64
		name        string
	}
	procs := map[int64]proc{}
	for _, e := range entries {
		pid, err := strconv.ParseInt(e.Name(), 10, 64)
		if err != nil {
			continue
		}
		b, err := os.ReadFile("/proc/" + e.Name() + "/stat")
		if err != nil {
			continue // gone
		}
		// Fields after the command name (which may hold spaces) start at ")".
		f := strings.Fields(string(b[bytes.LastIndexByte(b, ')')+2:]))
		if len(f) < 15 {
			continue
		}
		ppid, _ := strconv.ParseInt(f[1], 10, 64)
		var ticks int64
		for _, i := range []int{11, 12, 13, 14} { // utime stime cutime cstime
			v, _ := strconv.ParseInt(f[i], 10, 64)
			ticks += v
		}
		name := "?"
		if exe, err := os.Readlink("/proc/" + e.Name() + "/exe"); err == nil {
			name = filepath.Base(exe)
			if name == "bootstrap" {
				name = filepath.Base(filepath.Dir(exe))
			}
		}
		procs[pid] = proc{ppid, ticks, name}
	}
	in := map[int64]bool{int64(root): true}
	for changed := true; changed; {
		changed = false
		for pid, p := range procs {
			if !in[pid] && in[p.ppid] {
				in[pid], changed = true, true
			}
		}
	}
	const hz = 100 // USER_HZ on Linux
	out := processCPU{}
	for pid := range in {
		out[procs[pid].name] += time.Duration(procs[pid].ticks) * time.Second / hz
	}
	return out
}
