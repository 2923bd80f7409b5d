package apigw

import (
	"context"
	"encoding/base64"
	"errors"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"reflect"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"
)

var (
	uuidRE  = regexp.MustCompile(`^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$`)
	traceRE = regexp.MustCompile(`^Root=1-[0-9a-f]{8}-[0-9a-f]{24}$`)
	extIDRE = regexp.MustCompile(`^[A-Za-z0-9+/]{15}=$`)
)

// The event for GET /images?search=a&search=b is the v1 proxy event, field by field.
func TestProxyEvent(t *testing.T) {
	e := newEnv(t, fixture())
	w := e.do("GET", "/api/images?search=a&search=b", nil,
		"User-Agent", "test/1.0", "X-Custom", "one", "X-Custom", "two",
		"Connection", "keep-alive", "Authorization", "AWS4-HMAC-SHA256 Credential=test/...")
	if w.Code != 200 || w.Body.String() != "ok" {
		t.Fatalf("got %d %q", w.Code, w.Body.String())
	}
	calls := e.inv.invocations()
	if len(calls) != 1 || calls[0].arn != searchARN {
		t.Fatalf("invocations %+v", calls)
	}
	ev := calls[0].event
	// The random ids: their form, then their place.
	rc := ev["requestContext"].(map[string]any)
	reqID, extID := rc["requestId"].(string), rc["extendedRequestId"].(string)
	trace := ev["headers"].(map[string]any)["X-Amzn-Trace-Id"].(string)
	if !uuidRE.MatchString(reqID) || !extIDRE.MatchString(extID) || !traceRE.MatchString(trace) {
		t.Errorf("ids: requestId %q extendedRequestId %q trace %q", reqID, extID, trace)
	}
	if got := raw(w, "x-amzn-RequestId"); len(got) != 1 || got[0] != reqID {
		t.Errorf("x-amzn-RequestId %q, want the event's %q", got, reqID)
	}
	if got := raw(w, "x-amz-apigw-id"); len(got) != 1 || got[0] != extID {
		t.Errorf("x-amz-apigw-id %q, want the event's %q", got, extID)
	}
	want := mustJSON(t, `{
	  "resource": "/images",
	  "path": "/images",
	  "httpMethod": "GET",
	  "headers": {
	    "Authorization": "AWS4-HMAC-SHA256 Credential=test/...",
	    "Host": "example.com",
	    "User-Agent": "test/1.0",
	    "X-Amzn-Trace-Id": "TRACE",
	    "X-Custom": "two",
	    "X-Forwarded-For": "192.0.2.10",
	    "X-Forwarded-Port": "80",
	    "X-Forwarded-Proto": "http"
	  },
	  "multiValueHeaders": {
	    "Authorization": ["AWS4-HMAC-SHA256 Credential=test/..."],
	    "Host": ["example.com"],
	    "User-Agent": ["test/1.0"],
	    "X-Amzn-Trace-Id": ["TRACE"],
	    "X-Custom": ["one", "two"],
	    "X-Forwarded-For": ["192.0.2.10"],
	    "X-Forwarded-Port": ["80"],
	    "X-Forwarded-Proto": ["http"]
	  },
	  "queryStringParameters": {"search": "b"},
	  "multiValueQueryStringParameters": {"search": ["a", "b"]},
	  "pathParameters": null,
	  "stageVariables": null,
	  "requestContext": {
	    "accountId": "000000000000",
	    "apiId": "a1b2c3d4e5",
	    "deploymentId": "dep123",
	    "domainName": "example.com",
	    "domainPrefix": "example",
	    "extendedRequestId": "EXTID",
	    "httpMethod": "GET",
	    "identity": {
	      "accessKey": "test", "accountId": "`+testAccount+`", "caller": "developer",
	      "cognitoAuthenticationProvider": null, "cognitoAuthenticationType": null,
	      "cognitoIdentityId": null, "cognitoIdentityPoolId": null, "principalOrgId": null,
	      "sourceIp": "192.0.2.10", "user": "developer", "userAgent": "test/1.0",
	      "userArn": "arn:aws:iam::`+testAccount+`:user/developer"
	    },
	    "path": "/prod/images",
	    "protocol": "HTTP/1.1",
	    "requestId": "REQID",
	    "requestTime": "04/Mar/2024:19:15:17 +0000",
	    "requestTimeEpoch": 1709579717135,
	    "resourceId": "images",
	    "resourcePath": "/images",
	    "stage": "prod"
	  },
	  "body": null,
	  "isBase64Encoded": false
	}`)
	got := mustJSON(t, strings.NewReplacer(reqID, "REQID", extID, "EXTID", trace, "TRACE").Replace(pretty(ev)))
	if !reflect.DeepEqual(got, want) {
		t.Errorf("event:\n%s\nwant:\n%s", pretty(got), pretty(want))
	}
}

