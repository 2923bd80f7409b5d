package test

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime/multipart"
	"net/http"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
	"github.com/aws/aws-sdk-go-v2/service/lambda"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/sfn"
	"github.com/aws/smithy-go"
)

// presignUpload invokes the stack's presign-upload function through the twin's
// Lambda API with the API Gateway proxy event AWS sends for POST /uploads signed by
// a Cognito identity (the twin's API stage does not yet verify signatures, so it
// cannot fill in requestContext.identity itself). It returns the status and body.
func (tw *Twin) presignUpload(t *testing.T, identityID, body string) (int, map[string]any) {
	t.Helper()
	ev, _ := json.Marshal(map[string]any{
		"resource": "/uploads", "path": "/uploads", "httpMethod": "POST",
		"headers":        map[string]string{"Content-Type": "application/json"},
		"requestContext": map[string]any{"resourcePath": "/uploads", "httpMethod": "POST", "stage": "prod", "identity": map[string]any{"cognitoIdentityId": identityID}},
		"body":           body, "isBase64Encoded": false,
	})
	lc := lambda.NewFromConfig(tw.awsConfig(), func(o *lambda.Options) { o.BaseEndpoint = aws.String(tw.EdgeURL) })
	out, err := lc.Invoke(ctxT(t), &lambda.InvokeInput{FunctionName: aws.String("ImagePipe-PresignUploadFunction"), Payload: ev})
	if err != nil || out.FunctionError != nil {
		t.Fatalf("invoke presign-upload: %v %s", err, out.Payload)
	}
	var resp struct {
		StatusCode int    `json:"statusCode"`
		Body       string `json:"body"`
	}
	var m map[string]any
	if err := json.Unmarshal(out.Payload, &resp); err != nil || json.Unmarshal([]byte(resp.Body), &m) != nil {
		t.Fatalf("presign-upload answered %s", out.Payload)
	}
	return resp.StatusCode, m
}

