package sigv4

import (
	"encoding/json"
	"net/http/httptest"
	"os/exec"
	"testing"

	"github.com/imagepipe/imagepipe/functions/testkit"
)

// TestCurlSigV4 signs with curl's --aws-sigv4, as the README tells developers to
// reach the search API.
func TestCurlSigV4(t *testing.T) {
	if _, err := exec.LookPath("curl"); err != nil {
		testkit.SkipUnlessCI(t, "curl not installed")
	}
	rec := newRecorder(t, false)
	curl := func(args ...string) seen {
		t.Helper()
		out, err := exec.Command("curl", append([]string{"-s", "-m", "10"}, args...)...).CombinedOutput()
		if err != nil {
			t.Fatalf("curl %v: %v\n%s", args, err, out)
		}
		return rec.next(t)
	}
	sigv4 := []string{"--aws-sigv4", "aws:amz:us-east-1:execute-api", "--user", "test:test"}
	url := rec.srv.URL + "/api/images"

	s := mustVerify(t, curl(append(sigv4, url+"?search=photo")...), "execute-api")
	if s.id.Principal.ARN != "arn:aws:iam::000000000000:user/test" {
		t.Errorf("principal %+v", s.id.Principal)
	}
	s = mustVerify(t, curl(append(sigv4, "-d", `{"q":"lighthouse"}`, url)...), "execute-api")
	if string(s.body) != `{"q":"lighthouse"}` {
		t.Errorf("body %q", s.body)
	}
	// curl 7.88 neither sorts the query nor encodes the path twice, as AWS does for
	// execute-api, so only a single parameter and a plain path are portable.
	mustVerify(t, curl(append(sigv4, url+"?search=a%20b")...), "execute-api")

	bad := curl("--aws-sigv4", "aws:amz:us-east-1:execute-api", "--user", "test:wrong", url+"?search=photo")
	wantKind(t, bad.err, SignatureMismatch)
	wantKind(t, curl(url+"?search=photo").err, MissingAuth)

	// What API Gateway answers an unsigned request.
	w := httptest.NewRecorder()
	APIGateway.WriteError(w, curl(url).err)
	var body map[string]string
	json.Unmarshal(w.Body.Bytes(), &body)
	if w.Code != 403 || body["message"] != "Missing Authentication Token" || w.Header().Get("X-Amzn-Errortype") != "MissingAuthenticationTokenException" {
		t.Errorf("unsigned: %d %v %v", w.Code, w.Header(), body)
	}
}
