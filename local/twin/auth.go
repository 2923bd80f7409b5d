package twin

import (
	"github.com/imagepipe/imagepipe/local/awsid"

	"context"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/imagepipe/imagepipe/local/apigw"
	"github.com/imagepipe/imagepipe/local/cfn"
	"github.com/imagepipe/imagepipe/local/cognito"
	"github.com/imagepipe/imagepipe/local/iam"
	"github.com/imagepipe/imagepipe/local/lambdart"
	"github.com/imagepipe/imagepipe/local/s3edge"
	"github.com/imagepipe/imagepipe/local/sigv4"
)

// developerARN is the developer identity (access key test by default): it may do
// anything an identity-based policy can grant, as an administrator in AWS; resource
// policies' explicit denies still apply to it.
const developerARN = "arn:aws:iam::" + Account + ":user/developer"

// auth is who may call the twin and what they may do: the keys SigV4 checks requests
// against, and the template's policies (local/iam), enforced on the edge.
type auth struct {
	env      iam.Env
	keys     *sigv4.Keys
	policies *iam.Policies
	log      *slog.Logger

	// identities are the credentials Cognito issued (GetCredentialsForIdentity).
	identities *cognito.Service

	mu       sync.Mutex
	sessions map[string]session // by function ARN
}

// Lookup finds the secret of a key the twin issued: the developer's, a function
// role session's, or a Cognito identity's (sigv4.Credentials).
func (a *auth) Lookup(accessKeyID string) (sigv4.Secret, bool) {
	if s, ok := a.keys.Lookup(accessKeyID); ok {
		return s, true
	}
	if a.identities == nil {
		return sigv4.Secret{}, false
	}
	sess, ok := a.identities.Session(accessKeyID)
	if !ok {
		return sigv4.Secret{}, false
	}
	return sigv4.Secret{SecretAccessKey: sess.SecretKey, SessionToken: sess.SessionToken, Expires: sess.Expires,
		Principal: sigv4.Principal{ARN: sess.AssumedRoleARN, Account: Account, Context: sess.Context()}}, true
}

// session is a function's credentials for its role's session.
type session struct{ id, secret, token string }

func newAuth(tmpl *cfn.Template, accessKey, secret string, log *slog.Logger) (*auth, error) {
	env := iam.Env{Partition: awsid.Partition, Region: Region, Account: Account}
	policies, err := iam.FromTemplate(tmpl, env)
	if err != nil {
		return nil, fmt.Errorf("IAM: %w", err)
	}
	for _, w := range policies.Warnings() {
		log.Warn("IAM", "warning", w)
	}
	policies.Attach(developerARN, iam.AllowAll("developer"))
	keys := sigv4.NewKeys()
	keys.Put(accessKey, sigv4.Secret{SecretAccessKey: secret, Principal: sigv4.Principal{ARN: developerARN, Account: Account}})
	return &auth{env: env, keys: keys, policies: policies, log: log, sessions: map[string]session{}}, nil
}

// checkFunctionRoles fails the deployment when a function's role does not trust
// Lambda: CloudFormation would create it, and every invocation would fail to start.
func (a *auth) checkFunctionRoles(fns []lambdart.Function) error {
	for _, fn := range fns {
		if d := a.policies.CanAssume(fn.Role, "lambda.amazonaws.com", "sts:AssumeRole", nil); !d.Allowed {
			return fmt.Errorf("function %s: its role %s cannot be assumed by Lambda: %s", fn.Name, fn.Role, d.Reason)
		}
	}
	return nil
}

// functionCredentials gives a function's processes temporary credentials for a
// session of its role (arn:aws:sts::<acct>:assumed-role/<role>/<function>), as
// Lambda does; every request they sign acts as that role.
func (a *auth) functionCredentials(fn lambdart.Function) (id, secret, token string) {
	a.mu.Lock()
	defer a.mu.Unlock()
	s, ok := a.sessions[fn.ARN]
	if !ok {
		s = session{id: "ASIA" + strings.ToUpper(randomToken(12))[:16], secret: randomToken(30), token: randomToken(96)}
		a.keys.Put(s.id, sigv4.Secret{SecretAccessKey: s.secret, SessionToken: s.token,
			Principal: sigv4.Principal{ARN: sessionOf(fn.Role, fn.Name), Account: Account}})
		a.sessions[fn.ARN] = s
	}
	return s.id, s.secret, s.token
}