func TestProxyEventBodyAndBinary(t *testing.T) {
	e := newEnv(t, fixture())
	e.do("POST", "/api/files/a.txt", []byte(`{"a": "<b>"}`), "Content-Type", "application/json")
	e.do("PUT", "/api/files/a.png", []byte{0x89, 'P', 'N', 'G', 0, 0xff}, "Content-Type", "image/png")
	calls := e.inv.invocations()
	if len(calls) != 2 {
		t.Fatalf("%d invocations", len(calls))
	}
	if ev := calls[0].event; ev["body"] != `{"a": "<b>"}` || ev["isBase64Encoded"] != false {
		t.Errorf("text body: %v %v", ev["body"], ev["isBase64Encoded"])
	}
	if ev := calls[1].event; ev["body"] != base64.StdEncoding.EncodeToString([]byte{0x89, 'P', 'N', 'G', 0, 0xff}) || ev["isBase64Encoded"] != true {
		t.Errorf("binary body: %v %v", ev["body"], ev["isBase64Encoded"])
	}
	if h := calls[0].event["headers"].(map[string]any); h["Content-Length"] != nil {
		t.Errorf("Content-Length reached the function: %v", h)
	}
}

// Routing: literal over {variable} over {greedy+}, path parameters as sent, the
// trailing slash ignored.
func TestRouting(t *testing.T) {
	e := newEnv(t, fixture())
	cases := []struct {
		target, resource, path string
		params                 map[string]any
	}{
		{"/api/files/a/b%20c/d.txt", "/files/{proxy+}", "/files/a/b%20c/d.txt", map[string]any{"proxy": "a/b%20c/d.txt"}},
		{"/api/files/x", "/files/{proxy+}", "/files/x", map[string]any{"proxy": "x"}},
		{"/api/items/42", "/items/{id}", "/items/42", map[string]any{"id": "42"}},
		{"/api/items/special", "/items/special", "/items/special", nil},
		{"/api/items/special/", "/items/special", "/items/special/", nil},
	}
	for _, tc := range cases {
		w := e.do("GET", tc.target, nil)
		if w.Code != 200 {
			t.Errorf("%s: %d %s", tc.target, w.Code, w.Body.String())
			continue
		}
		calls := e.inv.invocations()
		ev := calls[len(calls)-1].event
		var params map[string]any
		if p, ok := ev["pathParameters"].(map[string]any); ok {
			params = p
		}
		if ev["resource"] != tc.resource || ev["path"] != tc.path || !reflect.DeepEqual(params, tc.params) {
			t.Errorf("%s: resource %v path %v params %v", tc.target, ev["resource"], ev["path"], ev["pathParameters"])
		}
	}
}

func TestMissingAuthenticationToken(t *testing.T) {
	e := newEnv(t, fixture())
	for _, tc := range []struct{ method, target string }{
		{"GET", "/api/nothing"},
		{"POST", "/api/images?search=x"}, // a path without that method
		{"GET", "/api/files"},            // {proxy+} needs a segment
		{"HEAD", "/api/ping"},            // GET does not answer HEAD
		{"GET", "/elsewhere/ping"},       // outside the base path
		{"GET", "/api/items/42/more"},
	} {
		w := e.do(tc.method, tc.target, nil)
		body := `{"message":"Missing Authentication Token"}`
		if tc.method == "HEAD" {
			body = "" // the same answer, without its body
		}
		wantError(t, w, 403, body, "MissingAuthenticationTokenException")
	}
	if n := len(e.inv.invocations()); n != 0 {
		t.Errorf("%d invocations", n)
	}
}

