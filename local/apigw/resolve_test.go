package apigw

import (
	"encoding/json"
	"os"
	"sort"
	"strings"
	"testing"
)

// Physical ids the tests' resolver gives.
const (
	testAPIID   = "a1b2c3d4e5"
	testRootID  = "r00tr3s0u"
	testAccount = "000000000000"
	testRegion  = "us-east-1"
	testCDN     = "d111111abcdef8.cloudfront.net"
)

// loadTemplate reads a synthesized template and resolves, for its AWS::ApiGateway::*
// resources only, the intrinsics they use (Ref, Fn::GetAtt, Fn::Join): a stand-in for
// local/cfn, so that this package's tests do not depend on it.
func loadTemplate(t *testing.T, path string) []Resource {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("reading the template: %v", err)
	}
	var tpl struct {
		Resources map[string]struct {
			Type       string
			Properties map[string]any
		}
	}
	if err := json.Unmarshal(b, &tpl); err != nil {
		t.Fatalf("parsing the template: %v", err)
	}
	r := &resolver{t: t, types: map[string]string{}}
	for id, res := range tpl.Resources {
		r.types[id] = res.Type
	}
	var out []Resource
	for id, res := range tpl.Resources {
		if !strings.HasPrefix(res.Type, "AWS::ApiGateway::") {
			continue
		}
		props, _ := r.resolve(res.Properties).(map[string]any)
		out = append(out, Resource{LogicalID: id, Type: res.Type, PhysicalID: r.physicalID(id), Properties: props})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].LogicalID < out[j].LogicalID })
	return out
}

type resolver struct {
	t     *testing.T
	types map[string]string
}

func (r *resolver) physicalID(id string) string {
	switch r.types[id] {
	case "AWS::ApiGateway::RestApi":
		return testAPIID
	case "AWS::ApiGateway::Stage":
		return "prod" // a Stage's Ref is its name
	}
	return id
}

func (r *resolver) resolve(v any) any {
	switch v := v.(type) {
	case map[string]any:
		if len(v) == 1 {
			for k, arg := range v {
				switch k {
				case "Ref":
					return r.ref(arg.(string))
				case "Fn::GetAtt":
					return r.getAtt(arg)
				case "Fn::Join":
					return r.join(arg)
				}
				if strings.HasPrefix(k, "Fn::") {
					r.t.Fatalf("intrinsic %s is not in the tests' resolver", k)
				}
			}
		}
		out := map[string]any{}
		for k, e := range v {
			out[k] = r.resolve(e)
		}
		return out
	case []any:
		out := make([]any, len(v))
		for i, e := range v {
			out[i] = r.resolve(e)
		}
		return out
	}
	return v
}

func (r *resolver) ref(name string) string {
	switch name {
	case "AWS::Partition":
		return "aws"
	case "AWS::AccountId":
		return testAccount
	case "AWS::Region":
		return testRegion
	}
	if _, ok := r.types[name]; !ok {
		r.t.Fatalf("Ref to unknown %s", name)
	}
	return r.physicalID(name)
}

func (r *resolver) getAtt(arg any) string {
	parts, _ := arg.([]any)
	if len(parts) != 2 {
		r.t.Fatalf("Fn::GetAtt %v", arg)
	}
	id, attr := parts[0].(string), parts[1].(string)
	switch {
	case attr == "RootResourceId":
		return testRootID
	case attr == "DomainName":
		return testCDN
	case attr == "Arn" && r.types[id] == "AWS::Lambda::Function":
		return "arn:aws:lambda:" + testRegion + ":" + testAccount + ":function:" + id
	case attr == "Arn":
		return "arn:aws:logs:" + testRegion + ":" + testAccount + ":log-group:" + id
	}
	r.t.Fatalf("Fn::GetAtt %s.%s is not in the tests' resolver", id, attr)
	return ""
}

func (r *resolver) join(arg any) string {
	parts, _ := arg.([]any)
	if len(parts) != 2 {
		r.t.Fatalf("Fn::Join %v", arg)
	}
	var ss []string
	for _, e := range parts[1].([]any) {
		s, ok := r.resolve(e).(string)
		if !ok {
			r.t.Fatalf("Fn::Join of a non-string %v", e)
		}
		ss = append(ss, s)
	}
	return strings.Join(ss, parts[0].(string))
}
