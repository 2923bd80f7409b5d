package apigw

import (
	"fmt"
	"sort"
	"strings"
)

// The AWS::ApiGateway types New reads. Account (the CloudWatch role) and the
// documentation types change nothing the API serves; Model matters only to body
// validation, which is refused where a method would use it.
var readers = map[string]bool{
	"AWS::ApiGateway::RestApi":              true,
	"AWS::ApiGateway::Resource":             true,
	"AWS::ApiGateway::Method":               true,
	"AWS::ApiGateway::RequestValidator":     true,
	"AWS::ApiGateway::Deployment":           true,
	"AWS::ApiGateway::Stage":                true,
	"AWS::ApiGateway::GatewayResponse":      true,
	"AWS::ApiGateway::Model":                true,
	"AWS::ApiGateway::Account":              true,
	"AWS::ApiGateway::DocumentationPart":    true,
	"AWS::ApiGateway::DocumentationVersion": true,
}

// template is the template's API Gateway resources, by type.
type template map[string][]*Resource

func collect(resources []Resource) (template, error) {
	t := template{}
	for i := range resources {
		r := &resources[i]
		if !strings.HasPrefix(r.Type, "AWS::ApiGateway::") {
			continue
		}
		if !readers[r.Type] {
			return nil, unsupported(r, "resource type %s", r.Type)
		}
		if r.Properties == nil {
			r.Properties = map[string]any{}
		}
		t[r.Type] = append(t[r.Type], r)
	}
	return t, nil
}

// build reads the template into a: the REST API, its resource tree and methods, the
// stage, the gateway responses. It reads in dependency order, as API Gateway creates.
func build(a *API, resources []Resource) error {
	t, err := collect(resources)
	if err != nil {
		return err
	}
	apis := t["AWS::ApiGateway::RestApi"]
	switch len(apis) {
	case 0:
		return fmt.Errorf("apigw: the template declares no AWS::ApiGateway::RestApi")
	case 1:
	default:
		return unsupported(apis[1], "more than one REST API in a template")
	}
	if err := a.readRestAPI(apis[0]); err != nil {
		return err
	}
	for _, ty := range []string{"AWS::ApiGateway::Model", "AWS::ApiGateway::DocumentationPart",
		"AWS::ApiGateway::DocumentationVersion"} {
		for _, r := range t[ty] {
			if err := a.sameAPI(newProps(r)); err != nil {
				return err
			}
		}
	}
	if a.root, err = a.readTree(t); err != nil {
		return err
	}
	validators, err := a.readValidators(t["AWS::ApiGateway::RequestValidator"])
	if err != nil {
		return err
	}
	st, err := a.readStage(t)
	if err != nil {
		return err
	}
	if err := a.readMethods(t, validators, st); err != nil {
		return err
	}
	return a.readGatewayResponses(t["AWS::ApiGateway::GatewayResponse"])
}

// sameAPI refuses a resource that belongs to another REST API than the template's one.
func (a *API) sameAPI(p *props) error {
	id, err := p.str("RestApiId")
	if err != nil {
		return err
	}
	if id != a.id {
		return fmt.Errorf("apigw: %s: RestApiId %q is not the template's REST API %q", p.r.LogicalID, id, a.id)
	}
	return nil
}

func (a *API) readRestAPI(r *Resource) error {
	if r.PhysicalID == "" {
		return fmt.Errorf("apigw: %s: the REST API has no physical id", r.LogicalID)
	}
	a.id = r.PhysicalID
	p := newProps(r)
	p.ignore("Name", "Description", "Tags", "FailOnWarnings", "ApiKeySourceType")
	types, err := p.strings("BinaryMediaTypes")
	if err != nil {
		return err
	}
	for _, t := range types {
		// In patch operations "/" is written "~1"; accept that spelling too.
		a.binaryMediaTypes = append(a.binaryMediaTypes, strings.ReplaceAll(t, "~1", "/"))
	}
	if off, err := p.boolean("DisableExecuteApiEndpoint"); err != nil {
		return err
	} else if off {
		return unsupported(r, "DisableExecuteApiEndpoint (the twin serves the default endpoint only)")
	}
	if ec, ok, err := p.object("EndpointConfiguration"); err != nil {
		return err
	} else if ok {
		types, err := ec.strings("Types")
		if err != nil {
			return err
		}
		for _, t := range types {
			// EDGE and REGIONAL differ in front of the API (CloudFront); PRIVATE needs a VPC endpoint.
			if t != "REGIONAL" && t != "EDGE" {
				return unsupported(r, "EndpointConfiguration.Types %s", t)
			}
		}
		if err := ec.check(); err != nil {
			return err
		}
	}
	return p.check()
}

// readValidators reads the request validators, by physical id.
func (a *API) readValidators(rs []*Resource) (map[string]*validator, error) {
	out := map[string]*validator{}
	for _, r := range rs {
		p := newProps(r)
		p.ignore("Name")
		if err := a.sameAPI(p); err != nil {
			return nil, err
		}
		v := &validator{}
		var err error
		if v.params, err = p.boolean("ValidateRequestParameters"); err != nil {
			return nil, err
		}
		if v.body, err = p.boolean("ValidateRequestBody"); err != nil {
			return nil, err
		}
		if err := p.check(); err != nil {
			return nil, err
		}
		out[r.PhysicalID] = v
	}
	return out, nil
}

// readMethods reads every method onto its resource node, in logical-id order so that
// errors are reproducible.
func (a *API) readMethods(t template, validators map[string]*validator, st *stageSettings) error {
	byID := map[string]*node{}
	a.root.walk(func(n *node) { byID[n.id] = n })
	ms := append([]*Resource(nil), t["AWS::ApiGateway::Method"]...)
	sort.Slice(ms, func(i, j int) bool { return ms[i].LogicalID < ms[j].LogicalID })
	for _, r := range ms {
		m, err := a.readMethod(r, byID, validators)
		if err != nil {
			return err
		}
		if m.node.methods[m.httpMethod] != nil {
			return fmt.Errorf("apigw: %s: %s %s is declared twice", r.LogicalID, m.httpMethod, m.node.path)
		}
		m.node.methods[m.httpMethod] = m
		m.bucket = st.bucketFor(m.node.path, m.httpMethod, a.now())
	}
	return nil
}

// readGatewayResponses reads the customized gateway responses, by type.
func (a *API) readGatewayResponses(rs []*Resource) error {
	a.responses = map[string]*gatewayResponse{}
	for _, r := range rs {
		p := newProps(r)
		if err := a.sameAPI(p); err != nil {
			return err
		}
		typ, err := p.str("ResponseType")
		if err != nil {
			return err
		}
		if _, known := responseTypes[typ]; !known {
			return unsupported(r, "ResponseType %q", typ)
		}
		if a.responses[typ] != nil {
			return fmt.Errorf("apigw: %s: a second gateway response for %s", r.LogicalID, typ)
		}
		gr, err := readGatewayResponse(p)
		if err != nil {
			return err
		}
		if err := p.check(); err != nil {
			return err
		}
		a.responses[typ] = gr
	}
	return nil
}
