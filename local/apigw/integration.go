package apigw

import (
	"fmt"
	"regexp"
	"strings"
	"time"
)

// integration serves a request that has passed routing, throttling and validation.
type integration interface {
	serve(c *call) *reply
}

// maxTimeout is the integration timeout's ceiling and default ("API Gateway quotas":
// 50 milliseconds to 29 seconds).
const maxTimeout = 29 * time.Second

func (a *API) readIntegration(p *props, m *method) (integration, error) {
	typ, err := p.str("Type")
	if err != nil {
		return nil, err
	}
	if ct, err := p.str("ConnectionType"); err != nil {
		return nil, err
	} else if ct != "" && ct != "INTERNET" {
		return nil, unsupported(p.r, "Integration.ConnectionType %s", ct)
	}
	if ch, err := p.str("ContentHandling"); err != nil {
		return nil, err
	} else if ch != "" {
		return nil, unsupported(p.r, "Integration.ContentHandling %s", ch)
	}
	// Caching is refused on the stage; without it the cache keys change nothing.
	p.ignore("CacheKeyParameters", "CacheNamespace")
	var in integration
	switch typ {
	case "AWS_PROXY":
		in, err = a.readLambdaProxy(p)
	case "MOCK":
		in, err = readMock(p, m)
	default:
		return nil, unsupported(p.r, "Integration.Type %s", typ)
	}
	if err != nil {
		return nil, err
	}
	return in, p.check()
}

// lambdaURI is the Lambda invocation URI of an AWS_PROXY integration.
var lambdaURI = regexp.MustCompile(`^arn:[a-z-]+:apigateway:[a-z0-9-]+:lambda:path/2015-03-31/functions/(arn:[^/]+)/invocations$`)

func (a *API) readLambdaProxy(p *props) (integration, error) {
	uri, err := p.str("Uri")
	if err != nil {
		return nil, err
	}
	if strings.Contains(uri, "${") {
		return nil, unsupported(p.r, "stage variables in Integration.Uri")
	}
	mm := lambdaURI.FindStringSubmatch(uri)
	if mm == nil {
		return nil, unsupported(p.r, "AWS_PROXY Integration.Uri %q (only Lambda function invocations)", uri)
	}
	if hm, err := p.str("IntegrationHttpMethod"); err != nil {
		return nil, err
	} else if hm != "POST" {
		// Lambda's Invoke is a POST; API Gateway fails every call of another method.
		return nil, fmt.Errorf("apigw: %s: Integration.IntegrationHttpMethod %q: a Lambda integration must use POST", p.r.LogicalID, hm)
	}
	timeout, err := readTimeout(p)
	if err != nil {
		return nil, err
	}
	if a.opts.Invoker == nil {
		return nil, fmt.Errorf("apigw: %s: a Lambda proxy integration needs Options.Invoker", p.r.LogicalID)
	}
	// A proxy integration passes the request as it is: API Gateway does not apply
	// parameter mappings, templates or integration responses to it. Credentials is the
	// role API Gateway would assume to invoke, an IAM matter not enforced yet.
	p.ignore("RequestParameters", "RequestTemplates", "IntegrationResponses", "PassthroughBehavior", "Credentials", "TlsConfig")
	return &lambdaProxy{a: a, functionARN: mm[1], timeout: timeout}, nil
}

func readTimeout(p *props) (time.Duration, error) {
	ms, ok, err := p.number("TimeoutInMillis")
	if err != nil || !ok {
		return maxTimeout, err
	}
	d := time.Duration(ms) * time.Millisecond
	if d < 50*time.Millisecond || d > maxTimeout {
		return 0, p.errf("TimeoutInMillis", "%v is outside 50 ms to 29 s", d)
	}
	return d, nil
}
