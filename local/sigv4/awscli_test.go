package sigv4

import (
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/imagepipe/imagepipe/functions/testkit"
)

// TestAWSCLI signs with the AWS CLI (botocore), the other SigV4 implementation
// developers point at the twin: `aws --endpoint-url http://127.0.0.1:4566 ...`.
func TestAWSCLI(t *testing.T) {
	if _, err := exec.LookPath("aws"); err != nil {
		testkit.SkipUnlessCI(t, "the AWS CLI is not installed")
	}
	rec := newRecorder(t, false)
	dir := t.TempDir()
	photo := filepath.Join(dir, "IMG 0200.jpg")
	if err := os.WriteFile(photo, []byte("not really a jpeg"), 0o600); err != nil {
		t.Fatal(err)
	}
	run := func(args ...string) seen {
		t.Helper()
		cmd := exec.Command("aws", append([]string{"--endpoint-url", rec.srv.URL}, args...)...)
		cmd.Env = append(os.Environ(), "AWS_ACCESS_KEY_ID=test", "AWS_SECRET_ACCESS_KEY=test", "AWS_SESSION_TOKEN=",
			"AWS_DEFAULT_REGION=us-east-1", "AWS_MAX_ATTEMPTS=1", "AWS_CONFIG_FILE="+filepath.Join(dir, "none"),
			"AWS_SHARED_CREDENTIALS_FILE="+filepath.Join(dir, "none"))
		cmd.Dir = dir
		cmd.Run() // the recorder's answers are minimal: what it saw is what counts
		return rec.next(t)
	}
	s := mustVerify(t, run("s3api", "put-object", "--bucket", "images", "--key", "upload/2024/IMG 0200 (1).jpg", "--body", photo), "s3")
	if string(s.body) != "not really a jpeg" && s.id.PayloadHash != streamingUnsignedTrailer {
		t.Errorf("put-object body %q, payload hash %s", s.body, s.id.PayloadHash)
	}
	t.Logf("aws s3api put-object: x-amz-content-sha256 %s, %d bytes", s.id.PayloadHash, len(s.body))
	mustVerify(t, run("s3api", "list-objects-v2", "--bucket", "images", "--prefix", "upload/2024/"), "s3")
	mustVerify(t, run("stepfunctions", "list-executions", "--state-machine-arn", "arn:aws:states:us-east-1:000000000000:stateMachine:ImagePipe-Pipeline"), "states")
	mustVerify(t, run("lambda", "invoke", "--function-name", "arn:aws:lambda:us-east-1:000000000000:function:ImagePipe-RedriveFunction",
		"--payload", "{}", filepath.Join(dir, "out.json")), "lambda")
}
