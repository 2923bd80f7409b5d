package apiclient

import (
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/credentials"
)

// TestSigns: the request that reaches the server carries a SigV4 Authorization for
// execute-api in the region, and its body intact.
func TestSigns(t *testing.T) {
	var auth, body string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		auth = r.Header.Get("Authorization")
		b, _ := io.ReadAll(r.Body)
		body = string(b)
	}))
	defer srv.Close()
	c := New(credentials.NewStaticCredentialsProvider("AKIDTEST", "secret", ""), "eu-west-1")
	resp, err := c.Post(srv.URL+"/failures/redrive", "application/json", strings.NewReader(`{"messageIds":["a"]}`))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if !strings.HasPrefix(auth, "AWS4-HMAC-SHA256 Credential=AKIDTEST/") || !strings.Contains(auth, "/eu-west-1/execute-api/aws4_request") {
		t.Errorf("Authorization %q", auth)
	}
	if body != `{"messageIds":["a"]}` {
		t.Errorf("body %q", body)
	}
}
