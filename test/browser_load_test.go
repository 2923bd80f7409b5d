package test

import (
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// The Status page's load test as an operator runs it: the load-tester Lambda invoked
// from the page, progress by time while it uploads, then its report as a chart of
// uploads and latency per second, and every upload indexed.
func TestBrowserLoadTestChart(t *testing.T) {
	if testing.Short() {
		t.Skip("browser test in -short mode")
	}
	b := newBrowser(t)
	base := startTwin(t).HTTPURL
	b.run("status page", chromedp.Navigate(base+"/#/status"))
	b.waitJS("signed in as the operator", `document.querySelector('[data-testid="auth-user"]')?.textContent.includes('operator@')`, 30*time.Second)
	b.run("start a 3 s run at 2/s",
		chromedp.SetValue(chromedp.CSS(`form.load input[name="rate"]`), "2"),
		chromedp.SetValue(chromedp.CSS(`form.load input[name="duration"]`), "3s"),
		chromedp.Evaluate[chromedp.Void](`document.querySelector('form.load').requestSubmit()`))
	b.waitJS("progress by time while it uploads", `!!document.querySelector('[data-testid="load-time"] progress')`, 30*time.Second)
	b.waitJS("the report as a chart", `!!document.querySelector('[data-testid="load-chart"]')`, 2*time.Minute)
	label := eval[string](b, `document.querySelector('[data-testid="load-chart"]').getAttribute('aria-label')`)
	t.Logf("chart: %s", label)
	if !strings.HasPrefix(label, "6 uploads over ") {
		t.Errorf("chart summary %q: want 6 uploads", label)
	}
	b.waitJS("all 6 indexed", `/Processed 6 of 6 sent/.test(document.querySelector('main')?.innerText ?? '')`, 2*time.Minute)
	b.shot("status-load")
	b.axe("status with a load report")
	b.mu.Lock()
	defer b.mu.Unlock()
	for _, p := range b.problems {
		t.Errorf("browser console: %s", p)
	}
}
