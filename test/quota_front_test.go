package test

import (
	"bytes"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/ratelimit"
	"github.com/aws/aws-sdk-go-v2/aws/retry"
	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/sfn"
	sfntypes "github.com/aws/aws-sdk-go-v2/service/sfn/types"
)

// quotaReport is GET /twin/quotas: the quotas in force and what each throttled.
type quotaReport struct {
	Limits struct {
		RekognitionTPS         float64 `json:"rekognitionTPS"`
		StartExecutionBurst    float64 `json:"startExecutionBurst"`
		StartExecutionRate     float64 `json:"startExecutionRate"`
		StateTransitionBurst   float64 `json:"stateTransitionBurst"`
		StateTransitionRate    float64 `json:"stateTransitionRate"`
		LambdaConcurrency      int     `json:"lambdaConcurrency"`
		EventBridgeInvocations float64 `json:"eventBridgeInvocations"`
		S3PrefixWrites         float64 `json:"s3PrefixWrites"`
		S3PrefixReads          float64 `json:"s3PrefixReads"`
	} `json:"limits"`
	Throttled map[string]uint64 `json:"throttled"`
}

// ceiling is one row of the README's capacity table at the twin's configured rates:
// the calls an image makes against a token bucket of burst and refill rate.
type ceiling struct {
	name              string
	perImage          float64
	burst, rate       float64
	throttledAs, seen string // the name AWS reports it by, and where the test finds it
}

// drain is how long n images take through this ceiling alone, the bucket starting
// full: (n × calls per image − burst) ÷ rate.
func (c ceiling) drain(n int) time.Duration {
	s := max(0, float64(n)*c.perImage-c.burst) / c.rate
	return time.Duration(s * float64(time.Second))
}