// ?search= is missing too (developer guide, "Test basic request validation").
func TestRequiredParameter(t *testing.T) {
	e := newEnv(t, fixture())
	for _, target := range []string{"/api/images", "/api/images?search=", "/api/images?search=%20", "/api/images?other=x"} {
		w := e.do("GET", target, nil)
		wantError(t, w, 400, `{"message": "Missing required request parameters: [search]"}`, "BadRequestException")
	}
	if n := len(e.inv.invocations()); n != 0 {
		t.Errorf("a failed validation invoked the function %d times", n)
	}
	if w := e.do("GET", "/api/images?search=photo", nil); w.Code != 200 {
		t.Errorf("valid request: %d %s", w.Code, w.Body.String())
	}
	// No validator on /ping's parameters: nothing is required.
	if w := e.do("GET", "/api/ping", nil); w.Code != 200 {
		t.Errorf("ping: %d", w.Code)
	}
}

func TestSeveralMissingParameters(t *testing.T) {
	rs := edit(t, fixture(), "ImagesGET", func(p map[string]any) {
		p["RequestParameters"] = map[string]any{
			"method.request.querystring.search": true, "method.request.header.x-token": true,
			"method.request.querystring.page": false,
		}
	})
	e := newEnv(t, rs)
	wantError(t, e.do("GET", "/api/images", nil), 400,
		`{"message": "Missing required request parameters: [search, x-token]"}`, "BadRequestException")
	if w := e.do("GET", "/api/images?search=a", nil, "X-Token", "t"); w.Code != 200 {
		t.Errorf("got %d", w.Code)
	}
}

func TestPreflight(t *testing.T) {
	e := newEnv(t, fixture())
	for _, tc := range []struct {
		origin, want string
	}{
		{"http://localhost:5173", "http://localhost:5173"},
		{webOrigin, webOrigin},
		{"https://evil.example", webOrigin}, // not echoed
		{"", webOrigin},
	} {
		var h []string
		if tc.origin != "" {
			h = []string{"Origin", tc.origin, "Access-Control-Request-Method", "GET"}
		}
		w := e.do("OPTIONS", "/api/images", nil, h...)
		if w.Code != 204 || w.Body.Len() != 0 {
			t.Errorf("origin %q: %d %q", tc.origin, w.Code, w.Body.String())
		}
		got := w.Header()
		if o := got.Values("Access-Control-Allow-Origin"); len(o) != 1 || o[0] != tc.want {
			t.Errorf("origin %q: Access-Control-Allow-Origin %q, want %q", tc.origin, o, tc.want)
		}
		for k, v := range map[string]string{
			"Access-Control-Allow-Methods": "GET,OPTIONS", "Access-Control-Max-Age": "3600", "Vary": "Origin",
			"Access-Control-Allow-Headers": "Content-Type,Authorization,X-Amz-Date,X-Amz-Security-Token,X-Amz-Content-Sha256",
		} {
			if got.Get(k) != v {
				t.Errorf("origin %q: %s = %q, want %q", tc.origin, k, got.Get(k), v)
			}
		}
	}
	if w := e.do("OPTIONS", "/api/", nil, "Origin", "http://localhost:5173"); w.Code != 204 ||
		w.Header().Get("Access-Control-Allow-Origin") != "http://localhost:5173" {
		t.Errorf("root preflight: %d %v", w.Code, w.Header())
	}
	if n := len(e.inv.invocations()); n != 0 {
		t.Errorf("a preflight invoked a function")
	}
}

func TestLambdaFailures(t *testing.T) {
	cases := map[string]func(context.Context, string, []byte) ([]byte, error){
		"function error": func(context.Context, string, []byte) ([]byte, error) {
			return nil, errors.New("Unhandled: boom")
		},
		"not JSON":            answering(`Internal error`),
		"a string":            answering(`"justAString"`),
		"null":                answering(`null`),
		"unknown key":         answering(`{"statusCode":200,"wrongValue":"value"}`),
		"error payload":       answering(`{"errorMessage":"boom","errorType":"Error"}`),
		"body not a string":   answering(`{"statusCode":200,"body":{"hey":"dude"}}`),
		"status not a number": answering(`{"statusCode":"test"}`),
		"status out of range": answering(`{"statusCode":1200}`),
		"multi not a list":    answering(`{"statusCode":200,"multiValueHeaders":{"x":"v"}}`),
		"header a number":     answering(`{"statusCode":200,"headers":{"x":1}}`),
		"header with newline": answering(`{"statusCode":200,"headers":{"x":"a\nb"}}`),
		"base64 not a bool":   answering(`{"statusCode":200,"isBase64Encoded":"yes"}`),
	}
	for name, answer := range cases {
		t.Run(name, func(t *testing.T) {
			e := newEnv(t, fixture())
			e.inv.answer = answer
			wantError(t, e.do("GET", "/api/ping", nil), 502, `{"message": "Internal server error"}`, "InternalServerErrorException")
		})
	}
}

