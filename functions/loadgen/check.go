package loadgen

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"sync"

	"github.com/imagepipe/imagepipe/functions/pipeline"
)

// APIChecker asks the stack's API (its stage URL; AWS_IAM, so Client signs, see
// functions/apiclient): GET /images/{id} answers 200 once the document is indexed
// (id = pipeline.DocumentID(bucket, key)), and GET /failures (operators only)
// lists what the pipeline gave up on.
type APIChecker struct {
	BaseURL     string // the API stage, e.g. http://127.0.0.1:8080/api on the twin
	Client      *http.Client
	Concurrency int // document look-ups in flight; default 8
}

// Poll implements Checker.
func (c APIChecker) Poll(ctx context.Context, bucket string, keys []string) (map[string]Outcome, error) {
	hc := c.Client
	if hc == nil {
		hc = http.DefaultClient
	}
	base := strings.TrimRight(c.BaseURL, "/")
	out := map[string]Outcome{}
	failed, ferr := c.failures(ctx, hc, base, bucket)
	for k, reason := range failed {
		out[k] = Outcome{Failed: true, Reason: reason}
	}
	var (
		mu    sync.Mutex
		first error
		wg    sync.WaitGroup
	)
	n := c.Concurrency
	if n <= 0 {
		n = 8
	}
	sem := make(chan struct{}, n)
	for _, k := range keys {
		if _, ok := failed[k]; ok {
			continue
		}
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer func() { <-sem; wg.Done() }()
			ok, err := c.indexed(ctx, hc, base, pipeline.DocumentID(bucket, k))
			mu.Lock()
			defer mu.Unlock()
			switch {
			case err != nil && first == nil:
				first = err
			case ok:
				out[k] = Outcome{}
			}
		}()
	}
	wg.Wait()
	if first == nil {
		first = ferr
	}
	return out, first
}

func (c APIChecker) indexed(ctx context.Context, hc *http.Client, base, id string) (bool, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, base+"/images/"+url.PathEscape(id), nil)
	if err != nil {
		return false, err
	}
	resp, err := hc.Do(req)
	if err != nil {
		return false, fmt.Errorf("get document: %w", err)
	}
	defer resp.Body.Close()
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 1<<20))
	switch resp.StatusCode {
	case http.StatusOK:
		return true, nil
	case http.StatusNotFound:
		return false, nil
	}
	return false, fmt.Errorf("get document %s: HTTP %d", id, resp.StatusCode)
}

// failureBody is the failure queue's message body (DESIGN: {error, cause, state, input}).
type failureBody struct {
	Error string               `json:"error"`
	Cause string               `json:"cause"`
	State string               `json:"state"`
	Input pipeline.ObjectEvent `json:"input"`
}

func (c APIChecker) failures(ctx context.Context, hc *http.Client, base, bucket string) (map[string]string, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, base+"/failures", nil)
	if err != nil {
		return nil, err
	}
	resp, err := hc.Do(req)
	if err != nil {
		return nil, fmt.Errorf("list failures: %w", err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("list failures: HTTP %d", resp.StatusCode)
	}
	var list struct {
		Messages []struct {
			Body json.RawMessage `json:"body"`
		} `json:"messages"`
	}
	if err := json.NewDecoder(io.LimitReader(resp.Body, 64<<20)).Decode(&list); err != nil {
		return nil, fmt.Errorf("list failures: %w", err)
	}
	out := map[string]string{}
	for _, m := range list.Messages {
		if b, ok := parseFailure(m.Body); ok && b.Input.Detail.Bucket.Name == bucket {
			if key, err := b.Input.Key(); err == nil { // S3 URL-encodes the key in its events
				out[key] = fmt.Sprintf("%s in %s", b.Error, b.State)
			}
		}
	}
	return out, nil
}

// parseFailure reads a body that is the JSON object itself or a JSON string holding it
// (SQS bodies are strings).
func parseFailure(raw json.RawMessage) (failureBody, bool) {
	var b failureBody
	if len(raw) > 0 && raw[0] == '"' {
		var s string
		if json.Unmarshal(raw, &s) != nil {
			return b, false
		}
		raw = json.RawMessage(s)
	}
	if json.Unmarshal(raw, &b) != nil {
		return b, false
	}
	return b, b.Input.Detail.Object.Key != ""
}
