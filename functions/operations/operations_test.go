package operations

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/url"
	"strings"
	"testing"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-lambda-go/lambda"

	"github.com/imagepipe/imagepipe/functions/apiproxy"
	"github.com/imagepipe/imagepipe/functions/redrive/redrivetest"
)

var quiet = slog.New(slog.NewJSONHandler(io.Discard, nil))

// call sends req through the Lambda's JSON contract and checks what every answer
// must be: no Go error, CORS, a JSON body.
func call(t *testing.T, h Handler, req events.APIGatewayProxyRequest) (int, string) {
	t.Helper()
	payload, err := json.Marshal(req)
	if err != nil {
		t.Fatal(err)
	}
	out, err := lambda.NewHandler(h.Handle).Invoke(context.Background(), payload)
	if err != nil {
		t.Fatalf("handler returned an error (API Gateway would answer 502): %v", err)
	}
	var r events.APIGatewayProxyResponse
	if err := json.Unmarshal(out, &r); err != nil {
		t.Fatal(err)
	}
	if r.Headers["Access-Control-Allow-Origin"] != "*" {
		t.Errorf("%s %s: no CORS header: %v", req.HTTPMethod, req.Path, r.Headers)
	}
	if r.Body != "" && !json.Valid([]byte(r.Body)) {
		t.Errorf("%s %s: body is not JSON: %q", req.HTTPMethod, req.Path, r.Body)
	}
	return r.StatusCode, r.Body
}

func get(resource string, query map[string]string) events.APIGatewayProxyRequest {
	return events.APIGatewayProxyRequest{HTTPMethod: "GET", Resource: resource, Path: resource, QueryStringParameters: query}
}

// onArn is a request on /executions/{arn}[/action], the ARN URL-encoded in the
// path as the web app sends it.
func onArn(method, arn, action string) events.APIGatewayProxyRequest {
	resource := "/executions/{arn}" + action
	esc := url.PathEscape(arn)
	esc = strings.ReplaceAll(esc, ":", "%3A") // encodeURIComponent's form
	return events.APIGatewayProxyRequest{HTTPMethod: method, Resource: resource, Path: "/executions/" + esc + action,
		PathParameters: map[string]string{"arn": esc}, Body: "{}"}
}

func decode[T any](t *testing.T, body string) T {
	t.Helper()
	var v T
	if err := json.Unmarshal([]byte(body), &v); err != nil {
		t.Fatalf("answer %s: %v", body, err)
	}
	return v
}

func s3Event(key string) string { return redrivetest.Event("Object Created", key) }

func TestListExecutions(t *testing.T) {
	w := newWorld(t)
	w.sfn.add(pipelineArn, "a", "SUCCEEDED", s3Event("upload/red+flower.jpg"))
	w.sfn.add(pipelineArn, "b", "FAILED", s3Event("upload/b.jpg"))
	w.sfn.add(pipelineArn, "c", "RUNNING", `{"not":"an event"}`)
	w.sfn.add(removeArn, "r", "SUCCEEDED", redrivetest.Event("Object Deleted", "upload/gone.jpg"))

	st, body := call(t, w.h, get("/executions", nil))
	if st != 200 {
		t.Fatalf("status %d: %s", st, body)
	}
	got := decode[ExecutionList](t, body)
	if len(got.Executions) != 3 || !got.Complete || got.NextToken != "" || got.Scanned != 3 {
		t.Fatalf("answer %s", body)
	}
	c, b, a := got.Executions[0], got.Executions[1], got.Executions[2]
	if a.Name != "a" || a.Key != "upload/red flower.jpg" || a.Status != "SUCCEEDED" || a.StartDate != 1717243200.125 ||
		a.StopDate == nil || *a.StopDate != 1717243202.625 || a.StateMachineArn != pipelineArn ||
		a.ExecutionArn != "arn:aws:states:us-east-1:000000000000:execution:ImagePipe-Pipeline:a" {
		t.Errorf("first execution: %+v", a)
	}
	if b.Key != "upload/b.jpg" || c.Key != "" || c.StopDate != nil || strings.Contains(body, `"stopDate":null`) {
		t.Errorf("keys %q %q, running stopDate %v: %s", b.Key, c.Key, c.StopDate, body)
	}
	// The web app reads these names and epoch-second dates (web/src/api/types.ts).
	for _, field := range []string{`"executionArn":`, `"startDate":1717243200.125`, `"stateMachineArn":`, `"nextToken":""`} {
		if !strings.Contains(body, field) {
			t.Errorf("answer lacks %s: %s", field, body)
		}
	}

	st, body = call(t, w.h, get("/executions", map[string]string{"status": "FAILED", "maxResults": "1"}))
	if got := decode[ExecutionList](t, body); st != 200 || len(got.Executions) != 1 || got.Executions[0].Name != "b" {
		t.Errorf("status filter: %d %s", st, body)
	}
	st, body = call(t, w.h, get("/executions", map[string]string{"maxResults": "2"}))
	if got := decode[ExecutionList](t, body); st != 200 || len(got.Executions) != 2 || got.Complete || got.NextToken == "" {
		t.Errorf("first page: %d %s", st, body)
	} else if st, body = call(t, w.h, get("/executions", map[string]string{"maxResults": "2", "nextToken": got.NextToken})); !strings.Contains(body, `"name":"a"`) {
		t.Errorf("second page: %d %s", st, body)
	}
	st, body = call(t, w.h, get("/executions", map[string]string{"machine": "remove"}))
	if got := decode[ExecutionList](t, body); st != 200 || len(got.Executions) != 1 || got.Executions[0].Key != "upload/gone.jpg" {
		t.Errorf("remove machine: %d %s", st, body)
	}
}

