package test

import (
	"bytes"
	"fmt"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/chromedp/chromedp"

	"github.com/imagepipe/imagepipe/functions/pipeline"
)

// The search detail's Delete: an operator confirms, the dialog closes, and the
// result leaves the grid once the remove pipeline has dropped its document; a guest
// is told the delete is for operators, and nothing is deleted.
func TestBrowserDeleteImage(t *testing.T) {
	if testing.Short() {
		t.Skip("browser test in -short mode")
	}
	b := newBrowser(t)
	tw := startTwin(t)
	base := tw.HTTPURL
	keys := []string{"upload/browser-delete/gone.jpg", "upload/browser-delete/kept.jpg"}
	for i, k := range keys {
		if _, err := tw.S3().PutObject(ctxT(t), &s3.PutObjectInput{
			Bucket: aws.String("images"), Key: aws.String(k), Body: bytes.NewReader(smallJPEG(t, 40+i)), ContentType: aws.String("image/jpeg"),
		}); err != nil {
			t.Fatal(err)
		}
	}
	gone, kept := tw.documentByKey(t, keys[0], time.Minute), tw.documentByKey(t, keys[1], time.Minute)

	b.run("open the detail", chromedp.Navigate(fmt.Sprintf("%s/#/search?q=browser-delete&id=%s", base, gone.ID)))
	b.waitJS("the operator signed in, the detail and its result shown", fmt.Sprintf(`document.querySelector('[data-testid="auth-user"]')?.textContent.includes('operator@imagepipe.invalid') &&
		document.querySelector('dialog.detail[open]')?.dataset.id === %q && !!document.querySelector('[data-testid="result-thumb"][data-id=%q]')`, gone.ID, gone.ID), 30*time.Second)
	b.run("delete", chromedp.Click(chromedp.CSS(`[data-testid="detail-delete"]`)))
	b.waitJS("asked to confirm", `!!document.querySelector('[data-testid="detail-delete-confirm"]')`, 10*time.Second)
	if tw.objectExists(t, keys[0]) != true {
		t.Fatal("the upload went before the confirm")
	}
	b.run("confirm", chromedp.Click(chromedp.CSS(`[data-testid="detail-delete-confirm"]`)))
	b.waitJS("the dialog closed and the result gone once the index dropped it", fmt.Sprintf(`!document.querySelector('dialog.detail') &&
		/^Deleted gone\.jpg\.$/.test(document.querySelector('[data-testid="delete-status"]')?.textContent ?? '') &&
		!document.querySelector('[data-testid="result-thumb"][data-id=%q]') && !!document.querySelector('[data-testid="result-thumb"][data-id=%q]')`, gone.ID, kept.ID), time.Minute)
	if tw.objectExists(t, keys[0]) {
		t.Error("the upload is still in the bucket")
	}
	if st := tw.getJSON(t, "/api/images/"+pipeline.DocumentID("images", keys[0]), nil); st != 404 {
		t.Errorf("GET the deleted image's document: %d, want 404", st)
	}
	b.shot("search-deleted")

	// A guest sees the button; the API refuses, in words, and the image stays.
	b.run("sign out", chromedp.Evaluate[chromedp.Void](`[...document.querySelectorAll('[data-testid="auth-user"] button')].find(x => x.textContent.includes('Sign out')).click()`))
	b.waitJS("the guest view", `!!document.querySelector('[data-testid="sign-in"]')`, 10*time.Second)
	b.run("guest opens the detail", chromedp.Navigate(fmt.Sprintf("%s/?guest=1#/search?q=browser-delete&id=%s", base, kept.ID)))
	b.waitJS("the detail", fmt.Sprintf(`document.querySelector('dialog.detail[open]')?.dataset.id === %q`, kept.ID), 30*time.Second)
	b.run("guest deletes", chromedp.Click(chromedp.CSS(`[data-testid="detail-delete"]`)))
	b.waitJS("asked to confirm", `!!document.querySelector('[data-testid="detail-delete-confirm"]')`, 10*time.Second)
	b.run("guest confirms", chromedp.Click(chromedp.CSS(`[data-testid="detail-delete-confirm"]`)))
	b.waitJS("refused in words", `/Deleting an image is for operators/.test(document.querySelector('dialog.detail[open] .detail-delete')?.innerText ?? '')`, 30*time.Second)
	if !tw.objectExists(t, keys[1]) {
		t.Error("a guest deleted the upload")
	}
}
