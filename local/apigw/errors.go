package apigw

import (
	"encoding/json"
	"net/http"
	"sort"
	"strconv"
	"strings"
)

// gatewayError is an answer API Gateway makes itself, rather than the integration.
type gatewayError struct {
	typ       string // the gateway response type that customizes it
	status    int    // the status when no gateway response sets one
	errorType string // x-amzn-ErrorType
	message   string // $context.error.message
	// body is AWS's default body. AWS writes some with a space after the colon and
	// some without, as recorded exchanges show: {"message":"Missing Authentication
	// Token"} and {"message":"Too Many Requests"}, but {"message": "Internal server
	// error"} (Content-Length 36 in LocalStack's AWS-validated snapshots),
	// {"message": "Endpoint request timed out"} and {"message": "Missing required
	// request parameters: [q1]"}.
	body string
}

func newError(typ string, status int, errorType, message string, spaced bool) *gatewayError {
	sep := ":"
	if spaced {
		sep = ": "
	}
	return &gatewayError{typ: typ, status: status, errorType: errorType, message: message,
		body: `{"message"` + sep + quoteJSON(message) + `}`}
}

// An unknown path or method: API Gateway answers as if a signature were missing.
func errMissingToken() *gatewayError {
	return newError("MISSING_AUTHENTICATION_TOKEN", 403, "MissingAuthenticationTokenException", "Missing Authentication Token", false)
}

// A stage the API does not have.
func errForbidden() *gatewayError {
	return newError("DEFAULT_4XX", 403, "ForbiddenException", "Forbidden", false)
}

func errThrottled() *gatewayError {
	return newError("THROTTLED", 429, "TooManyRequestsException", "Too Many Requests", false)
}

// errBadParameters names the missing parameters, sorted, as "[a, b]".
func errBadParameters(names []string) *gatewayError {
	return newError("BAD_REQUEST_PARAMETERS", 400, "BadRequestException",
		"Missing required request parameters: ["+strings.Join(names, ", ")+"]", true)
}

// A Lambda function error or a malformed proxy answer: 502, "Internal server error"
// (developer guide, "Output format of a Lambda function for proxy integration": "If
// the function output is of a different format, API Gateway returns a 502 Bad
// Gateway error response").
func errIntegrationFailure() *gatewayError {
	return newError("INTEGRATION_FAILURE", 502, "InternalServerErrorException", "Internal server error", true)
}

// The integration timeout ("API Gateway quotas": 50 ms to 29 s).
func errIntegrationTimeout() *gatewayError {
	return newError("INTEGRATION_TIMEOUT", 504, "InternalServerErrorException", "Endpoint request timed out", true)
}

// An event over Lambda's 6 MB synchronous payload: recorded as 413 {"message": "Request
// Too Long"} with x-amzn-ErrorType BadRequestException (koki-develop/lgtm-generator
// issue 10).
func errRequestTooLong() *gatewayError {
	return newError("REQUEST_TOO_LARGE", 413, "BadRequestException", "Request Too Long", true)
}

// A configuration error at run time: no integration response matches, an invalid
// base64 body, a MOCK template without a status code.
func errConfiguration() *gatewayError {
	return newError("API_CONFIGURATION_ERROR", 500, "InternalServerErrorException", "Internal server error", true)
}

func errUnsupportedMediaType() *gatewayError {
	return newError("UNSUPPORTED_MEDIA_TYPE", 415, "UnsupportedMediaTypeException", "Unsupported Media Type", true)
}

// responseTypes are the gateway response types ("Gateway response types" in the
// developer guide).
var responseTypes = map[string]bool{
	"DEFAULT_4XX": true, "DEFAULT_5XX": true, "ACCESS_DENIED": true, "API_CONFIGURATION_ERROR": true,
	"AUTHORIZER_CONFIGURATION_ERROR": true, "AUTHORIZER_FAILURE": true, "BAD_REQUEST_PARAMETERS": true,
	"BAD_REQUEST_BODY": true, "EXPIRED_TOKEN": true, "INTEGRATION_FAILURE": true, "INTEGRATION_TIMEOUT": true,
	"INVALID_API_KEY": true, "INVALID_SIGNATURE": true, "MISSING_AUTHENTICATION_TOKEN": true,
	"QUOTA_EXCEEDED": true, "REQUEST_TOO_LARGE": true, "RESOURCE_NOT_FOUND": true, "THROTTLED": true,
	"UNAUTHORIZED": true, "UNSUPPORTED_MEDIA_TYPE": true, "WAF_FILTERED": true,
}

// gatewayResponse is an AWS::ApiGateway::GatewayResponse.
type gatewayResponse struct {
	status    int // 0: the error's own
	headers   []responseHeader
	templates map[string]*vtl // by content type
}

// responseHeader is one gatewayresponse.header.<name> mapping: a static value or a
// request parameter.
type responseHeader struct {
	name   string
	static string
	from   param // from.in is "" for a static value
}

