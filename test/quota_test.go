package test

import (
	"fmt"
	"testing"
	"time"
)

// The capacity table at a scale: with AWS's default quotas times quotaScale, a burst
// of uploads pushes past Rekognition's DetectLabels TPS and Lambda's account
// concurrency. Nothing is lost (every upload ends indexed or in the failure queue),
// the histories show both throttles retried, and the drain time is what the README's
// "Capacity and quotas" table predicts: Rekognition binds, so n images take at least
// (n − TPS) ÷ TPS seconds after the first (the bucket starts full), and the retriers'
// jittered back-off may add at most half as much again plus a fixed tail.
func TestQuotasThrottleAndNothingIsLost(t *testing.T) {
	if testing.Short() {
		t.Skip("load test skipped in -short mode")
	}
	const (
		quotaScale = 0.1 // Rekognition 5 TPS, Lambda 100 concurrent executions
		n          = 80
		tps        = 50 * quotaScale
		lambdaMax  = 1000 * quotaScale
		// 128 executions × 3 parallel branches can ask for 384 concurrent invokes, past
		// the account's 100.
		workers = "128"
	)
	tw := startTwin(t, "--quota-scale", fmt.Sprint(quotaScale), "--workers", workers)
	keys := make([]string, n)
	bodies := make([][]byte, n)
	for i := range keys {
		keys[i] = fmt.Sprintf("upload/quota/%03d.jpg", i)
		bodies[i] = smallJPEG(t, 5000+i)
	}
	start := time.Now()
	tw.putAll(t, keys, func(i int) []byte { return bodies[i] }, 8)
	uploaded := time.Since(start)

	var indexed int64
	var failed int
	waitFor(t, 150*time.Second, "every upload indexed or in the failure queue", func() (bool, error) {
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
	tw.assertIndexedOnce(t, keys, "quota")

	// What the histories show: each throttle as AWS names it, and retried.
	history := tw.taskFailures(t)
	lambdaThrottles := history["Lambda.TooManyRequestsException"]
	rekognitionThrottles := history["ThrottledError (ProvisionedThroughputExceededException)"]
	if lambdaThrottles == 0 {
		t.Error("no Lambda.TooManyRequestsException in any history: the account's concurrency never bound")
	}
	if rekognitionThrottles == 0 {
		t.Error("no ThrottledError (ProvisionedThroughputExceededException) in any history: Rekognition's TPS never bound")
	}
	predicted := time.Duration(float64(n-tps) / tps * float64(time.Second))
	upper := predicted*3/2 + 15*time.Second
	t.Logf("quota scale %g (DetectLabels %g TPS, Lambda %g concurrent): %d uploads in %v; drained in %v, predicted %v (allowed %v–%v); %d Lambda.TooManyRequestsException and %d Rekognition throttles retried; %d indexed, %d failed",
		quotaScale, tps, lambdaMax, n, uploaded.Round(time.Millisecond), drain.Round(100*time.Millisecond), predicted, predicted, upper,
		lambdaThrottles, rekognitionThrottles, indexed, failed)
	if drain < predicted {
		t.Errorf("drained in %v, faster than Rekognition's %g TPS allows (%v): the quota is not enforced", drain, tps, predicted)
	}
	if drain > upper {
		t.Errorf("drained in %v, past the table's prediction %v by more than the stated margin (+50%% +15 s)", drain, predicted)
	}
}
