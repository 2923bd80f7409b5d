// Package apigw is the twin's API Gateway (REST API, v1): it builds one stage of a
// REST API from the template's AWS::ApiGateway::* resources and serves it over HTTP,
// with API Gateway's routing, request validation, Lambda proxy and MOCK
// integrations, gateway responses, stage throttling and access log.
//
// What the template uses and this package cannot do as AWS does is an error at New,
// never a silent difference: an integration type, an authorizer, a method setting, a
// mapping template construct. The differences that remain (header
// names reaching the function in Go's canonical case) are listed in DIFFERENCES.md.
// AWS_IAM methods are checked by the Authorizer the twin gives (SigV4 and IAM).
package apigw

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"sort"
	"strings"
	"time"
)

// Resource is one resolved template resource (intrinsics already resolved to plain
// JSON; Ref ids resolved to PhysicalID strings).
type Resource struct {
	LogicalID, Type, PhysicalID string
	Properties                  map[string]any
}

// Invoker invokes a Lambda function synchronously (RequestResponse) and returns its
// response payload. A function error (an unhandled exception, a timeout, a crash) is
// a non-nil error; so is a failure to invoke at all. ctx carries the integration
// timeout.
type Invoker interface {
	Invoke(ctx context.Context, functionARN string, payload []byte) ([]byte, error)
}

// Options configure an API.
type Options struct {
	Region, Account string
	Invoker         Invoker
	Logger          *slog.Logger
	// Now is the clock for request times and throttling; time.Now when nil.
	Now func() time.Time
	// BasePath is the prefix the handler is mounted under ("/api"): it is stripped
	// before routing, so GET /api/images → resource /images.
	BasePath string
	// StageInPath makes the first path segment (after BasePath) name the stage, as
	// on an execute-api host: /prod/images. Off, the handler serves its one stage
	// at BasePath.
	StageInPath bool
	// Authorize verifies the callers of AWS_IAM methods; without it they are refused.
	Authorize Authorizer
}

// UnsupportedError says that the template uses an API Gateway feature the twin does
// not implement.
type UnsupportedError struct {
	LogicalID, Type string
	Feature         string
}

func (e *UnsupportedError) Error() string {
	return fmt.Sprintf("apigw: %s (%s): unsupported: %s", e.LogicalID, e.Type, e.Feature)
}

func unsupported(r *Resource, format string, args ...any) error {
	return &UnsupportedError{LogicalID: r.LogicalID, Type: r.Type, Feature: fmt.Sprintf(format, args...)}
}

// Method describes one method of the API, for callers that enforce what this package
// only records (IAM authorization).
type Method struct {
	ResourcePath      string // "/images"
	HTTPMethod        string // "GET", "ANY"
	AuthorizationType string // "NONE" or "AWS_IAM"
}

// API is one deployed stage of a REST API.
type API struct {
	id, stage, deploymentID string
	opts                    Options
	log                     *slog.Logger
	now                     func() time.Time

	root             *node
	binaryMediaTypes []string
	stageVariables   map[string]string
	responses        map[string]*gatewayResponse // by response type
	accessLog        *accessLogFormat            // nil: no access logging
	account          *tokenBucket                // the account-level throttle
}

// New builds the route table of the one REST API and stage in resources. Resources
// of other services are ignored.
func New(resources []Resource, opts Options) (*API, error) {
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	a := &API{opts: opts, log: opts.Logger, now: opts.Now, account: newAccountBucket(opts.Now())}
	if err := build(a, resources); err != nil {
		return nil, err
	}
	return a, nil
}

// ID is the REST API's id.
func (a *API) ID() string { return a.id }

// Stage is the stage's name.
func (a *API) Stage() string { return a.stage }

// Methods lists the API's methods, sorted by path then method.
func (a *API) Methods() []Method {
	var out []Method
	a.root.walk(func(n *node) {
		for _, m := range n.methods {
			out = append(out, Method{ResourcePath: n.path, HTTPMethod: m.httpMethod, AuthorizationType: m.authType})
		}
	})
	sort.Slice(out, func(i, j int) bool {
		if out[i].ResourcePath != out[j].ResourcePath {
			return out[i].ResourcePath < out[j].ResourcePath
		}
		return out[i].HTTPMethod < out[j].HTTPMethod
	})
	return out
}

// Handler serves the stage.
func (a *API) Handler() http.Handler { return http.HandlerFunc(a.serve) }

// serve is the request pipeline, in API Gateway's order: the front door's size limit,
// the stage, the account throttle, routing, the method throttle, authorization,
// validation, the integration. Each step either passes or produces the reply.
func (a *API) serve(w http.ResponseWriter, r *http.Request) {
	c := newCall(a, r)
	rep := a.handle(c)
	c.reply = rep
	rep.write(w, r)
	a.logAccess(c)
}

func (a *API) handle(c *call) *reply {
	if rep := c.readBody(); rep != nil {
		return rep
	}
	path, gerr := a.stagePath(c.r.URL.EscapedPath())
	if gerr != nil {
		return c.fail(gerr)
	}
	if !a.account.take(a.now()) {
		return c.fail(errThrottled())
	}
	m, params, ok := a.route(path, c.r.Method)
	if !ok {
		return c.fail(errMissingToken())
	}
	c.path, c.method, c.pathParams = path, m, params
	if !m.bucket.take(a.now()) {
		return c.fail(errThrottled())
	}
	// AWS_IAM is checked after the method throttle and before validation, in API
	// Gateway's order; any other authorizer was refused at New.
	if err := c.authorize(); err != nil {
		return c.fail(err)
	}
	if err := m.validate(c); err != nil {
		return c.fail(err)
	}
	return m.integration.serve(c)
}

// stagePath strips BasePath and, with StageInPath, the stage, and returns the path
// the resources are matched against ("/" at least).
func (a *API) stagePath(p string) (string, *gatewayError) {
	base := strings.TrimSuffix(a.opts.BasePath, "/")
	if base != "" {
		if p != base && !strings.HasPrefix(p, base+"/") {
			return "", errMissingToken()
		}
		p = p[len(base):]
	}
	if a.opts.StageInPath {
		stage, tail, _ := strings.Cut(strings.TrimPrefix(p, "/"), "/")
		if stage != a.stage {
			// AWS answers a request for a stage the API does not have with 403
			// {"message":"Forbidden"} (not LocalStack's 404).
			return "", errForbidden()
		}
		p = "/" + tail
	}
	if p == "" {
		p = "/"
	}
	return p, nil
}
