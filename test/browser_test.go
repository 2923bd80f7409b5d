package test

import (
	"github.com/imagepipe/imagepipe/functions/testkit"

	"bytes"
	"compress/gzip"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
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

var uploadKeyRE = regexp.MustCompile(`^upload/us-east-1:[0-9a-f-]{36}/[0-9a-f]{32}/(harbour|meadow)\.jpg$`)

// tooLongSearch is typed after a search term to make the API refuse it (over 200 characters).
var tooLongSearch = strings.Repeat("a", 200)

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
			// The search the test makes too long on purpose is refused with a 400; an
			// upload's document is 404 until the pipeline has indexed it (the upload
			// page asks for it to find the execution that made it).
			if (m.Type == chromedp.ConsoleError || m.IsException()) && !strings.Contains(m.URL, tooLongSearch) && !docNotYet(m) {
				b.problem(fmt.Sprintf("%s (%s %s)", m, m.Source, m.URL))
			}
		}
	}()
	return b
}

// docNotYet is a 404 for GET /api/images/{id}: a document the pipeline has not written yet.
func docNotYet(m chromedp.ConsoleMessage) bool {
	return strings.Contains(m.URL, "/api/images/") && strings.Contains(m.String(), "404")
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
// A poll that starts while a navigation replaces the page can lose its execution
// context ("Cannot find context with specified id"); it is started again in the new one.
func (b *browser) waitJS(what, expr string, timeout time.Duration) {
	b.t.Helper()
	poll := chromedp.Poll[chromedp.Void](expr, chromedp.WithPollingInterval(100*time.Millisecond), chromedp.WithPollingTimeout(timeout))
	err := chromedp.Do(b.ctx, poll)
	for i := 0; i < 2 && err != nil && strings.Contains(err.Error(), "Cannot find context"); i++ {
		err = chromedp.Do(b.ctx, poll)
	}
	if err != nil {
		b.shot("failed-" + strings.ReplaceAll(what, " ", "-"))
		b.t.Fatalf("%s: %v", what, err)
	}
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

// axe runs axe-core (web/node_modules/axe-core, a devDependency of the web app) on
// the page as it stands and fails the test on any violation: the page is injected with
// its source on first use.
func (b *browser) axe(page string) {
	b.t.Helper()
	if !eval[bool](b, `typeof window.axe === 'object'`) {
		src, err := os.ReadFile(filepath.Join(repoRoot(), "web", "node_modules", "axe-core", "axe.min.js"))
		if err != nil {
			b.t.Fatalf("axe-core: %v (npm ci in web/)", err)
		}
		b.run("inject axe-core", chromedp.Evaluate[chromedp.Void](string(src)+"; 0"))
	}
	b.run("axe "+page, chromedp.Evaluate[chromedp.Void](`window.__axe = undefined; axe.run(document, {resultTypes: ['violations']}).then(
		r => window.__axe = r.violations.map(v => v.id + ' (' + v.impact + '): ' + v.help + ' — ' + v.nodes.slice(0, 3).map(n => n.target.join(' ')).join(', ')),
		e => window.__axe = ['axe failed: ' + e]); 0`))
	b.waitJS("axe results for "+page, `window.__axe !== undefined`, 30*time.Second)
	for _, v := range eval[[]string](b, `window.__axe`) {
		b.t.Errorf("axe-core on %s: %s", page, v)
	}
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
		// Large enough that the 640 px preview is at least twice a grid cell's width.
		data := jpegWithEXIF(t, photo(800+40*i, 500, uint8(40*i)), exifFacts{
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
		const rows = [...document.querySelectorAll('[data-testid="upload-row"]')];
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
	// The list survives going to another page and back, each row linking to its execution.
	b.run("to Status and back by the tabs",
		chromedp.Click(chromedp.CSS(`nav a[href="#/status"]`)),
		chromedp.WaitVisible(chromedp.CSS(`[data-testid="ping-count"]`)),
		chromedp.Click(chromedp.CSS(`nav a[href="#/upload"]`)),
	)
	b.waitJS("the upload list is still there", `(() => {
		const rows = [...document.querySelectorAll('[data-testid="upload-row"]')];
		return rows.length === 2 && rows.every(r => /#\/executions\/arn/.test(r.querySelector('a.exec-link')?.getAttribute('href') ?? ''));
	})()`, 10*time.Second)
	// The stack names each key (POST /uploads): the identity's own prefix, a random
	// segment, the file's name.
	for _, k := range keys {
		if !uploadKeyRE.MatchString(k) {
			t.Errorf("upload key %q: want upload/<identity id>/<32 hex>/<name>", k)
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
	b.axe("search")

	searchDetailFlow(t, b, base, token, keys)

	// Executions: each upload's execution, every state SUCCEEDED.
	b.run("executions list", chromedp.Navigate(base+"/#/executions"))
	b.waitJS("execution rows", `document.querySelectorAll('[data-testid="execution-row"]').length >= 2`, 30*time.Second)
	b.shot("executions")
	b.axe("executions")
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
		// The graph's edges: Next, Catch and one into each Parallel branch, each drawn.
		edges := eval[map[string]int](b, `[...document.querySelectorAll('svg.edges g.edge')].filter(g => g.querySelector('path').getAttribute('d')).reduce((m, g) => (m[g.dataset.edge] = (m[g.dataset.edge] ?? 0) + 1, m), {})`)
		if edges["next"] < 1 || edges["catch"] < 1 || edges["branch"] < 3 {
			t.Errorf("execution of %s: edges drawn %v, want next, catch and three branches", key, edges)
		}
		if i == 0 {
			b.shot("execution")
			b.axe("execution")
		}
	}

	bulkUploadFlow(t, b, base, dir, token)
	searchFiltersFlow(t, b, base, token)
	failedExec := failuresFlow(t, b, base, dir)
	redriveFlow(t, b, base, failedExec)
	phoneFlow(t, b, base, token, failedExec)

	// Status: the ping count covers the two images.
	b.run("status", chromedp.EmulateViewport(1280, 900), chromedp.Navigate(base+"/#/status"))
	b.waitJS("ping count", `(() => { const c = document.querySelector('[data-testid="ping-count"]')?.textContent ?? ''; return /^\d+$/.test(c) && Number(c) >= 2; })()`, 30*time.Second)
	b.shot("status")
	b.axe("status")

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

// searchDetailFlow drives the search page as a person would: sharp thumbnails, the
// detail view opened, stepped with next and closed with Back, a label chip that
// filters, and the detail view opened by its URL.
func searchDetailFlow(t *testing.T, b *browser, base, token string, keys []string) {
	// Sharp at any density: the pixels the grid image shows are at least twice its
	// displayed width. naturalWidth under srcset is density-corrected (the chosen
	// candidate's width ÷ its density), so the chosen file is decoded on its own.
	b.run("measure thumbnails", chromedp.Evaluate[chromedp.Void](`window.__thumbs = undefined; Promise.all([...document.querySelectorAll('[data-testid="result-thumb"]')].map(async img => {
		const im = new Image(); im.src = img.currentSrc; await im.decode();
		return {key: img.dataset.key, pixels: im.naturalWidth, natural: img.naturalWidth, shown: img.getBoundingClientRect().width, src: img.currentSrc};
	})).then(r => window.__thumbs = r, e => window.__thumbs = String(e)); 0`))
	b.waitJS("thumbnails measured", `window.__thumbs !== undefined`, 30*time.Second)
	type thumb struct {
		Key     string  `json:"key"`
		Pixels  float64 `json:"pixels"`
		Natural float64 `json:"natural"`
		Shown   float64 `json:"shown"`
		Src     string  `json:"src"`
	}
	thumbs := eval[[]thumb](b, `Array.isArray(window.__thumbs) ? window.__thumbs : []`)
	if len(thumbs) != 2 {
		t.Fatalf("thumbnails measured: %v (%v)", thumbs, eval[any](b, `window.__thumbs`))
	}
	for _, th := range thumbs {
		t.Logf("grid image %s: %v px from %s, naturalWidth %v, shown %v px wide", th.Key, th.Pixels, strings.SplitN(th.Src, "?", 2)[0], th.Natural, th.Shown)
		if th.Shown <= 0 || th.Pixels < 2*th.Shown {
			t.Errorf("grid image %s: %v px for %v px displayed, want at least twice", th.Key, th.Pixels, th.Shown)
		}
	}

	// Open the first result: its id is in the URL; next shows the second; Back closes.
	first := eval[string](b, `document.querySelector('[data-testid="result-thumb"]').dataset.id`)
	second := eval[string](b, `document.querySelectorAll('[data-testid="result-thumb"]')[1].dataset.id`)
	b.run("open detail", chromedp.Click(chromedp.CSS(`[data-testid="result-thumb"]`)))
	b.waitJS("detail open with its id in the URL", fmt.Sprintf(`document.querySelector('dialog.detail[open]')?.dataset.id === %q && location.hash.includes('id=%s')`, first, first), 10*time.Second)
	b.waitJS("preview loaded", `(() => { const i = document.querySelector('[data-testid="detail-preview"]'); return i && i.complete && i.naturalWidth > 0; })()`, 30*time.Second)
	detail := eval[string](b, `document.querySelector('dialog.detail').innerText`)
	for _, want := range []string{"Browsertest " + token, "11.88500", "map", "EXIF"} {
		if !strings.Contains(detail, want) {
			t.Errorf("detail view lacks %q:\n%s", want, detail)
		}
	}
	b.shot("search-detail")
	b.axe("search detail")
	b.run("next image", chromedp.Click(chromedp.CSS(`[data-testid="detail-next"]`)))
	b.waitJS("the next image shown", fmt.Sprintf(`document.querySelector('dialog.detail[open]')?.dataset.id === %q && location.hash.includes('id=%s')`, second, second), 10*time.Second)
	if d := eval[bool](b, `document.querySelector('[data-testid="detail-next"]').disabled`); !d {
		t.Errorf("detail-next is enabled on the last result")
	}
	b.run("Back", chromedp.Evaluate[chromedp.Void](`history.back()`))
	b.waitJS("Back closed the detail and stayed on the search", `!document.querySelector('dialog.detail') && location.hash.startsWith('#/search') && !location.hash.includes('id=') && document.querySelectorAll('[data-testid="result-thumb"]').length === 2`, 10*time.Second)

	// A label chip sets the exact label filter in place of the words: in the URL and
	// the filter row; the image is among the results. Its camera chip then adds the
	// exact camera filter.
	b.run("open detail for labels", chromedp.Click(chromedp.CSS(`[data-testid="result-thumb"]`)))
	b.waitJS("label chips", `document.querySelectorAll('dialog.detail[open] [data-testid="label-chip"]').length > 0`, 10*time.Second)
	label := eval[string](b, `document.querySelector('[data-testid="label-chip"]').dataset.label`)
	firstKey := eval[string](b, `document.querySelector('[data-testid="result-thumb"]').dataset.key`)
	b.run("click label chip", chromedp.Click(chromedp.CSS(`[data-testid="label-chip"]`)))
	filteredBy := func(what, param, value, input string) {
		b.t.Helper()
		b.waitJS(what, fmt.Sprintf(`(() => {
			const p = new URLSearchParams(location.hash.split('?')[1] ?? '');
			const keys = [...document.querySelectorAll('[data-testid="result-thumb"]')].map(i => i.dataset.key);
			return p.get(%q) === %q && !p.get('q') && !document.querySelector('dialog.detail') &&
				document.querySelector('[data-testid="search-input"]').value === '' && document.querySelector('[data-testid="%s"]').value === %q &&
				/^\d+ images? \(filtered\)$/.test(document.querySelector('[data-testid="result-count"]').textContent) && keys.includes(%q);
		})()`, param, value, input, value, firstKey), 30*time.Second)
	}
	filteredBy("results filtered by the label "+label, "label", label, "filter-label")
	b.shot("search-label")
	b.run("open the same image", chromedp.Click(chromedp.CSS(fmt.Sprintf(`[data-testid="result-thumb"][data-key=%q]`, firstKey))))
	b.waitJS("camera chip", `!!document.querySelector('dialog.detail[open] [data-testid="camera-chip"]')`, 10*time.Second)
	if c := eval[string](b, `document.querySelector('[data-testid="camera-chip"]').dataset.camera`); c != token {
		t.Errorf("camera chip for %q, want the model %q", c, token)
	}
	b.run("click camera chip", chromedp.Click(chromedp.CSS(`[data-testid="camera-chip"]`)))
	filteredBy("results filtered by the camera "+token+" and still the label", "camera", token, "filter-camera")
	if l := eval[string](b, `new URLSearchParams(location.hash.split('?')[1] ?? '').get('label') ?? ''`); l != label {
		t.Errorf("the camera chip dropped the label filter: label=%q, want %q", l, label)
	}

	// The detail view by its URL, in a fresh page: a link someone shared.
	b.run("open detail by URL", chromedp.Navigate(fmt.Sprintf("%s/?shared=1#/search?q=%s&id=%s", base, strings.ToLower(token), second)))
	b.waitJS("detail opened from the URL", fmt.Sprintf(`document.querySelector('dialog.detail[open]')?.dataset.id === %q`, second), 30*time.Second)
	b.run("close detail", chromedp.KeyEvent("\x1b"))
	b.waitJS("Escape closed it and dropped the id from the URL", `!document.querySelector('dialog.detail') && !location.hash.includes('id=')`, 10*time.Second)

	// A search the API refuses (too long) says why and leaves no stale count or images.
	b.waitJS("results before the error", `document.querySelectorAll('[data-testid="result-thumb"]').length === 2`, 30*time.Second)
	b.run("a search too long", chromedp.SendKeys(chromedp.CSS(`[data-testid="search-input"]`), tooLongSearch))
	b.waitJS("the error, with no stale count", `!!document.querySelector('main [role="alert"]') && document.querySelector('[data-testid="result-count"]').textContent === '' &&
		document.querySelectorAll('[data-testid="result-thumb"]').length === 0`, 30*time.Second)
	t.Logf("search error shown: %s", eval[string](b, `document.querySelector('main [role="alert"]').textContent`))
	_ = keys
}

// failuresFlow uploads two corrupt files, reads the failed execution's history, then
// redrives one failure and discards the other from the Failures page. It returns the
// failed execution's page URL fragment.
func failuresFlow(t *testing.T, b *browser, base, dir string) string {
	var bad []string
	for _, name := range []string{"corrupt.jpg", "broken.jpg"} {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte("\xff\xd8\xff\xe0 this is not really a JPEG, the bytes stop here: "+name), 0o644); err != nil {
			t.Fatal(err)
		}
		bad = append(bad, p)
	}
	b.run("upload corrupt files",
		chromedp.Navigate(base+"/#/upload"),
		chromedp.Reload(), // a fresh upload list
		chromedp.WaitReady(chromedp.CSS(`[data-testid="upload-input"]`)),
		chromedp.SetUploadFiles(chromedp.CSS(`[data-testid="upload-input"]`), bad),
	)
	b.waitJS("corrupt uploads' executions end", `(() => {
		const rows = [...document.querySelectorAll('[data-testid="upload-row"]')];
		return rows.length === 2 && rows.every(r => { const s = r.querySelector('[data-testid="upload-execution-status"]');
			return r.classList.contains('st-failed') || (s && s.textContent !== 'RUNNING'); });
	})()`, 2*time.Minute)
	if e := eval[string](b, `[...document.querySelectorAll('[data-testid="upload-row"].st-failed')].map(r => r.innerText).join('; ')`); e != "" {
		t.Fatalf("corrupt upload was refused by the API instead of failing in the pipeline: %s", e)
	}
	badKeys := eval[[]string](b, `[...document.querySelectorAll('[data-testid="upload-row"]')].map(r => r.dataset.key)`)
	if st := eval[[]string](b, `[...document.querySelectorAll('[data-testid="upload-execution-status"]')].map(s => s.textContent)`); strings.Join(st, ",") != "FAILED,FAILED" {
		t.Errorf("corrupt uploads: executions %v, want FAILED", st)
	}

	// The failed execution: the task that failed is selected (not the Fail state), and
	// the history table has every event, filterable.
	b.run("open failed execution", chromedp.Click(chromedp.CSS(`a.exec-link`)))
	b.waitJS("history table", `document.querySelectorAll('[data-testid="history-row"]').length >= 5 && document.querySelectorAll('button.state').length >= 5`, 30*time.Second)
	failedExec := eval[string](b, `location.hash`)
	types := eval[[]string](b, `[...document.querySelectorAll('[data-testid="history-row"]')].map(r => r.dataset.type)`)
	if types[0] != "ExecutionStarted" || types[len(types)-1] != "ExecutionFailed" || !contains(types, "TaskFailed") {
		t.Errorf("history rows: %v", types)
	}
	sel := eval[map[string]string](b, `(() => { const s = document.querySelector('button.state.selected'); return {name: s?.dataset.state ?? '', status: s?.dataset.status ?? '', meta: s?.querySelector('.state-meta')?.textContent ?? ''}; })()`)
	if !strings.HasPrefix(sel["meta"], "Task") || (sel["status"] != "FAILED" && sel["status"] != "CAUGHT") {
		t.Errorf("selected state %v: want the Task that failed", sel)
	}
	if n := eval[int](b, `document.querySelectorAll('[data-testid="attempt"]').length`); n < 1 {
		t.Errorf("no attempts shown for the failed task %s", sel["name"])
	}
	b.run("filter the history", chromedp.SendKeys(chromedp.CSS(`[data-testid="history-filter"]`), "TaskFailed"))
	b.waitJS("only TaskFailed rows", `(() => { const r = [...document.querySelectorAll('[data-testid="history-row"]')]; return r.length >= 1 && r.every(x => x.dataset.type === 'TaskFailed'); })()`, 10*time.Second)
	b.shot("execution-failed")
	b.axe("failed execution")

	// Failures: both files listed as permanent, with links; redrive one, discard the other.
	b.run("failures", chromedp.Navigate(base+"/#/failures"))
	row := func(key string) string {
		return fmt.Sprintf(`document.querySelector('[data-testid="failure-row"][data-key=%q]')`, key)
	}
	b.waitJS("both corrupt files under Failures", fmt.Sprintf(`(() => { const a = %s, b = %s;
		return [a, b].every(r => r && r.querySelector('[data-testid="failure-cause"]').textContent.trim() && r.querySelector('[data-testid="failure-kind"]'));
	})()`, row(badKeys[0]), row(badKeys[1])), 30*time.Second)
	kind := eval[string](b, row(badKeys[0])+`.querySelector('[data-testid="failure-kind"]').textContent`)
	link := eval[string](b, row(badKeys[0])+`.querySelector('[data-testid="failure-execution"]')?.getAttribute('href') ?? ''`)
	t.Logf("failure for %s: %s, execution link %q", badKeys[0], kind, link)
	if kind != "permanent" {
		t.Errorf("a corrupt JPEG's failure is %q, want permanent", kind)
	}
	if !strings.HasPrefix(link, "#/executions/arn") {
		t.Errorf("failure row links to execution %q", link)
	}
	b.shot("failures")
	b.axe("failures")
	b.run("redrive one failure", chromedp.Click(chromedp.CSS(fmt.Sprintf(`[data-testid="failure-row"][data-key=%q] [data-testid="failure-redrive"]`, badKeys[0]))))
	b.waitJS("the redrive's result", `/^Redrive: /.test(document.querySelector('[data-testid="failure-report"]')?.textContent ?? '')`, 30*time.Second)
	report := eval[string](b, `document.querySelector('[data-testid="failure-report"]').textContent`)
	if !strings.Contains(report, "started 1 execution") {
		t.Errorf("redrive report %q, want a started execution", report)
	}
	b.run("discard the other", chromedp.Click(chromedp.CSS(fmt.Sprintf(`[data-testid="failure-row"][data-key=%q] [data-testid="failure-discard"]`, badKeys[1]))))
	b.waitJS("discarded and gone", fmt.Sprintf(`(document.querySelector('[data-testid="failure-report"]')?.textContent ?? '') === 'Discard: discarded 1 message.' && !%s`, row(badKeys[1])), 30*time.Second)
	b.shot("failures-after")
	return failedExec
}

// bulkUploadFlow uploads 20 photos at once, with an empty file and a text file the
// page must refuse before uploading; every photo's row reaches its execution, which
// succeeds, and links to the image.
func bulkUploadFlow(t *testing.T, b *browser, base, dir, token string) {
	var files []string
	for i := range 20 {
		p := filepath.Join(dir, fmt.Sprintf("bulk-%02d.jpg", i))
		data := jpegWithEXIF(t, photo(320, 240, uint8(10*i)), exifFacts{Make: "Bulktest", Model: "Bulk" + token, DateTimeOriginal: "2022:01:02 03:04:05", Orientation: 1})
		if err := os.WriteFile(p, data, 0o644); err != nil {
			t.Fatal(err)
		}
		files = append(files, p)
	}
	for name, data := range map[string]string{"empty.jpg": "", "notes.txt": "not a photo"} {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(data), 0o644); err != nil {
			t.Fatal(err)
		}
		files = append(files, p)
	}
	b.run("upload 20 photos and two files the pipeline cannot read",
		chromedp.Navigate(base+"/#/upload"),
		chromedp.Reload(), // a fresh upload list
		chromedp.WaitReady(chromedp.CSS(`[data-testid="upload-input"]`)),
		chromedp.SetUploadFiles(chromedp.CSS(`[data-testid="upload-input"]`), files),
	)
	b.waitJS("every photo reaches its execution, which succeeds, and links to its image", `(() => {
		const rows = [...document.querySelectorAll('[data-testid="upload-row"]')];
		const photos = rows.filter(r => r.dataset.state !== 'refused');
		return rows.length === 22 && photos.length === 20 && photos.every(r =>
			/^#\/executions\/arn/.test(r.querySelector('a.exec-link')?.getAttribute('href') ?? '') &&
			r.querySelector('[data-testid="upload-execution-status"]')?.textContent === 'SUCCEEDED' &&
			/^#\/search\?id=[0-9a-f]{64}$/.test(r.querySelector('[data-testid="upload-image"]')?.getAttribute('href') ?? ''));
	})()`, 3*time.Minute)
	refused := eval[map[string]string](b, `Object.fromEntries([...document.querySelectorAll('[data-testid="upload-row"][data-state="refused"]')].map(r => [r.querySelector('strong').textContent, r.querySelector('[data-testid="upload-refused"]').textContent]))`)
	if !strings.Contains(refused["empty.jpg"], "empty") || !strings.Contains(refused["notes.txt"], "not an image") {
		t.Errorf("refused rows: %v, want empty.jpg (empty) and notes.txt (not an image)", refused)
	}
	if v := eval[float64](b, `document.querySelector('[data-testid="upload-overall"]').value`); v != 1 {
		t.Errorf("overall progress %v after every upload, want 1", v)
	}
	b.shot("upload-bulk")
	b.axe("upload")
	// The image link opens the detail view of that image.
	b.run("open an uploaded image", chromedp.Click(chromedp.CSS(`[data-testid="upload-image"]`)))
	b.waitJS("its detail view", `!!document.querySelector('dialog.detail[open]') && location.hash.startsWith('#/search?id=')`, 30*time.Second)
}

// searchFiltersFlow filters the library by camera (the 20 bulk photos), by location
// (only the two photos with GPS), both at once (none), and sorts by date taken; the
// filters live in the URL.
func searchFiltersFlow(t *testing.T, b *browser, base, token string) {
	count := func(what, frag string, want int) {
		b.t.Helper()
		b.run(what, chromedp.Navigate(base+"/?filters="+strings.ReplaceAll(what, " ", "-")+frag))
		b.waitJS(what, fmt.Sprintf(`(() => { const c = document.querySelector('[data-testid="result-count"]')?.textContent ?? '';
			return new RegExp('^%d images?( for .*)? \\(filtered\\)$').test(c) && document.querySelectorAll('.grid li').length === %d; })()`, want, want), 30*time.Second)
	}
	count("by camera", "#/search?camera=Bulk"+token, 20)
	count("with a location", fmt.Sprintf("#/search?q=%s&loc=1", strings.ToLower(token)), 2)
	count("camera and location", "#/search?camera=Bulk"+token+"&loc=1", 0)
	// Date taken: the two photos of the token were taken on 2021-07-14.
	q := strings.ToLower(token)
	count("taken after that day", "#/search?q="+q+"&takenFrom=2021-07-15", 0)
	count("taken before that day", "#/search?q="+q+"&takenFrom=2021-07-01&takenTo=2021-07-13", 0)
	// The date inputs: that day from and to; the URL follows.
	b.run("choose the days taken", chromedp.Evaluate[chromedp.Void](`(() => {
		for (const id of ['filter-taken-from', 'filter-taken-to']) {
			const i = document.querySelector('[data-testid="' + id + '"]');
			i.value = '2021-07-14';
			i.dispatchEvent(new Event('change', {bubbles: true}));
		}
	})(); 0`))
	b.waitJS("taken on that day, in the URL", `(() => { const c = document.querySelector('[data-testid="result-count"]')?.textContent ?? '';
		return /^2 images for .* \(filtered\)$/.test(c) && document.querySelectorAll('.grid li').length === 2 &&
			location.hash.includes('takenFrom=2021-07-14') && location.hash.includes('takenTo=2021-07-14'); })()`, 30*time.Second)
	// The controls: the camera typed in, the sort chosen; the URL follows.
	b.run("filter by typing a camera", chromedp.Navigate(base+"/?filters=typed#/search"))
	b.waitJS("filters shown", `!!document.querySelector('[data-testid="filter-camera"]')`, 10*time.Second)
	b.run("type a camera", chromedp.SendKeys(chromedp.CSS(`[data-testid="filter-camera"]`), "Bulk"+token+"\r"),
		chromedp.SetValue(chromedp.CSS(`[data-testid="search-sort"]`), "taken"))
	b.run("choose the sort", chromedp.Evaluate[chromedp.Void](`document.querySelector('[data-testid="search-sort"]').dispatchEvent(new Event('change', {bubbles: true})); 0`))
	b.waitJS("20 photos, sorted by date taken, in the URL", fmt.Sprintf(`document.querySelectorAll('.grid li').length === 20 && location.hash.includes('camera=Bulk%s') && location.hash.includes('sort=taken')`, token), 30*time.Second)
	b.shot("search-filters")
	b.axe("search filters")
}

// redriveFlow redrives the failed corrupt-file execution from its page: Step Functions
// starts it again from the state that failed (the Fail state its Catch led to), so it
// runs and fails again, and counts one redrive.
func redriveFlow(t *testing.T, b *browser, base, failedExec string) {
	b.run("open the failed execution", chromedp.Navigate(base+"/?redrive=1"+failedExec))
	b.waitJS("redrive offered", `(() => { const r = document.querySelector('[data-testid="execution-redrive"]'); return r && !r.disabled &&
		document.querySelector('h1 [data-testid="execution-status"]')?.textContent === 'FAILED'; })()`, 30*time.Second)
	if d := eval[bool](b, `document.querySelector('[data-testid="execution-stop"]').disabled`); !d {
		t.Errorf("Stop is enabled on a FAILED execution")
	}
	b.run("click Redrive", chromedp.Click(chromedp.CSS(`[data-testid="execution-redrive"]`)))
	b.waitJS("redriven once, and FAILED again", `document.querySelector('[data-testid="execution-redrive-count"]')?.textContent === '1×' &&
		document.querySelector('h1 [data-testid="execution-status"]')?.textContent === 'FAILED' &&
		[...document.querySelectorAll('[data-testid="history-row"]')].some(r => r.dataset.type === 'ExecutionRedriven')`, time.Minute)
	types := eval[[]string](b, `[...document.querySelectorAll('[data-testid="history-row"]')].map(r => r.dataset.type)`)
	// After the redrive the history goes on: redriven, the failed state again, failed.
	i := indexOf(types, "ExecutionRedriven")
	if i < 0 || types[len(types)-1] != "ExecutionFailed" || indexOf(types[i:], "ExecutionFailed") < 0 {
		t.Errorf("history after the redrive: %v", types)
	}
	b.shot("execution-redriven")
}

func indexOf(xs []string, x string) int {
	for i, y := range xs {
		if y == x {
			return i
		}
	}
	return -1
}

// phoneFlow checks the pages at 390×844: nothing scrolls sideways.
func phoneFlow(t *testing.T, b *browser, base, token, failedExec string) {
	b.run("phone viewport", chromedp.EmulateViewport(390, 844, chromedp.EmulateScale(2)))
	pages := []struct{ name, frag, ready string }{
		{"upload", "#/upload", `document.querySelector('[data-testid="upload-input"]')`},
		{"search", "#/search?q=" + strings.ToLower(token), `document.querySelectorAll('[data-testid="result-thumb"]').length === 2`},
		{"executions", "#/executions", `document.querySelectorAll('[data-testid="execution-row"]').length > 0`},
		{"execution-failed", failedExec, `document.querySelectorAll('[data-testid="history-row"]').length >= 5`},
		{"failures", "#/failures", `document.querySelector('[data-testid="failure-row"]') || /empty/.test(document.body.innerText)`},
		{"status", "#/status", `document.querySelector('[data-testid="ping-count"]')`},
	}
	for _, p := range pages {
		// A query string of its own makes each a fresh page load, not a hash change.
		b.run("phone "+p.name, chromedp.Navigate(base+"/?phone="+p.name+p.frag))
		b.waitJS("phone "+p.name+" ready", p.ready, 30*time.Second)
		w := eval[[]float64](b, `[document.documentElement.scrollWidth, document.documentElement.clientWidth]`)
		b.shot("phone-" + p.name)
		b.axe("phone " + p.name)
		if w[0] > w[1] {
			wide := eval[string](b, `[...document.querySelectorAll('body *')].filter(e => e.getBoundingClientRect().right > document.documentElement.clientWidth + 1 ||
				(e.scrollWidth > e.clientWidth + 1 && getComputedStyle(e).overflowX === 'visible')).slice(0, 8).map(e => e.tagName + '.' + e.className + ' ' + (e.innerText ?? '').slice(0, 40)).join(' | ')`)
			t.Errorf("phone %s: the page is %v px wide in a %v px viewport (too wide: %s)", p.name, w[0], w[1], wide)
		}
		if p.name == "search" {
			// The detail view on a phone.
			b.run("phone detail", chromedp.Click(chromedp.CSS(`[data-testid="result-thumb"]`)))
			b.waitJS("phone detail open", `!!document.querySelector('dialog.detail[open]')`, 10*time.Second)
			b.shot("phone-search-detail")
			if w := eval[[]float64](b, `(() => { const d = document.querySelector('dialog.detail'); return [d.scrollWidth, d.clientWidth]; })()`); w[0] > w[1] {
				t.Errorf("phone detail: %v px of content in a %v px dialog", w[0], w[1])
			}
			b.run("phone detail close", chromedp.KeyEvent("\x1b"))
			b.waitJS("phone detail closed", `!document.querySelector('dialog.detail') && !location.hash.includes('id=')`, 10*time.Second)
		}
	}
}

func contains(xs []string, x string) bool {
	for _, y := range xs {
		if y == x {
			return true
		}
	}
	return false
}

// TestFirstPaintBundle keeps what the first paint loads (web/dist/assets/index-*.js and
// index-*.css; the SDK chunks load later) under 60 KB gzipped.
func TestFirstPaintBundle(t *testing.T) {
	files, err := filepath.Glob(filepath.Join(repoRoot(), "web", "dist", "assets", "index-*"))
	if err != nil || len(files) == 0 {
		testkit.SkipUnlessCI(t, "web/dist is not built (`make build-web`)")
	}
	total := 0
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		var buf bytes.Buffer
		zw, _ := gzip.NewWriterLevel(&buf, gzip.BestCompression)
		if _, err := zw.Write(data); err != nil {
			t.Fatal(err)
		}
		if err := zw.Close(); err != nil {
			t.Fatal(err)
		}
		t.Logf("%s: %d bytes, %d gzipped", filepath.Base(f), len(data), buf.Len())
		total += buf.Len()
	}
	if total > 60*1024 {
		t.Errorf("first paint: %d bytes gzipped, want at most 60 KB", total)
	}
}
