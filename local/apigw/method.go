package apigw

import (
	"fmt"
	"sort"
	"strings"
)

// method is one method of a resource and what serves it.
type method struct {
	logicalID   string
	httpMethod  string
	node        *node
	authType    string
	required    []param // checked when the method's validator validates parameters
	integration integration
	bucket      *tokenBucket // nil: no method-level throttle
	// responses are the method responses' status codes and the headers each declares.
	responses map[string]map[string]bool
}

// param is a request parameter: where it is and its name.
type param struct{ in, name string }

// validator is an AWS::ApiGateway::RequestValidator.
type validator struct{ params, body bool }

var httpMethods = map[string]bool{"GET": true, "POST": true, "PUT": true, "PATCH": true,
	"DELETE": true, "HEAD": true, "OPTIONS": true, "ANY": true}

func (a *API) readMethod(r *Resource, nodes map[string]*node, validators map[string]*validator) (*method, error) {
	p := newProps(r)
	p.ignore("OperationName")
	if err := a.sameAPI(p); err != nil {
		return nil, err
	}
	m := &method{logicalID: r.LogicalID}
	hm, err := p.str("HttpMethod")
	if err != nil {
		return nil, err
	}
	if m.httpMethod = strings.ToUpper(hm); !httpMethods[m.httpMethod] {
		return nil, fmt.Errorf("apigw: %s: HttpMethod %q is not an HTTP method", r.LogicalID, hm)
	}
	rid, err := p.str("ResourceId")
	if err != nil {
		return nil, err
	}
	if m.node = nodes[rid]; m.node == nil {
		return nil, fmt.Errorf("apigw: %s: ResourceId %q is not a resource of the API", r.LogicalID, rid)
	}
	if err := m.readAuth(p); err != nil {
		return nil, err
	}
	if err := m.readRequest(p, validators); err != nil {
		return nil, err
	}
	if err := m.readMethodResponses(p); err != nil {
		return nil, err
	}
	ip, ok, err := p.object("Integration")
	if err != nil {
		return nil, err
	}
	if !ok {
		return nil, fmt.Errorf("apigw: %s: the method has no Integration", r.LogicalID)
	}
	if m.integration, err = a.readIntegration(ip, m); err != nil {
		return nil, err
	}
	if err := p.check(); err != nil {
		return nil, err
	}
	return m, nil
}

// readAuth accepts the authorizations the twin knows: NONE, and AWS_IAM (recorded, not
// yet enforced). Custom and Cognito authorizers, API keys and scopes are refused.
func (m *method) readAuth(p *props) error {
	at, err := p.str("AuthorizationType")
	if err != nil {
		return err
	}
	switch m.authType = at; at {
	case "":
		m.authType = "NONE"
	case "NONE", "AWS_IAM":
	default:
		return unsupported(p.r, "AuthorizationType %s", at)
	}
	if id, err := p.str("AuthorizerId"); err != nil {
		return err
	} else if id != "" {
		return unsupported(p.r, "AuthorizerId (authorizers)")
	}
	if scopes, err := p.strings("AuthorizationScopes"); err != nil {
		return err
	} else if len(scopes) > 0 {
		return unsupported(p.r, "AuthorizationScopes")
	}
	if key, err := p.boolean("ApiKeyRequired"); err != nil {
		return err
	} else if key {
		return unsupported(p.r, "ApiKeyRequired (API keys and usage plans)")
	}
	return nil
}

// readRequest reads the request parameters and the validator that checks them.
func (m *method) readRequest(p *props, validators map[string]*validator) error {
	params, err := p.boolMap("RequestParameters")
	if err != nil {
		return err
	}
	var v *validator
	if id, err := p.str("RequestValidatorId"); err != nil {
		return err
	} else if id != "" {
		if v = validators[id]; v == nil {
			return fmt.Errorf("apigw: %s: RequestValidatorId %q is not a validator of the API", p.r.LogicalID, id)
		}
	}
	models, err := p.stringMap("RequestModels")
	if err != nil {
		return err
	}
	// Models only matter to body validation (and to non-proxy mappings the twin refuses).
	if v != nil && v.body && len(models) > 0 {
		return unsupported(p.r, "request body validation against RequestModels")
	}
	for key, required := range params {
		loc, name, ok := strings.Cut(strings.TrimPrefix(key, "method.request."), ".")
		if !strings.HasPrefix(key, "method.request.") || !ok || name == "" {
			return fmt.Errorf("apigw: %s: RequestParameters: invalid key %q", p.r.LogicalID, key)
		}
		switch loc {
		case "querystring", "header", "path", "multivaluequerystring", "multivalueheader":
		default:
			return unsupported(p.r, "RequestParameters location %q", loc)
		}
		if required && v != nil && v.params {
			m.required = append(m.required, param{in: loc, name: name})
		}
	}
	sort.Slice(m.required, func(i, j int) bool { return m.required[i].name < m.required[j].name })
	return nil
}

func (m *method) readMethodResponses(p *props) error {
	rs, err := p.objects("MethodResponses")
	if err != nil {
		return err
	}
	m.responses = map[string]map[string]bool{}
	for _, rp := range rs {
		rp.ignore("ResponseModels")
		code, err := statusString(rp, "StatusCode")
		if err != nil {
			return err
		}
		headers, err := rp.boolMap("ResponseParameters")
		if err != nil {
			return err
		}
		declared := map[string]bool{}
		for k := range headers {
			name, ok := strings.CutPrefix(k, "method.response.header.")
			if !ok {
				return fmt.Errorf("apigw: %s: MethodResponses: invalid response parameter %q", p.r.LogicalID, k)
			}
			declared[strings.ToLower(name)] = true
		}
		if err := rp.check(); err != nil {
			return err
		}
		m.responses[code] = declared
	}
	return nil
}

// statusString reads a status code written as a string ("204") or a number.
func statusString(p *props, key string) (string, error) {
	if s, ok := p.m[key].(string); ok {
		p.seen[key] = true
		return s, nil
	}
	f, ok, err := p.number(key)
	if err != nil || !ok {
		return "", p.errf(key, "want a status code (err %v)", err)
	}
	return fmt.Sprintf("%d", int(f)), nil
}

// validate checks the required parameters: "included and non-blank", the API Gateway
// developer guide's "Enable basic request validation" overview says; its test page
// ("Test basic request validation") shows GET /validation?q1= failing like a missing
// q1, with 400 {"message": "Missing required request parameters: [q1]"}.
func (m *method) validate(c *call) *gatewayError {
	var missing []string
	for _, rp := range m.required {
		var vals []string
		switch rp.in {
		case "querystring", "multivaluequerystring":
			vals = c.query.multi[rp.name]
		case "header", "multivalueheader":
			vals = c.r.Header.Values(rp.name)
		case "path":
			if v, ok := c.pathParams[rp.name]; ok {
				vals = []string{v}
			}
		}
		if len(vals) == 0 || strings.TrimSpace(vals[len(vals)-1]) == "" {
			missing = append(missing, rp.name)
		}
	}
	if len(missing) > 0 {
		return errBadParameters(missing)
	}
	return nil
}
