package apigw

import (
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
)

// maxPayload is API Gateway's payload quota for REST APIs ("API Gateway quotas":
// 10 MB, not adjustable).
const maxPayload = 10 << 20

// call is one request on its way through the stage.
type call struct {
	a     *API
	r     *http.Request
	start time.Time

	requestID  string // x-amzn-RequestId, $context.requestId
	extendedID string // x-amz-apigw-id, $context.extendedRequestId
	traceID    string // X-Amzn-Trace-Id

	body       []byte
	query      query
	path       string // the path below the stage, as sent (percent-encoded)
	method     *method
	pathParams map[string]string
	caller     *Caller // the verified caller of an AWS_IAM method

	err   *gatewayError // the error being answered, for $context.error.*
	reply *reply        // the answer, for the access log
}

// query is the query string as API Gateway passes it: values decoded, the last value
// of a repeated name in the single-value map, all of them in the multi-value map.
type query struct {
	single map[string]string
	multi  map[string][]string
}

func newCall(a *API, r *http.Request) *call {
	c := &call{a: a, r: r, start: a.now()}
	c.requestID = uuid4()
	c.extendedID = base64.StdEncoding.EncodeToString(randomBytes(11))
	c.traceID = r.Header.Get("X-Amzn-Trace-Id")
	if c.traceID == "" {
		c.traceID = fmt.Sprintf("Root=1-%08x-%s", c.start.Unix(), hex.EncodeToString(randomBytes(12)))
	}
	c.query = parseQuery(r.URL.RawQuery)
	return c
}

// readBody reads the payload within API Gateway's quota. A larger payload is refused
// in front of the API, before any gateway response applies: a recorded exchange (413,
// "content-type: text; charset=utf-8", body "HTTP content length exceeded 10485760
// bytes.", no x-amzn-RequestId) is in koki-develop/lgtm-generator issue 10, which
// also found a REQUEST_TOO_LARGE gateway response not applied to it.
func (c *call) readBody() *reply {
	tooLarge := &reply{status: http.StatusRequestEntityTooLarge, header: http.Header{
		"Content-Type": {"text; charset=utf-8"}}, body: []byte("HTTP content length exceeded 10485760 bytes.")}
	if c.r.ContentLength > maxPayload {
		return tooLarge
	}
	b, err := io.ReadAll(io.LimitReader(c.r.Body, maxPayload+1))
	if err != nil {
		return &reply{status: http.StatusBadRequest, header: http.Header{"Content-Type": {"text/plain; charset=utf-8"}},
			body: []byte("reading the request body: " + err.Error())}
	}
	if len(b) > maxPayload {
		return tooLarge
	}
	c.body = b
	return nil
}

func parseQuery(raw string) query {
	q := query{}
	for _, kv := range strings.Split(raw, "&") {
		if kv == "" {
			continue
		}
		k, v, _ := strings.Cut(kv, "=")
		k, v = unescape(k), unescape(v)
		if q.single == nil {
			q.single, q.multi = map[string]string{}, map[string][]string{}
		}
		q.single[k] = v
		q.multi[k] = append(q.multi[k], v)
	}
	return q
}

func unescape(s string) string {
	if u, err := url.QueryUnescape(s); err == nil {
		return u
	}
	return s
}

// sourceIP is the client's address, without the port.
func (c *call) sourceIP() string {
	if host, _, err := net.SplitHostPort(c.r.RemoteAddr); err == nil {
		return host
	}
	return c.r.RemoteAddr
}

// domainName is the host the client addressed; without one, the API's execute-api
// host in the region.
func (c *call) domainName() string {
	if c.r.Host != "" {
		return c.r.Host
	}
	return c.a.id + ".execute-api." + c.a.opts.Region + ".amazonaws.com"
}

// resourcePath is the matched resource's path, "" before routing.
func (c *call) resourcePath() string {
	if c.method == nil {
		return ""
	}
	return c.method.node.path
}

// stagePath is $context.path: the stage and the path below it, "/prod/images".
func (c *call) stagePath() string {
	p := c.path
	if p == "" {
		p = c.r.URL.EscapedPath()
	}
	return "/" + c.a.stage + p
}

// requestTime is $context.requestTime, in API Gateway's CLF format.
func (c *call) requestTime() string { return c.start.UTC().Format("02/Jan/2006:15:04:05 -0700") }

