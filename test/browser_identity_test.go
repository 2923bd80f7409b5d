package test

import (
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// submitAuth submits the sign-in form as a person does (requestSubmit runs the page's
// handler; chromedp.Submit's form.submit() would skip it and navigate).
var submitAuth = chromedp.Evaluate[chromedp.Void](`document.querySelector('.auth-form').requestSubmit()`)

// The web app's one code path for each kind of person, in Debian's chromium against
// the twin: the operator the twin signs in at start signs out and the page is a
// guest's (search and upload work, the operators' pages say they are for operators);
// then someone signs up with the code the twin logs instead of mailing it, signs in,
// and is a user — still not an operator.
func TestBrowserGuestSignUpAndSignIn(t *testing.T) {
	if testing.Short() {
		t.Skip("browser test in -short mode")
	}
	b := newBrowser(t)
	tw := startTwin(t)
	base := tw.HTTPURL

	b.run("open the app", chromedp.Navigate(base+"/#/search"))
	b.waitJS("the operator signed in at start", `document.querySelector('[data-testid="auth-user"]')?.textContent.includes('operator@imagepipe.invalid')`, 30*time.Second)
	b.run("sign out", chromedp.Evaluate[chromedp.Void](`[...document.querySelectorAll('[data-testid="auth-user"] button')].find(x => x.textContent.includes('Sign out')).click()`))
	b.waitJS("the guest view", `!!document.querySelector('[data-testid="sign-in"]')`, 10*time.Second)

	// A guest uploads a photo; its row ends linked to the execution that indexed it.
	dir := t.TempDir()
	p := filepath.Join(dir, "guest.jpg")
	if err := os.WriteFile(p, smallJPEG(t, 3), 0o644); err != nil {
		t.Fatal(err)
	}
	b.run("guest upload", chromedp.Navigate(base+"/#/upload"), chromedp.Reload(),
		chromedp.WaitReady(chromedp.CSS(`[data-testid="upload-input"]`)),
		chromedp.SetUploadFiles(chromedp.CSS(`[data-testid="upload-input"]`), []string{p}))
	b.waitJS("the guest's upload indexed, linked to its execution", `(() => {
		const r = document.querySelector('[data-testid="upload-row"]');
		return r && r.querySelector('[data-testid="upload-execution-status"]')?.textContent === 'SUCCEEDED' &&
			/#\/executions\/arn/.test(r.querySelector('a.exec-link')?.getAttribute('href') ?? '');
	})()`, 2*time.Minute)
	key := eval[string](b, `document.querySelector('[data-testid="upload-row"]').dataset.key`)
	if !regexp.MustCompile(`^upload/us-east-1:[0-9a-f-]{36}/[0-9a-f]{32}/guest\.jpg$`).MatchString(key) {
		t.Errorf("guest upload key %q: want the guest's own prefix", key)
	}
	// The operators' pages say whose they are.
	for _, page := range []string{"executions", "failures"} {
		b.run("guest "+page, chromedp.Navigate(base+"/?guest="+page+"#/"+page))
		b.waitJS("guest "+page+" refused in words", `/for operators/.test(document.querySelector('main')?.innerText ?? '')`, 30*time.Second)
	}
	b.shot("guest-executions")

	// Sign up, confirm with the logged code, sign in.
	email, password := "ann@example.com", "Correct-Horse-42!"
	b.run("open the sign-in form", chromedp.Navigate(base+"/#/search"), chromedp.WaitVisible(chromedp.CSS(`[data-testid="sign-in"]`)),
		chromedp.Click(chromedp.CSS(`[data-testid="sign-in"]`)))
	b.run("sign up", chromedp.Evaluate[chromedp.Void](`[...document.querySelectorAll('.auth-form button')].find(x => x.textContent === 'Create account').click()`),
		chromedp.SendKeys(chromedp.CSS(`.auth-form input[name="email"]`), email),
		chromedp.SendKeys(chromedp.CSS(`.auth-form input[name="password"]`), password),
		submitAuth)
	b.waitJS("asked for the code", `/code was sent/.test(document.querySelector('.auth-form [role="status"]')?.textContent ?? '')`, 30*time.Second)
	var code string
	waitFor(t, 10*time.Second, "the verification code in the twin's log", func() (bool, error) {
		m := regexp.MustCompile(`"email":"` + regexp.QuoteMeta(email) + `"[^\n]*"code":"(\d{6})"`).FindStringSubmatch(tw.logs.String())
		if m != nil {
			code = m[1]
		}
		return m != nil, nil
	})
	b.run("confirm", chromedp.SendKeys(chromedp.CSS(`.auth-form input[name="code"]`), code), submitAuth)
	b.waitJS("confirmed", `/Confirmed/.test(document.querySelector('.auth-form [role="status"]')?.textContent ?? '')`, 30*time.Second)
	b.run("sign in", chromedp.SendKeys(chromedp.CSS(`.auth-form input[name="password"]`), password), submitAuth)
	b.waitJS("signed in as "+email, fmt.Sprintf(`document.querySelector('[data-testid="auth-user"]')?.textContent.includes(%q)`, email), 30*time.Second)
	b.run("user executions", chromedp.Navigate(base+"/?user=1#/executions"))
	b.waitJS("a user is not an operator", `/not in the operators group/.test(document.querySelector('main')?.innerText ?? '')`, 30*time.Second)
	b.shot("user-executions")

	b.mu.Lock()
	defer b.mu.Unlock()
	for _, p := range b.problems {
		// A guest's and a user's refused calls are the page's to explain, not errors.
		if !strings.Contains(p, "403") {
			t.Errorf("browser console: %s", p)
		}
	}
}
