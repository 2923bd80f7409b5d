package test

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
	sfntypes "github.com/aws/aws-sdk-go-v2/service/sfn/types"

	"github.com/imagepipe/imagepipe/functions/operations"
	"github.com/imagepipe/imagepipe/functions/pipeline"
)

// signedCall sends method path (under the web listener) with body, SigV4-signed
// for execute-api as the developer identity, as a browser with Cognito credentials
// or `curl --aws-sigv4` signs; it returns the status and the body.
func (tw *Twin) signedCall(t *testing.T, method, path, body string) (int, []byte) {
	t.Helper()
	req, err := http.NewRequestWithContext(ctxT(t), method, tw.HTTPURL+path, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	sum := sha256.Sum256([]byte(body))
	creds := aws.Credentials{AccessKeyID: "test", SecretAccessKey: "test"}
	if err := v4.NewSigner().SignHTTP(ctxT(t), creds, req, hex.EncodeToString(sum[:]), "execute-api", "us-east-1", time.Now()); err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	resp, err := (&http.Client{Timeout: time.Minute}).Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("%s %s: %v", method, path, err)
	}
	t.Logf("%s %s: %d in %v", method, path, resp.StatusCode, time.Since(start).Round(time.Millisecond))
	if ct := resp.Header.Get("Content-Type"); !strings.HasPrefix(ct, "application/json") || !json.Valid(raw) {
		t.Errorf("%s %s: %s %q is not JSON", method, path, ct, raw)
	}
	return resp.StatusCode, raw
}

// The operators' API runs in the stack on the twin: the template's routes, the
// operations function under its own role's IAM policy, the developer identity's
// signature. A file the pipeline cannot read fails; the failure is listed (and left
// in the queue), its execution found by key and read with its history, then the
// message discarded through the redrive function.
func TestOperationsAPIOnTheTwin(t *testing.T) {
	tw := startTwin(t)
	key := tw.putTexts(t, "ops", 1)[0]

	var failures operations.FailureList
	waitFor(t, time.Minute, "the failure in GET /api/failures", func() (bool, error) {
		st, raw := tw.signedCall(t, "GET", "/api/failures", "")
		if st != 200 {
			return false, &httpError{st, raw}
		}
		failures = operations.FailureList{}
		if err := json.Unmarshal(raw, &failures); err != nil {
			return false, err
		}
		return len(failures.Messages) == 1 && len(tw.executions(t, sfntypes.ExecutionStatusRunning)) == 0, nil
	})
	var body struct {
		Error        string `json:"error"`
		ExecutionArn string `json:"executionArn"`
		Permanent    bool   `json:"permanent"`
	}
	m := failures.Messages[0]
	if err := json.Unmarshal(m.Body, &body); err != nil || body.Error != pipeline.ErrNameNotAnImage || !body.Permanent || body.ExecutionArn == "" || m.SentTimestamp == 0 || !failures.Complete {
		t.Fatalf("failure message %+v (complete %v): %s", m, failures.Complete, m.Body)
	}
	if visible, _ := tw.queueDepth(t); visible != 1 {
		t.Errorf("%d messages visible after the peek, want 1: GET /failures must not consume", visible)
	}

	st, raw := tw.signedCall(t, "GET", "/api/executions?"+url.Values{"key": {key}, "maxResults": {"5"}}.Encode(), "")
	var list operations.ExecutionList
	if err := json.Unmarshal(raw, &list); st != 200 || err != nil || len(list.Executions) != 1 || !list.Complete || list.Scanned != 1 {
		t.Fatalf("GET /api/executions?key=: %d %s", st, raw)
	}
	ex := list.Executions[0]
	if ex.ExecutionArn != body.ExecutionArn || ex.Status != "FAILED" || ex.Key != key || ex.StartDate == 0 || ex.StopDate == nil {
		t.Errorf("execution %+v, want the failure's, FAILED, key %s", ex, key)
	}

	// The web app encodes the ARN with encodeURIComponent (":" as %3A).
	st, raw = tw.signedCall(t, "GET", "/api/executions/"+strings.ReplaceAll(url.PathEscape(ex.ExecutionArn), ":", "%3A"), "")
	var detail struct {
		Execution struct {
			Status string `json:"status"`
			Input  string `json:"input"`
		} `json:"execution"`
		Definition struct {
			StartAt string `json:"StartAt"`
		} `json:"definition"`
		History []struct {
			Type string `json:"type"`
			ID   int    `json:"id"`
		} `json:"history"`
		HistoryComplete bool `json:"historyComplete"`
	}
	if err := json.Unmarshal(raw, &detail); st != 200 || err != nil {
		t.Fatalf("GET /api/executions/{arn}: %d %s", st, raw)
	}
	if detail.Execution.Status != "FAILED" || detail.Definition.StartAt == "" || !detail.HistoryComplete ||
		len(detail.History) < 3 || detail.History[0].Type != "ExecutionStarted" || detail.History[len(detail.History)-1].Type != "ExecutionFailed" {
		t.Errorf("execution detail: status %s, StartAt %q, %d events, complete %v", detail.Execution.Status, detail.Definition.StartAt, len(detail.History), detail.HistoryComplete)
	}
	// Stopping an execution that has ended changes nothing and answers its stop date.
	if st, raw = tw.signedCall(t, "POST", "/api/executions/"+url.PathEscape(ex.ExecutionArn)+"/stop", "{}"); st != 200 || !bytes.Contains(raw, []byte(`"stopDate":`)) {
		t.Errorf("stop a failed execution: %d %s", st, raw)
	}
	other := strings.Replace(ex.ExecutionArn, ":ImagePipe-Pipeline:", ":Elsewhere:", 1)
	if st, raw = tw.signedCall(t, "GET", "/api/executions/"+url.PathEscape(other), ""); st != 400 {
		t.Errorf("another state machine's execution: %d %s", st, raw)
	}

	st, raw = tw.signedCall(t, "POST", "/api/failures/discard", `{"messageIds":["`+m.MessageID+`"]}`)
	var report struct {
		Discarded int `json:"discarded"`
	}
	if err := json.Unmarshal(raw, &report); st != 200 || err != nil || report.Discarded != 1 {
		t.Fatalf("discard: %d %s", st, raw)
	}
	if st, raw = tw.signedCall(t, "GET", "/api/failures", ""); st != 200 || !bytes.Contains(raw, []byte(`"messages":[]`)) {
		t.Errorf("after the discard: %d %s", st, raw)
	}
	if st, raw = tw.signedCall(t, "POST", "/api/failures/discard", `{}`); st != 400 {
		t.Errorf("discard without ids: %d %s", st, raw)
	}
}

type httpError struct {
	status int
	body   []byte
}

func (e *httpError) Error() string { return http.StatusText(e.status) + ": " + string(e.body) }
