package apigw

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"
)

// lambdaProxy is an AWS_PROXY integration with a Lambda function.
type lambdaProxy struct {
	a           *API
	functionARN string
	timeout     time.Duration
}

// maxLambdaPayload is Lambda's synchronous invocation payload quota (6 MB): an event
// over it is refused before the function runs.
const maxLambdaPayload = 6 << 20

func (l *lambdaProxy) serve(c *call) *reply {
	payload, err := marshal(l.event(c))
	if err != nil {
		c.a.log.Error("apigw: encoding the Lambda event", "requestId", c.requestID, "err", err)
		return c.fail(errConfiguration())
	}
	if len(payload) > maxLambdaPayload {
		return c.fail(errRequestTooLong())
	}
	ctx, cancel := context.WithTimeout(c.r.Context(), l.timeout)
	defer cancel()
	out, err := l.a.opts.Invoker.Invoke(ctx, l.functionARN, payload)
	if errors.Is(ctx.Err(), context.DeadlineExceeded) && c.r.Context().Err() == nil {
		c.a.log.Error("apigw: Execution failed due to a timeout error", "requestId", c.requestID,
			"function", l.functionARN, "timeout", l.timeout)
		return c.fail(errIntegrationTimeout())
	}
	if err != nil {
		if c.r.Context().Err() != nil {
			c.a.log.Info("apigw: the client went away during the invocation", "requestId", c.requestID, "function", l.functionARN)
		} else {
			c.a.log.Error("apigw: Lambda execution failed", "requestId", c.requestID, "function", l.functionARN, "err", err)
		}
		return c.fail(errIntegrationFailure())
	}
	resp, err := parseProxyResponse(out)
	if err != nil {
		c.a.log.Error("apigw: Execution failed due to configuration error: Malformed Lambda proxy response",
			"requestId", c.requestID, "function", l.functionARN, "err", err)
		return c.fail(errIntegrationFailure())
	}
	body := []byte(resp.body)
	// A base64 body is decoded only when the client's first accepted media type is
	// one of the API's binary media types; otherwise the client gets the base64 text
	// (developer guide, "Content type conversions in API Gateway"; the recorded cases
	// in LocalStack's AWS-validated test_aws_proxy_binary_response).
	if resp.base64 && l.a.isBinary(firstMediaType(c.r.Header.Get("Accept"))) {
		if body, err = decodeBase64(resp.body); err != nil {
			c.a.log.Error("apigw: Execution failed due to configuration error: unable to base64-decode the body",
				"requestId", c.requestID)
			return c.fail(errConfiguration())
		}
	}
	c.stamp(resp.header)
	resp.header["X-Amzn-Trace-Id"] = []string{c.traceID}
	return &reply{status: resp.status, header: resp.header, body: body}
}

// droppedRequestHeaders never reach the function (hop-by-hop and framing headers), as
// recorded for a REGIONAL REST API in LocalStack's AWS-validated header remapping
// snapshots (test_apigateway_header_remapping_aws[AWS_PROXY]).
var droppedRequestHeaders = map[string]bool{
	"Connection": true, "Content-Length": true, "Content-Md5": true, "Expect": true, "Max-Forwards": true,
	"Proxy-Authenticate": true, "Server": true, "Te": true, "Transfer-Encoding": true, "Trailer": true,
	"Upgrade": true, "Www-Authenticate": true,
}

// proxyEvent is the Lambda proxy integration's input, payload format 1.0 (developer
// guide, "Input format of a Lambda function for proxy integration").
type proxyEvent struct {
	Resource                        string              `json:"resource"`
	Path                            string              `json:"path"`
	HTTPMethod                      string              `json:"httpMethod"`
	Headers                         map[string]string   `json:"headers"`
	MultiValueHeaders               map[string][]string `json:"multiValueHeaders"`
	QueryStringParameters           map[string]string   `json:"queryStringParameters"`
	MultiValueQueryStringParameters map[string][]string `json:"multiValueQueryStringParameters"`
	PathParameters                  map[string]string   `json:"pathParameters"`
	StageVariables                  map[string]string   `json:"stageVariables"`
	RequestContext                  proxyContext        `json:"requestContext"`
	Body                            *string             `json:"body"`
	IsBase64Encoded                 bool                `json:"isBase64Encoded"`
}

