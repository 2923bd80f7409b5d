package apigw

import (
	"bytes"
	"errors"
	"io"
	"net/http"
	"strings"

	"github.com/imagepipe/imagepipe/local/sigv4"
)

// Caller is who an AWS_IAM method's request was signed by, for the proxy event's
// requestContext.identity (the developer guide's "Input format of a Lambda function
// for proxy integration": accessKey, caller, user, userArn and, for credentials from
// a Cognito identity pool, the cognitoIdentity* fields).
type Caller struct {
	AccessKey, AccountID, UserARN string
	// Caller and User are the principal's unique id ("AROA…:CognitoIdentityCredentials"
	// for a role session); the twin gives the session or user name in its place.
	Caller, User string
	// CognitoIdentityID and CognitoIdentityPoolID name the identity pool identity,
	// CognitoAuthenticationType is "authenticated" or "unauthenticated", and
	// CognitoAuthenticationProvider the providers of a signed-in identity.
	CognitoIdentityID, CognitoIdentityPoolID                 string
	CognitoAuthenticationType, CognitoAuthenticationProvider string
}

// Authorizer checks the caller of an AWS_IAM method: the request's SigV4 signature,
// then IAM's execute-api:Invoke on methodARN. A refusal is a *sigv4.Error, which the
// stage answers with API Gateway's gateway response for it (MISSING_AUTHENTICATION_TOKEN,
// INVALID_SIGNATURE, EXPIRED_TOKEN, ACCESS_DENIED), template headers included.
type Authorizer func(r *http.Request, methodARN string) (Caller, error)

// MethodARN is the resource execute-api:Invoke is evaluated against:
// arn:aws:execute-api:region:account:api-id/stage/METHOD/path, with the path as
// requested ("Control access for invoking an API", API Gateway developer guide).
func (a *API) MethodARN(httpMethod, path string) string {
	return "arn:aws:execute-api:" + a.opts.Region + ":" + a.opts.Account + ":" + a.id + "/" + a.stage + "/" +
		httpMethod + "/" + strings.TrimPrefix(path, "/")
}

// authorize runs the Authorizer for an AWS_IAM method. Without one, such a method is
// refused: the twin never lets an unverified request through.
func (c *call) authorize() *gatewayError {
	if c.method.authType != "AWS_IAM" {
		return nil
	}
	if c.a.opts.Authorize == nil {
		return newError("ACCESS_DENIED", 403, "AccessDeniedException", "the twin has no IAM authorizer for this stage", false)
	}
	// The signature covers the body, which readBody has taken.
	c.r.Body = io.NopCloser(bytes.NewReader(c.body))
	caller, err := c.a.opts.Authorize(c.r, c.a.MethodARN(c.r.Method, unescape(c.path)))
	if err != nil {
		var se *sigv4.Error
		if !errors.As(err, &se) {
			se = sigv4.Denied(err.Error())
		}
		s := sigv4.APIGateway.Shape(se)
		ge := newError(s.GatewayResponse, s.Status, s.Code, s.Message, false)
		if se.Kind == sigv4.AccessDenied {
			// IAM denials on execute-api capitalize the key: {"Message":"User: … is
			// not authorized to perform: execute-api:Invoke on resource: …"}.
			ge.body = `{"Message":` + quoteJSON(s.Message) + `}`
		}
		return ge
	}
	c.caller = &caller
	return nil
}

// identity is the proxy event's requestContext.identity for the verified caller.
func (c *call) identity() proxyIdentity {
	id := proxyIdentity{SourceIP: c.sourceIP()}
	if ua := c.r.Header.Get("User-Agent"); ua != "" {
		id.UserAgent = &ua
	}
	if c.caller == nil {
		return id
	}
	opt := func(s string) *string {
		if s == "" {
			return nil
		}
		return &s
	}
	k := c.caller
	id.AccessKey, id.AccountID, id.UserArn = opt(k.AccessKey), opt(k.AccountID), opt(k.UserARN)
	id.Caller, id.User = opt(k.Caller), opt(k.User)
	id.CognitoIdentityID, id.CognitoIdentityPoolID = opt(k.CognitoIdentityID), opt(k.CognitoIdentityPoolID)
	id.CognitoAuthenticationType, id.CognitoAuthenticationProvider = opt(k.CognitoAuthenticationType), opt(k.CognitoAuthenticationProvider)
	return id
}