func TestLambdaAnswers(t *testing.T) {
	cases := []struct {
		name, answer string
		status       int
		body         string
		headers      map[string][]string
	}{
		{"status only", `{"statusCode":200}`, 200, "", map[string][]string{"Content-Type": {"application/json"}}},
		{"no status", `{"headers":{"test-header":"value"}}`, 200, "", map[string][]string{"test-header": {"value"}}},
		{"status as text", `{"statusCode":"201","body":"made"}`, 201, "made", nil},
		{"null headers", `{"statusCode":404,"headers":null,"body":"no"}`, 404, "no", nil},
		{"booleans", `{"statusCode":200,"headers":{"header-bool":true}}`, 200, "", map[string][]string{"header-bool": {"true"}}},
		{"multi and single merged", `{"statusCode":200,"multiValueHeaders":{"tesT-Multi":["value-multi"]},"headers":{"test-multi":"value-solo"}}`,
			200, "", map[string][]string{"tesT-Multi": {"value-multi", "value-solo"}}},
		{"same pair once", `{"statusCode":200,"multiValueHeaders":{"x-a":["1","2"]},"headers":{"x-a":"2"}}`,
			200, "", map[string][]string{"x-a": {"1", "2"}}},
		{"content type kept", `{"statusCode":200,"headers":{"content-type":"text/html"},"body":"<p>"}`,
			200, "<p>", map[string][]string{"content-type": {"text/html"}}},
		{"remapped", `{"statusCode":200,"headers":{"Date":"yesterday","Server":"mine","Transfer-Encoding":"chunked"}}`,
			200, "", map[string][]string{"x-amzn-Remapped-Date": {"yesterday"}, "x-amzn-Remapped-Server": {"mine"}}},
		{"base64 without binary types", `{"statusCode":200,"body":"dGVzdC1kYXRh","isBase64Encoded":true}`, 200, "dGVzdC1kYXRh", nil},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t, fixture())
			e.inv.answer = answering(tc.answer)
			w := e.do("GET", "/api/ping", nil)
			if w.Code != tc.status || w.Body.String() != tc.body {
				t.Errorf("got %d %q, want %d %q", w.Code, w.Body.String(), tc.status, tc.body)
			}
			for k, v := range tc.headers {
				if got := w.Header()[k]; !reflect.DeepEqual(got, v) {
					t.Errorf("header %s = %q, want %q (all: %v)", k, got, v, w.Header())
				}
			}
			for _, k := range []string{"Date", "Server", "Transfer-Encoding"} {
				if tc.name == "remapped" && len(w.Header()[k]) > 0 {
					t.Errorf("%s passed through", k)
				}
			}
			if !traceRE.MatchString(w.Header().Get("X-Amzn-Trace-Id")) {
				t.Errorf("no trace id: %v", w.Header())
			}
		})
	}
}

// A base64 body is decoded only for a client whose first accepted type is binary.
func TestBinaryResponse(t *testing.T) {
	png := []byte{0x89, 'P', 'N', 'G', 0x0d, 0x0a, 0x1a, 0x0a, 0}
	b64 := base64.StdEncoding.EncodeToString(png)
	e := newEnv(t, fixture())
	e.inv.answer = answering(`{"statusCode":200,"headers":{"Content-Type":"image/png"},"body":"` + b64 + `","isBase64Encoded":true}`)
	for _, tc := range []struct {
		accept string
		binary bool
	}{
		{"image/png", true},
		{"image/png,image/*,*/*;q=0.8", true},
		{"image/webp,image/png,*/*;q=0.8", false}, // only the first counts
		{"image/*", false},
		{"*/*", false},
		{"", false},
	} {
		w := e.do("GET", "/api/files/x.png", nil, "Accept", tc.accept)
		want := b64
		if tc.binary {
			want = string(png)
		}
		if w.Code != 200 || w.Body.String() != want {
			t.Errorf("Accept %q: got %d %q, want %q", tc.accept, w.Code, w.Body.String(), want)
		}
	}
	e.inv.answer = answering(`{"statusCode":200,"body":"!!not base64!!","isBase64Encoded":true}`)
	wantError(t, e.do("GET", "/api/files/x.png", nil, "Accept", "image/png"), 500,
		`{"message": "Internal server error"}`, "InternalServerErrorException")
}

