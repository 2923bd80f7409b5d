package sigv4

import (
	"bufio"
	"bytes"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"
)

// wireRequest builds a request as a server reads it off the wire: method,
// request-target and headers in order, then the body.
func wireRequest(t *testing.T, method, target string, headers [][2]string, body string) *http.Request {
	t.Helper()
	var b strings.Builder
	b.WriteString(method + " " + target + " HTTP/1.1\r\n")
	for _, h := range headers {
		b.WriteString(h[0] + ":" + h[1] + "\r\n")
	}
	if body != "" && !hasHeader(headers, "Content-Length") {
		b.WriteString("Content-Length: " + strconv.Itoa(len(body)) + "\r\n")
	}
	b.WriteString("\r\n")
	b.WriteString(body)
	r, err := http.ReadRequest(bufio.NewReader(strings.NewReader(b.String())))
	if err != nil {
		t.Fatalf("read %s %s: %v", method, target, err)
	}
	return r
}

// replay reads a recorded request again, as a second arrival of the same bytes.
func replay(t testing.TB, raw []byte) *http.Request {
	t.Helper()
	r, err := http.ReadRequest(bufio.NewReader(bytes.NewReader(raw)))
	if err != nil {
		t.Fatalf("replay: %v", err)
	}
	return r
}

func hasHeader(headers [][2]string, name string) bool {
	for _, h := range headers {
		if strings.EqualFold(h[0], name) {
			return true
		}
	}
	return false
}

func mustTime(t *testing.T, s string) time.Time {
	t.Helper()
	v, err := time.Parse(amzDateForm, s)
	if err != nil {
		t.Fatal(err)
	}
	return v
}

// wantKind fails unless err is a refusal of kind k.
func wantKind(t *testing.T, err error, k Kind) {
	t.Helper()
	if got := KindOf(err); got != k {
		t.Fatalf("error %v: kind %v, want %v", err, got, k)
	}
}

func keysOf(pairs ...string) *Keys {
	k := NewKeys()
	for i := 0; i+1 < len(pairs); i += 2 {
		k.Put(pairs[i], Secret{SecretAccessKey: pairs[i+1], Principal: Principal{ARN: "arn:aws:iam::000000000000:user/" + pairs[i], Account: "000000000000"}})
	}
	return k
}
