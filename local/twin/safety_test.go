package twin

import (
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

// safetyTwin is a Twin with just what the safety layers read: its listeners' names.
func safetyTwin(t *testing.T, hosts ...string) *Twin {
	t.Helper()
	edge, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	web, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { edge.Close(); web.Close() })
	return &Twin{cfg: Config{Hosts: hosts}, edgeLn: edge, httpLn: web}
}

var ok = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Access-Control-Allow-Origin", "*") // what gofakes3 sets
	w.WriteHeader(http.StatusOK)
})

func do(h http.Handler, method, target string, header ...string) *httptest.ResponseRecorder {
	r := httptest.NewRequest(method, target, strings.NewReader("{}"))
	for i := 0; i+1 < len(header); i += 2 {
		if header[i] == "Host" {
			r.Host = header[i+1]
			continue
		}
		r.Header.Set(header[i], header[i+1])
	}
	w := httptest.NewRecorder()
	h.ServeHTTP(w, r)
	return w
}

// DNS rebinding: a request naming another host is refused, whatever its address.
func TestHostGuardRefusesOtherNames(t *testing.T) {
	tw := safetyTwin(t, "twin.lan")
	h := tw.hostGuard(ok)
	for host, want := range map[string]int{
		"127.0.0.1:4566": 200, "localhost:8080": 200, "[::1]:8080": 200, "twin.lan:8080": 200,
		"evil.example": 421, "evil.example:8080": 421, "127.0.0.1.evil.example": 421,
	} {
		if got := do(h, "GET", "/", "Host", host).Code; got != want {
			t.Errorf("Host %s: %d, want %d", host, got, want)
		}
	}
}

// A page on another origin cannot change anything on the web listener: its Origin is
// refused, and a "simple" text/plain POST (no preflight) is refused too.
func TestWebGuardRefusesCrossSiteWrites(t *testing.T) {
	tw := safetyTwin(t)
	h := tw.webGuard(ok)
	self := "http://" + tw.httpLn.Addr().String()
	host := tw.httpLn.Addr().String()
	cases := []struct {
		method, origin, ctype string
		want                  int
	}{
		{"GET", "https://evil.example", "", 200}, // reads are the browser's same-origin policy's job
		{"POST", "https://evil.example", "application/json", 403},
		{"PUT", "https://evil.example", "image/jpeg", 403},
		{"DELETE", "https://evil.example", "", 403},
		{"POST", self, "text/plain", 415},
		{"POST", "", "application/x-www-form-urlencoded", 415},
		{"POST", self, "application/json; charset=utf-8", 200},
		{"PUT", self, "image/jpeg", 200},
	}
	for _, c := range cases {
		w := do(h, c.method, "/api/load", "Host", host, "Origin", c.origin, "Content-Type", c.ctype)
		if w.Code != c.want {
			t.Errorf("%s from %q as %q: %d, want %d", c.method, c.origin, c.ctype, w.Code, c.want)
		}
		if w.Code == 200 && !strings.Contains(w.Header().Get("Content-Security-Policy"), "script-src 'self'") {
			t.Errorf("%s: no CSP on the app: %v", c.method, w.Header())
		}
	}
}

// The edge answers CORS from the bucket's rules, never "*": the web origin (the
// template's CloudFront origin) may PUT, another origin may not.
func TestBucketCORSFromTheTemplate(t *testing.T) {
	tw := safetyTwin(t)
	web := tw.httpLn.Addr().String()
	rules := map[string][]corsRule{"images": {{origins: []string{"https://" + web}, methods: []string{"PUT", "GET"}, headers: []string{"*"}, expose: []string{"ETag"}, maxAge: 3000}}}
	h := tw.bucketCORS(rules, ok)

	pre := do(h, "OPTIONS", "/images/upload/a.jpg", "Origin", "http://"+web, "Access-Control-Request-Method", "PUT", "Access-Control-Request-Headers", "content-type")
	if pre.Code != 200 || pre.Header().Get("Access-Control-Allow-Origin") != "http://"+web || pre.Header().Get("Access-Control-Allow-Headers") != "content-type" {
		t.Errorf("preflight from the web app: %d %v", pre.Code, pre.Header())
	}
	evil := do(h, "OPTIONS", "/images/upload/a.jpg", "Origin", "https://evil.example", "Access-Control-Request-Method", "PUT")
	if evil.Code != 403 || evil.Header().Get("Access-Control-Allow-Origin") != "" {
		t.Errorf("preflight from another origin: %d %v", evil.Code, evil.Header())
	}
	other := do(h, "OPTIONS", "/accesslogs/x", "Origin", "http://"+web, "Access-Control-Request-Method", "GET")
	if other.Code != 403 {
		t.Errorf("a bucket without CORS rules: %d", other.Code)
	}
	get := do(h, "GET", "/images/upload/a.jpg", "Origin", "https://evil.example")
	if got := get.Header().Get("Access-Control-Allow-Origin"); got != "" {
		t.Errorf("GET from another origin got Access-Control-Allow-Origin %q", got)
	}
	get = do(h, "GET", "/images/upload/a.jpg", "Origin", "http://"+web)
	if got := get.Header().Get("Access-Control-Allow-Origin"); got != "http://"+web || get.Header().Get("Access-Control-Expose-Headers") != "ETag" {
		t.Errorf("GET from the web app: %v", get.Header())
	}
}