func randomToken(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return strings.TrimRight(base64.RawURLEncoding.EncodeToString(b), "=")
}

// edgeAuth verifies every request's signature and asks the template's policies
// whether its principal may make the call, before the service sees it. A refusal is
// written in the calling protocol's error shape, as AWS writes it.
func (a *auth) edgeAuth(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		// A CORS preflight carries no credentials, in AWS too; nor do Cognito's
		// public calls (sign-up, sign-in, GetId: the app has no credentials yet).
		// Nor does a browser form upload (POST Object): its signature is in the form,
		// and the S3 edge verifies it and asks AuthorizePost.
		if r.Method == http.MethodOptions && r.Header.Get("Access-Control-Request-Method") != "" || cognito.Public(r) || s3edge.IsFormUpload(r) {
			next.ServeHTTP(w, r)
			return
		}
		id, err := sigv4.VerifyWith(r, a, time.Now(), sigv4.Options{Region: Region})
		if err != nil {
			protocolFor(signingService(r), r).WriteError(w, err)
			return
		}
		proto := protocolFor(id.Service, r)
		if (id.Service == "cognito-idp" || id.Service == "cognito-identity") && id.Principal.ARN == developerARN {
			next.ServeHTTP(w, r) // the Admin* calls: the developer is the account's administrator
			return
		}
		needs, err := iam.ActionFor(a.env, id.Service, "", r)
		if err != nil {
			proto.WriteError(w, sigv4.Denied(err.Error()))
			return
		}
		ctx := iam.Merge(iam.RequestContext(r, id.Region), id.Principal.Context)
		for _, n := range needs {
			if d := a.policies.Authorize(id.Principal.ARN, n.Action, n.Resource, iam.Merge(ctx, n.Context)); !d.Allowed {
				a.log.Info("access denied", "decision", d.String())
				proto.WriteError(w, sigv4.Denied(d.Message()))
				return
			}
		}
		next.ServeHTTP(w, r)
	})
}

// AuthorizePost decides a POST Object (s3edge.PostAuth) as IAM decides it: the
// policy's signer needs s3:PutObject on the object, and s3:PutObjectTagging when the
// form tags it, under the template's identity and bucket policies.
func (a *auth) AuthorizePost(r *http.Request, p sigv4.Principal, bucket, key string, tagged bool) error {
	ctx := iam.Merge(iam.RequestContext(r, Region), p.Context)
	actions := []string{"s3:PutObject"}
	if tagged {
		actions = append(actions, "s3:PutObjectTagging")
	}
	for _, action := range actions {
		if d := a.policies.Authorize(p.ARN, action, "arn:"+awsid.Partition+":s3:::"+bucket+"/"+key, ctx); !d.Allowed {
			a.log.Info("access denied", "decision", d.String())
			return errors.New(d.Message())
		}
	}
	return nil
}

// protocolFor is the error shape of a service; an unsigned request is told apart as
// the edge tells it apart.
func protocolFor(service string, r *http.Request) sigv4.Protocol {
	if p, ok := sigv4.ProtocolFor(service); ok {
		return p
	}
	target := r.Header.Get("X-Amz-Target")
	switch {
	case strings.HasPrefix(target, "AWSStepFunctions."), strings.HasPrefix(target, "AmazonSQS."):
		return sigv4.JSON10
	case strings.HasPrefix(target, "RekognitionService."):
		return sigv4.JSON11
	case strings.HasPrefix(r.URL.Path, "/2015-03-31/functions"):
		return sigv4.RestJSON
	}
	return sigv4.S3
}

