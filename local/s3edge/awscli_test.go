package s3edge

import (
	"github.com/imagepipe/imagepipe/functions/testkit"

	"bytes"
	"cmp"
	"context"
	"crypto/rand"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestAWSCLI drives the real aws CLI on PATH against a real listener: put,
// multipart (20 MB), ls, cp back, rm. Skipped when aws is absent;
// IMAGEPIPE_AWS_CLI picks another binary (e.g. /usr/bin/aws from Debian's awscli).
func TestAWSCLI(t *testing.T) {
	awsBin, err := exec.LookPath(cmp.Or(os.Getenv("IMAGEPIPE_AWS_CLI"), "aws"))
	if err != nil {
		testkit.SkipUnlessCI(t, "aws CLI not on PATH")
	}
	k := &sink{}
	srv, err := New(t.TempDir(), Options{Emit: k.emit, RedeliverEvery: -1, Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	hs := &http.Server{Handler: srv.Handler(), ReadHeaderTimeout: 10 * time.Second}
	go hs.Serve(ln)
	t.Cleanup(func() {
		hs.Shutdown(context.Background())
		srv.Close()
	})
	endpoint := "http://" + ln.Addr().String()
	home := t.TempDir()
	try := func(args ...string) (string, error) {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
		defer cancel()
		cmd := exec.CommandContext(ctx, awsBin, append([]string{"--endpoint-url", endpoint}, args...)...)
		cmd.Env = append(os.Environ(),
			"HOME="+home, "AWS_CONFIG_FILE="+filepath.Join(home, "none"), "AWS_SHARED_CREDENTIALS_FILE="+filepath.Join(home, "none"),
			"AWS_ACCESS_KEY_ID=test", "AWS_SECRET_ACCESS_KEY=test", "AWS_DEFAULT_REGION=us-east-1",
			"AWS_EC2_METADATA_DISABLED=true", "AWS_PAGER=", "AWS_MAX_ATTEMPTS=1")
		out, err := cmd.CombinedOutput()
		return string(out), err
	}
	run := func(args ...string) string {
		t.Helper()
		out, err := try(args...)
		if err != nil {
			t.Fatalf("aws %s: %v\n%s", strings.Join(args, " "), err, out)
		}
		return out
	}
	version := strings.TrimSpace(run("--version"))
	t.Logf("aws CLI: %s", version)

	dir := t.TempDir()
	small := filepath.Join(dir, "photo one+two.jpg")
	smallData := []byte("\xff\xd8\xff small jpeg-ish")
	big := filepath.Join(dir, "big.jpg")
	bigData := make([]byte, 20<<20)
	rand.Read(bigData)
	if err := os.WriteFile(small, smallData, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(big, bigData, 0o644); err != nil {
		t.Fatal(err)
	}

	run("s3", "cp", small, "s3://images/upload/")
	run("s3", "cp", big, "s3://images/upload/big.jpg")
	expect(t, k.take(), "Object Created|PutObject|upload/photo one+two.jpg",
		"Object Created|CompleteMultipartUpload|upload/big.jpg")

	ls := run("s3", "ls", "s3://images/upload/")
	if !strings.Contains(ls, "photo one+two.jpg") || !strings.Contains(ls, "20971520 big.jpg") {
		t.Errorf("ls:\n%s", ls)
	}
	back := filepath.Join(dir, "back.jpg")
	run("s3", "cp", "s3://images/upload/big.jpg", back)
	if got, _ := os.ReadFile(back); !bytes.Equal(got, bigData) {
		t.Errorf("downloaded big.jpg differs (%d bytes)", len(got))
	}
	if head := run("s3api", "head-object", "--bucket", "images", "--key", "upload/photo one+two.jpg"); !strings.Contains(head, "image/jpeg") {
		t.Errorf("head-object: no guessed Content-Type:\n%s", head)
	}

	run("s3", "rm", "s3://images/upload/photo one+two.jpg")
	expect(t, k.take(), "Object Deleted|DeleteObject|upload/photo one+two.jpg")

	// S3's limits, as the CLI meets them.
	if out := run("s3api", "list-objects-v2", "--bucket", "images", "--max-keys", "0", "--no-paginate"); strings.Contains(out, `"Contents"`) || !strings.Contains(out, `"IsTruncated": false`) {
		t.Errorf("list-objects-v2 --max-keys 0:\n%s", out)
	}
	id := strings.TrimSpace(run("s3api", "create-multipart-upload", "--bucket", "images", "--key", "upload/abandoned.jpg", "--query", "UploadId", "--output", "text"))
	run("s3api", "upload-part", "--bucket", "images", "--key", "upload/abandoned.jpg", "--upload-id", id, "--part-number", "1", "--body", small)
	if out, err := try("s3api", "upload-part", "--bucket", "images", "--key", "upload/abandoned.jpg", "--upload-id", id, "--part-number", "10001", "--body", small); err == nil || !strings.Contains(out, "InvalidArgument") {
		t.Errorf("part 10001: %v\n%s", err, out)
	}
	run("s3api", "abort-multipart-upload", "--bucket", "images", "--key", "upload/abandoned.jpg", "--upload-id", id)
	if out := run("s3api", "list-multipart-uploads", "--bucket", "images"); strings.Contains(out, id) {
		t.Errorf("aborted upload still listed:\n%s", out)
	}
	var many strings.Builder
	many.WriteString(`{"Objects":[`)
	for i := range 1001 {
		if i > 0 {
			many.WriteString(",")
		}
		fmt.Fprintf(&many, `{"Key":"upload/%d.jpg"}`, i)
	}
	many.WriteString(`]}`)
	if out, err := try("s3api", "delete-objects", "--bucket", "images", "--delete", many.String()); err == nil || !strings.Contains(out, "MalformedXML") {
		t.Errorf("delete-objects with 1,001 keys: %v\n%s", err, out)
	}
	if evs := k.take(); len(evs) != 0 {
		t.Errorf("refused calls raised %d events", len(evs))
	}

	run("s3", "rm", "--recursive", "s3://images/upload/")
	expect(t, k.take(), "Object Deleted|DeleteObject|upload/big.jpg")
}