// The capacity table's front door at a scale: StartExecution's token bucket, state
// transitions, S3's per-prefix request rates, EventBridge's invocation rate and the
// API stage's throttle all bind in one run. AWS's quotas × 0.02, with four set in
// AWS's terms first so that each binds within a few hundred images: DetectLabels and
// Lambda concurrency raised out of the way (their ceilings are
// TestQuotasThrottleAndNothingIsLost's), EventBridge at af-south-1's 750 invocations
// a second, S3 at 1,000 writes and 1,500 reads a second per prefix, and state
// transitions refilling at half the default from a bucket of 500. 200 small JPEGs
// are uploaded by 24 clients whose SDK retries SlowDown; nothing is lost, each
// throttle shows under AWS's name (the twin's /twin/quotas counters, its log, the
// histories), and the drain is the table's prediction — the slowest ceiling's (n ×
// calls − burst) ÷ rate, computed here from the rates the twin reports — within
// +50% +15 s.
func TestQuotasFrontDoorThrottlesAndNothingIsLost(t *testing.T) {
	if testing.Short() {
		t.Skip("load test skipped in -short mode")
	}
	const (
		quotaScale = 0.02
		n          = 150
		clients    = 24
	)
	args := []string{"--quota-scale", fmt.Sprint(quotaScale)}
	for _, q := range []string{"rekognition-tps=5000", "lambda-concurrency=10000", "start-execution-rate=500", "eventbridge-invocations=750",
		"s3-prefix-writes=1000", "s3-prefix-reads=750", "state-transition-burst=500", "state-transition-rate=2500"} {
		args = append(args, "--quota", q)
	}
	tw := startTwin(t, args...)
	var before quotaReport
	if st := tw.getJSON(t, "/twin/quotas", &before); st != http.StatusOK {
		t.Fatalf("GET /twin/quotas: %d", st)
	}
	l := before.Limits
	ceilings := []ceiling{
		{"StartExecution", 1, l.StartExecutionBurst, l.StartExecutionRate, "StartExecution ThrottlingException", "counter, log"},
		{"state transitions", 6, l.StateTransitionBurst, l.StateTransitionRate, "ExecutionThrottled", "counter"},
		// 3 GETs an image here, not the table's 4: these JPEGs are under Rekognition's
		// 80 pixels a side, so detect-labels sends a rendering's bytes and Rekognition
		// reads nothing from S3.
		{"S3 GET on upload/", 3, l.S3PrefixReads, l.S3PrefixReads, "S3 GET/HEAD SlowDown", "counter, log"},
		{"S3 PUT on upload/", 1, l.S3PrefixWrites, l.S3PrefixWrites, "S3 PUT/POST/DELETE SlowDown", "counter, log"},
		{"EventBridge invocations", 1, l.EventBridgeInvocations, l.EventBridgeInvocations, "ThrottledRules", "counter, log"},
		{"DetectLabels", 1, l.RekognitionTPS, l.RekognitionTPS, "DetectLabels ProvisionedThroughputExceededException", "counter"},
	}
	binding := ceilings[0]
	for _, c := range ceilings {
		if c.drain(n) > binding.drain(n) {
			binding = c
		}
	}
	predicted := binding.drain(n)
	upper := predicted*3/2 + 15*time.Second

	keys := make([]string, n)
	bodies := make([][]byte, n)
	for i := range keys {
		keys[i] = fmt.Sprintf("upload/front/%03d.jpg", i)
		bodies[i] = smallJPEG(t, 7000+i)
	}
	start := time.Now()
	tw.putRetryingThrottles(t, keys, bodies, clients)
	uploaded := time.Since(start)
	var indexed int64
	var failed int
	waitFor(t, upper+30*time.Second, "every upload indexed or in the failure queue", func() (bool, error) {
		var ping struct{ Count int64 }
		tw.getJSON(t, "/api/ping", &ping)
		indexed = ping.Count
		failed, _ = tw.queueDepth(t)
		return indexed+int64(failed) >= n, nil
	})
	drain := time.Since(start)
	if failed != 0 {
		t.Errorf("%d images went to the failure queue; the retriers should absorb these throttles", failed)
	}
	tw.assertIndexedOnce(t, keys, "front")

	var after quotaReport
	tw.getJSON(t, "/twin/quotas", &after)
	logs := tw.logs.String()
	for _, c := range ceilings[:5] {
		if after.Throttled[c.throttledAs] == 0 {
			t.Errorf("%s never throttled (%s is 0): the run did not cross it", c.name, c.throttledAs)
		}
	}
	for _, name := range []string{"ThrottlingException", "SlowDown", "ThrottledRules"} {
		if !strings.Contains(logs, name) {
			t.Errorf("the twin's log never names %s", name)
		}
	}
	history := tw.taskFailures(t)
	if history["ThrottledError (SlowDown)"] == 0 {
		t.Error("no ThrottledError caused by SlowDown in any history: the functions' SDK absorbed every S3 throttle, so the state machine's retrier was never exercised")
	}
	api429, apiOK := tw.burstAPI(t, 150)
	if api429 == 0 || api429 > 150-100 {
		t.Errorf("150 requests at once against a stage of burst 100: %d answered 429, want 1–50", api429)
	}

	t.Logf("quota scale %g: %d images by %d clients uploaded in %v; drained in %v, predicted %v by %s (allowed %v–%v); %d indexed, %d failed",
		quotaScale, n, clients, uploaded.Round(time.Millisecond), drain.Round(100*time.Millisecond), predicted.Round(100*time.Millisecond),
		binding.name, predicted.Round(100*time.Millisecond), upper.Round(100*time.Millisecond), indexed, failed)
	for _, c := range ceilings {
		t.Logf("  %-24s %g/image, bucket %g, %g/s: alone %v; %s = %d", c.name, c.perImage, c.burst, c.rate,
			c.drain(n).Round(100*time.Millisecond), c.throttledAs, after.Throttled[c.throttledAs])
	}
	t.Logf("  task failures in the histories (all retried): %v; API stage: %d × 429 TooManyRequestsException, %d × 200", history, api429, apiOK)
	if drain < predicted {
		t.Errorf("drained in %v, faster than %s allows (%v): the quota is not enforced", drain, binding.name, predicted)
	}
	if drain > upper {
		t.Errorf("drained in %v, past the table's prediction %v by more than the stated margin (+50%% +15 s)", drain, predicted)
	}
}

