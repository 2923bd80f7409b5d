package test

import (
	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	"github.com/imagepipe/imagepipe/functions/apiclient"
	"github.com/imagepipe/imagepipe/functions/testkit"

	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/sfn"
	"github.com/aws/aws-sdk-go-v2/service/sqs"

	"github.com/imagepipe/imagepipe/functions/pipeline"
)

// imagepipeBin is the twin binary built once by TestMain; functionsDir holds the
// functions' bootstraps built for this machine (<dir>/<name>/bootstrap), which the
// twin runs under its Lambda Runtime API.
var imagepipeBin, functionsDir string

// repoRoot is the repository's top folder (this package lives in test/).
func repoRoot() string {
	wd, err := os.Getwd()
	if err != nil {
		panic(err)
	}
	return filepath.Dir(wd)
}

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "imagepipe-test-bin")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	imagepipeBin = filepath.Join(dir, "imagepipe")
	// `-o DIR/` builds both commands into DIR, as `make build` puts them side by side.
	build := exec.Command("go", "build", "-o", dir+"/", "./local/cmd/imagepipe", "./local/cmd/imagepipe-pipeline")
	build.Dir = repoRoot()
	build.Stdout, build.Stderr = os.Stderr, os.Stderr
	if err := build.Run(); err != nil {
		fmt.Fprintln(os.Stderr, "building imagepipe:", err)
		os.Exit(1)
	}
	if functionsDir, err = buildFunctions(dir); err != nil {
		fmt.Fprintln(os.Stderr, "building the functions:", err)
		os.Exit(1)
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// buildFunctions builds every functions/cmd/<name> for this machine, as `make
// twin-lambdas` does, into dir/functions/<name>/bootstrap.
func buildFunctions(dir string) (string, error) {
	bin := filepath.Join(dir, "functions-bin")
	build := exec.Command("go", "build", "-tags", "lambda.norpc,nodynamic", "-o", bin+"/", "./cmd/...")
	build.Dir = filepath.Join(repoRoot(), "functions")
	build.Env = append(os.Environ(), "CGO_ENABLED=0")
	build.Stdout, build.Stderr = os.Stderr, os.Stderr
	if err := build.Run(); err != nil {
		return "", err
	}
	entries, err := os.ReadDir(bin)
	if err != nil {
		return "", err
	}
	out := filepath.Join(dir, "functions")
	for _, e := range entries {
		if err := os.MkdirAll(filepath.Join(out, e.Name()), 0o755); err != nil {
			return "", err
		}
		if err := os.Rename(filepath.Join(bin, e.Name()), filepath.Join(out, e.Name(), "bootstrap")); err != nil {
			return "", err
		}
	}
	return out, nil
}

// Twin is a running `imagepipe serve` on free loopback ports with its own data folder.
type Twin struct {
	EdgeURL, HTTPURL, DataDir string
	edgeAddr, httpAddr        string
	extraArgs                 []string

	t    *testing.T
	mu   sync.Mutex
	cmd  *exec.Cmd
	logs *testkit.Buffer
	done chan struct{}
}

// startTwin starts the twin and stops it when the test ends; on failure its log is shown.
func startTwin(t *testing.T, extraArgs ...string) *Twin {
	t.Helper()
	tw := &Twin{
		DataDir:   t.TempDir(),
		edgeAddr:  freeAddr(t),
		httpAddr:  freeAddr(t),
		extraArgs: extraArgs,
		t:         t,
		logs:      &testkit.Buffer{},
	}
	tw.EdgeURL = "http://" + tw.edgeAddr
	tw.HTTPURL = "http://" + tw.httpAddr
	tw.Start()
	t.Cleanup(func() {
		tw.Stop()
		if t.Failed() {
			log := tw.logs.String()
			if len(log) > 20000 {
				log = "…" + log[len(log)-20000:]
			}
			t.Logf("twin log:\n%s", log)
		}
	})
	return tw
}

// Start (re)starts the process on the same ports and data folder and waits until it answers.
func (tw *Twin) Start() {
	tw.t.Helper()
	args := append([]string{"serve", "--data", tw.DataDir, "--edge-addr", tw.edgeAddr, "--http-addr", tw.httpAddr, "--functions", functionsDir}, tw.extraArgs...)
	cmd := exec.Command(imagepipeBin, args...)
	cmd.Dir = repoRoot() // serves web/dist from here when it exists
	cmd.Stdout, cmd.Stderr = tw.logs, tw.logs
	cmd.Env = append(os.Environ(), "AWS_ACCESS_KEY_ID=test", "AWS_SECRET_ACCESS_KEY=test", "AWS_REGION=us-east-1")
	if err := cmd.Start(); err != nil {
		tw.t.Fatalf("start twin: %v", err)
	}
	done := make(chan struct{})
	go func() { cmd.Wait(); close(done) }()
	tw.mu.Lock()
	tw.cmd, tw.done = cmd, done
	tw.mu.Unlock()
	waitFor(tw.t, 60*time.Second, "twin answers /api/ping", func() (bool, error) {
		select {
		case <-done:
			return false, fmt.Errorf("twin exited early:\n%s", tw.logs.String())
		default:
		}
		resp, err := tw.API().Get(tw.HTTPURL + "/api/ping")
		if err != nil {
			return false, nil
		}
		resp.Body.Close()
		return resp.StatusCode == 200, nil
	})
}

// Kill ends the process with SIGKILL: no clean shutdown.
func (tw *Twin) Kill() { tw.signal(syscall.SIGKILL) }

// pid is the running twin's process id.
func (tw *Twin) pid() int {
	tw.mu.Lock()
	defer tw.mu.Unlock()
	return tw.cmd.Process.Pid
}

// Stop ends the process with SIGTERM and waits for a clean exit.
func (tw *Twin) Stop() { tw.signal(syscall.SIGTERM) }

func (tw *Twin) signal(sig syscall.Signal) {
	tw.mu.Lock()
	cmd, done := tw.cmd, tw.done
	tw.cmd = nil
	tw.mu.Unlock()
	if cmd == nil {
		return
	}
	cmd.Process.Signal(sig)
	select {
	case <-done:
	case <-time.After(30 * time.Second):
		cmd.Process.Kill()
		<-done
		tw.t.Errorf("twin did not exit within 30s of %v", sig)
	}
}

func freeAddr(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().String()
}

// waitFor polls cond until it is true, fails on its error, and fails at the deadline.
func waitFor(t *testing.T, timeout time.Duration, what string, cond func() (bool, error)) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		ok, err := cond()
		if err != nil {
			t.Fatalf("waiting for %s: %v", what, err)
		}
		if ok {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("waiting for %s: not true after %v", what, timeout)
		}
		time.Sleep(50 * time.Millisecond) // a poll interval, not a wait for an outcome
	}
}