func TestIntegrationTimeout(t *testing.T) {
	rs := edit(t, fixture(), "PingGET", func(p map[string]any) {
		p["Integration"].(map[string]any)["TimeoutInMillis"] = 50
	})
	e := newEnv(t, rs)
	e.inv.answer = func(ctx context.Context, _ string, _ []byte) ([]byte, error) {
		<-ctx.Done() // a function that outlives the integration timeout
		return nil, ctx.Err()
	}
	start := time.Now()
	wantError(t, e.do("GET", "/api/ping", nil), 504, `{"message": "Endpoint request timed out"}`, "InternalServerErrorException")
	if d := time.Since(start); d > 10*time.Second {
		t.Errorf("the timeout took %v", d)
	}
}

func TestThrottle(t *testing.T) {
	rs := edit(t, fixture(), "Stage", func(p map[string]any) {
		p["MethodSettings"] = []any{
			map[string]any{"ResourcePath": "/*", "HttpMethod": "*", "ThrottlingBurstLimit": 3, "ThrottlingRateLimit": 2},
			map[string]any{"ResourcePath": "/~1images", "HttpMethod": "GET", "ThrottlingBurstLimit": 1, "ThrottlingRateLimit": 1},
		}
	})
	e := newEnv(t, rs)
	for i := 0; i < 3; i++ {
		if w := e.do("GET", "/api/ping", nil); w.Code != 200 {
			t.Fatalf("request %d: %d", i, w.Code)
		}
	}
	wantError(t, e.do("GET", "/api/ping", nil), 429, `{"message":"Too Many Requests"}`, "TooManyRequestsException")
	// Each method has its own bucket, and its own setting wins.
	if w := e.do("GET", "/api/images?search=a", nil); w.Code != 200 {
		t.Errorf("images: %d", w.Code)
	}
	wantError(t, e.do("GET", "/api/images?search=a", nil), 429, `{"message":"Too Many Requests"}`, "TooManyRequestsException")
	e.clock.Advance(500 * time.Millisecond) // one token at 2 a second
	if w := e.do("GET", "/api/ping", nil); w.Code != 200 {
		t.Errorf("after refill: %d", w.Code)
	}
	wantError(t, e.do("GET", "/api/ping", nil), 429, `{"message":"Too Many Requests"}`, "TooManyRequestsException")
	e.clock.Advance(time.Hour) // refills to the burst, no further
	for i := 0; i < 3; i++ {
		if w := e.do("GET", "/api/ping", nil); w.Code != 200 {
			t.Errorf("after an hour, request %d: %d", i, w.Code)
		}
	}
	if w := e.do("GET", "/api/ping", nil); w.Code != 429 {
		t.Errorf("the bucket outgrew its burst: %d", w.Code)
	}
}

func TestGatewayResponses(t *testing.T) {
	rs := append(fixture(),
		Resource{LogicalID: "Default4xx", Type: "AWS::ApiGateway::GatewayResponse", PhysicalID: "gr1", Properties: map[string]any{
			"RestApiId": testAPIID, "ResponseType": "DEFAULT_4XX",
			"ResponseParameters": map[string]any{"gatewayresponse.header.Access-Control-Allow-Origin": "'*'"},
		}},
		Resource{LogicalID: "Missing", Type: "AWS::ApiGateway::GatewayResponse", PhysicalID: "gr2", Properties: map[string]any{
			"RestApiId": testAPIID, "ResponseType": "MISSING_AUTHENTICATION_TOKEN", "StatusCode": "404",
			"ResponseParameters": map[string]any{"gatewayresponse.header.x-origin": "method.request.header.Origin"},
			"ResponseTemplates":  map[string]any{"application/json": `{"error":$context.error.messageString,"type":"$context.error.responseType"}`},
		}},
		Resource{LogicalID: "Default5xx", Type: "AWS::ApiGateway::GatewayResponse", PhysicalID: "gr3", Properties: map[string]any{
			"RestApiId": testAPIID, "ResponseType": "DEFAULT_5XX", "StatusCode": "503",
		}},
	)
	e := newEnv(t, rs)
	w := e.do("GET", "/api/nothing", nil, "Origin", "https://x.example")
	if w.Code != 404 || w.Body.String() != `{"error":"Missing Authentication Token","type":"MISSING_AUTHENTICATION_TOKEN"}` ||
		raw(w, "x-origin")[0] != "https://x.example" || raw(w, "x-amzn-ErrorType")[0] != "MissingAuthenticationTokenException" {
		t.Errorf("customized: %d %s %v", w.Code, w.Body.String(), w.Header())
	}
	w = e.do("GET", "/api/images", nil)
	if w.Code != 400 || w.Header().Get("Access-Control-Allow-Origin") != "*" ||
		w.Body.String() != `{"message": "Missing required request parameters: [search]"}` {
		t.Errorf("DEFAULT_4XX: %d %s %v", w.Code, w.Body.String(), w.Header())
	}
	e.inv.answer = answering(`{"bad":1}`)
	if w = e.do("GET", "/api/ping", nil); w.Code != 503 || w.Body.String() != `{"message": "Internal server error"}` {
		t.Errorf("DEFAULT_5XX status: %d %s", w.Code, w.Body.String())
	}
}