// contextVar is $context.<path>, for templates and the access log. ok is false for
// a variable the twin cannot fill (or that has no value here).
func (c *call) contextVar(path string) (string, bool) {
	switch path {
	case "accountId":
		return c.a.opts.Account, true
	case "apiId":
		return c.a.id, true
	case "deploymentId":
		return c.a.deploymentID, true
	case "domainName":
		return c.domainName(), true
	case "domainPrefix":
		return domainPrefix(c.domainName()), true
	case "extendedRequestId":
		return c.extendedID, true
	case "httpMethod":
		return c.r.Method, true
	case "identity.sourceIp":
		return c.sourceIP(), true
	case "identity.userAgent":
		return c.r.Header.Get("User-Agent"), c.r.Header.Get("User-Agent") != ""
	case "identity.caller", "identity.user", "identity.userArn", "identity.accessKey", "identity.cognitoIdentityId":
		return c.callerVar(path)
	case "path":
		return c.stagePath(), true
	case "protocol":
		return c.r.Proto, true
	case "requestId", "awsEndpointRequestId":
		return c.requestID, path == "requestId"
	case "requestTime":
		return c.requestTime(), true
	case "requestTimeEpoch":
		return strconv.FormatInt(c.start.UnixMilli(), 10), true
	case "resourceId":
		if c.method == nil {
			return "", false
		}
		return c.method.node.id, true
	case "resourcePath":
		return c.resourcePath(), c.method != nil
	case "stage":
		return c.a.stage, true
	case "xrayTraceId":
		return c.traceID, true
	case "error.message":
		return c.errMessage()
	case "error.messageString":
		m, ok := c.errMessage()
		return quoteJSON(m), ok
	case "error.responseType":
		if c.err == nil {
			return "", false
		}
		return c.err.typ, true
	case "status":
		if c.reply == nil {
			return "", false
		}
		return strconv.Itoa(c.reply.status), true
	case "responseLength":
		if c.reply == nil {
			return "", false
		}
		return strconv.Itoa(len(c.reply.body)), true
	case "responseLatency":
		return strconv.FormatInt(c.a.now().Sub(c.start).Milliseconds(), 10), true
	}
	return "", false
}

func (c *call) errMessage() (string, bool) {
	if c.err == nil {
		return "", false
	}
	return c.err.message, true
}

func domainPrefix(host string) string {
	if h, _, err := net.SplitHostPort(host); err == nil {
		host = h
	}
	first, _, _ := strings.Cut(host, ".")
	return first
}

func uuid4() string {
	b := randomBytes(16)
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	h := hex.EncodeToString(b)
	return h[0:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:]
}

func randomBytes(n int) []byte {
	b := make([]byte, n)
	_, _ = rand.Read(b) // crypto/rand.Read does not fail (Go 1.24+)
	return b
}

// reply is an answer, built whole before it is written so that the access log and
// tests see exactly what the client gets.
type reply struct {
	status int
	header http.Header // names as they are to be written: API Gateway keeps the case it is given
	body   []byte
}

// write sends the reply. Header names are set as they are (not canonicalized), as
// API Gateway passes a Lambda's header names through.
func (rep *reply) write(w http.ResponseWriter, r *http.Request) {
	h := w.Header()
	for k, v := range rep.header {
		h[k] = v
	}
	noBody := rep.status == http.StatusNoContent || rep.status == http.StatusNotModified || rep.status < 200
	if !noBody {
		h["Content-Length"] = []string{strconv.Itoa(len(rep.body))}
	}
	w.WriteHeader(rep.status)
	if noBody || r.Method == http.MethodHead {
		return
	}
	_, _ = w.Write(rep.body) // an error here is the client gone: nothing left to tell it
}

// stamp adds the headers API Gateway puts on every answer of the stage.
func (c *call) stamp(h http.Header) {
	h["x-amzn-RequestId"] = []string{c.requestID}
	h["x-amz-apigw-id"] = []string{c.extendedID}
}

// callerVar is an $context.identity.* variable of an AWS_IAM method's verified caller.
func (c *call) callerVar(path string) (string, bool) {
	if c.caller == nil {
		return "", false
	}
	v := map[string]string{
		"identity.caller": c.caller.Caller, "identity.user": c.caller.User, "identity.userArn": c.caller.UserARN,
		"identity.accessKey": c.caller.AccessKey, "identity.cognitoIdentityId": c.caller.CognitoIdentityID,
	}[path]
	return v, v != ""
}
