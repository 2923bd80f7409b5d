package twin

import (
	"net/http"

	"github.com/imagepipe/imagepipe/local/quota"
	"github.com/imagepipe/imagepipe/local/s3edge"
)

// quotaBuckets are the token buckets of the quotas the twin enforces (local/quota),
// made once from Config.Quotas and shared by the services they throttle, so that one
// route can report what each throttled. Lambda's concurrency is counted by the
// Lambda service and shows in the executions' histories.
type quotaBuckets struct {
	limits                                        quota.Limits
	rekognition, starts, transitions, invocations *quota.Bucket
	s3                                            s3edge.RequestRates
}

func newQuotaBuckets(l quota.Limits) quotaBuckets {
	return quotaBuckets{
		limits:      l,
		rekognition: quota.NewBucket(l.RekognitionTPS, l.RekognitionTPS),
		starts:      quota.NewBucket(l.StartBurst, l.StartRate),
		transitions: quota.NewBucket(l.TransitionBurst, l.TransitionRate),
		invocations: quota.NewBucket(l.EventBridgeRate, l.EventBridgeRate),
		s3: s3edge.RequestRates{
			Writes: quota.NewKeyed(l.S3WriteRate, l.S3WriteRate),
			Reads:  quota.NewKeyed(l.S3ReadRate, l.S3ReadRate),
		},
	}
}

// QuotaReport is what GET /twin/quotas answers: the quotas in force (zero: none) and
// how many calls each refused or delayed since the twin started, under the names AWS
// reports them by — the error a caller sees, or the CloudWatch metric that counts a
// delay (Step Functions' ExecutionThrottled, EventBridge's ThrottledRules).
type QuotaReport struct {
	Limits    quota.Limits      `json:"limits"`
	Throttled map[string]uint64 `json:"throttled"`
}

func (q quotaBuckets) report(objects *s3edge.Server) QuotaReport {
	reads, writes := objects.SlowDowns()
	return QuotaReport{Limits: q.limits, Throttled: map[string]uint64{
		"DetectLabels ProvisionedThroughputExceededException": q.rekognition.Throttled(),
		"StartExecution ThrottlingException":                  q.starts.Throttled(),
		"ExecutionThrottled":                                  q.transitions.Throttled(),
		"ThrottledRules":                                      q.invocations.Throttled(),
		"S3 GET/HEAD SlowDown":                                reads,
		"S3 PUT/POST/DELETE SlowDown":                         writes,
	}}
}

func (q quotaBuckets) handler(objects *s3edge.Server) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		writeJSON(w, http.StatusOK, q.report(objects))
	})
}

// QuotasPath is where the web listener reports the quotas, beside the fault switches:
// a twin control with no AWS counterpart, for the developer identity.
const QuotasPath = "/twin/quotas"
