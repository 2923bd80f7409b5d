package twin

import (
	"github.com/imagepipe/imagepipe/local/awsid"

	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/imagepipe/imagepipe/local/iam"
	"github.com/imagepipe/imagepipe/local/lambdart"
	"github.com/imagepipe/imagepipe/local/sigv4"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
)

func TestCheckAddrsKeepsLoopback(t *testing.T) {
	ok := Config{EdgeAddr: "127.0.0.1:4566", HTTPAddr: "[::1]:8080"}
	if err := checkAddrs(ok); err != nil {
		t.Errorf("loopback refused: %v", err)
	}
	remote := Config{EdgeAddr: "0.0.0.0:4566", HTTPAddr: "127.0.0.1:8080"}
	if err := checkAddrs(remote); !errors.Is(err, errRemote) {
		t.Errorf("0.0.0.0 without --allow-remote: %v", err)
	}
	remote.AllowRemote = true
	if err := checkAddrs(remote); !errors.Is(err, errRemote) {
		t.Errorf("--allow-remote without credentials: %v", err)
	}
	remote.AccessKeyID, remote.SecretAccessKey = "AKIDTWIN", "a-secret-of-enough-length"
	if err := checkAddrs(remote); err != nil {
		t.Errorf("--allow-remote with credentials: %v", err)
	}
}

func signed(t *testing.T, akid, secret, token, body string, when time.Time) *http.Request {
	t.Helper()
	req, _ := http.NewRequest(http.MethodPost, "http://127.0.0.1:4566/", strings.NewReader(body))
	req.Header.Set("X-Amz-Target", "AWSStepFunctions.StartExecution")
	req.Header.Set("Content-Type", "application/x-amz-json-1.0")
	sum := sha256.Sum256([]byte(body))
	creds := aws.Credentials{AccessKeyID: akid, SecretAccessKey: secret, SessionToken: token}
	if err := v4.NewSigner().SignHTTP(context.Background(), creds, req, hex.EncodeToString(sum[:]), "states", "us-east-1", when); err != nil {
		t.Fatal(err)
	}
	// What a server sees: no scheme or host in URL, the host in Host.
	req.URL.Scheme, req.URL.Host = "", ""
	req.RequestURI = "/"
	req.RemoteAddr = "127.0.0.1:50000"
	return req
}

// The edge lets a call through only when it is signed by a known key and the
// principal's policies allow it; otherwise the caller gets its protocol's error.
func TestEdgeAuthVerifiesAndAuthorizes(t *testing.T) {
	env := iam.Env{Partition: awsid.Partition, Region: Region, Account: Account}
	policies := iam.New(env)
	policies.Attach(developerARN, iam.AllowAll("developer"))
	a := &auth{env: env, keys: sigv4.NewKeys(), policies: policies, log: slog.New(slog.NewTextHandler(io.Discard, nil)), sessions: map[string]session{}}
	a.keys.Put("test", sigv4.Secret{SecretAccessKey: "test", Principal: sigv4.Principal{ARN: developerARN, Account: Account}})
	fn := lambdart.Function{Name: "F", ARN: FunctionARN("F"), Role: "arn:aws:iam::" + Account + ":role/NoStates"}
	id, secret, token := a.functionCredentials(fn)
	served := 0
	h := a.edgeAuth(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { served++ }))
	body := `{"stateMachineArn":"arn:aws:states:us-east-1:000000000000:stateMachine:P"}`
	now := time.Now().UTC()

	// want: 200 served, or any 4xx refusal (the status depends on the error, as in AWS).
	for _, c := range []struct {
		name string
		req  *http.Request
		want int
	}{
		{"developer", signed(t, "test", "test", "", body, now), 200},
		{"unsigned", func() *http.Request {
			r := signed(t, "test", "test", "", body, now)
			r.Header.Del("Authorization")
			return r
		}(), 400},
		{"wrong secret", signed(t, "test", "nope", "", body, now), 400},
		{"an hour old", signed(t, "test", "test", "", body, now.Add(-time.Hour)), 400},
		{"a role without states:StartExecution", signed(t, id, secret, token, body, now), 400},
	} {
		before := served
		w := httptest.NewRecorder()
		h.ServeHTTP(w, c.req)
		refused := w.Code >= 400 && w.Code < 500
		if (c.want == 200) != (w.Code == 200) || (c.want != 200) != refused || (c.want == 200) != (served == before+1) {
			t.Errorf("%s: %d (served %v) %s", c.name, w.Code, served > before, w.Body.String())
		}
		if c.want != 200 && !strings.Contains(w.Body.String(), "__type") {
			t.Errorf("%s: not in the JSON 1.0 error shape: %s", c.name, w.Body.String())
		}
	}
}
