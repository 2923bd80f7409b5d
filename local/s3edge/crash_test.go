package s3edge

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"
	"github.com/imagepipe/imagepipe/functions/pipeline"
)

// The crash tests run the edge in a child process (this test binary, re-executed)
// and kill it with SIGKILL, then reopen its store here.
const (
	crashDirEnv   = "S3EDGE_CRASH_CHILD_DIR"
	crashAfterEnv = "S3EDGE_CRASH_AFTER_COMMIT" // kill right after the Nth commit
	crashFailEnv  = "S3EDGE_CRASH_FAIL_EVERY"   // every Nth emission fails
)

func TestMain(m *testing.M) {
	if dir := os.Getenv(crashDirEnv); dir != "" {
		os.Exit(runCrashChild(dir))
	}
	os.Exit(m.Run())
}

// runCrashChild serves the edge on a loopback port (written to dir/addr) until it
// is killed. Each event it emits is appended to dir/delivered.jsonl and synced
// before Emit returns, so the file holds every event delivered before the kill.
func runCrashChild(dir string) int {
	logf, err := os.OpenFile(filepath.Join(dir, "delivered.jsonl"), os.O_APPEND|os.O_CREATE|os.O_WRONLY, 0o600)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 2
	}
	failEvery, _ := strconv.Atoi(os.Getenv(crashFailEnv))
	var mu sync.Mutex
	emitted := 0
	emit := func(_ context.Context, ev pipeline.ObjectEvent) error {
		mu.Lock()
		defer mu.Unlock()
		if emitted++; failEvery > 0 && emitted%failEvery == 0 {
			return errors.New("router unavailable")
		}
		b, _ := json.Marshal(ev)
		if _, err := logf.Write(append(b, '\n')); err != nil {
			return err
		}
		return logf.Sync()
	}
	if n, _ := strconv.Atoi(os.Getenv(crashAfterEnv)); n > 0 {
		var commits atomic.Int32
		testHookAfterCommit = func() {
			if int(commits.Add(1)) == n {
				_ = syscall.Kill(os.Getpid(), syscall.SIGKILL)
				select {}
			}
		}
	}
	srv, err := New(filepath.Join(dir, "store"), Options{Emit: emit, RedeliverEvery: 20 * time.Millisecond, Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 2
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 2
	}
	tmp := filepath.Join(dir, "addr.tmp")
	if err := os.WriteFile(tmp, []byte(ln.Addr().String()), 0o600); err != nil || os.Rename(tmp, filepath.Join(dir, "addr")) != nil {
		return 2
	}
	_ = http.Serve(ln, srv.Handler())
	return 1
}

