package lambdart

import (
	"context"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/lambda/messages"

	"github.com/imagepipe/imagepipe/local/asl"
)

var requestIDPattern = `[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}`

func TestWarmReuse(t *testing.T) {
	s, _ := newService(t, Options{}, testFunction("echo"))
	first := invoke(t, s, "echo", `{"n":1}`)
	second := invoke(t, s, "echo", `{"n":2}`)
	if first.PID == 0 || first.PID != second.PID {
		t.Errorf("PIDs %d then %d; want one warm process serving both", first.PID, second.PID)
	}
	if string(second.Event) != `{"n":2}` {
		t.Errorf("event = %s", second.Event)
	}
	if first.RequestID == second.RequestID || !regexp.MustCompile(`^`+requestIDPattern+`$`).MatchString(first.RequestID) {
		t.Errorf("request IDs %q, %q", first.RequestID, second.RequestID)
	}
	if want := "arn:aws:lambda:us-east-1:000000000000:function:echo"; first.ARN != want {
		t.Errorf("invoked ARN = %q, want %q", first.ARN, want)
	}
	if first.Deadline < 8000 || first.Deadline > 10000 {
		t.Errorf("the runtime saw %d ms left of a 10 s timeout", first.Deadline)
	}
	// By ARN and by partial ARN, and an empty payload is {}.
	for _, ref := range []string{"arn:aws:lambda:us-east-1:000000000000:function:echo", "000000000000:function:echo", "echo:$LATEST"} {
		if r := invoke(t, s, ref, ``); string(r.Event) != `{}` || r.PID != first.PID {
			t.Errorf("Invoke(%s) = pid %d event %s", ref, r.PID, r.Event)
		}
	}
}

func TestParallelInvocationsGetTheirOwnProcesses(t *testing.T) {
	const n = 3
	s, _ := newService(t, Options{MaxConcurrency: n}, testFunction("par"))
	b := newBarrier(t)
	pids := make(chan int, n)
	var wg sync.WaitGroup
	for i := 0; i < n; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			out, err := s.Invoke(context.Background(), "par", []byte(b.payload()))
			if err != nil {
				t.Errorf("Invoke: %v", err)
				return
			}
			pids <- mustResult(t, out).PID
		}()
	}
	b.await(t, n) // all n are inside the function at once: n processes
	b.open()
	wg.Wait()
	close(pids)
	seen := map[int]bool{}
	for pid := range pids {
		seen[pid] = true
	}
	if len(seen) != n {
		t.Errorf("%d invocations ran in %d processes; want %d", n, len(seen), n)
	}
}

