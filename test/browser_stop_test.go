package test

import (
	"fmt"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sfn"
	sfntypes "github.com/aws/aws-sdk-go-v2/service/sfn/types"
	"github.com/chromedp/chromedp"
)

// Stop and Redrive on the execution page, as the Step Functions console offers them:
// an execution held RUNNING (make-thumbnail slowed by a fault) is stopped from the
// page and shows ABORTED; with the fault healed, Redrive from the page resumes it
// (RedriveExecution: the unfinished steps run again) and it SUCCEEDS, redriven once.
func TestBrowserStopAndRedriveExecution(t *testing.T) {
	if testing.Short() {
		t.Skip("browser test in -short mode")
	}
	b := newBrowser(t)
	tw := startTwin(t)
	tw.setFault(t, "make-thumbnail", "latency=60s")
	putPhoto(t, tw, "upload/stop/held.jpg")
	var arn string
	waitFor(t, 30*time.Second, "the execution running", func() (bool, error) {
		ex := tw.executions(t, sfntypes.ExecutionStatusRunning)
		if len(ex) == 1 {
			arn = aws.ToString(ex[0].ExecutionArn)
		}
		return arn != "", nil
	})
	status := `document.querySelector('h1 [data-testid="execution-status"]')?.textContent`
	b.run("open the running execution", chromedp.Navigate(tw.HTTPURL+"/#/executions"),
		chromedp.Evaluate[chromedp.Void](fmt.Sprintf(`location.hash = '#/executions/' + encodeURIComponent(%q)`, arn)))
	b.waitJS("Stop enabled on a RUNNING execution", fmt.Sprintf(`%s === 'RUNNING' && !document.querySelector('[data-testid="execution-stop"]').disabled`, status), 30*time.Second)
	b.run("Stop", chromedp.Click(chromedp.CSS(`[data-testid="execution-stop"]`)))
	b.waitJS("ABORTED", fmt.Sprintf(`%s === 'ABORTED'`, status), 30*time.Second)
	b.shot("execution-stopped")

	tw.setFault(t, "make-thumbnail", "off")
	b.run("Redrive", chromedp.Click(chromedp.CSS(`[data-testid="execution-redrive"]`)))
	b.waitJS("SUCCEEDED after the redrive", fmt.Sprintf(`%s === 'SUCCEEDED'`, status), 90*time.Second)
	d, err := tw.SFN().DescribeExecution(ctxT(t), &sfn.DescribeExecutionInput{ExecutionArn: aws.String(arn)})
	if err != nil || aws.ToInt32(d.RedriveCount) != 1 || d.Status != sfntypes.ExecutionStatusSucceeded {
		t.Errorf("after Stop and Redrive: %v %v, want SUCCEEDED redriven once", err, d)
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	for _, p := range b.problems {
		t.Errorf("browser console: %s", p)
	}
}
