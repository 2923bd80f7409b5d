//go:build linux

package test

import (
	"github.com/imagepipe/imagepipe/functions/testkit"

	"bufio"
	"fmt"
	"math"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/imagepipe/imagepipe/functions/loadgen"
)

// TestLambdaFigures measures what the Lambda memory settings rest on, and prints a
// table (it asserts nothing about size, time or memory; it runs only when asked):
//
//	IMAGEPIPE_LAMBDA_FIGURES=1 go test -count=1 -v -timeout 20m -run TestLambdaFigures ./test/
//	make lambda-figures
//
// For every functions/cmd/*: the linux/arm64 bootstrap's size (build/lambda after
// `make build`, else built here with the same flags), and the init time under the
// Runtime Interface Emulator: the first invocation's round trip (the emulator starts
// the bootstrap then) minus an identical second one's (the handler's own time), median
// of five starts. (This emulator's REPORT "Init Duration" is ~0 ms: it only times
// handing the init to its sandbox, not the process starting.) For the functions
// that decode pixels (extract-metadata, make-thumbnail, and detect-labels with the
// local labeler), the peak resident memory of the bootstrap process (VmHWM from
// /proc/<pid>/status) after one invocation on a generated 1, 12 or 24 megapixel JPEG,
// each in a fresh process so the peaks do not mix. The recommendation per function is
// peak × 1.5 plus the sandbox's overhead, rounded up to 64 MB, at least 128 MB.
//
// The bootstraps run here are built for this machine's architecture with the
// production flags; sizes are of the arm64 builds that deploy.
func TestLambdaFigures(t *testing.T) {
	if os.Getenv("IMAGEPIPE_LAMBDA_FIGURES") != "1" {
		t.Skip("set IMAGEPIPE_LAMBDA_FIGURES=1 (or run `make lambda-figures`) to measure the Lambdas")
	}
	rie := rieBuildEmulator(t)
	host := lfBuild(t, runtime.GOARCH)
	arm := filepath.Join("..", "build", "lambda")
	names := lfFunctions(t)
	if _, err := os.Stat(filepath.Join(arm, names[0], "bootstrap")); err != nil {
		t.Logf("no %s: building linux/arm64 bootstraps for their sizes", arm)
		arm = lfBuild(t, "arm64")
	}

	s3 := rieNewFakeS3(t)
	osFake := httptest.NewServer(http.HandlerFunc(rieFakeOpenSearch))
	defer osFake.Close()
	megapixels := []int{1, 12, 24}
	for _, mp := range megapixels {
		w, h := lfDims(mp)
		jpg, err := loadgen.SampleJPEG(uint64(mp), w, h, 90)
		if err != nil {
			t.Fatal(err)
		}
		s3.put(fmt.Sprintf("images/upload/fig-%dmp.jpg", mp), jpg)
		t.Logf("%d MP sample: %dx%d, %d KB", mp, w, h, len(jpg)>>10)
	}

	s3env := []string{"AWS_ENDPOINT_URL=" + s3.srv.URL, "S3_USE_PATH_STYLE=true"}
	osEnv := []string{"OPENSEARCH_ENDPOINT=" + osFake.URL}
	// A cheap invocation per function: what it answers does not matter, only that it
	// answers (the init happens on the first invocation, before the handler runs).
	cheap := map[string]struct {
		env     []string
		payload string
	}{
		"extract-metadata": {s3env, rieEvent("Object Created", "upload/missing.png")},
		"detect-labels":    {s3env, rieEvent("Object Created", "upload/missing.png")},
		"make-thumbnail":   {s3env, rieEvent("Object Created", "upload/missing.png")},
		"index-document":   {osEnv, `{}`},
		"remove-document":  {append(osEnv, s3env...), rieEvent("Object Deleted", "")},
		"search":           {append(osEnv, s3env...), `{"httpMethod":"GET","path":"/ping"}`},
		"ping":             {osEnv, `{"httpMethod":"GET","path":"/ping"}`},
		"redrive":          {[]string{"FAILURE_QUEUE_URL=http://127.0.0.1:9/q", "PIPELINE_STATE_MACHINE_ARN=arn:aws:states:us-east-1:111122223333:stateMachine:p"}, `{"mode":"bogus"}`},
		"load-tester":      {[]string{"IMAGES_BUCKET=images"}, `{"rate":0}`},
	}
	pixelFns := []string{"extract-metadata", "make-thumbnail", "detect-labels"}

	type row struct {
		name      string
		size      int64
		inits     []float64 // ms
		idleKB    int64     // VmHWM after a cheap invocation
		peakKB    map[int]int64
		durations map[int]float64 // ms, per megapixels
	}
	var rows []*row
	for _, name := range names {
		c, ok := cheap[name]
		if !ok {
			t.Logf("%s: no cheap invocation known; init not measured", name)
		}
		r := &row{name: name, peakKB: map[int]int64{}, durations: map[int]float64{}}
		rows = append(rows, r)
		if st, err := os.Stat(filepath.Join(arm, name, "bootstrap")); err == nil {
			r.size = st.Size()
		}
		if !ok {
			continue
		}
		for range 5 {
			// The emulator starts the bootstrap on the first invocation; the second,
			// identical one is the handler's own time (and the emulator's).
			p := lfStart(t, rie, filepath.Join(host, name, "bootstrap"), c.env)
			cold := lfTimed(t, p.url, c.payload)
			warm := lfTimed(t, p.url, c.payload)
			r.inits = append(r.inits, float64(cold-warm)/float64(time.Millisecond))
			r.idleKB = max(r.idleKB, p.hwmKB(t))
			p.stop()
		}
		if !slices.Contains(pixelFns, name) {
			continue
		}
		for _, mp := range megapixels {
			p := lfStart(t, rie, filepath.Join(host, name, "bootstrap"), c.env)
			rieInvoke(t, p.url, c.payload) // init first: the image's invocation is warm
			began := time.Now()
			out := rieInvoke(t, p.url, rieEvent("Object Created", fmt.Sprintf("upload/fig-%dmp.jpg", mp)))
			r.durations[mp] = float64(time.Since(began)) / float64(time.Millisecond)
			if strings.Contains(out, `"errorType"`) {
				t.Errorf("%s on %d MP: %s", name, mp, out)
			}
			r.peakKB[mp] = p.hwmKB(t)
			p.stop()
		}
	}

	var b strings.Builder
	fmt.Fprintf(&b, "\nLambda figures (%s/%s host, %d CPUs; sizes of linux/arm64 bootstraps)\n\n", runtime.GOOS, runtime.GOARCH, runtime.NumCPU())
	fmt.Fprintf(&b, "| function | bootstrap | init (median of 5) | idle RSS | peak RSS 1 MP | 12 MP | 24 MP | warm invoke 1/12/24 MP | recommended |\n")
	fmt.Fprintf(&b, "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |\n")
	for _, r := range rows {
		peak := r.idleKB
		for _, kb := range r.peakKB {
			peak = max(peak, kb)
		}
		cols := []string{r.name, fmt.Sprintf("%.1f MB", float64(r.size)/1e6), lfMedianMs(r.inits), lfMB(r.idleKB)}
		var durs []string
		for _, mp := range megapixels {
			if kb, ok := r.peakKB[mp]; ok {
				cols = append(cols, lfMB(kb))
				durs = append(durs, fmt.Sprintf("%.0f", r.durations[mp]))
			} else {
				cols = append(cols, "—")
			}
		}
		if len(durs) > 0 {
			cols = append(cols, strings.Join(durs, "/")+" ms")
		} else {
			cols = append(cols, "—")
		}
		cols = append(cols, fmt.Sprintf("%d MB", RecommendMemoryMB(peak)))
		fmt.Fprintf(&b, "| %s |\n", strings.Join(cols, " | "))
	}
	fmt.Fprintf(&b, "\nrecommended = peak RSS × 1.5 + %d MB sandbox overhead, rounded up to 64 MB, at least 128 MB (peak over the sizes measured).\n", lfSandboxMB)
	t.Log(b.String())
	if out := os.Getenv("IMAGEPIPE_LAMBDA_FIGURES_OUT"); out != "" {
		if err := os.WriteFile(out, []byte(b.String()), 0o644); err != nil {
			t.Error(err)
		}
	}
}