func TestReservedConcurrencyThrottles(t *testing.T) {
	fn := testFunction("reserved")
	fn.ReservedConcurrency = 2
	s, _ := newService(t, Options{MaxConcurrency: 8}, fn)
	b := newBarrier(t)
	var wg sync.WaitGroup
	for i := 0; i < 2; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if _, err := s.Invoke(context.Background(), "reserved", []byte(b.payload())); err != nil {
				t.Errorf("Invoke: %v", err)
			}
		}()
	}
	b.await(t, 2)
	start := time.Now()
	te := invokeTaskError(t, s, "reserved", `{}`)
	if te.Name != "Lambda.TooManyRequestsException" || !strings.HasPrefix(te.Cause, "Rate Exceeded. (Service: AWSLambda; Status Code: 429; Error Code: TooManyRequestsException") {
		t.Errorf("third invoke: %s: %s", te.Name, te.Cause)
	}
	if d := time.Since(start); d > time.Second {
		t.Errorf("throttling took %v; Lambda answers at once", d)
	}
	b.open()
	wg.Wait()
	// Capacity comes back once the runtimes are free again.
	deadline := time.Now().Add(10 * time.Second)
	for {
		_, err := s.Invoke(context.Background(), "reserved", []byte(`{}`))
		if err == nil {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("still failing after the burst: %v", err)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func TestTimeoutKillsAndReplaces(t *testing.T) {
	fn := testFunction("slow")
	fn.Timeout = time.Second
	s, rec := newService(t, Options{}, fn)
	before := invoke(t, s, "slow", `{}`)
	start := time.Now()
	fe := invokeError(t, s, "slow", `{"mode":"sleep","ms":5000}`)
	if d := time.Since(start); d < time.Second || d > 3*time.Second {
		t.Errorf("timed out after %v; want about 1 s", d)
	}
	if fe.Type != "Sandbox.Timedout" || !regexp.MustCompile(`^RequestId: `+requestIDPattern+` Error: Task timed out after 1.00 seconds$`).MatchString(fe.Message) {
		t.Errorf("timeout error = %q %q", fe.Type, fe.Message)
	}
	if processAlive(before.PID) {
		t.Errorf("process %d still runs after timing out", before.PID)
	}
	after := invoke(t, s, "slow", `{}`)
	if after.PID == before.PID {
		t.Errorf("the timed-out process %d served again", after.PID)
	}
	if r := rec.find("REPORT", "status", "timeout"); len(r) != 1 {
		t.Errorf("REPORT records with status timeout: %v", r)
	}
}

func TestOutOfMemory(t *testing.T) {
	fn := testFunction("hungry")
	fn.MemoryMB = 128
	s, rec := newService(t, Options{}, fn)
	fe := invokeError(t, s, "hungry", `{"mode":"alloc","mb":1024,"ms":3000}`)
	if fe.Type != "Runtime.OutOfMemory" || !regexp.MustCompile(`^RequestId: `+requestIDPattern+` Error: Runtime exited with error: signal: killed$`).MatchString(fe.Message) {
		t.Errorf("OOM error = %q %q", fe.Type, fe.Message)
	}
	reports := rec.find("REPORT", "errorType", "Runtime.OutOfMemory")
	if len(reports) != 1 || reports[0]["maxMemoryUsedMB"].Int64() != 128 {
		t.Errorf("REPORT for the OOM: %v", reports)
	}
	kills := rec.find("function process exceeded its memory size; killed", "function", "hungry")
	if len(kills) != 1 || kills[0]["rssMB"].Int64() < 128 {
		t.Errorf("OOM kill records: %v", kills)
	} else {
		t.Logf("killed at %d MB resident (limit 128 MB)", kills[0]["rssMB"].Int64())
	}
	if r := invoke(t, s, "hungry", `{}`); r.PID == 0 {
		t.Error("no fresh process after the OOM")
	}
}

func TestFunctionErrorKeepsTheProcess(t *testing.T) {
	s, _ := newService(t, Options{}, testFunction("fails"))
	before := invoke(t, s, "fails", `{}`)
	fe := invokeError(t, s, "fails", `{"mode":"error"}`)
	if fe.Type != "ImageError" || fe.Message != "not an image" {
		t.Errorf("error = %+v", fe)
	}
	if after := invoke(t, s, "fails", `{}`); after.PID != before.PID {
		t.Errorf("a handled error replaced the process (%d then %d)", before.PID, after.PID)
	}
	// A panic is reported, then the runtime exits; the next invoke gets a new
	// process rather than the dying one.
	fe = invokeError(t, s, "fails", `{"mode":"panic"}`)
	if fe.Type != "string" || fe.Message != "boom" {
		t.Errorf("panic = %+v", fe)
	}
	if after := invoke(t, s, "fails", `{}`); after.PID == before.PID {
		t.Errorf("the panicked process %d served again", after.PID)
	}
}

func TestExitDuringInvoke(t *testing.T) {
	s, _ := newService(t, Options{}, testFunction("quits"))
	fe := invokeError(t, s, "quits", `{"mode":"exit","code":2}`)
	if fe.Type != "Runtime.ExitError" || !regexp.MustCompile(`^RequestId: `+requestIDPattern+` Error: Runtime exited with error: exit status 2$`).MatchString(fe.Message) {
		t.Errorf("exit 2 = %q %q", fe.Type, fe.Message)
	}
	fe = invokeError(t, s, "quits", `{"mode":"exit","code":0}`)
	if fe.Type != "Runtime.ExitError" || !strings.HasSuffix(fe.Message, " Error: Runtime exited without providing a reason") {
		t.Errorf("exit 0 = %q %q", fe.Type, fe.Message)
	}
	invoke(t, s, "quits", `{}`)
}

func TestInitErrors(t *testing.T) {
	posted := testFunction("initpost")
	posted.Env = map[string]string{"TEST_INIT": "post", "TEST_INIT_ONCE": filepath.Join(t.TempDir(), "failed-once")}
	exits := testFunction("initexit")
	exits.Env = map[string]string{"TEST_INIT": "exit"}
	s, rec := newService(t, Options{}, posted, exits)

	fe := invokeError(t, s, "initpost", `{}`)
	if fe.Type != "ConfigError" || fe.Message != "bad configuration" {
		t.Errorf("posted init error = %+v", fe)
	}
	if r := invoke(t, s, "initpost", `{}`); r.PID == 0 {
		t.Error("the second invoke did not init afresh")
	}
	for i := 0; i < 2; i++ { // every invoke tries a fresh init, and fails again
		fe = invokeError(t, s, "initexit", `{}`)
		if fe.Type != "Runtime.ExitError" || !regexp.MustCompile(`^RequestId: `+requestIDPattern+` Error: Runtime exited with error: exit status 3$`).MatchString(fe.Message) {
			t.Errorf("init exit = %q %q", fe.Type, fe.Message)
		}
	}
	if got := rec.find("init is failing: exit", "function", "initexit"); len(got) != 2 {
		t.Errorf("init log lines: %d, want 2", len(got))
	}
}

func TestEnvironment(t *testing.T) {
	t.Setenv("LAMBDART_TWIN_SECRET", "must not leak")
	fn := testFunction("env")
	fn.Env = map[string]string{"BUCKET": "images", "AWS_ENDPOINT_URL": "http://127.0.0.1:4566"}
	fn.MemoryMB = 512
	creds := func(f Function) (string, string, string) { return "AKID" + f.Name, "secret", "token" }
	s, _ := newService(t, Options{Credentials: creds, Region: "eu-west-1"}, fn)
	r := invoke(t, s, "env", `{"mode":"env"}`)
	dir := filepath.Dir(testBootstrap)
	want := map[string]string{
		"BUCKET": "images", "AWS_ENDPOINT_URL": "http://127.0.0.1:4566",
		"_HANDLER": "bootstrap", "AWS_REGION": "eu-west-1", "AWS_DEFAULT_REGION": "eu-west-1",
		"AWS_LAMBDA_FUNCTION_NAME": "env", "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": "512",
		"AWS_LAMBDA_FUNCTION_VERSION": "$LATEST", "AWS_LAMBDA_INITIALIZATION_TYPE": "on-demand",
		"AWS_LAMBDA_LOG_GROUP_NAME": "/aws/lambda/env", "LAMBDA_TASK_ROOT": dir, "LAMBDA_RUNTIME_DIR": "/var/runtime",
		"AWS_ACCESS_KEY_ID": "AKIDenv", "AWS_SECRET_ACCESS_KEY": "secret", "AWS_SESSION_TOKEN": "token",
		"PATH": "/usr/local/bin:/usr/bin/:/bin:/opt/bin", "LANG": "en_US.UTF-8", "TZ": ":UTC",
		"LD_LIBRARY_PATH": "/lib64:/usr/lib64:/var/runtime:/var/runtime/lib:" + dir + ":" + dir + "/lib:/opt/lib",
	}
	for k, v := range want {
		if r.Env[k] != v {
			t.Errorf("%s = %q, want %q", k, r.Env[k], v)
		}
	}
	// Set per request by the runtime client, or per process by the twin:
	perProcess := []string{"AWS_LAMBDA_RUNTIME_API", "AWS_LAMBDA_LOG_STREAM_NAME", "_X_AMZN_TRACE_ID"}
	var extra []string
	for k := range r.Env {
		if _, ok := want[k]; !ok && !contains(perProcess, k) {
			extra = append(extra, k)
		}
	}
	sort.Strings(extra)
	if len(extra) > 0 {
		t.Errorf("unexpected variables (the twin's environment leaked?): %v", extra)
	}
	if !regexp.MustCompile(`^127\.0\.0\.1:\d+$`).MatchString(r.Env["AWS_LAMBDA_RUNTIME_API"]) {
		t.Errorf("AWS_LAMBDA_RUNTIME_API = %q", r.Env["AWS_LAMBDA_RUNTIME_API"])
	}
	if !regexp.MustCompile(`^\d{4}/\d\d/\d\d/\[\$LATEST\][0-9a-f]{32}$`).MatchString(r.Env["AWS_LAMBDA_LOG_STREAM_NAME"]) {
		t.Errorf("AWS_LAMBDA_LOG_STREAM_NAME = %q", r.Env["AWS_LAMBDA_LOG_STREAM_NAME"])
	}
	if _, ok := r.Env["AWS_EXECUTION_ENV"]; ok {
		t.Error("AWS_EXECUTION_ENV is set; OS-only runtimes do not have it")
	}
	if r.Cwd != dir {
		t.Errorf("working directory %q, want %q", r.Cwd, dir)
	}
}

func contains(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}

func TestReportAndLogs(t *testing.T) {
	s, rec := newService(t, Options{}, testFunction("logs"))
	cold := invoke(t, s, "logs", `{"mode":"log"}`)
	warm := invoke(t, s, "logs", `{}`)

	reports := rec.find("REPORT", "requestId", cold.RequestID)
	if len(reports) != 1 {
		t.Fatalf("REPORT records for %s: %v", cold.RequestID, reports)
	}
	r := reports[0]
	if r["function"].String() != "logs" || r["memorySizeMB"].Int64() != 256 || r["maxMemoryUsedMB"].Int64() < 1 {
		t.Errorf("REPORT = %v", r)
	}
	dur, billed, initDur := r["durationMs"].Float64(), r["billedDurationMs"].Int64(), r["initDurationMs"]
	if initDur.Kind() != slog.KindFloat64 || initDur.Float64() <= 0 {
		t.Errorf("cold start without Init Duration: %v", r)
	}
	if float64(billed) < dur+initDur.Float64() || float64(billed) > dur+initDur.Float64()+1 {
		t.Errorf("billed %d ms for %.2f + %.2f ms", billed, dur, initDur.Float64())
	}
	if w := rec.find("REPORT", "requestId", warm.RequestID); len(w) != 1 {
		t.Errorf("warm REPORT = %v", w)
	} else if _, cold := w[0]["initDurationMs"]; cold {
		t.Errorf("warm REPORT with Init Duration: %v", w[0])
	}

	if l := rec.find("plain line from the function", "requestId", cold.RequestID); len(l) != 1 || l[0]["function"].String() != "logs" || l[0]["stream"].String() != "stdout" {
		t.Errorf("stdout line records: %v", l)
	}
	if l := rec.find("a line on stderr", "stream", "stderr"); len(l) != 1 {
		t.Errorf("stderr line records: %v", l)
	}
	l := rec.find("structured line", "function", "logs")
	if len(l) != 1 || l[0]["level"].String() != "WARN" {
		t.Fatalf("JSON line records: %v", l)
	}
	if raw, _ := l[0]["record"].Any().(rawJSON).MarshalJSON(); string(raw) != `{"level":"WARN","msg":"structured line","image":"a.jpg"}` {
		t.Errorf("JSON line attached as %s", raw)
	}
}

func TestServiceErrors(t *testing.T) {
	s, _ := newService(t, Options{}, testFunction("there"))
	te := invokeTaskError(t, s, "nope", `{}`)
	if te.Name != "Lambda.ResourceNotFoundException" || !strings.HasPrefix(te.Cause, "Function not found: arn:aws:lambda:us-east-1:000000000000:function:nope:$LATEST (Service: AWSLambda; Status Code: 404;") {
		t.Errorf("not found = %s: %s", te.Name, te.Cause)
	}
	te = invokeTaskError(t, s, "there:v2", `{}`)
	if te.Name != "Lambda.ResourceNotFoundException" || !strings.Contains(te.Cause, "function:there:v2 ") {
		t.Errorf("unknown qualifier = %s: %s", te.Name, te.Cause)
	}
	big := `"` + strings.Repeat("x", MaxSyncPayload) + `"`
	if te := invokeTaskError(t, s, "there", big); te.Name != "Lambda.RequestEntityTooLargeException" {
		t.Errorf("oversized request = %s: %s", te.Name, te.Cause)
	}
	if te := invokeTaskError(t, s, "there", `{not json`); te.Name != "Lambda.InvalidRequestContentException" {
		t.Errorf("invalid JSON = %s: %s", te.Name, te.Cause)
	}
	err := s.InvokeAsync(context.Background(), "there", []byte(`"`+strings.Repeat("x", MaxAsyncPayload)+`"`))
	if te, ok := err.(*asl.TaskError); !ok || te.Name != "Lambda.RequestEntityTooLargeException" || !strings.Contains(te.Cause, "too large for the Event invocation type (limit 1048576 bytes)") {
		t.Errorf("oversized event = %v", err)
	}
	fe := invokeError(t, s, "there", `{"mode":"big","size":7000000}`)
	if fe.Type != "Function.ResponseSizeTooLarge" || fe.Message != "Response payload size exceeded maximum allowed payload size (6291556 bytes)." {
		t.Errorf("oversized response = %+v", fe)
	}
}

func TestInvokeAsyncRetries(t *testing.T) {
	s, rec := newService(t, Options{}, testFunction("async"))
	s.retryDelays = []time.Duration{10 * time.Millisecond, 10 * time.Millisecond}
	if err := s.InvokeAsync(context.Background(), "async", []byte(`{"mode":"error"}`)); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(20 * time.Second)
	for len(rec.find("asynchronous invocation failed; no retries left", "function", "async")) == 0 {
		if time.Now().After(deadline) {
			t.Fatal("the failing event was not given up on")
		}
		time.Sleep(10 * time.Millisecond)
	}
	reports := rec.find("REPORT", "function", "async")
	if len(reports) != 3 {
		t.Fatalf("%d attempts, want 3 (Lambda retries twice)", len(reports))
	}
	if reports[0]["requestId"].String() != reports[2]["requestId"].String() {
		t.Error("retries changed the request ID")
	}
}

func TestDeployValidation(t *testing.T) {
	dir := t.TempDir()
	script := filepath.Join(dir, "script")
	if err := os.WriteFile(script, []byte("#!/bin/sh\necho hi\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	plain := filepath.Join(dir, "plain")
	if err := os.WriteFile(plain, []byte("x"), 0o644); err != nil {
		t.Fatal(err)
	}
	// This machine's bootstrap relabelled for another architecture, as the
	// deployed linux/arm64 (or amd64) build would be.
	foreign := filepath.Join(dir, "foreign")
	b, err := os.ReadFile(testBootstrap)
	if err != nil {
		t.Fatal(err)
	}
	machine := binary.LittleEndian.Uint16(b[18:20])
	binary.LittleEndian.PutUint16(b[18:20], machine^0x7f)
	if err := os.WriteFile(foreign, b, 0o755); err != nil {
		t.Fatal(err)
	}
	cases := map[string]struct {
		bootstrap string
		env       map[string]string
		want      string
	}{
		"missing":         {filepath.Join(dir, "absent"), nil, "no such file"},
		"not executable":  {plain, nil, "not an executable file"},
		"script":          {script, nil, "not an ELF executable"},
		"foreign":         {foreign, nil, "is built for"},
		"reserved env":    {testBootstrap, map[string]string{"AWS_REGION": "x"}, "Reserved keys used in this request: AWS_REGION"},
		"foreign via ARN": {testBootstrap, nil, "ARN"},
	}
	for name, c := range cases {
		t.Run(name, func(t *testing.T) {
			fn := testFunction("bad")
			fn.Bootstrap, fn.Env = c.bootstrap, c.env
			if name == "foreign via ARN" {
				fn.ARN = "arn:aws:lambda:us-east-1:111111111111:function:bad"
			}
			err := New(Options{}).Deploy([]Function{fn})
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("Deploy = %v, want %q", err, c.want)
			}
			if c.env == nil && name != "foreign via ARN" && !strings.Contains(err.Error(), "make twin-lambdas") {
				t.Errorf("the error does not say how to fix it: %v", err)
			}
		})
	}
}

func TestCloseStopsProcesses(t *testing.T) {
	s := New(Options{Logger: slog.New(&recorder{})})
	if err := s.Deploy([]Function{testFunction("a"), testFunction("b")}); err != nil {
		t.Fatal(err)
	}
	idle := invoke(t, s, "a", `{}`)
	busy := make(chan error, 1)
	go func() {
		_, err := s.Invoke(context.Background(), "b", []byte(`{"mode":"sleep","ms":60000}`))
		busy <- err
	}()
	var pid int
	deadline := time.Now().Add(10 * time.Second)
	for pid == 0 {
		s.mu.RLock()
		fn := s.fns["b"]
		s.mu.RUnlock()
		fn.mu.Lock()
		for sb := range fn.live {
			pid = sb.pid
		}
		fn.mu.Unlock()
		if time.Now().After(deadline) {
			t.Fatal("b never started")
		}
		time.Sleep(5 * time.Millisecond)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := s.Close(ctx); err != nil {
		t.Fatal(err)
	}
	var fe messages.InvokeResponse_Error
	if err := <-busy; !errors.As(err, &fe) || fe.Type != "Runtime.ExitError" {
		t.Errorf("the busy invocation ended with %v", err)
	}
	for _, p := range []int{idle.PID, pid} {
		if processAlive(p) {
			t.Errorf("process %d survived Close", p)
		}
	}
	if _, err := s.Invoke(context.Background(), "a", []byte(`{}`)); err == nil {
		t.Error("Invoke after Close succeeded")
	}
}

func mustResult(t *testing.T, out []byte) result {
	t.Helper()
	var r result
	if err := json.Unmarshal(out, &r); err != nil {
		t.Errorf("response %s: %v", out, err)
	}
	return r
}

// BenchmarkInvokeWarm measures a warm synchronous invoke through the Runtime API.
func BenchmarkInvokeWarm(b *testing.B) {
	s := New(Options{Logger: slog.New(&recorder{})})
	defer s.Close(context.Background())
	if err := s.Deploy([]Function{testFunction("bench")}); err != nil {
		b.Fatal(err)
	}
	payload := []byte(`{"n":1}`)
	if _, err := s.Invoke(context.Background(), "bench", payload); err != nil {
		b.Fatal(err)
	}
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if _, err := s.Invoke(context.Background(), "bench", payload); err != nil {
			b.Fatal(err)
		}
	}
}

// TestStartedHook: Options.Started sees each new process (the one that answers), and
// an error from it fails the start instead of running the function unplaced.
func TestStartedHook(t *testing.T) {
	var mu sync.Mutex
	var pids []int
	fail := false
	started := func(f Function, pid int) error {
		mu.Lock()
		defer mu.Unlock()
		if fail {
			return errors.New("no cgroup")
		}
		if f.Name != "placed" {
			return fmt.Errorf("function %q", f.Name)
		}
		pids = append(pids, pid)
		return nil
	}
	s, _ := newService(t, Options{Started: started}, testFunction("placed"))
	r := invoke(t, s, "placed", `{}`)
	mu.Lock()
	if len(pids) != 1 || pids[0] != r.PID {
		t.Fatalf("Started saw %v, the function ran as %d", pids, r.PID)
	}
	fail = true
	mu.Unlock()
	if err := s.Deploy([]Function{testFunction("placed")}); err != nil { // a fresh environment
		t.Fatal(err)
	}
	e := invokeError(t, s, "placed", `{}`)
	if e.Type != ErrTypeEntrypoint || !strings.Contains(e.Message, "no cgroup") {
		t.Fatalf("error %+v, want %s naming the hook's error", e, ErrTypeEntrypoint)
	}
}