type proxyContext struct {
	AccountID         string        `json:"accountId"`
	APIID             string        `json:"apiId"`
	DeploymentID      string        `json:"deploymentId"`
	DomainName        string        `json:"domainName"`
	DomainPrefix      string        `json:"domainPrefix"`
	ExtendedRequestID string        `json:"extendedRequestId"`
	HTTPMethod        string        `json:"httpMethod"`
	Identity          proxyIdentity `json:"identity"`
	Path              string        `json:"path"`
	Protocol          string        `json:"protocol"`
	RequestID         string        `json:"requestId"`
	RequestTime       string        `json:"requestTime"`
	RequestTimeEpoch  int64         `json:"requestTimeEpoch"`
	ResourceID        string        `json:"resourceId"`
	ResourcePath      string        `json:"resourcePath"`
	Stage             string        `json:"stage"`
}

// proxyIdentity has the fields AWS sends for a method without a Cognito or Lambda
// authorizer; the IAM fields are null on a method without AWS_IAM.
type proxyIdentity struct {
	AccessKey                     *string `json:"accessKey"`
	AccountID                     *string `json:"accountId"`
	Caller                        *string `json:"caller"`
	CognitoAuthenticationProvider *string `json:"cognitoAuthenticationProvider"`
	CognitoAuthenticationType     *string `json:"cognitoAuthenticationType"`
	CognitoIdentityID             *string `json:"cognitoIdentityId"`
	CognitoIdentityPoolID         *string `json:"cognitoIdentityPoolId"`
	PrincipalOrgID                *string `json:"principalOrgId"`
	SourceIP                      string  `json:"sourceIp"`
	User                          *string `json:"user"`
	UserAgent                     *string `json:"userAgent"`
	UserArn                       *string `json:"userArn"`
}

func (l *lambdaProxy) event(c *call) *proxyEvent {
	e := &proxyEvent{
		Resource:                        c.method.node.path,
		Path:                            c.path,
		HTTPMethod:                      c.r.Method,
		QueryStringParameters:           c.query.single,
		MultiValueQueryStringParameters: c.query.multi,
		PathParameters:                  c.pathParams,
		StageVariables:                  c.a.stageVariables,
		RequestContext: proxyContext{
			AccountID:         c.a.opts.Account,
			APIID:             c.a.id,
			DeploymentID:      c.a.deploymentID,
			DomainName:        c.domainName(),
			DomainPrefix:      domainPrefix(c.domainName()),
			ExtendedRequestID: c.extendedID,
			HTTPMethod:        c.r.Method,
			Identity:          c.identity(),
			Path:              c.stagePath(),
			Protocol:          c.r.Proto,
			RequestID:         c.requestID,
			RequestTime:       c.requestTime(),
			RequestTimeEpoch:  c.start.UnixMilli(),
			ResourceID:        c.method.node.id,
			ResourcePath:      c.method.node.path,
			Stage:             c.a.stage,
		},
	}
	e.Headers, e.MultiValueHeaders = l.headers(c)
	if len(c.body) > 0 {
		var body string
		if l.a.isBinary(firstMediaType(c.r.Header.Get("Content-Type"))) {
			body, e.IsBase64Encoded = base64.StdEncoding.EncodeToString(c.body), true
		} else {
			body = string(c.body)
		}
		e.Body = &body
	}
	return e
}

