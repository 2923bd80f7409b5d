package apigw

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"
)

// The tests' hand-resolved API: the project's API (GET /images with a required
// search, GET /ping, CDK's CORS preflights) and what else the tests exercise: a
// {variable} and a {greedy+} resource, binary media types.
const (
	searchARN = "arn:aws:lambda:us-east-1:000000000000:function:search"
	pingARN   = "arn:aws:lambda:us-east-1:000000000000:function:ping"
	filesARN  = "arn:aws:lambda:us-east-1:000000000000:function:files"
	itemsARN  = "arn:aws:lambda:us-east-1:000000000000:function:items"

	webOrigin = "https://" + testCDN

	// corsTemplate is the response template CDK writes for two allowed origins.
	corsTemplate = "#set($origin = $input.params().header.get(\"Origin\"))\n#if($origin == \"\")\n  #set($origin = $input.params().header.get(\"origin\"))\n#end\n#if($origin == \"http://localhost:5173\")\n  #set($context.responseOverride.header.Access-Control-Allow-Origin = $origin)\n#end"

	accessFormat = `{"requestId":"$context.requestId","ip":"$context.identity.sourceIp","user":"$context.identity.user","caller":"$context.identity.caller","requestTime":"$context.requestTime","httpMethod":"$context.httpMethod","resourcePath":"$context.resourcePath","status":"$context.status","protocol":"$context.protocol","responseLength":"$context.responseLength"}`
)

func lambdaURIFor(fn string) string {
	return "arn:aws:apigateway:us-east-1:lambda:path/2015-03-31/functions/" + fn + "/invocations"
}

func proxyMethod(id, resourceID, httpMethod, fn string, extra map[string]any) Resource {
	p := map[string]any{
		"RestApiId": testAPIID, "ResourceId": resourceID, "HttpMethod": httpMethod, "AuthorizationType": "AWS_IAM",
		"Integration": map[string]any{"Type": "AWS_PROXY", "IntegrationHttpMethod": "POST", "Uri": lambdaURIFor(fn)},
	}
	for k, v := range extra {
		p[k] = v
	}
	return Resource{LogicalID: id, Type: "AWS::ApiGateway::Method", PhysicalID: id, Properties: p}
}

func corsMethod(id, resourceID string) Resource {
	return Resource{LogicalID: id, Type: "AWS::ApiGateway::Method", PhysicalID: id, Properties: map[string]any{
		"RestApiId": testAPIID, "ResourceId": resourceID, "HttpMethod": "OPTIONS", "AuthorizationType": "NONE",
		"ApiKeyRequired": false,
		"Integration": map[string]any{
			"Type":             "MOCK",
			"RequestTemplates": map[string]any{"application/json": "{ statusCode: 200 }"},
			"IntegrationResponses": []any{map[string]any{
				"StatusCode": "204",
				"ResponseParameters": map[string]any{
					"method.response.header.Access-Control-Allow-Headers": "'Content-Type,Authorization,X-Amz-Date,X-Amz-Security-Token,X-Amz-Content-Sha256'",
					"method.response.header.Access-Control-Allow-Origin":  "'" + webOrigin + "'",
					"method.response.header.Vary":                         "'Origin'",
					"method.response.header.Access-Control-Allow-Methods": "'GET,OPTIONS'",
					"method.response.header.Access-Control-Max-Age":       "'3600'",
				},
				"ResponseTemplates": map[string]any{"application/json": corsTemplate},
			}},
		},
		"MethodResponses": []any{map[string]any{
			"StatusCode": "204",
			"ResponseParameters": map[string]any{
				"method.response.header.Access-Control-Allow-Headers": true,
				"method.response.header.Access-Control-Allow-Origin":  true,
				"method.response.header.Vary":                         true,
				"method.response.header.Access-Control-Allow-Methods": true,
				"method.response.header.Access-Control-Max-Age":       true,
			},
		}},
	}}
}

func resourceFor(id, parent, part string) Resource {
	return Resource{LogicalID: id, Type: "AWS::ApiGateway::Resource", PhysicalID: id,
		Properties: map[string]any{"RestApiId": testAPIID, "ParentId": parent, "PathPart": part}}
}

