package api

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-lambda-go/lambda"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/s3"
)

const testIdentity = "us-east-1:0f6c5a4e-2b1d-4c3a-9e8f-7a6b5c4d3e2f"

func presignHandler() PresignUpload {
	client := s3.New(s3.Options{
		Region: "us-east-1", BaseEndpoint: aws.String("http://127.0.0.1:4566"), UsePathStyle: true,
		Credentials: credentials.NewStaticCredentialsProvider("ASIATEST", "secret", "session-token"),
	})
	return PresignUpload{Presigner: s3.NewPresignClient(client), Bucket: "images", MaxBytes: 50 << 20,
		AllowOrigin: "https://d1.cloudfront.net", Logger: quiet, Now: func() time.Time { return time.Unix(1_800_000_000, 0) }}
}

// invokeUpload sends the fixture with body (and identity, "" for none) through the
// Lambda handler's JSON contract.
func invokeUpload(t *testing.T, h PresignUpload, body, identity string) (events.APIGatewayProxyResponse, map[string]any) {
	t.Helper()
	var req events.APIGatewayProxyRequest
	if err := json.Unmarshal(fixture(t, "presign-upload-request.json"), &req); err != nil {
		t.Fatal(err)
	}
	if body != "-" {
		req.Body = body
	}
	req.RequestContext.Identity.CognitoIdentityID = identity
	raw, _ := json.Marshal(req)
	out, err := lambda.NewHandler(h.Handle).Invoke(context.Background(), raw)
	if err != nil {
		t.Fatal(err)
	}
	var resp events.APIGatewayProxyResponse
	if err := json.Unmarshal(out, &resp); err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	if err := json.Unmarshal([]byte(resp.Body), &m); err != nil {
		t.Fatalf("body %q: %v", resp.Body, err)
	}
	return resp, m
}

func TestPresignUploadSignsOnePolicyForANewKey(t *testing.T) {
	h := presignHandler()
	resp, m := invokeUpload(t, h, "-", testIdentity)
	if resp.StatusCode != 200 {
		t.Fatalf("%d %s", resp.StatusCode, resp.Body)
	}
	var got UploadResponse
	_ = json.Unmarshal([]byte(resp.Body), &got)
	prefix := "upload/" + testIdentity + "/"
	if !strings.HasPrefix(got.Key, prefix) || !strings.HasSuffix(got.Key, "/red flower.jpg") || len(got.Key) != len(prefix)+32+1+len("red flower.jpg") {
		t.Errorf("key %q, want %s<32 hex>/red flower.jpg", got.Key, prefix)
	}
	if got.URL != "http://127.0.0.1:4566/images" || got.MaxBytes != 50<<20 || got.ExpiresAt != "2027-01-15T08:15:00Z" {
		t.Errorf("url %q maxBytes %d expiresAt %q", got.URL, got.MaxBytes, got.ExpiresAt)
	}
	for _, f := range []string{"key", "policy", "X-Amz-Algorithm", "X-Amz-Credential", "X-Amz-Date", "X-Amz-Signature", "X-Amz-Security-Token", "Content-Type"} {
		if got.Fields[f] == "" {
			t.Errorf("field %s missing from %v", f, m["fields"])
		}
	}
	if got.Fields["key"] != got.Key || got.Fields["Content-Type"] != "image/jpeg" {
		t.Errorf("fields key %q Content-Type %q", got.Fields["key"], got.Fields["Content-Type"])
	}
	policy, err := base64.StdEncoding.DecodeString(got.Fields["policy"])
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{`{"bucket":"images"}`, `{"key":"` + got.Key + `"}`, `["content-length-range",1,52428800]`, `{"Content-Type":"image/jpeg"}`, `"expiration":`} {
		if !strings.Contains(string(policy), want) {
			t.Errorf("policy %s lacks %s", policy, want)
		}
	}
	if resp.Headers["Access-Control-Allow-Origin"] != "https://d1.cloudfront.net" {
		t.Errorf("CORS headers %v", resp.Headers)
	}
	_, m2 := invokeUpload(t, h, "-", testIdentity)
	if m2["key"] == got.Key {
		t.Error("two uploads of the same name got the same key; one could overwrite the other")
	}
}

func TestPresignUploadRefusesBadRequests(t *testing.T) {
	h := presignHandler()
	for _, tc := range []struct {
		name, body, identity string
		status               int
		want                 string
	}{
		{"size 0", `{"name":"a.jpg","size":0,"contentType":"image/jpeg"}`, testIdentity, 400, "at least 1 byte"},
		{"over the limit", `{"name":"a.jpg","size":52428801,"contentType":"image/jpeg"}`, testIdentity, 400, "at most 52428800 bytes"},
		{"no name", `{"size":1,"contentType":"image/jpeg"}`, testIdentity, 400, "name is required"},
		{"no size", `{"name":"a.jpg","contentType":"image/jpeg"}`, testIdentity, 400, "size is required"},
		{"no content type", `{"name":"a.jpg","size":1}`, testIdentity, 400, "contentType is required"},
		{"bad content type", `{"name":"a.jpg","size":1,"contentType":"jpeg"}`, testIdentity, 400, "not a media type"},
		{"not JSON", `name=a.jpg`, testIdentity, 400, "must be JSON"},
		{"unknown field", `{"name":"a.jpg","size":1,"contentType":"image/jpeg","key":"upload/other/x"}`, testIdentity, 400, "unknown field"},
		{"dot segment", `{"name":"..","size":1,"contentType":"image/jpeg"}`, testIdentity, 400, "no file name left"},
		{"control character", `{"name":"a\u0000.jpg","size":1,"contentType":"image/jpeg"}`, testIdentity, 400, "control characters"},
		{"name too long", `{"name":"` + strings.Repeat("x", 256) + `","size":1,"contentType":"image/jpeg"}`, testIdentity, 400, "at most 255"},
		{"no identity", "-", "", 403, "Cognito identity"},
		{"identity with a slash", "-", "us-east-1:../../thumbnail", 403, "Cognito identity"},
	} {
		resp, m := invokeUpload(t, h, tc.body, tc.identity)
		if msg, _ := m["message"].(string); resp.StatusCode != tc.status || !strings.Contains(msg, tc.want) {
			t.Errorf("%s: %d %s, want %d %q", tc.name, resp.StatusCode, resp.Body, tc.status, tc.want)
		}
	}
}

func TestSafeNameIsOneS3KeySegment(t *testing.T) {
	for in, want := range map[string]string{
		"red flower.jpg":            "red flower.jpg",
		`C:\fakepath\IMG_0001.HEIC`: "IMG_0001.HEIC",
		"a/b/../c.jpg":              "c.jpg",
		"{x}^[y]%z`#~|<q>\".png":    "_x___y__z_____q__.png",
		"  été 2024.jpg ":           "été 2024.jpg",
	} {
		if got, err := SafeName(in); got != want || err != nil {
			t.Errorf("SafeName(%q) = %q, %v; want %q", in, got, err, want)
		}
	}
	for _, bad := range []string{"", "   ", "...", "a/", "\xff.jpg", "tab\t.jpg"} {
		if got, err := SafeName(bad); err == nil {
			t.Errorf("SafeName(%q) = %q, want an error", bad, got)
		}
	}
}