// lfSandboxMB is what a Lambda sandbox holds besides the function's process (the
// runtime API client's buffers, the kernel's page cache of the bootstrap): an
// allowance, since Lambda's "Max Memory Used" counts the whole sandbox.
const lfSandboxMB = 32

// RecommendMemoryMB turns a peak resident set (KB) into a Lambda memory setting.
func RecommendMemoryMB(peakKB int64) int {
	mb := float64(peakKB)/1024*1.5 + lfSandboxMB
	return max(128, int(math.Ceil(mb/64))*64)
}

func TestRecommendMemoryMB(t *testing.T) {
	for kb, want := range map[int64]int{0: 128, 20 << 10: 128, 64 << 10: 128, 100 << 10: 192, 400 << 10: 640} {
		if got := RecommendMemoryMB(kb); got != want {
			t.Errorf("RecommendMemoryMB(%d KB) = %d, want %d", kb, got, want)
		}
	}
}

// lfDims is a 4:3 frame of about mp megapixels (12 and 24 as loadgen's sizes).
func lfDims(mp int) (int, int) {
	switch mp {
	case 12:
		return loadgen.Sizes["12mp"].X, loadgen.Sizes["12mp"].Y
	case 24:
		return loadgen.Sizes["24mp"].X, loadgen.Sizes["24mp"].Y
	}
	w := int(math.Round(math.Sqrt(float64(mp) * 1e6 * 4 / 3)))
	return w, w * 3 / 4
}