// headers are the request's headers as the function sees them: the single-value map
// keeps a repeated header's last value. API Gateway adds Host, the trace id and the
// X-Forwarded-* headers (appending the client's address to an X-Forwarded-For it got).
// Header names reach the function in Go's canonical form (Go's server keeps no other),
// where AWS keeps the client's spelling (DIFFERENCES.md).
func (l *lambdaProxy) headers(c *call) (map[string]string, map[string][]string) {
	multi := map[string][]string{}
	for k, vs := range c.r.Header {
		if !droppedRequestHeaders[k] {
			multi[k] = append([]string(nil), vs...)
		}
	}
	multi["Host"] = []string{c.r.Host}
	xff := c.sourceIP()
	if prior := strings.Join(c.r.Header.Values("X-Forwarded-For"), ", "); prior != "" {
		xff = prior + ", " + xff
	}
	multi["X-Forwarded-For"] = []string{xff}
	multi["X-Forwarded-Port"] = []string{localPort(c.r)}
	proto := "http"
	if c.r.TLS != nil {
		proto = "https"
	}
	multi["X-Forwarded-Proto"] = []string{proto}
	multi["X-Amzn-Trace-Id"] = []string{c.traceID}
	single := make(map[string]string, len(multi))
	for k, vs := range multi {
		single[k] = vs[len(vs)-1]
	}
	return single, multi
}

// localPort is the port the client connected to.
func localPort(r *http.Request) string {
	if addr, ok := r.Context().Value(http.LocalAddrContextKey).(net.Addr); ok {
		if _, port, err := net.SplitHostPort(addr.String()); err == nil {
			return port
		}
	}
	if _, port, err := net.SplitHostPort(r.Host); err == nil {
		return port
	}
	if r.TLS != nil {
		return "443"
	}
	return "80"
}

// isBinary reports whether a media type is one of the API's binary media types: the
// same type, a "type/*" wildcard, or "*/*". A wildcard on the left ("*/png") matches
// nothing, as recorded against AWS.
func (a *API) isBinary(mt string) bool {
	if mt == "" {
		return false
	}
	for _, t := range a.binaryMediaTypes {
		t = strings.ToLower(t)
		if t == mt || t == "*/*" || strings.HasSuffix(t, "/*") && !strings.HasPrefix(t, "*") &&
			strings.HasPrefix(mt, strings.TrimSuffix(t, "*")) {
			return true
		}
	}
	return false
}

// proxyResponse is a function's answer, checked.
type proxyResponse struct {
	status int
	header http.Header // names as the function wrote them
	body   string
	base64 bool
}

var proxyKeys = map[string]bool{"statusCode": true, "headers": true, "multiValueHeaders": true, "body": true, "isBase64Encoded": true}

// remappedResponseHeaders are renamed x-amzn-Remapped-<name> rather than passed on,
// as recorded for AWS_PROXY in LocalStack's AWS-validated snapshots; a function's
// Transfer-Encoding is dropped.
var remappedResponseHeaders = []string{"Connection", "Content-Length", "Date", "Server"}

// parseProxyResponse checks a function's answer as API Gateway does: a JSON object with
// no keys but the five of the output format; a missing statusCode is 200 and a numeric
// string is accepted; header values are strings or booleans; multiValueHeaders values
// are lists; body is a string. Anything else is malformed (recorded in LocalStack's
// AWS-validated test_aws_proxy_response_payload_format_validation).
func parseProxyResponse(b []byte) (*proxyResponse, error) {
	var raw map[string]json.RawMessage
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber()
	if err := dec.Decode(&raw); err != nil || raw == nil {
		return nil, fmt.Errorf("not a JSON object")
	}
	for k := range raw {
		if !proxyKeys[k] {
			return nil, fmt.Errorf("unknown key %q", k)
		}
	}
	resp := &proxyResponse{status: 200, header: http.Header{}}
	if err := resp.readStatus(raw["statusCode"]); err != nil {
		return nil, err
	}
	if err := decodeOptional(raw["body"], &resp.body); err != nil {
		return nil, fmt.Errorf("body: %w", err)
	}
	if err := decodeOptional(raw["isBase64Encoded"], &resp.base64); err != nil {
		return nil, fmt.Errorf("isBase64Encoded: %w", err)
	}
	if err := resp.readHeaders(raw["headers"], raw["multiValueHeaders"]); err != nil {
		return nil, err
	}
	return resp, nil
}

