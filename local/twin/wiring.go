package twin

import (
	"context"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"net/http"
	"strings"

	"github.com/imagepipe/imagepipe/functions/pipeline"
	"github.com/imagepipe/imagepipe/local/lambdart"
	"github.com/imagepipe/imagepipe/local/opensearch"
	"github.com/imagepipe/imagepipe/local/rekognition"
	"github.com/imagepipe/imagepipe/local/sqs"
	"github.com/imagepipe/imagepipe/local/webapi"
)

// stackNames are the names the twin's own routes need (the web app's executions and
// failures pages, the load tester). They are read from the template, where the
// redrive and load-tester functions receive them, so they cannot drift from it.
type stackNames struct {
	bucket, queueURL, pipelineARN, removeARN string
	redriveFunction                          string
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
		"s3":          t.bucketCORS(d.cors, t.objects.Handler()),
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

// documents reads the search documents for the web app's detail route, from the
// domain and index the search function reads (its OPENSEARCH_ENDPOINT and
// OPENSEARCH_INDEX).
func (t *Twin) documents(d *deployment) webapi.DocumentGetter {
	for _, fn := range d.functions {
		if d.commands[fn.ARN] != "search" {
			continue
		}
		index := fn.Env["OPENSEARCH_INDEX"]
		if index == "" {
			index = "images"
		}
		for prefix, dom := range t.search {
			if strings.HasSuffix(fn.Env["OPENSEARCH_ENDPOINT"], prefix) {
				return dom.Documents(index)
			}
		}
	}
	return noDocuments{}
}

// noDocuments answers a template without a search domain.
type noDocuments struct{}

func (noDocuments) Get(context.Context, string) (pipeline.Document, bool, error) {
	return pipeline.Document{}, false, nil
}

// failures lists the failure queue for the web app, and redrives it by invoking the
// stack's redrive function, as `aws lambda invoke` would in AWS.
type failures struct {
	queue           *sqs.Service
	queueURL        string
	lambda          *lambdart.Service
	redriveFunction string
}

func (f failures) List(ctx context.Context) ([]webapi.FailureMessage, error) {
	name, err := sqs.QueueName(f.queueURL)
	if err != nil {
		return nil, err
	}
	msgs, err := f.queue.List(ctx, name)
	if err != nil {
		return nil, err
	}
	out := make([]webapi.FailureMessage, 0, len(msgs))
	for _, m := range msgs {
		out = append(out, webapi.FailureMessage{
			MessageID: m.MessageID, SentTimestamp: m.SentAt.UnixMilli(), ReceiveCount: m.ReceiveCount, Body: rawBody(m.Body),
		})
	}
	return out, nil
}

func (f failures) Redrive(ctx context.Context, input []byte) (json.RawMessage, error) {
	out, err := f.lambda.Invoke(ctx, f.redriveFunction, input)
	if err != nil {
		return nil, fmt.Errorf("redrive function: %w", err)
	}
	if !json.Valid(out) {
		return nil, fmt.Errorf("redrive function answered %q", out)
	}
	return out, nil
}

// rand01 is the fault switch's random source.
func rand01() float64 { return rand.Float64() }
