package test

import (
	"bytes"
	"context"
	"errors"
	"github.com/imagepipe/imagepipe/functions/apiclient"
	"io"
	"net/http"
	"os/exec"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/cognitoidentity"
	cip "github.com/aws/aws-sdk-go-v2/service/cognitoidentityprovider"
	cipTypes "github.com/aws/aws-sdk-go-v2/service/cognitoidentityprovider/types"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/sfn"
	smithy "github.com/aws/smithy-go"
)

// twinCognito is the pools the twin serves, from its config.json.
type twinCognito struct {
	Region, UserPoolID, UserPoolClientID, IdentityPoolID, Endpoint string
}

func (tw *Twin) cognito(t *testing.T) twinCognito {
	t.Helper()
	var cfg twinCognito // config.json's fields of the same names (the web app's)
	if st := tw.getJSON(t, "/config.json", &cfg); st != 200 || cfg.IdentityPoolID == "" || cfg.Endpoint != tw.EdgeURL {
		t.Fatalf("config.json: %d %+v", st, cfg)
	}
	return cfg
}

// anonymous is an AWS config with no credentials: Cognito's public calls are unsigned.
func anonymous(endpoint string) aws.Config {
	return aws.Config{Region: "us-east-1", Credentials: aws.AnonymousCredentials{}, BaseEndpoint: aws.String(endpoint)}
}

// identityS3 is an S3 client on the twin signed with an identity's credentials.
func identityS3(t *testing.T, tw *Twin, c twinCognito, logins map[string]string) (*s3.Client, string) {
	t.Helper()
	ctx := ctxT(t)
	ci := cognitoidentity.NewFromConfig(anonymous(c.Endpoint))
	id, err := ci.GetId(ctx, &cognitoidentity.GetIdInput{IdentityPoolId: aws.String(c.IdentityPoolID), Logins: logins})
	if err != nil {
		t.Fatalf("GetId: %v", err)
	}
	out, err := ci.GetCredentialsForIdentity(ctx, &cognitoidentity.GetCredentialsForIdentityInput{IdentityId: id.IdentityId, Logins: logins})
	if err != nil {
		t.Fatalf("GetCredentialsForIdentity: %v", err)
	}
	cr := out.Credentials
	client := s3.New(s3.Options{
		Region: "us-east-1", BaseEndpoint: aws.String(tw.EdgeURL), UsePathStyle: true,
		Credentials: credentials.NewStaticCredentialsProvider(aws.ToString(cr.AccessKeyId), aws.ToString(cr.SecretKey), aws.ToString(cr.SessionToken)),
	})
	return client, aws.ToString(id.IdentityId)
}

// put uploads a small photo with If-None-Match and returns the API error code, ""
// when S3 accepted it.
func put(t *testing.T, c *s3.Client, key string) string {
	t.Helper()
	_, err := c.PutObject(ctxT(t), &s3.PutObjectInput{Bucket: aws.String("images"), Key: aws.String(key),
		Body: bytes.NewReader(smallJPEG(t, 9)), IfNoneMatch: aws.String("*")})
	var ae smithy.APIError
	if errors.As(err, &ae) {
		return ae.ErrorCode()
	}
	if err != nil {
		t.Fatalf("put %s: %v", key, err)
	}
	return ""
}