func (p *proxyResponse) readStatus(raw json.RawMessage) error {
	var v any
	if err := decodeOptional(raw, &v); err != nil {
		return fmt.Errorf("statusCode: %w", err)
	}
	var code int64
	var err error
	switch v := v.(type) {
	case nil:
		return nil
	case json.Number:
		code, err = v.Int64()
	case string:
		code, err = strconv.ParseInt(v, 10, 64)
	default:
		err = fmt.Errorf("%T", v)
	}
	if err != nil || code < 100 || code > 599 {
		return fmt.Errorf("statusCode %s is not a status code", raw)
	}
	p.status = int(code)
	return nil
}

// readHeaders merges multiValueHeaders and headers: a name in both (in any case)
// keeps the multi-value spelling and values, and gains the single value unless it is
// already there. LocalStack's AWS-validated snapshots record exactly that
// ("value-multi, value-solo" under the multiValueHeaders spelling "tesT-Multi").
func (p *proxyResponse) readHeaders(single, multi json.RawMessage) error {
	var sm map[string]any
	var mm map[string]any
	if err := decodeOptional(single, &sm); err != nil {
		return fmt.Errorf("headers: %w", err)
	}
	if err := decodeOptional(multi, &mm); err != nil {
		return fmt.Errorf("multiValueHeaders: %w", err)
	}
	names := map[string]string{} // lower-case → spelling in p.header
	add := func(name, v string, merge bool) error {
		if !validHeader(name, v) {
			return fmt.Errorf("header %q: invalid name or value", name)
		}
		key, seen := names[strings.ToLower(name)]
		if !seen {
			key = name
			names[strings.ToLower(name)] = key
		}
		if merge && slices.Contains(p.header[key], v) {
			return nil
		}
		p.header[key] = append(p.header[key], v)
		return nil
	}
	for _, k := range sortedKeys(mm) {
		list, ok := mm[k].([]any)
		if !ok {
			return fmt.Errorf("multiValueHeaders[%q]: not a list", k)
		}
		for _, e := range list {
			v, ok := headerValue(e)
			if !ok {
				return fmt.Errorf("multiValueHeaders[%q]: %T value", k, e)
			}
			if err := add(k, v, false); err != nil {
				return err
			}
		}
	}
	for _, k := range sortedKeys(sm) {
		v, ok := headerValue(sm[k])
		if !ok {
			return fmt.Errorf("headers[%q]: %T value", k, sm[k])
		}
		if err := add(k, v, true); err != nil {
			return err
		}
	}
	for _, name := range remappedResponseHeaders {
		if key, ok := names[strings.ToLower(name)]; ok {
			p.header["x-amzn-Remapped-"+name] = p.header[key]
			delete(p.header, key)
		}
	}
	if key, ok := names["transfer-encoding"]; ok {
		delete(p.header, key)
	}
	if _, ok := names["content-type"]; !ok {
		p.header["Content-Type"] = []string{"application/json"}
	}
	return nil
}

func headerValue(v any) (string, bool) {
	switch v := v.(type) {
	case string:
		return v, true
	case bool:
		return strconv.FormatBool(v), true
	}
	return "", false
}

// validHeader refuses what cannot be written on the wire.
func validHeader(name, v string) bool {
	if name == "" {
		return false
	}
	for i := 0; i < len(name); i++ {
		if c := name[i]; c <= ' ' || c >= 0x7f || strings.IndexByte(`"(),/:;<=>?@[\]{}`, c) >= 0 {
			return false
		}
	}
	return !strings.ContainsAny(v, "\r\n\x00")
}

// decodeOptional decodes raw into v; absent and null leave v as it is.
func decodeOptional(raw json.RawMessage, v any) error {
	if len(raw) == 0 || string(raw) == "null" {
		return nil
	}
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	return dec.Decode(v)
}

func decodeBase64(s string) ([]byte, error) {
	if b, err := base64.StdEncoding.DecodeString(s); err == nil {
		return b, nil
	}
	return base64.RawStdEncoding.DecodeString(s)
}

// marshal encodes v as API Gateway does, without escaping HTML characters.
func marshal(v any) ([]byte, error) {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return nil, err
	}
	return bytes.TrimSuffix(b.Bytes(), []byte("\n")), nil
}