func TestPayloadLimits(t *testing.T) {
	e := newEnv(t, fixture())
	w := e.do("POST", "/api/files/big", make([]byte, maxPayload+1), "Content-Type", "application/octet-stream")
	if w.Code != 413 || w.Body.String() != "HTTP content length exceeded 10485760 bytes." {
		t.Errorf("over 10 MB: %d %q", w.Code, w.Body.String())
	}
	// Under API Gateway's quota, over Lambda's: the event is refused.
	w = e.do("POST", "/api/files/big", make([]byte, 7<<20), "Content-Type", "application/octet-stream")
	wantError(t, w, 413, `{"message": "Request Too Long"}`, "BadRequestException")
	if n := len(e.inv.invocations()); n != 0 {
		t.Errorf("%d invocations", n)
	}
}

func TestStageInPath(t *testing.T) {
	e := newEnv(t, fixture())
	api, err := New(fixture(), Options{Account: testAccount, Invoker: e.inv, Now: e.clock.Now, StageInPath: true, Authorize: allowAll,
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		t.Fatal(err)
	}
	e.api = api
	if w := e.do("GET", "/prod/ping", nil); w.Code != 200 {
		t.Errorf("/prod/ping: %d", w.Code)
	}
	calls := e.inv.invocations()
	if ev := calls[len(calls)-1].event; ev["path"] != "/ping" || ev["requestContext"].(map[string]any)["path"] != "/prod/ping" {
		t.Errorf("paths %v %v", ev["path"], ev["requestContext"])
	}
	wantError(t, e.do("GET", "/dev/ping", nil), 403, `{"message":"Forbidden"}`, "ForbiddenException")
	wantError(t, e.do("GET", "/prod/nothing", nil), 403, `{"message":"Missing Authentication Token"}`, "MissingAuthenticationTokenException")
}

func TestAccessLog(t *testing.T) {
	e := newEnv(t, fixture())
	e.do("GET", "/api/images?search=a", nil)
	e.do("GET", "/api/nothing", nil)
	var records []map[string]any
	for _, line := range strings.Split(strings.TrimSpace(e.logs.String()), "\n") {
		if rec := mustJSON(t, line).(map[string]any); rec["msg"] == "apigw access" {
			records = append(records, rec)
		}
	}
	if len(records) != 2 {
		t.Fatalf("access records: %v", records)
	}
	want := []map[string]string{
		{"ip": "192.0.2.10", "user": "developer", "caller": "developer", "requestTime": "04/Mar/2024:19:15:17 +0000", "httpMethod": "GET",
			"resourcePath": "/images", "status": "200", "protocol": "HTTP/1.1", "responseLength": "2"},
		{"resourcePath": "-", "status": "403", "responseLength": "42"},
	}
	for i, w := range want {
		for k, v := range w {
			if records[i][k] != v {
				t.Errorf("record %d: %s = %v, want %q", i, k, records[i][k], v)
			}
		}
		if !uuidRE.MatchString(records[i]["requestId"].(string)) {
			t.Errorf("record %d: requestId %v", i, records[i]["requestId"])
		}
	}
}

func TestMethods(t *testing.T) {
	e := newEnv(t, fixture())
	got := e.api.Methods()
	want := []Method{
		{"/", "OPTIONS", "NONE"},
		{"/files/{proxy+}", "ANY", "AWS_IAM"},
		{"/images", "GET", "AWS_IAM"},
		{"/images", "OPTIONS", "NONE"},
		{"/items/special", "GET", "AWS_IAM"},
		{"/items/{id}", "GET", "AWS_IAM"},
		{"/ping", "GET", "AWS_IAM"},
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("Methods:\n%v\nwant\n%v", got, want)
	}
	if e.api.ID() != testAPIID || e.api.Stage() != "prod" {
		t.Errorf("ID %q Stage %q", e.api.ID(), e.api.Stage())
	}
}

// What the twin cannot do as AWS does is an error at New, naming the resource and
// the feature.
func TestUnsupported(t *testing.T) {
	integration := func(id string, f func(in map[string]any)) func(t *testing.T) []Resource {
		return func(t *testing.T) []Resource {
			return edit(t, fixture(), id, func(p map[string]any) { f(p["Integration"].(map[string]any)) })
		}
	}
	props := func(id string, f func(p map[string]any)) func(t *testing.T) []Resource {
		return func(t *testing.T) []Resource { return edit(t, fixture(), id, f) }
	}
	cases := []struct {
		name, resource, feature string
		rs                      func(t *testing.T) []Resource
	}{
		{"HTTP integration", "PingGET", "Integration.Type HTTP_PROXY", integration("PingGET", func(in map[string]any) { in["Type"] = "HTTP_PROXY" })},
		{"Cognito authorizer", "PingGET", "AuthorizationType COGNITO_USER_POOLS", props("PingGET", func(p map[string]any) { p["AuthorizationType"] = "COGNITO_USER_POOLS" })},
		{"custom authorizer", "PingGET", "AuthorizationType CUSTOM", props("PingGET", func(p map[string]any) { p["AuthorizationType"] = "CUSTOM" })},
		{"API key", "PingGET", "ApiKeyRequired", props("PingGET", func(p map[string]any) { p["ApiKeyRequired"] = true })},
		{"caching", "Stage", "CachingEnabled", props("Stage", func(p map[string]any) {
			p["MethodSettings"] = []any{map[string]any{"ResourcePath": "/*", "HttpMethod": "*", "CachingEnabled": true}}
		})},
		{"canary", "Stage", "CanarySetting", props("Stage", func(p map[string]any) { p["CanarySetting"] = map[string]any{"PercentTraffic": 10} })},
		{"unknown property", "PingGET", "property Foo", props("PingGET", func(p map[string]any) { p["Foo"] = 1 })},
		{"body validation", "PingGET", "RequestModels", props("PingGET", func(p map[string]any) {
			p["RequestModels"] = map[string]any{"application/json": "MyModel"}
		})},
		{"VTL foreach", "ImagesOPTIONS", "#foreach", integration("ImagesOPTIONS", func(in map[string]any) {
			in["IntegrationResponses"].([]any)[0].(map[string]any)["ResponseTemplates"] = map[string]any{
				"application/json": "#foreach($h in $input.params().header.keySet())$h#end"}
		})},
		{"VTL util", "ImagesOPTIONS", "$util", integration("ImagesOPTIONS", func(in map[string]any) {
			in["RequestTemplates"] = map[string]any{"application/json": `{"statusCode": $util.escapeJavaScript("200")}`}
		})},
		{"dynamic header", "ImagesOPTIONS", "only static values", integration("ImagesOPTIONS", func(in map[string]any) {
			in["IntegrationResponses"].([]any)[0].(map[string]any)["ResponseParameters"] = map[string]any{
				"method.response.header.Vary": "integration.response.header.Vary"}
		})},
		{"resource policy", "Api", "property Policy", props("Api", func(p map[string]any) { p["Policy"] = map[string]any{} })},
		{"private endpoint", "Api", "PRIVATE", props("Api", func(p map[string]any) {
			p["EndpointConfiguration"] = map[string]any{"Types": []any{"PRIVATE"}}
		})},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := New(tc.rs(t), Options{Invoker: &invoker{}})
			var ue *UnsupportedError
			if !errors.As(err, &ue) || ue.LogicalID != tc.resource || !strings.Contains(err.Error(), tc.feature) {
				t.Errorf("got %v, want an UnsupportedError for %s naming %q", err, tc.resource, tc.feature)
			}
		})
	}
	t.Run("authorizer resource", func(t *testing.T) {
		rs := append(fixture(), Resource{LogicalID: "Auth", Type: "AWS::ApiGateway::Authorizer", Properties: map[string]any{}})
		var ue *UnsupportedError
		if _, err := New(rs, Options{Invoker: &invoker{}}); !errors.As(err, &ue) || ue.LogicalID != "Auth" {
			t.Errorf("got %v", err)
		}
	})
}

