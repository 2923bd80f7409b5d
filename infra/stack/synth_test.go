package stack_test

import (
	"encoding/json"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/assertions"
	"github.com/aws/jsii-runtime-go"

	"github.com/imagepipe/imagepipe/infra/stack"
)

// synthesized is one synthesized stack (with cdk-nag, as main runs it) and ways to
// look into its template.
type synthesized struct {
	t         *testing.T
	stack     *stack.ImagePipe
	tpl       assertions.Template
	raw       []byte
	template  obj
	resources obj
}

// synth builds the stack named name from props and context, as main would.
func synth(t *testing.T, name string, props stack.Props, ctx map[string]any) *synthesized {
	t.Helper()
	app := awscdk.NewApp(&awscdk.AppProps{Context: &ctx})
	if props.LambdaDir == "" {
		props.LambdaDir = lambdaDir(t)
	}
	s, err := stack.New(app, name, props)
	if err != nil {
		t.Fatal(err)
	}
	stack.ApplyNag(app)
	tpl := assertions.Template_FromStack(s.Stack, nil)
	raw, err := json.Marshal(tpl.ToJSON())
	if err != nil {
		t.Fatal(err)
	}
	var template obj
	if err := json.Unmarshal(raw, &template); err != nil {
		t.Fatal(err)
	}
	return &synthesized{t: t, stack: s, tpl: tpl, raw: raw, template: template, resources: template["Resources"].(obj)}
}

func props(r obj) obj { p, _ := r["Properties"].(obj); return p }

func (sy *synthesized) byType(typ string) map[string]obj {
	out := map[string]obj{}
	for id, r := range sy.resources {
		if r.(obj)["Type"] == typ {
			out[id] = r.(obj)
		}
	}
	return out
}

func (sy *synthesized) logicalID(prefix, typ string) string {
	sy.t.Helper()
	for id := range sy.byType(typ) {
		if strings.HasPrefix(id, prefix) {
			return id
		}
	}
	sy.t.Fatalf("no %s named %s*", typ, prefix)
	return ""
}

func (sy *synthesized) props(id string) obj { return props(sy.resources[id].(obj)) }

// nagErrors fails t for every unsuppressed cdk-nag finding.
func (sy *synthesized) nagClean(t *testing.T) {
	t.Helper()
	errs := assertions.Annotations_FromStack(sy.stack.Stack).FindError(jsii.String("*"), assertions.Match_StringLikeRegexp(jsii.String("AwsSolutions-.*")))
	for _, e := range *errs {
		t.Errorf("cdk-nag: %s: %v", *e.Id, e.Entry.Data)
	}
}

// statement is one Allow statement of a role's inline policies.
type statement struct {
	actions   []string
	resources []string // each as JSON
	condition obj
}

// statements are the statements of the inline policies attached to role (a logical id).
func (sy *synthesized) statements(role string) []statement {
	var out []statement
	for _, p := range sy.byType("AWS::IAM::Policy") {
		pp := props(p)
		for _, r := range pp["Roles"].([]any) {
			if !reflect.DeepEqual(r, obj{"Ref": role}) {
				continue
			}
			for _, st := range pp["PolicyDocument"].(obj)["Statement"].([]any) {
				m := st.(obj)
				if m["Effect"] != "Allow" {
					sy.t.Errorf("%s: statement %v is not an Allow", role, m)
				}
				var res []string
				for _, x := range asSlice(m["Resource"]) {
					b, _ := json.Marshal(x)
					res = append(res, string(b))
				}
				if s, ok := m["Resource"].(string); ok {
					res = append(res, `"`+s+`"`)
				}
				if o, ok := m["Resource"].(obj); ok {
					b, _ := json.Marshal(o)
					res = append(res, string(b))
				}
				c, _ := m["Condition"].(obj)
				out = append(out, statement{actions: asStrings(m["Action"]), resources: res, condition: c})
			}
		}
	}
	return out
}

// actions is action → resources (JSON) over a role's inline policies.
func (sy *synthesized) actions(role string) map[string][]string {
	got := map[string][]string{}
	for _, st := range sy.statements(role) {
		for _, a := range st.actions {
			got[a] = append(got[a], st.resources...)
		}
	}
	return got
}

func sortedKeys[V any](m map[string]V) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	slices.Sort(out)
	return out
}

// functionRole is the logical id of the role of the function whose id starts with prefix.
func (sy *synthesized) functionRole(prefix string) string {
	fn := sy.props(sy.logicalID(prefix, "AWS::Lambda::Function"))
	return fn["Role"].(obj)["Fn::GetAtt"].([]any)[0].(string)
}

func (sy *synthesized) env(prefix string) obj {
	fn := sy.props(sy.logicalID(prefix, "AWS::Lambda::Function"))
	e, _ := fn["Environment"].(obj)
	v, _ := e["Variables"].(obj)
	return v
}
