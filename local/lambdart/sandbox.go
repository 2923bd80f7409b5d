package lambdart

import (
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// sandbox is one execution environment: a bootstrap process and the Runtime API
// listener it talks to. It serves one invocation at a time.
type sandbox struct {
	svc *Service
	fn  *function
	cfg Function

	cmd     *exec.Cmd
	pid     int
	srv     *http.Server
	started time.Time
	stdout  *logPipe
	stderr  *logPipe

	readyOnce sync.Once
	ready     chan struct{} // closed at the first /next: init is done
	initDur   time.Duration
	initErr   chan *functionError // a POST to /init/error
	exited    chan struct{}       // closed once the process has been reaped
	exitState *os.ProcessState    // set before exited is closed
	next      chan *invocation    // the invocation the runtime's /next receives
	parked    chan struct{}       // a /next after the first: the runtime is free again

	mu     sync.Mutex
	active *invocation // given to the runtime, not yet answered
	logInv *invocation // the invocation whose tail collects output
	warm   bool        // has completed its init

	oom   atomic.Bool  // killed for exceeding its memory
	hwmKB atomic.Int64 // the largest VmHWM seen
}

// startSandbox starts the bootstrap with its own Runtime API listener.
func (s *Service) startSandbox(fn *function, cfg Function) (*sandbox, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, fmt.Errorf("runtime API listener: %w", err)
	}
	sb := &sandbox{
		svc: s, fn: fn, cfg: cfg,
		ready:   make(chan struct{}),
		initErr: make(chan *functionError, 1),
		exited:  make(chan struct{}),
		next:    make(chan *invocation, 1),
		parked:  make(chan struct{}, 1),
	}
	sb.srv = &http.Server{Handler: sb, ErrorLog: log.New(io.Discard, "", 0), ReadHeaderTimeout: 10 * time.Second}
	sb.started = time.Now() // before Serve, which reads it
	go func() { _ = sb.srv.Serve(ln) }()

	outR, outW, err := os.Pipe()
	if err != nil {
		_ = sb.srv.Close()
		return nil, err
	}
	errR, errW, err := os.Pipe()
	if err != nil {
		_ = sb.srv.Close()
		outR.Close()
		outW.Close()
		return nil, err
	}
	id, secret, token := s.credentials(cfg)
	cmd := exec.Command(cfg.Bootstrap)
	cmd.Dir = filepath.Dir(cfg.Bootstrap)
	cmd.Env = buildEnv(cfg, s.region, ln.Addr().String(), logStreamName(), id, secret, token)
	cmd.Stdout, cmd.Stderr = outW, errW
	isolate(cmd)
	err = cmd.Start()
	outW.Close()
	errW.Close()
	if err != nil {
		_ = sb.srv.Close()
		outR.Close()
		errR.Close()
		return nil, err
	}
	sb.cmd, sb.pid = cmd, cmd.Process.Pid
	sb.stdout = &logPipe{r: outR, done: make(chan struct{})}
	sb.stderr = &logPipe{r: errR, done: make(chan struct{})}
	go sb.stdout.read(func(l []byte) { sb.output("stdout", l) })
	go sb.stderr.read(func(l []byte) { sb.output("stderr", l) })
	go sb.reap()
	if s.started != nil {
		if err := s.started(cfg, sb.pid); err != nil {
			sb.stop()
			return nil, fmt.Errorf("place process %d: %w", sb.pid, err)
		}
	}
	return sb, nil
}

func (sb *sandbox) reap() {
	_ = sb.cmd.Wait()
	sb.exitState = sb.cmd.ProcessState
	_ = sb.srv.Close()
	close(sb.exited)
}

// kill kills the process group, unless the process has been reaped already (its
// PID may then belong to another process).
func (sb *sandbox) kill() {
	if sb.alive() {
		killGroup(sb.pid)
	}
}

// stop kills the process and waits until it is reaped.
func (sb *sandbox) stop() {
	sb.kill()
	<-sb.exited
}

func (sb *sandbox) alive() bool {
	select {
	case <-sb.exited:
		return false
	default:
		return true
	}
}

// output handles one line the process printed.
func (sb *sandbox) output(stream string, line []byte) {
	sb.mu.Lock()
	inv := sb.logInv
	if inv != nil {
		inv.tail.add(line)
	}
	sb.mu.Unlock()
	reqID := ""
	if inv != nil {
		reqID = inv.id
	}
	sb.svc.logLine(sb.cfg.Name, reqID, stream, line)
}

// buildEnv is the process environment: Lambda's unreserved defaults, the function's
// variables over them, then the variables Lambda defines, and nothing of the twin's
// own environment.
func buildEnv(f Function, region, runtimeAPI, logStream, keyID, secret, token string) []string {
	taskRoot := filepath.Dir(f.Bootstrap)
	const runtimeDir = "/var/runtime"
	env := map[string]string{
		"PATH":            "/usr/local/bin:/usr/bin/:/bin:/opt/bin",
		"LD_LIBRARY_PATH": "/lib64:/usr/lib64:" + runtimeDir + ":" + runtimeDir + "/lib:" + taskRoot + ":" + taskRoot + "/lib:/opt/lib",
		"LANG":            "en_US.UTF-8",
		"TZ":              ":UTC",
	}
	for k, v := range f.Env {
		env[k] = v
	}
	defined := map[string]string{
		"_HANDLER":                        f.Handler,
		"AWS_REGION":                      region,
		"AWS_DEFAULT_REGION":              region,
		"AWS_LAMBDA_FUNCTION_NAME":        f.Name,
		"AWS_LAMBDA_FUNCTION_MEMORY_SIZE": strconv.Itoa(f.MemoryMB),
		"AWS_LAMBDA_FUNCTION_VERSION":     "$LATEST",
		"AWS_LAMBDA_INITIALIZATION_TYPE":  "on-demand",
		"AWS_LAMBDA_LOG_GROUP_NAME":       f.LogGroup,
		"AWS_LAMBDA_LOG_STREAM_NAME":      logStream,
		"AWS_LAMBDA_RUNTIME_API":          runtimeAPI,
		"LAMBDA_TASK_ROOT":                taskRoot,
		"LAMBDA_RUNTIME_DIR":              runtimeDir,
		"AWS_ACCESS_KEY_ID":               keyID,
		"AWS_SECRET_ACCESS_KEY":           secret,
	}
	if token != "" {
		defined["AWS_SESSION_TOKEN"] = token
	}
	// OS-only runtimes (provided*) have no AWS_EXECUTION_ENV.
	if !strings.HasPrefix(f.Runtime, "provided") {
		defined["AWS_EXECUTION_ENV"] = "AWS_Lambda_" + f.Runtime
	}
	for k, v := range defined {
		env[k] = v
	}
	out := make([]string, 0, len(env))
	for k, v := range env {
		out = append(out, k+"="+v)
	}
	return out
}

// logStreamName is Lambda's YYYY/MM/DD/[$LATEST]<32 hex> for a new environment.
func logStreamName() string {
	id := strings.ReplaceAll(newRequestID(), "-", "")
	return time.Now().UTC().Format("2006/01/02") + "/[$LATEST]" + id
}
