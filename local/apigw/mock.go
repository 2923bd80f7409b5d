package apigw

import (
	"fmt"
	"net/http"
	"regexp"
	"strconv"
	"strings"
)

// mock is a MOCK integration: the request template names a status code, an
// integration response maps it to the method's answer. CDK's CORS preflight methods
// are MOCK integrations.
type mock struct {
	requestTemplates map[string]*vtl // by content type
	passthrough      string
	selected         []*integrationResponse // those with a SelectionPattern, in template order
	fallback         *integrationResponse   // the one without
}

type integrationResponse struct {
	status    int
	pattern   *regexp.Regexp
	headers   []responseHeader // static values only
	templates map[string]*vtl
}

func readMock(p *props, m *method) (integration, error) {
	// A mock has no backend: its address, timeout and request parameter mappings
	// change nothing.
	p.ignore("Uri", "IntegrationHttpMethod", "TimeoutInMillis", "RequestParameters")
	mk := &mock{requestTemplates: map[string]*vtl{}}
	templates, err := p.stringMap("RequestTemplates")
	if err != nil {
		return nil, err
	}
	for ct, src := range templates {
		if mk.requestTemplates[ct], err = compileVTL(src); err != nil {
			return nil, unsupported(p.r, "Integration.RequestTemplates[%s]: %v", ct, err)
		}
	}
	if mk.passthrough, err = p.str("PassthroughBehavior"); err != nil {
		return nil, err
	}
	switch mk.passthrough {
	case "":
		mk.passthrough = "WHEN_NO_MATCH" // API Gateway's default
	case "WHEN_NO_MATCH", "WHEN_NO_TEMPLATES", "NEVER":
	default:
		return nil, p.errf("PassthroughBehavior", "unknown value %q", mk.passthrough)
	}
	irs, err := p.objects("IntegrationResponses")
	if err != nil {
		return nil, err
	}
	for _, ip := range irs {
		ir, pattern, err := readIntegrationResponse(ip, m)
		if err != nil {
			return nil, err
		}
		switch {
		case pattern:
			mk.selected = append(mk.selected, ir)
		case mk.fallback != nil:
			return nil, fmt.Errorf("apigw: %s: more than one default integration response", p.r.LogicalID)
		default:
			mk.fallback = ir
		}
	}
	return mk, nil
}

// readIntegrationResponse reads one integration response, checked against the method
// responses as API Gateway checks it (a status and headers the method declares).
func readIntegrationResponse(p *props, m *method) (*integrationResponse, bool, error) {
	code, err := statusString(p, "StatusCode")
	if err != nil {
		return nil, false, err
	}
	declared, ok := m.responses[code]
	if !ok {
		return nil, false, fmt.Errorf("apigw: %s: integration response %s has no method response", p.r.LogicalID, code)
	}
	ir := &integrationResponse{templates: map[string]*vtl{}}
	if ir.status, err = strconv.Atoi(code); err != nil {
		return nil, false, p.errf("StatusCode", "invalid status %q", code)
	}
	pattern, err := p.str("SelectionPattern")
	if err != nil {
		return nil, false, err
	}
	if pattern != "" {
		if ir.pattern, err = regexp.Compile("^(?:" + pattern + ")$"); err != nil {
			return nil, false, unsupported(p.r, "SelectionPattern %q: %v", pattern, err)
		}
	}
	if ch, err := p.str("ContentHandling"); err != nil {
		return nil, false, err
	} else if ch != "" {
		return nil, false, unsupported(p.r, "IntegrationResponses ContentHandling %s", ch)
	}
	params, err := p.stringMap("ResponseParameters")
	if err != nil {
		return nil, false, err
	}
	for _, k := range sortedKeys(params) {
		name, ok := strings.CutPrefix(k, "method.response.header.")
		if !ok || !declared[strings.ToLower(name)] {
			return nil, false, fmt.Errorf("apigw: %s: response parameter %q is not declared by method response %s", p.r.LogicalID, k, code)
		}
		v := params[k]
		if len(v) < 2 || !strings.HasPrefix(v, "'") || !strings.HasSuffix(v, "'") {
			return nil, false, unsupported(p.r, "response parameter %s = %q (only static values)", k, v)
		}
		ir.headers = append(ir.headers, responseHeader{name: name, static: v[1 : len(v)-1]})
	}
	templates, err := p.stringMap("ResponseTemplates")
	if err != nil {
		return nil, false, err
	}
	for ct, src := range templates {
		if ir.templates[ct], err = compileVTL(src); err != nil {
			return nil, false, unsupported(p.r, "IntegrationResponses ResponseTemplates[%s]: %v", ct, err)
		}
	}
	if err := p.check(); err != nil {
		return nil, false, err
	}
	return ir, pattern != "", nil
}

// serve runs the request template (a request without a Content-Type is
// application/json to API Gateway), selects the integration response by the status
// the template names, and renders it.
func (mk *mock) serve(c *call) *reply {
	ct := firstMediaType(c.r.Header.Get("Content-Type"))
	if ct == "" {
		ct = "application/json"
	}
	var out string
	switch t := mk.requestTemplates[ct]; {
	case t != nil:
		out = t.render(newCallEnv(c))
	case mk.passthrough == "NEVER", mk.passthrough == "WHEN_NO_TEMPLATES" && len(mk.requestTemplates) > 0:
		return c.fail(errUnsupportedMediaType())
	default:
		out = string(c.body)
	}
	status, ok := mockStatus(out)
	if !ok {
		c.a.log.Error("apigw: Execution failed due to configuration error: Unable to parse statusCode", "requestId", c.requestID)
		return c.fail(errConfiguration())
	}
	ir := mk.pick(status)
	if ir == nil {
		c.a.log.Error("apigw: Execution failed due to configuration error: No match for output mapping and no default output mapping configured",
			"requestId", c.requestID, "status", status)
		return c.fail(errConfiguration())
	}
	return ir.render(c)
}

// mockStatus reads the status code a MOCK request template names: its output is
// JSON-like ("{ statusCode: 200 }", CDK's, has an unquoted key).
var statusField = regexp.MustCompile(`["']?statusCode["']?\s*:\s*["']?(\d{3})\b`)

func mockStatus(out string) (int, bool) {
	m := statusField.FindStringSubmatch(out)
	if m == nil {
		return 0, false
	}
	n, err := strconv.Atoi(m[1])
	return n, err == nil
}

func (mk *mock) pick(status int) *integrationResponse {
	s := strconv.Itoa(status)
	for _, ir := range mk.selected {
		if ir.pattern.MatchString(s) {
			return ir
		}
	}
	return mk.fallback
}

// render answers with the integration response: its headers, then its template's
// output, then the overrides the template made ($context.responseOverride).
func (ir *integrationResponse) render(c *call) *reply {
	env := newCallEnv(c)
	h := http.Header{}
	for _, rh := range ir.headers {
		h[rh.name] = []string{rh.static}
	}
	var body string
	ctype := "application/json"
	if t, ct := pickTemplate(ir.templates, c.r.Header.Get("Accept")); t != nil {
		body, ctype = t.render(env), ct
	}
	h["Content-Type"] = []string{ctype}
	for _, name := range env.order {
		for k := range h {
			if strings.EqualFold(k, name) {
				delete(h, k)
			}
		}
		h[name] = []string{env.headers[name]}
	}
	status := ir.status
	if env.status.kind != vNull {
		if n, err := strconv.Atoi(env.status.String()); err == nil && n >= 100 && n <= 599 {
			status = n
		}
	}
	c.stamp(h)
	return &reply{status: status, header: h, body: []byte(body)}
}