func (tw *Twin) awsConfig() aws.Config {
	return aws.Config{
		Region:      "us-east-1",
		Credentials: credentials.NewStaticCredentialsProvider("test", "test", ""),
		// Answers read whole in the transport (wholeBody: a streamed read's connection
		// is now and then closed under it on this machine).
		HTTPClient: &http.Client{Transport: wholeBody{awshttp.NewBuildableClient().GetTransport()}},
	}
}

// S3 is an aws-sdk-go-v2 client on the twin's edge.
func (tw *Twin) S3() *s3.Client {
	return s3.NewFromConfig(tw.awsConfig(), func(o *s3.Options) {
		o.BaseEndpoint = aws.String(tw.EdgeURL)
		o.UsePathStyle = true
	})
}

// SFN is a Step Functions client on the twin's edge.
func (tw *Twin) SFN() *sfn.Client {
	return sfn.NewFromConfig(tw.awsConfig(), func(o *sfn.Options) { o.BaseEndpoint = aws.String(tw.EdgeURL) })
}

// SQS is an SQS client on the twin's edge.
func (tw *Twin) SQS() *sqs.Client {
	return sqs.NewFromConfig(tw.awsConfig(), func(o *sqs.Options) { o.BaseEndpoint = aws.String(tw.EdgeURL) })
}

// API is an HTTP client that signs as the developer identity for execute-api: the
// stage under /api/ is AWS_IAM.
func (tw *Twin) API() *http.Client {
	return apiclient.New(tw.awsConfig().Credentials, "us-east-1")
}