// postForm uploads body as a browser does with the fields presign-upload gave:
// multipart/form-data, the fields first, then the file, streamed.
func postForm(t *testing.T, url string, fields map[string]any, name string, body io.Reader) (int, string) {
	t.Helper()
	pr, pw := io.Pipe()
	mw := multipart.NewWriter(pw)
	go func() {
		names := make([]string, 0, len(fields))
		for k := range fields {
			names = append(names, k)
		}
		sort.Strings(names)
		for _, k := range names {
			_ = mw.WriteField(k, fmt.Sprint(fields[k]))
		}
		fw, _ := mw.CreateFormFile("file", name)
		if _, err := io.Copy(fw, body); err != nil {
			pw.CloseWithError(err)
			return
		}
		pw.CloseWithError(mw.Close())
	}()
	req, _ := http.NewRequestWithContext(ctxT(t), http.MethodPost, url, pr)
	req.Header.Set("Content-Type", mw.FormDataContentType())
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		// The edge may answer EntityTooLarge and close before the whole body is sent.
		return 0, err.Error()
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// zeros is an endless reader of zero bytes.
type zeros struct{}

func (zeros) Read(p []byte) (int, error) {
	clear(p)
	return len(p), nil
}

// A guest uploads the way the web app does: presign-upload signs a POST policy for
// one new key under the guest's own prefix, the browser POSTs the form to the bucket,
// and the pipeline runs on the object. The guest's own credentials may not write to
// the bucket, and S3 (the edge) refuses a file over the policy's 50 MiB.
func TestPresignedPostUploadRunsThePipelineAndLimitsSize(t *testing.T) {
	tw := startTwin(t)
	c := tw.cognito(t)
	guest, guestID := identityS3(t, tw, c, nil)
	if code := put(t, guest, "upload/"+guestID+"/direct.jpg"); code != "AccessDenied" {
		t.Errorf("guest PutObject under its own prefix: %q, want AccessDenied (uploads go through POST /uploads)", code)
	}

	photo := smallJPEG(t, 3)
	status, ans := tw.presignUpload(t, guestID, fmt.Sprintf(`{"name":"red flower.jpg","size":%d,"contentType":"image/jpeg"}`, len(photo)))
	if status != 200 {
		t.Fatalf("presign-upload: %d %v", status, ans)
	}
	key, _ := ans["key"].(string)
	url, _ := ans["url"].(string)
	fields, _ := ans["fields"].(map[string]any)
	if !strings.HasPrefix(key, "upload/"+guestID+"/") || !strings.HasSuffix(key, "/red flower.jpg") || url != tw.EdgeURL+"/images" || ans["maxBytes"] != float64(50<<20) {
		t.Fatalf("presign-upload answered key %q url %q maxBytes %v", key, url, ans["maxBytes"])
	}
	if st, body := postForm(t, url, fields, "red flower.jpg", bytes.NewReader(photo)); st != http.StatusNoContent {
		t.Fatalf("POST Object: %d %s", st, body)
	}
	doc := tw.documentByKey(t, key, 60*time.Second)
	if doc.Key != key || doc.Format != "jpeg" {
		t.Errorf("document %+v", doc)
	}
	out, err := tw.SFN().ListExecutions(ctxT(t), &sfn.ListExecutionsInput{StateMachineArn: aws.String(pipelineArn(t, tw))})
	if err != nil {
		t.Fatal(err)
	}
	succeeded := 0
	for _, e := range out.Executions {
		if e.Status == "SUCCEEDED" {
			succeeded++
		}
	}
	if succeeded != 1 {
		t.Errorf("%d succeeded executions, want the upload's one", succeeded)
	}

	// Over the limit: presign-upload refuses to sign; a policy signed for a small
	// file does not stretch to 50 MiB + 1 either.
	if st, ans := tw.presignUpload(t, guestID, fmt.Sprintf(`{"name":"big.jpg","size":%d,"contentType":"image/jpeg"}`, 50<<20+1)); st != 400 {
		t.Errorf("presign 50 MiB + 1: %d %v, want 400", st, ans)
	}
	_, ans = tw.presignUpload(t, guestID, `{"name":"big.jpg","size":1000,"contentType":"image/jpeg"}`)
	bigKey, _ := ans["key"].(string)
	fields, _ = ans["fields"].(map[string]any)
	st, body := postForm(t, url, fields, "big.jpg", io.LimitReader(zeros{}, 50<<20+1))
	if st != 0 && (st != 400 || !strings.Contains(body, "<Code>EntityTooLarge</Code>")) {
		t.Errorf("POST of 50 MiB + 1: %d %s, want 400 EntityTooLarge", st, body)
	}
	_, err = tw.S3().HeadObject(ctxT(t), &s3.HeadObjectInput{Bucket: aws.String("images"), Key: aws.String(bigKey)})
	var ae smithy.APIError
	if !errors.As(err, &ae) || ae.ErrorCode() != "NotFound" {
		t.Errorf("the refused upload: HeadObject %v, want NotFound", err)
	}
	// Another identity's key, or a key the policy does not name, is refused.
	fields["key"] = "upload/" + guestID + "/other.jpg"
	if st, body := postForm(t, url, fields, "x.jpg", bytes.NewReader(photo)); st != 403 || !strings.Contains(body, "Policy Condition failed") {
		t.Errorf("POST under another key: %d %s", st, body)
	}
}

// esGet is a SigV4-signed (service es) GET on the twin's OpenSearch domain.
func (tw *Twin) esGet(t *testing.T, path string) map[string]any {
	t.Helper()
	req, _ := http.NewRequestWithContext(ctxT(t), http.MethodGet, tw.EdgeURL+"/opensearch/us-east-1/imagepipe"+path, nil)
	creds, _ := tw.awsConfig().Credentials.Retrieve(ctxT(t))
	const emptySHA256 = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
	if err := v4.NewSigner().SignHTTP(ctxT(t), creds, req, emptySHA256, "es", "us-east-1", time.Now()); err != nil {
		t.Fatal(err)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var out map[string]any
	if err := json.NewDecoder(resp.Body).Decode(&out); err != nil || resp.StatusCode != 200 {
		t.Fatalf("GET %s: %d %v %v", path, resp.StatusCode, out, err)
	}
	return out
}

// The template's one-node domain and OPENSEARCH_REPLICAS=0: the index the pipeline
// creates holds no replica it cannot place, so the domain is green, not yellow.
func TestOneNodeDomainIsGreen(t *testing.T) {
	tw := startTwin(t)
	key := "upload/green.jpg"
	if _, err := tw.S3().PutObject(ctxT(t), &s3.PutObjectInput{Bucket: aws.String("images"), Key: aws.String(key), Body: bytes.NewReader(smallJPEG(t, 5))}); err != nil {
		t.Fatal(err)
	}
	tw.documentByKey(t, key, 60*time.Second)
	if h := tw.esGet(t, "/_cluster/health"); h["status"] != "green" || h["number_of_data_nodes"] != float64(1) {
		t.Errorf("cluster health %v, want green on 1 node", h)
	}
	s := tw.esGet(t, "/images/_settings")
	if r := s["images"].(map[string]any)["settings"].(map[string]any)["index"].(map[string]any)["number_of_replicas"]; r != "0" {
		t.Errorf("number_of_replicas %v, want 0", r)
	}
}

// An upload the pipeline refuses for good is tagged imagepipe:status=rejected by
// extract-metadata, which the bucket's lifecycle rule (expire-rejected-uploads)
// matches; a photo is not tagged.
func TestRejectedUploadIsTaggedForTheLifecycleRule(t *testing.T) {
	tw := startTwin(t)
	c := tw.S3()
	for key, body := range map[string][]byte{"upload/notes.txt": []byte("not an image at all"), "upload/fine.jpg": smallJPEG(t, 6)} {
		if _, err := c.PutObject(ctxT(t), &s3.PutObjectInput{Bucket: aws.String("images"), Key: aws.String(key), Body: bytes.NewReader(body)}); err != nil {
			t.Fatal(err)
		}
	}
	tw.documentByKey(t, "upload/fine.jpg", 60*time.Second)
	waitFor(t, 60*time.Second, "the rejected tag on upload/notes.txt", func() (bool, error) {
		out, err := c.GetObjectTagging(ctxT(t), &s3.GetObjectTaggingInput{Bucket: aws.String("images"), Key: aws.String("upload/notes.txt")})
		if err != nil {
			return false, err
		}
		return len(out.TagSet) == 1 && aws.ToString(out.TagSet[0].Key) == "imagepipe:status" && aws.ToString(out.TagSet[0].Value) == "rejected", nil
	})
	out, err := c.GetObjectTagging(ctxT(t), &s3.GetObjectTaggingInput{Bucket: aws.String("images"), Key: aws.String("upload/fine.jpg")})
	if err != nil || len(out.TagSet) != 0 {
		t.Errorf("the photo's tags: %v %v, want none", out, err)
	}
}