func TestListExecutionsBadParameters(t *testing.T) {
	w := newWorld(t)
	for name, q := range map[string]map[string]string{
		"status":      {"status": "DONE"},
		"max zero":    {"maxResults": "0"},
		"max big":     {"maxResults": fmt.Sprint(MaxResults + 1)},
		"max text":    {"maxResults": "many"},
		"machine":     {"machine": "other"},
		"key too big": {"key": strings.Repeat("k", 1025)},
	} {
		st, body := call(t, w.h, get("/executions", q))
		if e := decode[apiproxy.ErrorBody](t, body); st != 400 || e.Error == "" {
			t.Errorf("%s: %d %s", name, st, body)
		}
	}
	req := get("/executions", map[string]string{"status": "FAILED"})
	req.MultiValueQueryStringParameters = map[string][]string{"status": {"FAILED", "RUNNING"}}
	if st, body := call(t, w.h, req); st != 400 {
		t.Errorf("repeated parameter: %d %s", st, body)
	}
	if w.sfn.describes != 0 {
		t.Errorf("%d DescribeExecution calls for refused requests", w.sfn.describes)
	}
}

// With key=, the answer holds that object's executions from at most KeyScanLimit
// looked at, says so, and continues from its nextToken.
func TestListExecutionsByKeyIsBounded(t *testing.T) {
	w := newWorld(t)
	total := KeyScanLimit + 50
	for i := range total {
		key := fmt.Sprintf("upload/%d.jpg", i)
		if i == 10 { // listed newest first: past the first KeyScanLimit
			key = "upload/wanted.jpg"
		}
		w.sfn.add(pipelineArn, fmt.Sprint("x", i), "SUCCEEDED", s3Event(key))
	}
	q := map[string]string{"key": "upload/wanted.jpg", "maxResults": "5"}
	st, body := call(t, w.h, get("/executions", q))
	first := decode[ExecutionList](t, body)
	if st != 200 || len(first.Executions) != 0 || first.Scanned != KeyScanLimit || first.Complete || first.NextToken == "" {
		t.Fatalf("first call: %d scanned %d complete %v token %q, %d found", st, first.Scanned, first.Complete, first.NextToken, len(first.Executions))
	}
	if w.sfn.describes != KeyScanLimit {
		t.Errorf("%d DescribeExecution calls, bound %d", w.sfn.describes, KeyScanLimit)
	}
	q["nextToken"] = first.NextToken
	st, body = call(t, w.h, get("/executions", q))
	next := decode[ExecutionList](t, body)
	if st != 200 || len(next.Executions) != 1 || next.Executions[0].Name != "x10" || next.Scanned != total-KeyScanLimit || !next.Complete {
		t.Errorf("second call: %d %s", st, body)
	}
}

func TestGetExecution(t *testing.T) {
	w := newWorld(t)
	e := w.sfn.add(pipelineArn, "run-1", "FAILED", s3Event("upload/a.jpg"))
	for i := range 2*historyPage + 7 {
		e.history = append(e.history, json.RawMessage(fmt.Sprintf(`{"timestamp":1717243200.%03d,"type":"TaskStateEntered","id":%d,"previousEventId":%d,"stateEnteredEventDetails":{"name":"A","input":"{}"}}`, i%1000, i+1, i)))
	}
	st, body := call(t, w.h, onArn("GET", e.arn, ""))
	if st != 200 {
		t.Fatalf("status %d: %s", st, body)
	}
	got := decode[struct {
		Execution struct {
			ExecutionArn string  `json:"executionArn"`
			Status       string  `json:"status"`
			StartDate    float64 `json:"startDate"`
			Input        string  `json:"input"`
		} `json:"execution"`
		Definition      map[string]any   `json:"definition"`
		History         []map[string]any `json:"history"`
		HistoryComplete bool             `json:"historyComplete"`
	}](t, body)
	if got.Execution.ExecutionArn != e.arn || got.Execution.Status != "FAILED" || got.Execution.StartDate != e.start || got.Execution.Input != e.input {
		t.Errorf("execution: %+v", got.Execution)
	}
	if got.Definition["StartAt"] != "A" {
		t.Errorf("definition: %v", got.Definition)
	}
	if len(got.History) != len(e.history) || !got.HistoryComplete || got.History[len(got.History)-1]["id"] != float64(len(e.history)) {
		t.Errorf("history: %d events (want %d), complete %v", len(got.History), len(e.history), got.HistoryComplete)
	}
	if d := got.History[0]["stateEnteredEventDetails"].(map[string]any); d["name"] != "A" {
		t.Errorf("event details: %v", got.History[0])
	}
	// The ARN as it is, not encoded, works too.
	req := onArn("GET", e.arn, "")
	req.PathParameters["arn"] = e.arn
	if st, body := call(t, w.h, req); st != 200 {
		t.Errorf("plain ARN: %d %s", st, body)
	}
}