// startChild runs the edge in a child process over dir and returns its endpoint.
func startChild(t *testing.T, dir string, env ...string) (*exec.Cmd, string) {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(append(os.Environ(), crashDirEnv+"="+dir), env...)
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })
	deadline := time.Now().Add(30 * time.Second)
	for {
		if b, err := os.ReadFile(filepath.Join(dir, "addr")); err == nil {
			return cmd, "http://" + string(b)
		}
		if time.Now().After(deadline) {
			t.Fatal("the child edge did not start within 30s")
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// delivered reads the events the child emitted before it died.
func deliveredBy(t *testing.T, dir string) []pipeline.ObjectEvent {
	t.Helper()
	f, err := os.Open(filepath.Join(dir, "delivered.jsonl"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var out []pipeline.ObjectEvent
	sc := bufio.NewScanner(f)
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		var ev pipeline.ObjectEvent
		if err := json.Unmarshal(sc.Bytes(), &ev); err != nil {
			break // a line the kill cut short was never acknowledged
		}
		out = append(out, ev)
	}
	return out
}

func countLines(path string) int {
	b, _ := os.ReadFile(path)
	return bytes.Count(b, []byte("\n"))
}

// reopen opens the dead child's store in this process, redelivers its outbox and
// returns the server and the events it redelivered.
func reopen(t *testing.T, dir string) (*Server, []pipeline.ObjectEvent) {
	t.Helper()
	k := &sink{}
	srv, err := New(filepath.Join(dir, "store"), Options{Emit: k.emit, RedeliverEvery: -1, LifecycleEvery: -1, Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { srv.Close() })
	if n, err := srv.Redeliver(context.Background()); n != 0 || err != nil {
		t.Fatalf("redeliver after restart: %d pending, %v", n, err)
	}
	return srv, k.take()
}

// storedObjects lists every object of the bucket with its ETag.
func storedObjects(t *testing.T, srv *Server) map[string]string {
	t.Helper()
	c := newClient(newHTTPTest(t, srv), 0)
	out := map[string]string{}
	p := s3.NewListObjectsV2Paginator(c, &s3.ListObjectsV2Input{Bucket: aws.String("images")})
	for p.HasMorePages() {
		page, err := p.NextPage(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		for _, o := range page.Contents {
			out[aws.ToString(o.Key)] = strings.Trim(aws.ToString(o.ETag), `"`)
		}
	}
	return out
}

// checkEveryObjectHasItsEvent: for each stored object, an "Object Created" event
// for its key and ETag was delivered before the kill or redelivered after it.
func checkEveryObjectHasItsEvent(t *testing.T, objects map[string]string, events []pipeline.ObjectEvent) {
	t.Helper()
	have := map[string]bool{}
	for _, ev := range events {
		key, err := ev.Key()
		if err != nil {
			t.Errorf("undecodable event key %q", ev.Detail.Object.Key)
		}
		if ev.DetailType == pipeline.DetailTypeCreated {
			have[key+"\x00"+ev.Detail.Object.ETag] = true
		}
	}
	for key, etag := range objects {
		if !have[key+"\x00"+etag] {
			t.Errorf("%s (etag %s) is stored but no event says so", key, etag)
		}
	}
}

// TestKill9MidUploadsEveryStoredObjectHasItsEvent kills the edge (SIGKILL) while
// eight clients upload (single PUTs with awkward keys, and multipart uploads), with
// one emission in five failing so the outbox holds events at the kill. After a
// restart every stored object has its event, and every upload the edge
// acknowledged is stored.
func TestKill9MidUploadsEveryStoredObjectHasItsEvent(t *testing.T) {
	dir := t.TempDir()
	cmd, url := startChild(t, dir, crashFailEnv+"=5")
	client := newClient(url, 1) // no retries: a failure is the client's to see
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var wg sync.WaitGroup
	var mu sync.Mutex
	acked := map[string]string{} // key → etag the edge answered 200 for
	var attempts, refused, cut atomic.Int64
	var killed atomic.Bool
	for w := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; ctx.Err() == nil; i++ {
				key := fmt.Sprintf("upload/w%d/%04d photo+ü=%d.jpg", w, i, i)
				body := bytes.Repeat([]byte{byte(w), byte(i)}, 512+(i*7919)%(128<<10))
				attempts.Add(1)
				var etag string
				var err error
				if w == 0 {
					etag, err = uploadMultipart(ctx, client, key, body)
				} else {
					var out *s3.PutObjectOutput
					out, err = client.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String("images"), Key: aws.String(key), Body: bytes.NewReader(body)})
					if err == nil {
						etag = strings.Trim(aws.ToString(out.ETag), `"`)
					}
				}
				if err != nil && killed.Load() {
					cut.Add(1) // in flight at the kill, or sent after it
					return
				}
				if err != nil {
					refused.Add(1) // 503: stored, event left in the outbox
					continue
				}
				mu.Lock()
				acked[key] = etag
				mu.Unlock()
			}
		}()
	}
	// Kill once events flow and uploads are in flight.
	deadline := time.Now().Add(60 * time.Second)
	for countLines(filepath.Join(dir, "delivered.jsonl")) < 150 {
		if time.Now().After(deadline) {
			t.Fatal("fewer than 150 events delivered in 60s")
		}
		time.Sleep(5 * time.Millisecond)
	}
	killed.Store(true)
	if err := cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	_ = cmd.Wait()
	wg.Wait() // every worker ends on its first failure after the kill
	cancel()

	before := deliveredBy(t, dir)
	srv, after := reopen(t, dir)
	objects := storedObjects(t, srv)
	checkEveryObjectHasItsEvent(t, objects, append(before, after...))
	for key, etag := range acked {
		if objects[key] != etag {
			t.Errorf("%s was acknowledged (etag %s) but is stored as %q", key, etag, objects[key])
		}
	}
	t.Logf("kill -9 mid-upload: %d uploads tried, %d acknowledged, %d answered 503, %d cut by the kill; %d objects stored; "+
		"%d events delivered before the kill, %d redelivered from the outbox after restart",
		attempts.Load(), len(acked), refused.Load(), cut.Load(), len(objects), len(before), len(after))
}

func uploadMultipart(ctx context.Context, c *s3.Client, key string, tail []byte) (string, error) {
	u := &mpu{c: c, key: key}
	cr, err := c.CreateMultipartUpload(ctx, &s3.CreateMultipartUploadInput{Bucket: aws.String("images"), Key: aws.String(key)})
	if err != nil {
		return "", err
	}
	u.id = cr.UploadId
	if err := u.part(1, bytes.Repeat([]byte{'m'}, minPartSize)); err != nil {
		return "", err
	}
	if err := u.part(2, tail); err != nil {
		return "", err
	}
	out, err := c.CompleteMultipartUpload(ctx, &s3.CompleteMultipartUploadInput{
		Bucket: aws.String("images"), Key: aws.String(key), UploadId: u.id,
		MultipartUpload: &types.CompletedMultipartUpload{Parts: u.parts},
	})
	if err != nil {
		return "", err
	}
	return strings.Trim(aws.ToString(out.ETag), `"`), nil
}

// TestKill9AfterCommitBeforeEventRedeliversIt kills the edge at the worst moment:
// the third upload's object has committed, its event has not left. Stored means
// its event is in the outbox, so the restart delivers it. (Before the outbox
// shared the object's transaction, this object was stored with no event.)
func TestKill9AfterCommitBeforeEventRedeliversIt(t *testing.T) {
	dir := t.TempDir()
	cmd, url := startChild(t, dir, crashAfterEnv+"=3")
	client := newClient(url, 1)
	for i, key := range []string{"upload/one.jpg", "upload/two.jpg", "upload/three and a half+.jpg"} {
		_, err := client.PutObject(context.Background(), &s3.PutObjectInput{
			Bucket: aws.String("images"), Key: aws.String(key), Body: strings.NewReader("body " + key),
		})
		if (err != nil) != (i == 2) {
			t.Fatalf("put %s: %v (the third must die with the edge)", key, err)
		}
	}
	if err := cmd.Wait(); err == nil {
		t.Fatal("the child edge did not die")
	}
	before := deliveredBy(t, dir)
	srv, after := reopen(t, dir)
	objects := storedObjects(t, srv)
	if len(objects) != 3 {
		t.Fatalf("stored %v, want the three objects (the third committed before the kill)", objects)
	}
	checkEveryObjectHasItsEvent(t, objects, append(before, after...))
	expect(t, after, "Object Created|PutObject|upload/three and a half+.jpg")
	t.Logf("killed after commit: %d events before the kill, %d redelivered after restart", len(before), len(after))
}