func readGatewayResponse(p *props) (*gatewayResponse, error) {
	gr := &gatewayResponse{templates: map[string]*vtl{}}
	if p.has("StatusCode") {
		code, err := statusString(p, "StatusCode")
		if err != nil {
			return nil, err
		}
		if gr.status, err = strconv.Atoi(code); err != nil || gr.status < 100 || gr.status > 599 {
			return nil, p.errf("StatusCode", "invalid status code %q", code)
		}
	}
	params, err := p.stringMap("ResponseParameters")
	if err != nil {
		return nil, err
	}
	for _, k := range sortedKeys(params) {
		name, ok := strings.CutPrefix(k, "gatewayresponse.header.")
		if !ok {
			return nil, unsupported(p.r, "ResponseParameters key %q", k)
		}
		h, err := responseHeaderFrom(p.r, name, params[k], "method.request.")
		if err != nil {
			return nil, err
		}
		gr.headers = append(gr.headers, h)
	}
	templates, err := p.stringMap("ResponseTemplates")
	if err != nil {
		return nil, err
	}
	for ct, src := range templates {
		t, err := compileVTL(src)
		if err != nil {
			return nil, unsupported(p.r, "ResponseTemplates[%s]: %v", ct, err)
		}
		gr.templates[ct] = t
	}
	return gr, nil
}

// responseHeaderFrom reads a mapping value: 'static', or <prefix>header|querystring|path.<name>.
func responseHeaderFrom(r *Resource, name, v, prefix string) (responseHeader, error) {
	if len(v) >= 2 && strings.HasPrefix(v, "'") && strings.HasSuffix(v, "'") {
		return responseHeader{name: name, static: v[1 : len(v)-1]}, nil
	}
	if rest, ok := strings.CutPrefix(v, prefix); ok {
		in, pname, ok := strings.Cut(rest, ".")
		if ok && pname != "" && (in == "header" || in == "querystring" || in == "path") {
			return responseHeader{name: name, from: param{in: in, name: pname}}, nil
		}
	}
	return responseHeader{}, unsupported(r, "response parameter %s = %q (only static values and request parameters)", name, v)
}

// fail answers with a gateway error, customized by the template's gateway response for
// its type, or else by DEFAULT_4XX / DEFAULT_5XX. A status set on the default
// response applies to every type of its class without a response of its own.
func (c *call) fail(e *gatewayError) *reply {
	c.err = e
	fallback := "DEFAULT_4XX"
	if e.status >= 500 {
		fallback = "DEFAULT_5XX"
	}
	status := e.status
	gr := c.a.responses[e.typ]
	if gr == nil {
		gr = c.a.responses[fallback]
	}
	if gr != nil && gr.status != 0 {
		status = gr.status
	}
	h := http.Header{"Content-Type": {"application/json"}}
	body := e.body
	if gr != nil {
		env := newCallEnv(c)
		for _, rh := range gr.headers {
			if v, ok := rh.value(c); ok {
				h[rh.name] = []string{v}
			}
		}
		if t, ct := pickTemplate(gr.templates, c.r.Header.Get("Accept")); t != nil {
			body = t.render(env)
			h["Content-Type"] = []string{ct}
		}
	}
	h["x-amzn-ErrorType"] = []string{e.errorType}
	c.stamp(h)
	return &reply{status: status, header: h, body: []byte(body)}
}

// value is a response header's value for this request; a request parameter that is
// absent sets no header.
func (rh responseHeader) value(c *call) (string, bool) {
	switch rh.from.in {
	case "":
		return rh.static, true
	case "header":
		v := c.r.Header.Get(rh.from.name)
		return v, v != ""
	case "querystring":
		v, ok := c.query.single[rh.from.name]
		return v, ok
	default:
		v, ok := c.pathParams[rh.from.name]
		return v, ok
	}
}

// pickTemplate chooses a mapping template by the first media type the client
// accepts, else application/json, else the only one there is.
func pickTemplate(ts map[string]*vtl, accept string) (*vtl, string) {
	if len(ts) == 0 {
		return nil, ""
	}
	if mt := firstMediaType(accept); ts[mt] != nil {
		return ts[mt], mt
	}
	if t := ts["application/json"]; t != nil {
		return t, "application/json"
	}
	if len(ts) == 1 {
		for ct, t := range ts {
			return t, ct
		}
	}
	return nil, ""
}

// firstMediaType is the first media type of an Accept or Content-Type header, without
// parameters, lower-cased.
func firstMediaType(h string) string {
	first, _, _ := strings.Cut(h, ",")
	mt, _, _ := strings.Cut(first, ";")
	return strings.ToLower(strings.TrimSpace(mt))
}

// quoteJSON is s as a JSON string, without escaping HTML characters.
func quoteJSON(s string) string {
	var b strings.Builder
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	_ = enc.Encode(s) // a string always encodes
	return strings.TrimSuffix(b.String(), "\n")
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}
