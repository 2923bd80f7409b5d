package test

import (
	"github.com/imagepipe/imagepipe/functions/testkit"

	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// The web app end to end in Debian's headless Chromium against a running twin: upload
// through the page, search, open executions, see a corrupt file under Failures.
// Screenshots of each page land in test/artifacts/ for a person to look at.

const chromiumPath = "/usr/bin/chromium"

type browser struct {
	t   *testing.T
	ctx context.Context
	mu  sync.Mutex
	// problems holds console errors and uncaught exceptions seen on the page.
	problems []string
}

func newBrowser(t *testing.T) *browser {
	t.Helper()
	if _, err := os.Stat(chromiumPath); err != nil {
		testkit.SkipUnlessCI(t, fmt.Sprintf("no %s (Debian's chromium; `make deps` installs it)", chromiumPath))
	}
	if _, err := os.Stat(filepath.Join(repoRoot(), "web", "dist", "index.html")); err != nil {
		testkit.SkipUnlessCI(t, "web/dist is not built (`make build-web`)")
	}
	// The flags keep Chromium off the network: this machine refuses its background calls.
	opts := []chromedp.ExecAllocatorOption{
		chromedp.ExecPath(chromiumPath),
		chromedp.Headless,
		chromedp.NoSandbox,
		chromedp.NoFirstRun,
		chromedp.NoDefaultBrowserCheck,
		chromedp.UserDataDir(t.TempDir()),
		chromedp.Flag("disable-gpu", true),
		chromedp.Flag("disable-quic", true),
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.Flag("disable-dev-shm-usage", true),
		chromedp.WindowSize(1280, 900),
	}
	actx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancelCtx := chromedp.NewContext(actx)
	t.Cleanup(func() { cancelCtx(); cancelAlloc() })
	b := &browser{t: t, ctx: ctx}
	// Console errors and uncaught exceptions fail the test at the end.
	messages := chromedp.Console(ctx)
	go func() {
		for m, err := range messages {
			if err != nil {
				return
			}
			// A missing optional endpoint (the load tester) is handled in words on the page.
			if (m.Type == chromedp.ConsoleError || m.IsException()) && !strings.Contains(m.URL, "/api/load") {
				b.problem(fmt.Sprintf("%s (%s %s)", m, m.Source, m.URL))
			}
		}
	}()
	return b
}

func (b *browser) problem(s string) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.problems = append(b.problems, s)
}

func (b *browser) run(what string, actions ...chromedp.Action[chromedp.Void]) {
	b.t.Helper()
	if err := chromedp.Do(b.ctx, actions...); err != nil {
		b.shot("failed-" + strings.ReplaceAll(what, " ", "-"))
		b.t.Fatalf("%s: %v", what, err)
	}
}

// waitJS polls a JavaScript expression until it is truthy, up to timeout.
func (b *browser) waitJS(what, expr string, timeout time.Duration) {
	b.t.Helper()
	b.run(what, chromedp.Poll[chromedp.Void](expr, chromedp.WithPollingInterval(100*time.Millisecond), chromedp.WithPollingTimeout(timeout)))
}

// eval evaluates a JavaScript expression into v.
func eval[T any](b *browser, expr string) T {
	b.t.Helper()
	v, err := chromedp.Run(b.ctx, chromedp.Evaluate[T](expr))
	if err != nil {
		b.shot("failed-eval")
		b.t.Fatalf("evaluate %s: %v", expr, err)
	}
	return v
}

// shot writes a full-page PNG to test/artifacts/<name>.png.
func (b *browser) shot(name string) {
	dir := filepath.Join(repoRoot(), "test", "artifacts")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		b.t.Logf("artifacts: %v", err)
		return
	}
	png, err := chromedp.Run(b.ctx, chromedp.FullScreenshot(100))
	if err != nil {
		b.t.Logf("screenshot %s: %v", name, err)
		return
	}
	if err := os.WriteFile(filepath.Join(dir, name+".png"), png, 0o644); err != nil {
		b.t.Logf("screenshot %s: %v", name, err)
	}
}

func TestBrowserUploadSearchExecutionsFailures(t *testing.T) {
	if testing.Short() {
		t.Skip("browser test in -short mode")
	}
	b := newBrowser(t)
	base := os.Getenv("IMAGEPIPE_WEB_URL") // a twin already running (make run), for development
	if base == "" {
		base = startTwin(t).HTTPURL
	}
	browserFlow(t, b, strings.TrimRight(base, "/"))
}

