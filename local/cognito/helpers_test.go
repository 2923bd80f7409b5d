package cognito_test

import (
	"bufio"
	"bytes"
	"context"
	"crypto"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"log/slog"
	"math/big"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/cognitoidentity"
	idp "github.com/aws/aws-sdk-go-v2/service/cognitoidentityprovider"
	idptypes "github.com/aws/aws-sdk-go-v2/service/cognitoidentityprovider/types"
	"github.com/aws/smithy-go"

	"github.com/imagepipe/imagepipe/local/cfn"
	"github.com/imagepipe/imagepipe/local/cognito"
)

const (
	region  = "us-east-1"
	account = "000000000000"
	// a password that meets the snapshot's policy (12 characters, all four classes)
	goodPassword = "Correct-Horse-9"
)

// clock is the service's time, moved by tests instead of sleeping.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *clock) Advance(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

// logBuffer collects the service's JSON log, where confirmation codes go.
type logBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (l *logBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.Write(p)
}

// code is the latest confirmation code the log shows for email.
func (l *logBuffer) code(t testing.TB, email string) string {
	t.Helper()
	l.mu.Lock()
	defer l.mu.Unlock()
	code := ""
	sc := bufio.NewScanner(bytes.NewReader(l.buf.Bytes()))
	for sc.Scan() {
		var rec map[string]any
		if json.Unmarshal(sc.Bytes(), &rec) != nil {
			continue
		}
		if rec["email"] == email && rec["code"] != nil {
			code, _ = rec["code"].(string)
			if msg, _ := rec["message"].(string); !strings.Contains(msg, code) {
				t.Errorf("the logged message %q does not carry the code %s", msg, code)
			}
		}
	}
	if code == "" {
		t.Fatalf("no confirmation code for %s in the log:\n%s", email, l.buf.String())
	}
	return code
}

// twin is a Service behind an httptest server, with SDK clients for it.
type twin struct {
	svc   *cognito.Service
	srv   *httptest.Server
	clock *clock
	log   *logBuffer
	dir   string
	res   []*cfn.Resource
	idp   *idp.Client // anonymous, as the browser calls
	admin *idp.Client // signed with the developer identity
	ids   *cognitoidentity.Client
	web   cognito.WebConfig
}

var (
	snapshotOnce sync.Once
	snapshotRes  []*cfn.Resource
	snapshotErr  error
)

// snapshot is the committed template's resources, resolved as the twin resolves them.
func snapshot(t testing.TB) []*cfn.Resource {
	t.Helper()
	snapshotOnce.Do(func() {
		raw, err := cfn.Load("../../infra/snapshot/ImagePipe.template.json")
		if err != nil {
			snapshotErr = err
			return
		}
		tmpl, err := cfn.Resolve(raw, cfn.Options{StackName: "ImagePipe", Region: region, Account: account})
		if err != nil {
			snapshotErr = err
			return
		}
		for _, id := range tmpl.Order {
			if r := tmpl.Resources[id]; r.Active {
				snapshotRes = append(snapshotRes, r)
			}
		}
	})
	if snapshotErr != nil {
		t.Fatal(snapshotErr)
	}
	return snapshotRes
}

func newTwin(t testing.TB, res []*cfn.Resource) *twin {
	t.Helper()
	tw := &twin{clock: &clock{t: time.Date(2025, 3, 1, 12, 0, 0, 0, time.UTC)}, log: &logBuffer{}, dir: t.TempDir(), res: res}
	tw.start(t)
	return tw
}