// getJSON GETs an /api path (signed) and decodes the JSON answer into v; it returns
// the status.
func (tw *Twin) getJSON(t *testing.T, path string, v any) int {
	t.Helper()
	resp, err := tw.API().Get(tw.HTTPURL + path)
	if err != nil {
		t.Fatalf("GET %s: %v", path, err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	if v != nil && resp.StatusCode < 300 {
		if err := json.Unmarshal(body, v); err != nil {
			t.Fatalf("GET %s: decode %q: %v", path, body, err)
		}
	}
	return resp.StatusCode
}

type searchAnswer struct {
	Total  int64               `json:"total"`
	Images []pipeline.Document `json:"images"`
}

// search asks /api/images.
func (tw *Twin) search(t *testing.T, q string, size int) searchAnswer {
	t.Helper()
	var ans searchAnswer
	if st := tw.getJSON(t, fmt.Sprintf("/api/images?search=%s&size=%d", url.QueryEscape(q), size), &ans); st != 200 {
		t.Fatalf("search %q: status %d", q, st)
	}
	return ans
}

// documentByKey waits until the document of key is searchable and returns it.
func (tw *Twin) documentByKey(t *testing.T, key string, timeout time.Duration) pipeline.Document {
	t.Helper()
	var doc pipeline.Document
	id := pipeline.DocumentID("images", key)
	waitFor(t, timeout, "document for "+key, func() (bool, error) {
		var d pipeline.Document
		st := tw.getJSON(t, "/api/images/"+id, &d)
		if st == 200 {
			doc = d
			return true, nil
		}
		return false, nil
	})
	return doc
}

type failuresAnswer struct {
	Messages []struct {
		MessageID string          `json:"messageId"`
		Body      json.RawMessage `json:"body"`
	} `json:"messages"`
}

type failureBody struct {
	Error string               `json:"error"`
	Cause string               `json:"cause"`
	State string               `json:"state"`
	Input pipeline.ObjectEvent `json:"input"`
}

// failures reads the failure queue through the API, decoded.
func (tw *Twin) failures(t *testing.T) []failureBody {
	t.Helper()
	var ans failuresAnswer
	if st := tw.getJSON(t, "/api/failures", &ans); st != 200 {
		t.Fatalf("/api/failures: status %d", st)
	}
	out := make([]failureBody, 0, len(ans.Messages))
	for _, m := range ans.Messages {
		var b failureBody
		raw := m.Body
		var s string
		if json.Unmarshal(raw, &s) == nil { // a body given as a JSON string
			raw = []byte(s)
		}
		if err := json.Unmarshal(raw, &b); err != nil {
			t.Fatalf("failure body %s: %v", m.Body, err)
		}
		out = append(out, b)
	}
	return out
}

func ctxT(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	t.Cleanup(cancel)
	return ctx
}

func awsCLI(t *testing.T) string {
	t.Helper()
	for _, p := range []string{"/usr/bin/aws", "aws"} {
		if path, err := exec.LookPath(p); err == nil {
			if v, err := exec.Command(path, "--version").CombinedOutput(); err == nil {
				t.Logf("aws CLI: %s (%s)", strings.TrimSpace(string(v)), path)
				return path
			}
		}
	}
	testkit.SkipUnlessCI(t, "no working aws CLI on this machine (.ci/run installs Debian's awscli)")
	return ""
}

// runAWS runs the aws CLI against the twin and returns stdout.
func (tw *Twin) runAWS(t *testing.T, args ...string) string {
	t.Helper()
	cli := awsCLI(t)
	cmd := exec.Command(cli, append([]string{"--endpoint-url", tw.EdgeURL, "--region", "us-east-1", "--output", "json"}, args...)...)
	cmd.Env = append(os.Environ(), "AWS_ACCESS_KEY_ID=test", "AWS_SECRET_ACCESS_KEY=test", "AWS_DEFAULT_REGION=us-east-1",
		"AWS_CONFIG_FILE=/dev/null", "AWS_SHARED_CREDENTIALS_FILE=/dev/null", "AWS_PAGER=")
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("aws %s: %v\n%s", strings.Join(args, " "), err, stderr.String())
	}
	return stdout.String()
}
