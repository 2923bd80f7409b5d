package apigw

import (
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/imagepipe/imagepipe/local/sigv4"
)

// TestIAMAuthorization: an AWS_IAM method asks the Authorizer with the method ARN of
// the request as made, answers its refusals with API Gateway's gateway responses
// (headers from the template's responses), and hands a Cognito caller to the function.
func TestIAMAuthorization(t *testing.T) {
	e := newEnv(t, append(fixture(), Resource{LogicalID: "Default4xx", Type: "AWS::ApiGateway::GatewayResponse", PhysicalID: "gr1",
		Properties: map[string]any{"RestApiId": testAPIID, "ResponseType": "DEFAULT_4XX",
			"ResponseParameters": map[string]any{"gatewayresponse.header.Access-Control-Allow-Origin": "'*'"}}}))
	var asked []string
	e.authz = func(r *http.Request, arn string) (Caller, error) {
		asked = append(asked, arn)
		return Caller{AccessKey: "ASIAGUEST", AccountID: testAccount, UserARN: "arn:aws:sts::" + testAccount + ":assumed-role/Guest/CognitoIdentityCredentials",
			Caller: "Guest:CognitoIdentityCredentials", User: "Guest:CognitoIdentityCredentials",
			CognitoIdentityID: "us-east-1:0c2f", CognitoIdentityPoolID: "us-east-1:pool", CognitoAuthenticationType: "unauthenticated"}, nil
	}
	if w := e.do("GET", "/api/images?search=a%20b", nil); w.Code != 200 {
		t.Fatalf("allowed: %d %s", w.Code, w.Body.String())
	}
	wantARN := "arn:aws:execute-api:" + testRegion + ":" + testAccount + ":" + testAPIID + "/prod/GET/images"
	if len(asked) != 1 || asked[0] != wantARN {
		t.Errorf("asked %q, want %q", asked, wantARN)
	}
	id := e.inv.invocations()[0].event["requestContext"].(map[string]any)["identity"].(map[string]any)
	if id["cognitoIdentityId"] != "us-east-1:0c2f" || id["cognitoAuthenticationType"] != "unauthenticated" || id["accessKey"] != "ASIAGUEST" {
		t.Errorf("identity %v", id)
	}

	t.Run("denied", func(t *testing.T) {
		msg := "User: arn:aws:sts::" + testAccount + ":assumed-role/Guest/CognitoIdentityCredentials is not authorized to perform: execute-api:Invoke on resource: " + wantARN
		e.authz = func(*http.Request, string) (Caller, error) { return Caller{}, sigv4.Denied(msg) }
		w := e.do("GET", "/api/images?search=a", nil)
		wantError(t, w, 403, `{"Message":"`+msg+`"}`, "AccessDeniedException")
		// ACCESS_DENIED falls back to the template's DEFAULT_4XX, with its CORS header.
		if got := w.Header().Get("Access-Control-Allow-Origin"); got != "*" {
			t.Errorf("no gateway response header on the refusal: %v", w.Header())
		}
	})
	t.Run("unsigned", func(t *testing.T) {
		e.authz = func(r *http.Request, _ string) (Caller, error) {
			_, err := sigv4.Verify(r, sigv4.NewKeys(), time.Now())
			return Caller{}, err
		}
		w := e.do("GET", "/api/images?search=a", nil)
		wantError(t, w, 403, `{"message":"Missing Authentication Token"}`, "MissingAuthenticationTokenException")
	})
	t.Run("bad signature", func(t *testing.T) {
		e.authz = func(r *http.Request, _ string) (Caller, error) {
			_, err := sigv4.Verify(r, sigv4.NewKeys(), time.Now())
			return Caller{}, err
		}
		w := e.do("GET", "/api/images?search=a", nil, "X-Amz-Date", time.Now().UTC().Format("20060102T150405Z"),
			"Authorization", "AWS4-HMAC-SHA256 Credential=AKIDUNKNOWN/"+time.Now().UTC().Format("20060102")+"/us-east-1/execute-api/aws4_request, SignedHeaders=host;x-amz-date, Signature="+strings.Repeat("0", 64))
		wantError(t, w, 403, `{"message":"The security token included in the request is invalid."}`, "UnrecognizedClientException")
	})
	t.Run("signed for another service", func(t *testing.T) {
		e.authz = func(*http.Request, string) (Caller, error) { return Caller{}, sigv4.WrongService("execute-api") }
		w := e.do("GET", "/api/images?search=a", nil)
		wantError(t, w, 403, `{"message":"Credential should be scoped to correct service: 'execute-api'. "}`, "InvalidSignatureException")
	})
	t.Run("preflight needs no signature", func(t *testing.T) {
		e.authz = func(*http.Request, string) (Caller, error) {
			t.Error("a preflight was authorized")
			return Caller{}, nil
		}
		w := e.do("OPTIONS", "/api/images", nil, "Origin", "https://app.example", "Access-Control-Request-Method", "GET")
		if w.Code >= 300 {
			t.Errorf("preflight: %d %s", w.Code, w.Body.String())
		}
	})
}