// start opens the service on tw.dir and serves it.
func (tw *twin) start(t testing.TB) {
	t.Helper()
	svc, err := cognito.New(tw.res, cognito.Options{
		Region: region, Account: account, DataDir: tw.dir, Now: tw.clock.Now,
		Logger: slog.New(slog.NewJSONHandler(tw.log, nil)),
	})
	if err != nil {
		t.Fatal(err)
	}
	tw.svc = svc
	tw.srv = httptest.NewServer(svc.Handler())
	base := aws.Config{
		Region: region, BaseEndpoint: aws.String(tw.srv.URL), HTTPClient: tw.srv.Client(),
		Retryer: func() aws.Retryer { return aws.NopRetryer{} }, Credentials: aws.AnonymousCredentials{},
	}
	tw.idp = idp.NewFromConfig(base)
	tw.ids = cognitoidentity.NewFromConfig(base)
	signed := base.Copy()
	signed.Credentials = credentials.NewStaticCredentialsProvider("test", "test", "")
	tw.admin = idp.NewFromConfig(signed)
	if tw.web, err = svc.WebConfig(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(tw.stop)
}

func (tw *twin) stop() {
	if tw.srv != nil {
		tw.srv.Close()
		tw.svc.Close()
		tw.srv = nil
	}
}

func (tw *twin) restart(t testing.TB) {
	t.Helper()
	tw.stop()
	tw.start(t)
}

// signUp signs a user up and confirms them with the code from the log.
func (tw *twin) signUp(t testing.TB, email, password string) {
	t.Helper()
	ctx := context.Background()
	if _, err := tw.idp.SignUp(ctx, &idp.SignUpInput{ClientId: &tw.web.UserPoolClientID, Username: &email, Password: &password}); err != nil {
		t.Fatalf("SignUp %s: %v", email, err)
	}
	code := tw.log.code(t, email)
	if _, err := tw.idp.ConfirmSignUp(ctx, &idp.ConfirmSignUpInput{ClientId: &tw.web.UserPoolClientID, Username: &email, ConfirmationCode: &code}); err != nil {
		t.Fatalf("ConfirmSignUp %s: %v", email, err)
	}
}

func (tw *twin) signIn(t testing.TB, email, password string) *idptypes.AuthenticationResultType {
	t.Helper()
	out, err := tw.idp.InitiateAuth(context.Background(), &idp.InitiateAuthInput{
		AuthFlow: idptypes.AuthFlowTypeUserPasswordAuth, ClientId: &tw.web.UserPoolClientID,
		AuthParameters: map[string]string{"USERNAME": email, "PASSWORD": password},
	})
	if err != nil {
		t.Fatalf("InitiateAuth %s: %v", email, err)
	}
	if out.AuthenticationResult == nil {
		t.Fatalf("InitiateAuth %s: no tokens (challenge %s)", email, out.ChallengeName)
	}
	return out.AuthenticationResult
}

func (tw *twin) logins(idToken string) map[string]string {
	return map[string]string{"cognito-idp." + region + ".amazonaws.com/" + tw.web.UserPoolID: idToken}
}

// wantAPIError checks err is the service's error code with message (a prefix
// when message ends in "…").
func wantAPIError(t testing.TB, what string, err error, code, message string) {
	t.Helper()
	var ae smithy.APIError
	if !errors.As(err, &ae) {
		t.Errorf("%s: err = %v, want %s", what, err, code)
		return
	}
	prefix, isPrefix := strings.CutSuffix(message, "…")
	if ae.ErrorCode() != code || (!isPrefix && ae.ErrorMessage() != message) || (isPrefix && !strings.HasPrefix(ae.ErrorMessage(), prefix)) {
		t.Errorf("%s: %s %q, want %s %q", what, ae.ErrorCode(), ae.ErrorMessage(), code, message)
	}
}

// roleARN is the ARN of the template's role whose construct path is name.
func roleARN(t testing.TB, res []*cfn.Resource, name string) string {
	t.Helper()
	for _, r := range res {
		if r.Type == "AWS::IAM::Role" && r.Path == "ImagePipe/"+name+"/Resource" {
			return "arn:aws:iam::" + account + ":role/" + r.Name
		}
	}
	t.Fatalf("no role %s in the template", name)
	return ""
}

// jwt is a token verified against the pool's JWKS, fetched over HTTP as any
// relying party would: an independent check of what the service signs.
type jwt struct {
	header map[string]any
	claims map[string]any
}

func (tw *twin) verify(t testing.TB, token string) jwt {
	t.Helper()
	resp, err := http.Get(tw.srv.URL + "/" + tw.web.UserPoolID + "/.well-known/jwks.json")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var set struct {
		Keys []struct{ Kid, Kty, Alg, Use, N, E string }
	}
	if err := json.NewDecoder(resp.Body).Decode(&set); err != nil || resp.StatusCode != 200 {
		t.Fatalf("JWKS: %v (HTTP %d)", err, resp.StatusCode)
	}
	parts := strings.Split(token, ".")
	if len(parts) != 3 {
		t.Fatalf("not a JWS: %q", token)
	}
	var out jwt
	decode := func(seg string, v any) {
		b, err := base64.RawURLEncoding.DecodeString(seg)
		if err != nil || json.Unmarshal(b, v) != nil {
			t.Fatalf("bad segment %q", seg)
		}
	}
	decode(parts[0], &out.header)
	decode(parts[1], &out.claims)
	for _, k := range set.Keys {
		if k.Kid != out.header["kid"] {
			continue
		}
		if k.Kty != "RSA" || k.Alg != "RS256" || k.Use != "sig" || out.header["alg"] != "RS256" {
			t.Fatalf("key %+v, header %v", k, out.header)
		}
		n, _ := base64.RawURLEncoding.DecodeString(k.N)
		e, _ := base64.RawURLEncoding.DecodeString(k.E)
		pub := &rsa.PublicKey{N: new(big.Int).SetBytes(n), E: int(new(big.Int).SetBytes(e).Int64())}
		sig, _ := base64.RawURLEncoding.DecodeString(parts[2])
		h := sha256.Sum256([]byte(parts[0] + "." + parts[1]))
		if err := rsa.VerifyPKCS1v15(pub, crypto.SHA256, h[:], sig); err != nil {
			t.Fatalf("signature does not verify with the JWKS: %v", err)
		}
		return out
	}
	t.Fatalf("kid %v is not in the JWKS", out.header["kid"])
	return out
}

// template resolves a small template written in the test.
func template(t testing.TB, resources map[string]any) []*cfn.Resource {
	t.Helper()
	raw, err := json.Marshal(map[string]any{"Resources": resources})
	if err != nil {
		t.Fatal(err)
	}
	tmpl, err := cfn.Resolve(raw, cfn.Options{StackName: "T", Region: region, Account: account})
	if err != nil {
		t.Fatal(err)
	}
	var out []*cfn.Resource
	for _, id := range tmpl.Order {
		out = append(out, tmpl.Resources[id])
	}
	return out
}

func discard() *slog.Logger { return slog.New(slog.DiscardHandler) }