func fixture() []Resource {
	return []Resource{
		{LogicalID: "Api", Type: "AWS::ApiGateway::RestApi", PhysicalID: testAPIID, Properties: map[string]any{
			"Name": "imagepipe", "EndpointConfiguration": map[string]any{"Types": []any{"REGIONAL"}},
			"BinaryMediaTypes": []any{"image/png", "application/octet-stream"},
		}},
		{LogicalID: "Validator", Type: "AWS::ApiGateway::RequestValidator", PhysicalID: "val1", Properties: map[string]any{
			"RestApiId": testAPIID, "ValidateRequestBody": true, "ValidateRequestParameters": true,
		}},
		resourceFor("images", testRootID, "images"),
		resourceFor("ping", testRootID, "ping"),
		resourceFor("files", testRootID, "files"),
		resourceFor("filesProxy", "files", "{proxy+}"),
		resourceFor("items", testRootID, "items"),
		resourceFor("itemsID", "items", "{id}"),
		resourceFor("itemsSpecial", "items", "special"),
		proxyMethod("ImagesGET", "images", "GET", searchARN, map[string]any{
			"RequestParameters":  map[string]any{"method.request.querystring.search": true},
			"RequestValidatorId": "val1",
		}),
		proxyMethod("PingGET", "ping", "GET", pingARN, map[string]any{"RequestValidatorId": "val1"}),
		proxyMethod("FilesANY", "filesProxy", "ANY", filesARN, nil),
		proxyMethod("ItemGET", "itemsID", "GET", itemsARN, nil),
		proxyMethod("SpecialGET", "itemsSpecial", "GET", itemsARN, nil),
		corsMethod("RootOPTIONS", testRootID),
		corsMethod("ImagesOPTIONS", "images"),
		{LogicalID: "Deployment", Type: "AWS::ApiGateway::Deployment", PhysicalID: "dep123", Properties: map[string]any{
			"RestApiId": testAPIID, "Description": "imagepipe",
		}},
		{LogicalID: "Stage", Type: "AWS::ApiGateway::Stage", PhysicalID: "prod", Properties: map[string]any{
			"RestApiId": testAPIID, "DeploymentId": "dep123", "StageName": "prod", "TracingEnabled": true,
			"AccessLogSetting": map[string]any{"DestinationArn": "arn:aws:logs:us-east-1:000000000000:log-group:x", "Format": accessFormat},
			"MethodSettings": []any{map[string]any{
				"DataTraceEnabled": false, "HttpMethod": "*", "LoggingLevel": "ERROR", "MetricsEnabled": true,
				"ResourcePath": "/*", "ThrottlingBurstLimit": 100, "ThrottlingRateLimit": 50,
			}},
		}},
		{LogicalID: "Account", Type: "AWS::ApiGateway::Account", PhysicalID: "acct", Properties: map[string]any{
			"CloudWatchRoleArn": "arn:aws:iam::000000000000:role/x",
		}},
	}
}

// edit returns rs with f applied to the properties of the resource logicalID (a copy
// of the fixture is fresh per call, so tests may change it freely).
func edit(t testing.TB, rs []Resource, logicalID string, f func(p map[string]any)) []Resource {
	t.Helper()
	for i := range rs {
		if rs[i].LogicalID == logicalID {
			f(rs[i].Properties)
			return rs
		}
	}
	t.Fatalf("no resource %s in the fixture", logicalID)
	return nil
}

// clock is a settable clock.
type clock struct {
	mu  sync.Mutex
	now time.Time
}

func newClock() *clock { return &clock{now: time.Date(2024, 3, 4, 19, 15, 17, 135e6, time.UTC)} }

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *clock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}

// invoker is a fake Lambda: it records each event and answers with answer (or 200
// {"statusCode":200,"body":"ok"}).
type invoker struct {
	mu     sync.Mutex
	calls  []invocation
	answer func(ctx context.Context, arn string, payload []byte) ([]byte, error)
}

type invocation struct {
	arn   string
	event map[string]any
}