func TestInvalidTemplates(t *testing.T) {
	for name, rs := range map[string]func(t *testing.T) []Resource{
		"no stage": func(t *testing.T) []Resource {
			var out []Resource
			for _, r := range fixture() {
				if r.Type != "AWS::ApiGateway::Stage" {
					out = append(out, r)
				}
			}
			return out
		},
		"two variable siblings": func(t *testing.T) []Resource {
			return append(fixture(), resourceFor("itemsOther", "items", "{other}"))
		},
		"under a greedy part": func(t *testing.T) []Resource {
			return append(fixture(), resourceFor("deeper", "filesProxy", "deeper"))
		},
		"a parent cycle": func(t *testing.T) []Resource {
			return append(fixture(), resourceFor("loopA", "loopB", "a"), resourceFor("loopB", "loopA", "b"))
		},
		"missing validator": func(t *testing.T) []Resource {
			return edit(t, fixture(), "PingGET", func(p map[string]any) { p["RequestValidatorId"] = "nope" })
		},
		"undeclared response header": func(t *testing.T) []Resource {
			return edit(t, fixture(), "ImagesOPTIONS", func(p map[string]any) {
				p["MethodResponses"] = []any{map[string]any{"StatusCode": "204"}}
			})
		},
		"GET to Lambda": func(t *testing.T) []Resource {
			return edit(t, fixture(), "PingGET", func(p map[string]any) { p["Integration"].(map[string]any)["IntegrationHttpMethod"] = "GET" })
		},
	} {
		t.Run(name, func(t *testing.T) {
			if _, err := New(rs(t), Options{Invoker: &invoker{}}); err == nil {
				t.Error("New accepted it")
			}
		})
	}
	if _, err := New(fixture(), Options{}); err == nil || !strings.Contains(err.Error(), "Invoker") {
		t.Errorf("no invoker: %v", err)
	}
}