// A person signs up and in through the twin's Cognito, gets credentials for the
// identity pool's roles, and IAM on the edge lets each identity do exactly what the
// template's roles allow: no direct writes to the bucket, nothing else.
func TestCognitoIdentitiesActAsTheirRoles(t *testing.T) {
	tw := startTwin(t)
	c := tw.cognito(t)
	ctx := ctxT(t)

	// A guest may not write to the bucket at all (uploads go through POST /uploads:
	// TestPresignedPostUploadRunsThePipelineAndLimitsSize), and no Step Functions.
	guest, guestID := identityS3(t, tw, c, nil)
	if code := put(t, guest, "upload/"+guestID+"/mine.jpg"); code != "AccessDenied" {
		t.Errorf("guest upload under its own prefix: %q, want AccessDenied", code)
	}
	if code := put(t, guest, "upload/someone-else/theirs.jpg"); code != "AccessDenied" {
		t.Errorf("guest upload under another prefix: %q, want AccessDenied", code)
	}

	// Sign up, confirm with the code the twin logs instead of mailing it, sign in.
	idp := cip.NewFromConfig(anonymous(c.Endpoint))
	email, password := "person@example.com", "Correct-Horse-42!"
	if _, err := idp.SignUp(ctx, &cip.SignUpInput{ClientId: aws.String(c.UserPoolClientID), Username: aws.String(email), Password: aws.String(password),
		UserAttributes: []cipTypes.AttributeType{{Name: aws.String("email"), Value: aws.String(email)}}}); err != nil {
		t.Fatalf("SignUp: %v", err)
	}
	var code string
	waitFor(t, 10*time.Second, "the verification code in the twin's log", func() (bool, error) {
		m := regexp.MustCompile(`"code":"(\d{6})"`).FindStringSubmatch(tw.logs.String())
		if m != nil {
			code = m[1]
		}
		return m != nil, nil
	})
	if _, err := idp.ConfirmSignUp(ctx, &cip.ConfirmSignUpInput{ClientId: aws.String(c.UserPoolClientID), Username: aws.String(email), ConfirmationCode: aws.String(code)}); err != nil {
		t.Fatalf("ConfirmSignUp: %v", err)
	}
	if _, err := idp.InitiateAuth(ctx, &cip.InitiateAuthInput{ClientId: aws.String(c.UserPoolClientID), AuthFlow: cipTypes.AuthFlowTypeUserPasswordAuth,
		AuthParameters: map[string]string{"USERNAME": email, "PASSWORD": "wrong-Password-1!"}}); err == nil {
		t.Error("a wrong password signed in")
	}
	auth, err := idp.InitiateAuth(ctx, &cip.InitiateAuthInput{ClientId: aws.String(c.UserPoolClientID), AuthFlow: cipTypes.AuthFlowTypeUserPasswordAuth,
		AuthParameters: map[string]string{"USERNAME": email, "PASSWORD": password}})
	if err != nil {
		t.Fatalf("InitiateAuth: %v", err)
	}
	provider := "cognito-idp.us-east-1.amazonaws.com/" + c.UserPoolID
	user, userID := identityS3(t, tw, c, map[string]string{provider: aws.ToString(auth.AuthenticationResult.IdToken)})
	if userID == guestID {
		t.Error("the signed-in user got the guest's identity")
	}
	if code := put(t, user, "upload/"+userID+"/mine.jpg"); code != "AccessDenied" {
		t.Errorf("user upload under its own prefix: %q, want AccessDenied (uploads go through POST /uploads)", code)
	}
	if code := put(t, user, "thumbnail/forged.jpg"); code != "AccessDenied" {
		t.Errorf("user upload under thumbnail/: %q, want AccessDenied", code)
	}

	// A signed-in user who is not an operator cannot list executions.
	credsOf := user.Options().Credentials
	sf := sfn.New(sfn.Options{Region: "us-east-1", BaseEndpoint: aws.String(tw.EdgeURL), Credentials: credsOf})
	_, err = sf.ListExecutions(ctx, &sfn.ListExecutionsInput{StateMachineArn: aws.String(pipelineArn(t, tw))})
	var ae smithy.APIError
	if !errors.As(err, &ae) || !strings.Contains(ae.ErrorCode(), "AccessDenied") {
		t.Errorf("ListExecutions as a plain user: %v, want AccessDenied", err)
	}
}