func lfFunctions(t *testing.T) []string {
	entries, err := os.ReadDir(filepath.Join("..", "functions", "cmd"))
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, e := range entries {
		if e.IsDir() {
			names = append(names, e.Name())
		}
	}
	return names
}

// lfBuild builds every functions/cmd/* for linux/arch with the Makefile's flags into
// dir/<name>/bootstrap (build/lambda's layout).
func lfBuild(t *testing.T, arch string) string {
	t.Helper()
	dir := t.TempDir()
	for _, name := range lfFunctions(t) {
		out := filepath.Join(dir, name, "bootstrap")
		b := exec.Command("go", "build", "-tags", "lambda.norpc,nodynamic", "-trimpath", "-ldflags=-s -w", "-o", out, "./cmd/"+name)
		b.Dir = filepath.Join("..", "functions")
		b.Env = append(os.Environ(), "GOOS=linux", "GOARCH="+arch, "CGO_ENABLED=0")
		if msg, err := b.CombinedOutput(); err != nil {
			t.Fatalf("build %s (%s): %v\n%s", name, arch, err, msg)
		}
	}
	return dir
}

// lfProc is one emulator with one function, its logs kept for the REPORT line.
type lfProc struct {
	url  string
	cmd  *exec.Cmd
	logs *testkit.Buffer
}

func lfStart(t *testing.T, rie, bootstrap string, env []string) *lfProc {
	t.Helper()
	addr, apiAddr := rieFreeAddr(t), rieFreeAddr(t)
	cmd := exec.Command(rie, "--runtime-interface-emulator-address", addr, "--runtime-api-address", apiAddr, bootstrap)
	cmd.Env = append([]string{
		"PATH=" + os.Getenv("PATH"), "HOME=" + os.Getenv("HOME"),
		"AWS_REGION=us-east-1", "AWS_ACCESS_KEY_ID=AKIDEXAMPLE", "AWS_SECRET_ACCESS_KEY=secret",
		"AWS_EC2_METADATA_DISABLED=true", "AWS_LAMBDA_FUNCTION_TIMEOUT=60",
	}, env...)
	logs := &testkit.Buffer{}
	cmd.Stdout, cmd.Stderr = logs, logs
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	p := &lfProc{url: "http://" + addr + "/2015-03-31/functions/function/invocations", cmd: cmd, logs: logs}
	t.Cleanup(p.stop)
	deadline := time.Now().Add(30 * time.Second)
	for {
		resp, err := http.Get("http://" + addr + "/")
		if err == nil {
			resp.Body.Close()
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("emulator not listening on %s: %v\n%s", addr, err, logs.String())
		}
		time.Sleep(10 * time.Millisecond) // polling interval, bounded by the deadline
	}
	return p
}

func (p *lfProc) stop() {
	if p.cmd.ProcessState != nil {
		return
	}
	_ = syscall.Kill(-p.cmd.Process.Pid, syscall.SIGKILL)
	_ = p.cmd.Wait()
}

// lfTimed is one invocation's round trip from the client.
func lfTimed(t *testing.T, url, payload string) time.Duration {
	t.Helper()
	began := time.Now()
	rieInvoke(t, url, payload)
	return time.Since(began)
}

// hwmKB is the peak resident set (VmHWM) of the function: the emulator's child.
func (p *lfProc) hwmKB(t *testing.T) int64 {
	t.Helper()
	pid := lfChild(p.cmd.Process.Pid)
	if pid == 0 {
		t.Fatalf("no bootstrap process under the emulator (pid %d)\n%s", p.cmd.Process.Pid, p.logs.String())
	}
	f, err := os.Open(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), "VmHWM:"); ok {
			kb, err := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(v), " kB"), 10, 64)
			if err != nil {
				t.Fatalf("VmHWM %q: %v", v, err)
			}
			return kb
		}
	}
	t.Fatalf("no VmHWM in /proc/%d/status", pid)
	return 0
}

// lfChild finds a child process of ppid by scanning /proc/*/stat.
func lfChild(ppid int) int {
	entries, _ := os.ReadDir("/proc")
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		raw, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
		if err != nil {
			continue
		}
		// pid (comm) state ppid ...: comm may hold spaces, so cut after the last ')'.
		s := string(raw)
		i := strings.LastIndexByte(s, ')')
		if i < 0 {
			continue
		}
		f := strings.Fields(s[i+1:])
		if len(f) > 1 && f[1] == strconv.Itoa(ppid) {
			return pid
		}
	}
	return 0
}

func lfMedianMs(v []float64) string {
	if len(v) == 0 {
		return "—"
	}
	s := slices.Clone(v)
	slices.Sort(s)
	return fmt.Sprintf("%.1f ms", s[len(s)/2])
}

func lfMB(kb int64) string {
	if kb == 0 {
		return "—"
	}
	return fmt.Sprintf("%.0f MB", float64(kb)/1024)
}
