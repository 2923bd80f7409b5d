package twin

import (
	"fmt"
	"math/rand/v2"
	"net/http"
	"strings"

	"github.com/imagepipe/imagepipe/local/opensearch"
	"github.com/imagepipe/imagepipe/local/rekognition"
)

// stackNames are the names the web app's config.json and the twin's checks need
// (the bucket, the state machines, the failure queue, the load tester). They are read from the template, where the
// redrive and load-tester functions receive them, so they cannot drift from it.
type stackNames struct {
	bucket, queueURL, pipelineARN, removeARN string
	redriveFunction, loadTesterFunction      string
}

// namesFrom reads the stack's names from its functions' environment.
func namesFrom(d *deployment) (stackNames, error) {
	var n stackNames
	for _, fn := range d.functions {
		switch d.commands[fn.ARN] {
		case "redrive":
			n.redriveFunction = fn.ARN
			n.queueURL = fn.Env["FAILURE_QUEUE_URL"]
			n.pipelineARN = fn.Env["PIPELINE_STATE_MACHINE_ARN"]
			n.removeARN = fn.Env["REMOVE_STATE_MACHINE_ARN"]
		case "load-tester":
			n.bucket = fn.Env["IMAGES_BUCKET"]
			n.loadTesterFunction = fn.Name
		}
	}
	for what, v := range map[string]string{
		"the redrive function": n.redriveFunction, "its FAILURE_QUEUE_URL": n.queueURL,
		"its PIPELINE_STATE_MACHINE_ARN": n.pipelineARN, "its REMOVE_STATE_MACHINE_ARN": n.removeARN,
		"the load-tester function's IMAGES_BUCKET": n.bucket,
	} {
		if v == "" {
			return n, fmt.Errorf("template: the twin's web routes need %s, and the template has none", what)
		}
	}
	return n, nil
}

// edge serves every AWS protocol on one listener. A signed request names its service
// in the SigV4 credential scope, as AWS's own endpoints know it from the host name;
// unsigned ones are told apart by X-Amz-Target and path, and the rest is S3.
func (t *Twin) edge(d *deployment, labels *rekognition.Service) http.Handler {
	byService := map[string]http.Handler{
		"s3":          t.objects.Handler(), // CORS: serviceCORS, in front of auth
		"states":      t.executions.Handler(),
		"sqs":         t.queue.Handler(),
		"lambda":      t.lambda.Handler(),
		"rekognition": labels.Handler(),
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if strings.HasPrefix(r.URL.Path, opensearch.PathRoot) {
			for prefix, h := range t.search {
				if r.URL.Path == prefix || strings.HasPrefix(r.URL.Path, prefix+"/") {
					h.ServeHTTP(w, r)
					return
				}
			}
			writeJSON(w, http.StatusNotFound, map[string]any{"error": "no OpenSearch domain at " + r.URL.Path, "status": 404})
			return
		}
		if h, ok := byService[signingService(r)]; ok {
			h.ServeHTTP(w, r)
			return
		}
		if t.cognito != nil && t.cognito.Handles(r) {
			t.cognito.Handler().ServeHTTP(w, r)
			return
		}
		target := r.Header.Get("X-Amz-Target")
		switch {
		case strings.HasPrefix(target, "AWSStepFunctions."):
			byService["states"].ServeHTTP(w, r)
		case strings.HasPrefix(target, "AmazonSQS."):
			byService["sqs"].ServeHTTP(w, r)
		case strings.HasPrefix(target, "RekognitionService."):
			byService["rekognition"].ServeHTTP(w, r)
		case strings.HasPrefix(r.URL.Path, "/2015-03-31/functions"):
			byService["lambda"].ServeHTTP(w, r)
		default:
			byService["s3"].ServeHTTP(w, r)
		}
	})
}

// signingService is the service of a SigV4 credential scope
// (AKID/20240101/us-east-1/SERVICE/aws4_request), from the Authorization header or a
// presigned URL's X-Amz-Credential; "" when unsigned.
func signingService(r *http.Request) string {
	cred := r.URL.Query().Get("X-Amz-Credential")
	if auth := r.Header.Get("Authorization"); auth != "" {
		_, rest, ok := strings.Cut(auth, "Credential=")
		if !ok {
			return ""
		}
		cred, _, _ = strings.Cut(rest, ",")
	}
	parts := strings.Split(cred, "/")
	if len(parts) != 5 {
		return ""
	}
	return parts[3]
}

// rand01 is the fault switch's random source.
func rand01() float64 { return rand.Float64() }