// Unsigned and wrongly signed requests never reach the edge's services.
func TestEdgeRefusesUnsignedRequests(t *testing.T) {
	tw := startTwin(t)
	resp, err := http.Get(tw.EdgeURL + "/images/upload/")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusForbidden {
		t.Errorf("unsigned S3 list: %d, want 403", resp.StatusCode)
	}
	wrong := s3.New(s3.Options{Region: "us-east-1", BaseEndpoint: aws.String(tw.EdgeURL), UsePathStyle: true,
		Credentials: credentials.NewStaticCredentialsProvider("test", "not-the-secret", "")})
	_, err = wrong.ListObjectsV2(context.Background(), &s3.ListObjectsV2Input{Bucket: aws.String("images")})
	var ae smithy.APIError
	if !errors.As(err, &ae) || ae.ErrorCode() != "SignatureDoesNotMatch" {
		t.Errorf("wrong secret: %v, want SignatureDoesNotMatch", err)
	}
	req, _ := http.NewRequest(http.MethodGet, tw.HTTPURL+"/", nil)
	req.Host = "evil.example"
	resp, err = http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusMisdirectedRequest {
		t.Errorf("Host evil.example: %d, want 421", resp.StatusCode)
	}
}

// The API stage under /api/ is AWS_IAM, as in AWS: unsigned calls get API Gateway's
// 403, the developer identity and Cognito guests are let through by IAM, curl's own
// SigV4 works as the README shows, and a body swapped after signing is refused.
func TestAPIStageIsAWSIAM(t *testing.T) {
	tw := startTwin(t)
	resp, err := http.Get(tw.HTTPURL + "/api/ping")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 403 || string(body) != `{"message":"Missing Authentication Token"}` {
		t.Errorf("unsigned: %d %s", resp.StatusCode, body)
	}
	out, err := exec.Command("curl", "-sS", "--aws-sigv4", "aws:amz:us-east-1:execute-api", "--user", "test:test",
		tw.HTTPURL+"/api/images?search=&size=1").CombinedOutput()
	if err != nil || !strings.HasPrefix(string(out), `{"total":`) {
		t.Errorf("curl --aws-sigv4: %v %s", err, out)
	}
	// A guest's credentials from the identity pool: search is allowed to guests.
	c := tw.cognito(t)
	ci := cognitoidentity.NewFromConfig(anonymous(c.Endpoint))
	ctx := ctxT(t)
	id, err := ci.GetId(ctx, &cognitoidentity.GetIdInput{IdentityPoolId: aws.String(c.IdentityPoolID)})
	if err != nil {
		t.Fatal(err)
	}
	cr, err := ci.GetCredentialsForIdentity(ctx, &cognitoidentity.GetCredentialsForIdentityInput{IdentityId: id.IdentityId})
	if err != nil {
		t.Fatal(err)
	}
	guest := apiclient.New(credentials.NewStaticCredentialsProvider(aws.ToString(cr.Credentials.AccessKeyId),
		aws.ToString(cr.Credentials.SecretKey), aws.ToString(cr.Credentials.SessionToken)), "us-east-1")
	if resp, err := guest.Get(tw.HTTPURL + "/api/images?search=x"); err != nil || resp.StatusCode != 200 {
		t.Errorf("guest search: %v %v", err, resp)
	} else {
		resp.Body.Close()
	}
	// Signed, then the body swapped: the signature covers the payload.
	req, _ := http.NewRequest(http.MethodGet, tw.HTTPURL+"/api/ping", strings.NewReader("{}"))
	signed := &swapBody{next: http.DefaultTransport}
	if resp, err := (&http.Client{Transport: &apiclient.Transport{Credentials: tw.awsConfig().Credentials, Region: "us-east-1", Base: signed}}).Do(req); err != nil {
		t.Fatal(err)
	} else {
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 403 || !strings.Contains(string(b), "signature") {
			t.Errorf("body swapped after signing: %d %s", resp.StatusCode, b)
		}
	}
}

// swapBody replaces a signed request's body on its way out.
type swapBody struct{ next http.RoundTripper }

func (s *swapBody) RoundTrip(r *http.Request) (*http.Response, error) {
	r.Body = io.NopCloser(strings.NewReader("[]"))
	return s.next.RoundTrip(r)
}