// putRetryingThrottles uploads keys from several clients whose SDK retries S3's
// SlowDown as an uploader on AWS would configure it: up to 20 attempts, back-off at
// most 2 s, no client-side retry quota (a throttle costs none on AWS's side either).
func (tw *Twin) putRetryingThrottles(t *testing.T, keys []string, bodies [][]byte, clients int) {
	t.Helper()
	ctx := ctxT(t)
	client := s3.NewFromConfig(tw.awsConfig(), func(o *s3.Options) {
		o.BaseEndpoint = aws.String(tw.EdgeURL)
		o.UsePathStyle = true
		o.Retryer = retry.NewStandard(func(so *retry.StandardOptions) {
			so.MaxAttempts, so.MaxBackoff, so.RateLimiter = 20, 2*time.Second, ratelimit.None
		})
	})
	var wg sync.WaitGroup
	errs := make(chan error, len(keys))
	for c := range clients {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := c; i < len(keys); i += clients {
				_, err := client.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String("images"), Key: aws.String(keys[i]),
					Body: bytes.NewReader(bodies[i]), ContentType: aws.String("image/jpeg")})
				if err != nil {
					errs <- fmt.Errorf("put %s: %w", keys[i], err)
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
}

// taskFailures counts the TaskFailed events of every pipeline execution by error
// name (and, for ThrottledError, the throttle that caused it), and fails the test on
// an execution that did not succeed.
func (tw *Twin) taskFailures(t *testing.T) map[string]int {
	t.Helper()
	counts := map[string]int{}
	// The SDK's own transport, reading each answer whole before the SDK decodes it:
	// reading a long history as the SDK streams it, the client's connection is closed
	// under it now and then on this machine ("use of closed network connection", on
	// the client's side of loopback, unexplained).
	client := sfn.NewFromConfig(tw.awsConfig(), func(o *sfn.Options) {
		o.BaseEndpoint = aws.String(tw.EdgeURL)
		o.HTTPClient = &http.Client{Transport: wholeBody{awshttp.NewBuildableClient().GetTransport()}}
	})
	ctx := ctxT(t)
	for _, e := range tw.executions(t, "") {
		if e.Status != sfntypes.ExecutionStatusSucceeded {
			t.Errorf("execution %s is %s", aws.ToString(e.Name), e.Status)
		}
		p := sfn.NewGetExecutionHistoryPaginator(client, &sfn.GetExecutionHistoryInput{ExecutionArn: e.ExecutionArn, MaxResults: 1000})
		for p.HasMorePages() {
			page, err := p.NextPage(ctx)
			if err != nil {
				t.Fatal(err)
			}
			for _, ev := range page.Events {
				if d := ev.TaskFailedEventDetails; ev.Type == sfntypes.HistoryEventTypeTaskFailed && d != nil {
					counts[failureName(aws.ToString(d.Error), aws.ToString(d.Cause))]++
				}
			}
		}
	}
	return counts
}

// wholeBody reads each response body before handing the response on.
type wholeBody struct{ next http.RoundTripper }

func (w wholeBody) RoundTrip(r *http.Request) (*http.Response, error) {
	resp, err := w.next.RoundTrip(r)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		return nil, fmt.Errorf("read %s answer: %w", r.Header.Get("X-Amz-Target"), err)
	}
	resp.Body = io.NopCloser(bytes.NewReader(b))
	return resp, nil
}

// failureName is a task failure's error, with the AWS error behind a ThrottledError.
func failureName(errName, cause string) string {
	if errName != "ThrottledError" {
		return errName
	}
	for _, aws := range []string{"SlowDown", "ProvisionedThroughputExceededException", "ThrottlingException"} {
		if strings.Contains(cause, aws) {
			return errName + " (" + aws + ")"
		}
	}
	return errName
}

// burstAPI sends n GET /api/ping at once and counts the 429s the stage answers as API
// Gateway does (x-amzn-ErrorType TooManyRequestsException) and the 200s.
func (tw *Twin) burstAPI(t *testing.T, n int) (throttled, ok int) {
	t.Helper()
	var mu sync.Mutex
	var wg sync.WaitGroup
	statuses := map[string]int{}
	ready := make(chan struct{})
	api := tw.API() // the stage is AWS_IAM: each request signed, as a client's would be
	for range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-ready
			resp, err := api.Get(tw.HTTPURL + "/api/ping")
			key := ""
			if err != nil {
				key = err.Error()
			} else {
				io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
				key = fmt.Sprint(resp.StatusCode, " ", resp.Header.Get("X-Amzn-Errortype"))
			}
			mu.Lock()
			statuses[key]++
			mu.Unlock()
		}()
	}
	close(ready)
	wg.Wait()
	for k, v := range statuses {
		switch k {
		case "429 TooManyRequestsException":
			throttled += v
		case "200 ":
			ok += v
		default:
			t.Errorf("API burst: %d answered %q (all: %v)", v, k, statuses)
		}
	}
	return throttled, ok
}