// Over a real connection: header names as written, the listener's port in
// X-Forwarded-Port, a 204 without a body, HEAD without one.
func TestOverHTTP(t *testing.T) {
	e := newEnv(t, fixture())
	e.inv.answer = answering(`{"statusCode":200,"headers":{"tesT-Multi":"v"},"body":"hello"}`)
	srv := httptest.NewServer(e.api.Handler())
	defer srv.Close()
	resp, err := http.Get(srv.URL + "/api/ping")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || string(body) != "hello" || resp.Header.Get("Test-Multi") != "v" ||
		resp.Header.Get("X-Amzn-Requestid") == "" || resp.ContentLength != 5 {
		t.Errorf("got %d %q %v", resp.StatusCode, body, resp.Header)
	}
	_, port, _ := net.SplitHostPort(strings.TrimPrefix(srv.URL, "http://"))
	calls := e.inv.invocations()
	if h := calls[0].event["headers"].(map[string]any); h["X-Forwarded-Port"] != port || h["Host"] != "127.0.0.1:"+port {
		t.Errorf("headers %v, want port %s", h, port)
	}
	req, _ := http.NewRequest("OPTIONS", srv.URL+"/api/images", nil)
	req.Header.Set("Origin", "http://localhost:5173")
	resp, err = http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 204 || resp.Header.Get("Access-Control-Allow-Origin") != "http://localhost:5173" {
		t.Errorf("preflight %d %v", resp.StatusCode, resp.Header)
	}
	resp, err = http.Head(srv.URL + "/api/nothing")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 403 || resp.Header.Get("X-Amzn-Errortype") != "MissingAuthenticationTokenException" {
		t.Errorf("HEAD %d %v", resp.StatusCode, resp.Header)
	}
}

// Requests in parallel share the buckets and the route table safely (run with -race).
func TestConcurrent(t *testing.T) {
	e := newEnv(t, fixture())
	var wg sync.WaitGroup
	codes := make(chan int, 200)
	for i := 0; i < 200; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			codes <- e.do("GET", "/api/ping", nil).Code
		}()
	}
	wg.Wait()
	close(codes)
	count := map[int]int{}
	for c := range codes {
		count[c]++
	}
	// The clock stands still: exactly the burst (100) passes.
	if count[200] != 100 || count[429] != 100 {
		t.Errorf("codes %v", count)
	}
}