func (f *invoker) Invoke(ctx context.Context, arn string, payload []byte) ([]byte, error) {
	var ev map[string]any
	if err := json.Unmarshal(payload, &ev); err != nil {
		return nil, err
	}
	f.mu.Lock()
	f.calls = append(f.calls, invocation{arn: arn, event: ev})
	answer := f.answer
	f.mu.Unlock()
	if answer != nil {
		return answer(ctx, arn, payload)
	}
	return []byte(`{"statusCode":200,"body":"ok"}`), nil
}

func (f *invoker) invocations() []invocation {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]invocation(nil), f.calls...)
}

func answering(s string) func(context.Context, string, []byte) ([]byte, error) {
	return func(context.Context, string, []byte) ([]byte, error) { return []byte(s), nil }
}

// env is an API under test with its fakes.
type env struct {
	api   *API
	inv   *invoker
	clock *clock
	logs  *bytes.Buffer
	// authz answers the stage's AWS_IAM check (allowAll unless a test sets it).
	authz Authorizer
}

// allowAll lets every request through as the account's developer user.
func allowAll(*http.Request, string) (Caller, error) {
	return Caller{AccessKey: "test", AccountID: testAccount, UserARN: "arn:aws:iam::" + testAccount + ":user/developer",
		Caller: "developer", User: "developer"}, nil
}

func newEnv(t *testing.T, rs []Resource) *env {
	t.Helper()
	e := &env{inv: &invoker{}, clock: newClock(), logs: &bytes.Buffer{}, authz: allowAll}
	log := slog.New(slog.NewJSONHandler(&lockedWriter{w: e.logs}, nil))
	api, err := New(rs, Options{Region: testRegion, Account: testAccount, Invoker: e.inv, Logger: log,
		Now: e.clock.Now, BasePath: "/api", Authorize: func(r *http.Request, arn string) (Caller, error) { return e.authz(r, arn) }})
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	e.api = api
	return e
}

type lockedWriter struct {
	mu sync.Mutex
	w  io.Writer
}

func (l *lockedWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(p)
}

// do serves one request; headers are name, value pairs.
func (e *env) do(method, target string, body []byte, headers ...string) *httptest.ResponseRecorder {
	var rd io.Reader
	if body != nil {
		rd = bytes.NewReader(body)
	}
	r := httptest.NewRequest(method, target, rd)
	r.RemoteAddr = "192.0.2.10:54321"
	for i := 0; i+1 < len(headers); i += 2 {
		r.Header.Add(headers[i], headers[i+1])
	}
	w := httptest.NewRecorder()
	e.api.Handler().ServeHTTP(w, r)
	return w
}

// wantError checks a gateway error answer: status, exact body, error type, request id.
func wantError(t *testing.T, w *httptest.ResponseRecorder, status int, body, errorType string) {
	t.Helper()
	if w.Code != status || w.Body.String() != body {
		t.Errorf("got %d %s, want %d %s", w.Code, w.Body.String(), status, body)
	}
	if got := raw(w, "x-amzn-ErrorType"); len(got) != 1 || got[0] != errorType {
		t.Errorf("x-amzn-ErrorType = %q, want %q", got, errorType)
	}
	if got := raw(w, "x-amzn-RequestId"); len(got) != 1 || !uuidRE.MatchString(got[0]) {
		t.Errorf("x-amzn-RequestId = %q", got)
	}
	if got := w.Header().Get("Content-Type"); got != "application/json" {
		t.Errorf("Content-Type = %q", got)
	}
}

// raw is a header's values under exactly the name the API wrote (API Gateway keeps
// names as it is given them; the recorder does not canonicalize).
func raw(w *httptest.ResponseRecorder, name string) []string { return w.Header()[name] }

func mustJSON(t *testing.T, s string) any {
	t.Helper()
	var v any
	if err := json.Unmarshal([]byte(s), &v); err != nil {
		t.Fatalf("bad JSON %s: %v", s, err)
	}
	return v
}

func pretty(v any) string {
	b, _ := json.MarshalIndent(v, "", "  ")
	return string(b)
}
