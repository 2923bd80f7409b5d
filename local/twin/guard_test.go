package twin

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"testing"
	"time"

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

func signed(t *testing.T, akid, secret, body string, when time.Time) *http.Request {
	t.Helper()
	req, _ := http.NewRequest(http.MethodPost, "http://twin.example:4566/", strings.NewReader(body))
	req.Header.Set("X-Amz-Target", "AWSStepFunctions.ListStateMachines")
	req.Header.Set("Content-Type", "application/x-amz-json-1.0")
	hash := "44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a" // sha256("{}")
	if err := v4.NewSigner().SignHTTP(context.Background(), aws.Credentials{AccessKeyID: akid, SecretAccessKey: secret}, req, hash, "states", "us-east-1", when); err != nil {
		t.Fatal(err)
	}
	// What a server sees: no scheme or host in URL, the host in Host.
	req.URL.Scheme, req.URL.Host = "", ""
	req.RequestURI = "/"
	return req
}

func TestVerifySigV4(t *testing.T) {
	now := time.Now().UTC()
	if !verifySigV4(signed(t, "AKIDTWIN", "a-secret-of-enough-length", "{}", now), "AKIDTWIN", "a-secret-of-enough-length") {
		t.Error("a correctly signed request was refused")
	}
	if verifySigV4(signed(t, "AKIDTWIN", "wrong-secret-of-some-length", "{}", now), "AKIDTWIN", "a-secret-of-enough-length") {
		t.Error("a request signed with another secret passed")
	}
	if verifySigV4(signed(t, "OTHER", "a-secret-of-enough-length", "{}", now), "AKIDTWIN", "a-secret-of-enough-length") {
		t.Error("another access key passed")
	}
	tampered := signed(t, "AKIDTWIN", "a-secret-of-enough-length", "{}", now)
	tampered.Header.Set("X-Amz-Target", "AWSStepFunctions.StartExecution")
	if verifySigV4(tampered, "AKIDTWIN", "a-secret-of-enough-length") {
		t.Error("a tampered signed header passed")
	}
	if verifySigV4(signed(t, "AKIDTWIN", "a-secret-of-enough-length", "{}", now.Add(-time.Hour)), "AKIDTWIN", "a-secret-of-enough-length") {
		t.Error("an hour-old signature passed")
	}
}
