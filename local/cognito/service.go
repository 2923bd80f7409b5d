package cognito

import (
	"github.com/imagepipe/imagepipe/local/awsid"

	"context"
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	bolt "go.etcd.io/bbolt"

	"github.com/imagepipe/imagepipe/local/cfn"
)

// The JSON 1.1 target prefixes of the two services (their API models' targetPrefix).
const (
	UserPoolsTarget = "AWSCognitoIdentityProviderService."
	IdentityTarget  = "AWSCognitoIdentityService."
)

// The twin's defaults for the Options left empty.
const (
	DefaultRegion  = awsid.Region
	DefaultAccount = awsid.Account
)

// Options configure a Service.
type Options struct {
	Region  string // default DefaultRegion
	Account string // default DefaultAccount
	// DataDir is a folder the service owns (e.g. <data>/cognito): its database of
	// users, identities and issued credentials, and the pools' signing keys. Required.
	DataDir string
	Logger  *slog.Logger     // default slog.Default(); confirmation codes are written here
	Now     func() time.Time // default time.Now
	// AssumeRole decides, as STS would from the role's trust policy, whether
	// cognito-identity.amazonaws.com may assume roleARN with
	// sts:AssumeRoleWithWebIdentity given the context keys
	// cognito-identity.amazonaws.com:aud, :amr and :sub; a non-nil error refuses,
	// and GetCredentialsForIdentity answers InvalidIdentityPoolConfigurationException.
	// Nil: the package's own check of the template's trust policies (trust.go), which
	// knows the condition operators CDK writes and refuses any other.
	AssumeRole func(roleARN string, context map[string][]string) error
}

// Service is the twin's Cognito: the user pools and identity pools a template
// declares, on one http.Handler, with its state in Options.DataDir.
type Service struct {
	region, account string
	log             *slog.Logger
	now             func() time.Time
	assume          func(roleARN string, context map[string][]string) error
	cfg             *config
	db              *bolt.DB
	keys            map[string]*poolKeys // by user pool id

	mu    sync.RWMutex
	creds map[string]*Session // issued credentials by access key id
}

// New reads the Cognito resources among resources (the resolved template:
// AWS::Cognito::UserPool, UserPoolClient, UserPoolGroup, IdentityPool,
// IdentityPoolRoleAttachment, and the AWS::IAM::Role resources they name) and
// opens the state under opts.DataDir. A setting the twin cannot serve as AWS would
// is a *ConfigError naming the resource.
func New(resources []*cfn.Resource, opts Options) (*Service, error) {
	if opts.DataDir == "" {
		return nil, errors.New("cognito: Options.DataDir is required")
	}
	if opts.Region == "" {
		opts.Region = DefaultRegion
	}
	if opts.Account == "" {
		opts.Account = DefaultAccount
	}
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	cfg, err := readConfig(resources, opts.Region, opts.Account)
	if err != nil {
		return nil, err
	}
	s := &Service{
		region: opts.Region, account: opts.Account, log: opts.Logger.With("component", "cognito"),
		now: opts.Now, assume: opts.AssumeRole, cfg: cfg, keys: map[string]*poolKeys{}, creds: map[string]*Session{},
	}
	if s.assume == nil {
		if s.assume, err = templateTrust(cfg.roles); err != nil {
			return nil, err
		}
	}
	if err := os.MkdirAll(opts.DataDir, 0o700); err != nil {
		return nil, fmt.Errorf("cognito: %w", err)
	}
	path := filepath.Join(opts.DataDir, "cognito.db")
	if s.db, err = bolt.Open(path, 0o600, &bolt.Options{Timeout: 5 * time.Second}); err != nil {
		return nil, fmt.Errorf("cognito: open %s: %w", path, err)
	}
	if err := s.open(); err != nil {
		s.db.Close()
		return nil, err
	}
	return s, nil
}

// open makes the buckets, loads or makes each pool's signing keys and loads the
// credentials still valid.
func (s *Service) open() error {
	if err := s.db.Update(func(tx *bolt.Tx) error {
		for _, b := range allBuckets {
			if _, err := tx.CreateBucketIfNotExists(b); err != nil {
				return err
			}
		}
		return nil
	}); err != nil {
		return fmt.Errorf("cognito: init: %w", err)
	}
	for id := range s.cfg.pools {
		k, err := s.loadKeys(id)
		if err != nil {
			return fmt.Errorf("cognito: keys of %s: %w", id, err)
		}
		s.keys[id] = k
	}
	return s.loadCredentials()
}

// Close closes the database.
func (s *Service) Close() error { return s.db.Close() }

// Region is the region the pools are in.
func (s *Service) Region() string { return s.region }

// operation is one JSON 1.1 operation: public ones are those AWS serves without
// SigV4 (the API reference: "Amazon Cognito doesn't evaluate IAM policies in
// requests for this API operation"); the rest need the caller's signature,
// which the edge verifies.
type operation struct {
	public bool
	call   func(s *Service, ctx context.Context, body []byte) (any, error)
}

// op adapts a typed operation to the table.
func op[In any](public bool, f func(*Service, context.Context, *In) (any, error)) operation {
	return operation{public: public, call: func(s *Service, ctx context.Context, body []byte) (any, error) {
		in := new(In)
		if len(body) > 0 {
			if err := json.Unmarshal(body, in); err != nil {
				return nil, newError(codeSerialization, "the request body is not the operation's JSON: %v", err)
			}
		}
		return f(s, ctx, in)
	}}
}