func browserFlow(t *testing.T, b *browser, base string) {
	dir := t.TempDir()
	token := fmt.Sprintf("Cam%d", time.Now().UnixNano()%1_000_000_000)
	var files []string
	for i, name := range []string{"harbour.jpg", "meadow.jpg"} {
		data := jpegWithEXIF(t, photo(320+40*i, 200, uint8(40*i)), exifFacts{
			Make: "Browsertest", Model: token, DateTimeOriginal: "2021:07:14 09:30:00",
			Orientation: 1, Lat: 43.467 + float64(i), Lon: 11.885,
		})
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, data, 0o644); err != nil {
			t.Fatal(err)
		}
		files = append(files, p)
	}

	// Upload: two images through the file input; each links to its execution.
	b.run("open upload page",
		chromedp.Navigate(base+"/#/upload"),
		chromedp.WaitReady(chromedp.CSS(`[data-testid="upload-input"]`)),
		chromedp.SetUploadFiles(chromedp.CSS(chromedp.CSS(`[data-testid="upload-input"]`)), files),
	)
	b.waitJS("both uploads end (failed, or their executions finished)", `(() => {
		const rows = [...document.querySelectorAll('li.upload')];
		return rows.length === 2 && rows.every(r => r.classList.contains('st-failed') ||
			['SUCCEEDED', 'FAILED', 'TIMED_OUT', 'ABORTED'].includes(r.querySelector('[data-testid="upload-execution-status"]')?.textContent));
	})()`, 2*time.Minute)
	uploadErrors := eval[[]string](b, `[...document.querySelectorAll('li.upload.st-failed')].map(r => r.innerText)`)
	statuses := eval[[]string](b, `[...document.querySelectorAll('[data-testid="upload-execution-status"]')].map(e => e.textContent)`)
	keys := eval[[]string](b, `[...document.querySelectorAll('li.upload')].map(l => l.dataset.key)`)
	if len(uploadErrors) > 0 {
		b.shot("upload")
		t.Fatalf("uploads failed: %q", uploadErrors)
	}
	b.shot("upload")
	for _, s := range statuses {
		if s != "SUCCEEDED" {
			t.Fatalf("upload executions ended %v, want SUCCEEDED", statuses)
		}
	}
	for _, k := range keys {
		if !strings.HasPrefix(k, "upload/") || !(strings.HasSuffix(k, "-harbour.jpg") || strings.HasSuffix(k, "-meadow.jpg")) {
			t.Errorf("upload key %q: want upload/YYYY/MM/DD/<id>-<name>", k)
		}
	}

	// Search: both found by their camera model; every thumbnail has loaded.
	b.run("search",
		chromedp.Navigate(base+"/#/search"),
		chromedp.WaitVisible(chromedp.CSS(`[data-testid="search-input"]`)),
		chromedp.SendKeys(chromedp.CSS(chromedp.CSS(`[data-testid="search-input"]`)), strings.ToLower(token)),
	)
	want, _ := json.Marshal(keys)
	b.waitJS("both uploads found and their thumbnails loaded", fmt.Sprintf(`(() => {
		const want = %s;
		const imgs = [...document.querySelectorAll('[data-testid="result-thumb"]')];
		return imgs.length === 2 && imgs.every(i => want.includes(i.dataset.key) && i.complete && i.naturalWidth > 0);
	})()`, want), time.Minute)
	found := eval[[]string](b, `[...document.querySelectorAll('[data-testid="result-thumb"]')].map(i => i.dataset.key).sort()`)
	if strings.Join(found, " ") != strings.Join(sorted(keys), " ") {
		t.Errorf("search found %v, want %v", found, sorted(keys))
	}
	b.shot("search")

	// The detail view: preview, camera, coordinates and a map link.
	b.run("open detail", chromedp.Click(chromedp.CSS(`[data-testid="result-thumb"]`)))
	b.waitJS("preview loaded", `(() => { const i = document.querySelector('[data-testid="detail-preview"]'); return i && i.complete && i.naturalWidth > 0; })()`, 30*time.Second)
	detail := eval[string](b, `document.querySelector('dialog.detail').innerText`)
	for _, want := range []string{"Browsertest " + token, "11.88500", "map", "EXIF"} {
		if !strings.Contains(detail, want) {
			t.Errorf("detail view lacks %q:\n%s", want, detail)
		}
	}
	b.shot("search-detail")
	b.run("close detail", chromedp.KeyEvent("\x1b"))

	// Executions: each upload's execution, every state SUCCEEDED.
	b.run("executions list", chromedp.Navigate(base+"/#/executions"))
	b.waitJS("execution rows", `document.querySelectorAll('[data-testid="execution-row"]').length >= 2`, 30*time.Second)
	b.shot("executions")
	for i, key := range keys {
		b.run("executions for "+key, chromedp.Navigate(base+"/#/executions?key="+key))
		b.waitJS("a row for "+key, fmt.Sprintf(`(() => { const r = document.querySelectorAll('[data-testid="execution-row"]'); return r.length >= 1 && [...r].every(x => x.dataset.key === %q); })()`, key), 30*time.Second)
		b.run("open execution", chromedp.Click(chromedp.CSS(`[data-testid="execution-row"] a`)))
		b.waitJS("states drawn", `document.querySelectorAll('button.state').length >= 5`, 30*time.Second)
		type state struct {
			Status    string `json:"status"`
			ErrorPath bool   `json:"errorPath"`
		}
		states := eval[map[string]state](b, `Object.fromEntries([...document.querySelectorAll('button.state')].map(s =>
			[s.dataset.state, {status: s.dataset.status, errorPath: s.dataset.errorPath === 'true'}]))`)
		st := map[string]string{}
		for name, s := range states {
			st[name] = s.Status
			// States that only a Catch reaches never run in a clean execution.
			want := "SUCCEEDED"
			if s.ErrorPath {
				want = "NOT_RUN"
			}
			if s.Status != want {
				t.Errorf("execution of %s: state %s is %s, want %s", key, name, s.Status, want)
			}
		}
		for _, want := range []string{"ExtractMetadata", "DetectLabels", "MakeThumbnail", "IndexDocument"} {
			if st[want] != "SUCCEEDED" {
				t.Errorf("execution of %s: state %s is %q, want SUCCEEDED (states: %v)", key, want, st[want], st)
			}
		}
		status := eval[string](b, `document.querySelector('h1 [data-testid="execution-status"]').textContent`)
		if status != "SUCCEEDED" {
			t.Errorf("execution of %s: status %q", key, status)
		}
		if i == 0 {
			b.shot("execution")
		}
	}

	// A corrupt file: its execution fails and the failure queue shows why.
	bad := filepath.Join(dir, "corrupt.jpg")
	if err := os.WriteFile(bad, []byte("\xff\xd8\xff\xe0 this is not really a JPEG, the bytes stop here"), 0o644); err != nil {
		t.Fatal(err)
	}
	b.run("upload corrupt file",
		chromedp.Navigate(base+"/#/upload"),
		chromedp.Reload(), // a fresh upload list
		chromedp.WaitReady(chromedp.CSS(`[data-testid="upload-input"]`)),
		chromedp.SetUploadFiles(chromedp.CSS(chromedp.CSS(`[data-testid="upload-input"]`)), []string{bad}),
	)
	b.waitJS("corrupt upload's execution ends", `(() => {
		const r = document.querySelector('li.upload'), s = r && r.querySelector('[data-testid="upload-execution-status"]');
		return r && (r.classList.contains('st-failed') || (s && s.textContent !== 'RUNNING'));
	})()`, 2*time.Minute)
	if e := eval[string](b, `document.querySelector('li.upload.st-failed')?.innerText ?? ''`); e != "" {
		t.Fatalf("corrupt upload was refused by the API instead of failing in the pipeline: %s", e)
	}
	badKey := eval[string](b, `document.querySelector('li.upload').dataset.key`)
	badStatus := eval[string](b, `document.querySelector('[data-testid="upload-execution-status"]').textContent`)
	if badStatus != "FAILED" {
		t.Errorf("corrupt upload: execution %s, want FAILED", badStatus)
	}
	b.run("open failed execution", chromedp.Click(chromedp.CSS(`a.exec-link`)))
	b.waitJS("failed states drawn", `document.querySelectorAll('button.state[data-status="FAILED"]').length >= 1`, 30*time.Second)
	b.shot("execution-failed")

	b.run("failures", chromedp.Navigate(base+"/#/failures"))
	b.waitJS("the corrupt file under Failures", fmt.Sprintf(`(() => { const f = document.querySelector('[data-testid="failure"][data-key=%q] [data-testid="failure-cause"]'); return f && f.textContent.trim().length > 0; })()`, badKey), 30*time.Second)
	cause := eval[string](b, fmt.Sprintf(`document.querySelector('[data-testid="failure"][data-key=%q]').innerText`, badKey))
	t.Logf("failure shown for %s: %s", badKey, strings.Join(strings.Fields(cause), " "))
	b.shot("failures")

	// Status: the ping count covers the two images.
	b.run("status", chromedp.Navigate(base+"/#/status"))
	b.waitJS("ping count", `/^\d+$/.test(document.querySelector('[data-testid="ping-count"]').textContent) && Number(document.querySelector('[data-testid="ping-count"]').textContent) >= 2`, 30*time.Second)
	b.shot("status")

	b.mu.Lock()
	defer b.mu.Unlock()
	for _, p := range b.problems {
		t.Errorf("browser console: %s", p)
	}
}

func sorted(xs []string) []string {
	out := append([]string(nil), xs...)
	for i := range out {
		for j := i + 1; j < len(out); j++ {
			if out[j] < out[i] {
				out[i], out[j] = out[j], out[i]
			}
		}
	}
	return out
}
