package test

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/lambda"

	"github.com/imagepipe/imagepipe/functions/pipeline"
)

// The load tester on the twin, as the web app's Status page runs it: the stack's
// load-tester Lambda invoked through the Lambda API. A short run uploads what it
// says and every upload gets indexed; an out-of-range run is an InputError.
func TestLoadTesterLambda(t *testing.T) {
	tw := startTwin(t)
	ctx := ctxT(t)
	lc := lambda.NewFromConfig(tw.awsConfig(), func(o *lambda.Options) { o.BaseEndpoint = aws.String(tw.EdgeURL) })
	out, err := lc.Invoke(ctx, &lambda.InvokeInput{FunctionName: aws.String("ImagePipe-LoadTesterFunction"), Payload: []byte(`{"rate": 5, "duration": "1s"}`)})
	if err != nil || out.FunctionError != nil {
		t.Fatalf("invoke: %v %s %s", err, aws.ToString(out.FunctionError), out.Payload)
	}
	var rep struct {
		Sent, Failed int
		Prefix       string
		UploadP95Ms  *float64
	}
	if err := json.Unmarshal(out.Payload, &rep); err != nil || rep.Sent != 5 || rep.Failed != 0 || rep.UploadP95Ms == nil {
		t.Fatalf("report %s (%v), want 5 sent with latency figures", out.Payload, err)
	}
	bad, err := lc.Invoke(ctx, &lambda.InvokeInput{FunctionName: aws.String("ImagePipe-LoadTesterFunction"), Payload: []byte(`{"rate": 500, "duration": "1h"}`)})
	if err != nil || aws.ToString(bad.FunctionError) == "" || !strings.Contains(string(bad.Payload), "InputError") {
		t.Errorf("an out-of-range run: %v %s", err, bad.Payload)
	}
	// Every upload of the run ends indexed: the documents under the run's prefix.
	waitFor(t, 2*time.Minute, "the run's 5 uploads indexed", func() (bool, error) {
		n := 0
		for _, d := range tw.search(t, "", 100).Images {
			if strings.HasPrefix(d.Key, rep.Prefix) && d.ID == pipeline.DocumentID("images", d.Key) {
				n++
			}
		}
		return n == 5, nil
	})
}