// ruleTarget starts a state machine for a rule, as its role: a role that may not
// start it makes EventBridge send the event to the target's dead-letter queue
// instead (or drop it, with no queue), and the S3 write still succeeds.
func (t *Twin) ruleTarget(rule string, target ruleTargetSpec) func(ctx context.Context, event []byte) error {
	start := t.starter(target.arn)
	return func(ctx context.Context, event []byte) error {
		session := sessionOf(target.role, "events")
		d := t.auth.policies.Authorize(session, "states:StartExecution", target.arn, map[string][]string{"aws:SecureTransport": {"true"}})
		if d.Allowed {
			return start(ctx, event)
		}
		t.log.Warn("rule target refused", "rule", rule, "target", target.arn, "decision", d.String())
		if target.dlq == "" {
			return nil
		}
		url := t.EdgeURL() + "/" + Account + "/" + target.dlq[strings.LastIndex(target.dlq, ":")+1:]
		_, err := t.queue.SendMessage(ctx, url, string(event))
		return err
	}
}

// sessionOf is the ARN of a session of role named name.
func sessionOf(roleARN, name string) string {
	return "arn:aws:sts::" + Account + ":assumed-role/" + roleARN[strings.LastIndex(roleARN, "/")+1:] + "/" + name
}

// apiAuthorizer is the API stage's AWS_IAM check, as API Gateway makes it: the
// request's SigV4 signature (service execute-api), then execute-api:Invoke on the
// method ARN for the signer under the template's policies. The caller it returns
// fills the proxy event's requestContext.identity.
func (a *auth) apiAuthorizer(r *http.Request, methodARN string) (apigw.Caller, error) {
	id, err := sigv4.VerifyWith(r, a, time.Now(), sigv4.Options{Region: Region})
	if err != nil {
		return apigw.Caller{}, err
	}
	if id.Service != "execute-api" {
		return apigw.Caller{}, sigv4.WrongService("execute-api")
	}
	ctx := iam.Merge(iam.RequestContext(r, id.Region), id.Principal.Context)
	if d := a.policies.Authorize(id.Principal.ARN, "execute-api:Invoke", methodARN, ctx); !d.Allowed {
		a.log.Info("access denied", "decision", d.String())
		return apigw.Caller{}, sigv4.Denied(d.Message())
	}
	return callerOf(id), nil
}

// callerOf describes a verified signer as API Gateway's requestContext.identity does.
func callerOf(id sigv4.Identity) apigw.Caller {
	p := id.Principal
	name := p.ARN[strings.LastIndex(p.ARN, ":")+1:] // user/developer, assumed-role/Role/Session
	if parts := strings.Split(name, "/"); len(parts) == 3 {
		name = parts[1] + ":" + parts[2]
	} else if len(parts) == 2 {
		name = parts[1]
	}
	c := apigw.Caller{AccessKey: id.AccessKeyID, AccountID: p.Account, UserARN: p.ARN, Caller: name, User: name}
	if sub := p.Context["cognito-identity.amazonaws.com:sub"]; len(sub) == 1 {
		c.CognitoIdentityID = sub[0]
		c.CognitoIdentityPoolID = strings.Join(p.Context["cognito-identity.amazonaws.com:aud"], "")
		if amr := p.Context["cognito-identity.amazonaws.com:amr"]; len(amr) > 0 {
			c.CognitoAuthenticationType = amr[0]
			c.CognitoAuthenticationProvider = strings.Join(amr[1:], ",")
		}
	}
	return c
}

// developerOnly guards the twin's own controls (fault switches): a request signed by
// the developer identity, for any service name, or a refusal in Lambda's REST shape.
func (a *auth) developerOnly(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		id, err := sigv4.VerifyWith(r, a, time.Now(), sigv4.Options{Region: Region})
		if err == nil && id.Principal.ARN != developerARN {
			err = sigv4.Denied("User: " + id.Principal.ARN + " is not the developer identity; only it may use the twin's controls")
		}
		if err != nil {
			sigv4.RestJSON.WriteError(w, err)
			return
		}
		next.ServeHTTP(w, r)
	})
}