func TestGetExecutionHistoryIsBounded(t *testing.T) {
	w := newWorld(t)
	e := w.sfn.add(pipelineArn, "big", "SUCCEEDED", s3Event("upload/a.jpg"))
	big := strings.Repeat("x", 100<<10)
	for i := range 40 { // 4 MB of events
		e.history = append(e.history, json.RawMessage(fmt.Sprintf(`{"timestamp":1,"type":"TaskSucceeded","id":%d,"taskSucceededEventDetails":{"output":%q}}`, i+1, big)))
	}
	st, body := call(t, w.h, onArn("GET", e.arn, ""))
	got := decode[ExecutionDetail](t, body)
	size := 0
	for _, ev := range got.History {
		size += len(ev)
	}
	if st != 200 || got.HistoryComplete || size > HistoryMaxBytes || len(got.History) < 20 {
		t.Errorf("status %d, %d events, %d bytes (bound %d), complete %v", st, len(got.History), size, HistoryMaxBytes, got.HistoryComplete)
	}
}

func TestExecutionErrors(t *testing.T) {
	w := newWorld(t)
	done := w.sfn.add(pipelineArn, "done", "SUCCEEDED", s3Event("upload/a.jpg"))
	for _, c := range []struct {
		name string
		req  events.APIGatewayProxyRequest
		want int
		code string
	}{
		{"unknown execution", onArn("GET", strings.Replace(done.arn, ":done", ":nope", 1), ""), 404, "ExecutionDoesNotExist"},
		{"another stack's machine", onArn("GET", "arn:aws:states:us-east-1:000000000000:execution:Other:x", ""), 400, ""},
		{"a state machine ARN", onArn("GET", pipelineArn, ""), 400, ""},
		{"nested name", onArn("GET", done.arn+":more", ""), 400, ""},
		{"bad escape", events.APIGatewayProxyRequest{HTTPMethod: "GET", Resource: "/executions/{arn}", PathParameters: map[string]string{"arn": "arn%zz"}}, 400, ""},
		{"not redrivable", onArn("POST", done.arn, "/redrive"), 400, "ExecutionNotRedrivable"},
	} {
		st, body := call(t, w.h, c.req)
		e := decode[apiproxy.ErrorBody](t, body)
		if st != c.want || e.Code != c.code || e.Error == "" {
			t.Errorf("%s: %d %s, want %d code %q", c.name, st, body, c.want, c.code)
		}
	}
}

func TestRedriveAndStopExecution(t *testing.T) {
	w := newWorld(t)
	failed := w.sfn.add(pipelineArn, "failed", "FAILED", s3Event("upload/a.jpg"))
	running := w.sfn.add(removeArn, "running", "RUNNING", s3Event("upload/b.jpg"))
	st, body := call(t, w.h, onArn("POST", failed.arn, "/redrive"))
	if st != 200 || body != `{"redriveDate":1717250000.5}`+"\n" && body != `{"redriveDate":1717250000.5}` || failed.status != "RUNNING" {
		t.Errorf("redrive: %d %s, status %s", st, body, failed.status)
	}
	req := onArn("POST", running.arn, "/stop")
	req.RequestContext.Identity.CognitoIdentityID = "us-east-1:1234"
	req.RequestContext.Identity.CognitoAuthenticationType = "authenticated"
	st, body = call(t, w.h, req)
	if st != 200 || !strings.Contains(body, `"stopDate":1717250001.5`) || running.status != "ABORTED" ||
		running.stopError != StopError || !strings.Contains(running.stopCause, "us-east-1:1234") {
		t.Errorf("stop: %d %s, execution %+v", st, body, running)
	}
}

func TestRoutesAndCallers(t *testing.T) {
	w := newWorld(t)
	guest := get("/failures", nil)
	guest.RequestContext.Identity.CognitoAuthenticationType = "unauthenticated"
	if st, body := call(t, w.h, guest); st != 403 {
		t.Errorf("guest: %d %s", st, body)
	}
	if st, body := call(t, w.h, events.APIGatewayProxyRequest{HTTPMethod: "DELETE", Resource: "/failures"}); st != 404 {
		t.Errorf("DELETE /failures: %d %s", st, body)
	}
	if st, body := call(t, w.h, events.APIGatewayProxyRequest{HTTPMethod: "GET", Resource: "/executions/{arn}/redrive"}); st != 404 {
		t.Errorf("GET redrive: %d %s", st, body)
	}
	if st, _ := call(t, w.h, events.APIGatewayProxyRequest{HTTPMethod: "OPTIONS", Resource: "/failures"}); st != 204 {
		t.Errorf("OPTIONS: %d", st)
	}
	if len(w.lambda.payloads) != 0 {
		t.Errorf("invoked for refused requests: %v", w.lambda.payloads)
	}
}