var operations = map[string]operation{
	UserPoolsTarget + "SignUp":                   op(true, (*Service).signUp),
	UserPoolsTarget + "ConfirmSignUp":            op(true, (*Service).confirmSignUp),
	UserPoolsTarget + "InitiateAuth":             op(true, (*Service).initiateAuth),
	UserPoolsTarget + "GetUser":                  op(true, (*Service).getUser),
	UserPoolsTarget + "AdminCreateUser":          op(false, (*Service).adminCreateUser),
	UserPoolsTarget + "AdminSetUserPassword":     op(false, (*Service).adminSetUserPassword),
	UserPoolsTarget + "AdminAddUserToGroup":      op(false, (*Service).adminAddUserToGroup),
	IdentityTarget + "GetId":                     op(true, (*Service).getID),
	IdentityTarget + "GetCredentialsForIdentity": op(true, (*Service).getCredentialsForIdentity),
}

// maxBody bounds what is read of a request: Cognito's largest inputs here are a
// few tokens and attributes.
const maxBody = 1 << 20

// jwksSuffix ends the path of a pool's JSON Web Key Set: /<poolId>/.well-known/jwks.json,
// as Cognito serves it under https://cognito-idp.<region>.amazonaws.com.
const jwksSuffix = "/.well-known/jwks.json"

// Handles reports whether r is for this service: a Cognito X-Amz-Target, or the
// JWKS of one of its user pools.
func (s *Service) Handles(r *http.Request) bool {
	t := r.Header.Get("X-Amz-Target")
	if strings.HasPrefix(t, UserPoolsTarget) || strings.HasPrefix(t, IdentityTarget) {
		return true
	}
	_, ok := s.jwksPool(r)
	return ok
}

// Public reports whether r is an operation AWS serves without SigV4 (the public
// client's calls, and the JWKS); the edge must verify the signature of the
// others (the Admin* calls), which carry the caller's IAM credentials.
func Public(r *http.Request) bool {
	if r.Method == http.MethodGet && strings.HasSuffix(r.URL.Path, jwksSuffix) {
		return true
	}
	o, ok := operations[r.Header.Get("X-Amz-Target")]
	return ok && o.public
}

func (s *Service) jwksPool(r *http.Request) (*poolKeys, bool) {
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		return nil, false
	}
	id, ok := strings.CutSuffix(strings.TrimPrefix(r.URL.Path, "/"), jwksSuffix)
	if !ok {
		return nil, false
	}
	k, ok := s.keys[id]
	return k, ok
}

// Handler serves both services' operations (POST /, X-Amz-Target) and each user
// pool's JWKS (GET /<poolId>/.well-known/jwks.json).
func (s *Service) Handler() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("x-amzn-RequestId", newUUID())
		if k, ok := s.jwksPool(r); ok {
			writeJSON(w, http.StatusOK, k.jwks())
			return
		}
		target := r.Header.Get("X-Amz-Target")
		o, ok := operations[target]
		if !ok || r.Method != http.MethodPost {
			writeError(w, newError(codeUnknownOperation, "the twin's Cognito serves %s on POST /; got %s %s with X-Amz-Target %q", servedOperations(), r.Method, r.URL.Path, target))
			return
		}
		if !o.public && !signed(r) {
			writeError(w, newError(codeMissingAuthentication, "Missing Authentication Token"))
			return
		}
		body, err := io.ReadAll(io.LimitReader(r.Body, maxBody+1))
		if err != nil || len(body) > maxBody {
			writeError(w, newError(codeSerialization, "the request body could not be read or is over %d bytes", maxBody))
			return
		}
		out, err := o.call(s, r.Context(), body)
		if err != nil {
			e := asError(err)
			s.log.Info("cognito", "op", target, "error", e.Code, "message", e.Message)
			writeError(w, e)
			return
		}
		writeJSON(w, http.StatusOK, out)
	})
}

// signed is whether a SigV4 signature is present; the edge verified it.
func signed(r *http.Request) bool {
	return strings.HasPrefix(r.Header.Get("Authorization"), "AWS4-") || r.URL.Query().Get("X-Amz-Signature") != ""
}

func servedOperations() string {
	names := make([]string, 0, len(operations))
	for t := range operations {
		names = append(names, t[strings.LastIndex(t, ".")+1:])
	}
	sortStrings(names)
	return strings.Join(names, ", ")
}

// newUUID is a random (version 4) UUID.
func newUUID() string {
	var b [16]byte
	_, _ = rand.Read(b[:]) // crypto/rand.Read never fails
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	return fmt.Sprintf("%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:16])
}

// required is AWS's request validation message for a missing member.
func required(fields map[string]string) error {
	var missing []string
	for _, name := range sortedKeys(fields) {
		if fields[name] == "" {
			missing = append(missing, fmt.Sprintf("Value null at '%s' failed to satisfy constraint: Member must not be null", name))
		}
	}
	switch len(missing) {
	case 0:
		return nil
	case 1:
		return newError(codeInvalidParameter, "1 validation error detected: %s", missing[0])
	}
	return newError(codeInvalidParameter, "%d validation errors detected: %s", len(missing), strings.Join(missing, "; "))
}
