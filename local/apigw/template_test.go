package apigw

import (
	"io"
	"log/slog"
	"os"
	"reflect"
	"testing"
)

// snapshotPath is the committed template snapshot; APIGW_TEMPLATE names another
// synthesized template (a fresh cdk.out/ImagePipe.template.json) instead.
const snapshotPath = "../../infra/snapshot/ImagePipe.template.json"

// The project's own template: its route table, and the behaviours it asks for.
func TestProjectTemplate(t *testing.T) {
	path := os.Getenv("APIGW_TEMPLATE")
	if path == "" {
		path = snapshotPath
	}
	if _, err := os.Stat(path); err != nil {
		t.Skipf("no synthesized template at %s (make snapshot writes it; APIGW_TEMPLATE names another): %v", path, err)
	}
	rs := loadTemplate(t, path)
	e := &env{inv: &invoker{}, clock: newClock()}
	api, err := New(rs, Options{Region: testRegion, Account: testAccount, Invoker: e.inv, Now: e.clock.Now,
		BasePath: "/api", Authorize: allowAll, Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	e.api = api
	if api.ID() != testAPIID || api.Stage() != "prod" {
		t.Errorf("ID %q, Stage %q", api.ID(), api.Stage())
	}
	// Every method but the CORS preflights is AWS_IAM.
	want := []Method{{"/", "OPTIONS", "NONE"}}
	for _, r := range []struct{ path, method string }{
		{"/executions", "GET"}, {"/executions/{arn}", "GET"}, {"/executions/{arn}/redrive", "POST"},
		{"/executions/{arn}/stop", "POST"}, {"/failures", "GET"}, {"/failures/discard", "POST"},
		{"/failures/redrive", "POST"}, {"/images", "GET"}, {"/images/delete", "POST"}, {"/images/{id}", "GET"}, {"/ping", "GET"},
		{"/uploads", "POST"},
	} {
		m := []Method{{r.path, r.method, "AWS_IAM"}, {r.path, "OPTIONS", "NONE"}}
		if r.method == "POST" { // sorted by method within a path
			m[0], m[1] = m[1], m[0]
		}
		want = append(want, m...)
	}
	if got := api.Methods(); !reflect.DeepEqual(got, want) {
		t.Errorf("Methods:\n%v\nwant\n%v", got, want)
	}

	if w := e.do("GET", "/api/images?search=photo", nil); w.Code != 200 {
		t.Errorf("search: %d %s", w.Code, w.Body.String())
	}
	if w := e.do("GET", "/api/ping", nil); w.Code != 200 {
		t.Errorf("ping: %d %s", w.Code, w.Body.String())
	}
	calls := e.inv.invocations()
	wantARN := []string{
		"arn:aws:lambda:us-east-1:000000000000:function:SearchFunctionEC64A147",
		"arn:aws:lambda:us-east-1:000000000000:function:PingFunction5A52DCC7",
	}
	if len(calls) != 2 || calls[0].arn != wantARN[0] || calls[1].arn != wantARN[1] {
		t.Errorf("invocations %v, want %v", calls, wantARN)
	}
	// search is optional (an empty one is the gallery), so nothing is refused.
	if w := e.do("GET", "/api/images?search=", nil); w.Code != 200 {
		t.Errorf("empty search: %d %s", w.Code, w.Body.String())
	}
	// The template's DEFAULT_4XX gateway response gives errors the CORS origin.
	w403 := e.do("GET", "/api/upload", nil)
	wantError(t, w403, 403, `{"message":"Missing Authentication Token"}`, "MissingAuthenticationTokenException")
	if got := w403.Header().Get("Access-Control-Allow-Origin"); got != "https://"+testCDN {
		t.Errorf("403 Access-Control-Allow-Origin %q, want the web origin", got)
	}

	for origin, allowed := range map[string]string{
		"http://localhost:5173": "https://" + testCDN, // the dev origin is opt-in (devOrigin context)
		"https://evil.example":  "https://" + testCDN,
	} {
		w := e.do("OPTIONS", "/api/ping", nil, "Origin", origin, "Access-Control-Request-Method", "GET")
		if w.Code != 204 || w.Header().Get("Access-Control-Allow-Origin") != allowed ||
			w.Header().Get("Access-Control-Allow-Methods") != "GET,POST,OPTIONS" {
			t.Errorf("preflight from %s: %d %v", origin, w.Code, w.Header())
		}
	}

	// The stage's throttle: a burst of 100 a method, one of which ping spent above.
	for i := 0; i < 99; i++ {
		if w := e.do("GET", "/api/ping", nil); w.Code != 200 {
			t.Fatalf("request %d: %d", i, w.Code)
		}
	}
	wantError(t, e.do("GET", "/api/ping", nil), 429, `{"message":"Too Many Requests"}`, "TooManyRequestsException")
}
