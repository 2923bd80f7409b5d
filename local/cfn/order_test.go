package cfn

import (
	"reflect"
	"slices"
	"testing"
)

func TestOrder(t *testing.T) {
	doc := map[string]any{"Resources": map[string]any{
		// Function needs its role (GetAtt) and the role's policy (DependsOn); the
		// policy names the role (Ref); the machine reaches the function through Fn::Sub
		// and the queue through a Fn::If branch that is not taken; Zeta stands alone.
		"Function": withDependsOn(resource("AWS::Lambda::Function", "S/Function/Resource", map[string]any{
			"Role": map[string]any{"Fn::GetAtt": "Role.Arn"},
		}), "Policy"),
		"Policy":  resource("AWS::IAM::Policy", "S/Policy/Resource", map[string]any{"PolicyName": "p", "Roles": []any{map[string]any{"Ref": "Role"}}}),
		"Role":    resource("AWS::IAM::Role", "S/Role/Resource", nil),
		"Machine": resource("AWS::StepFunctions::StateMachine", "S/Machine/Resource", j(t, `{"DefinitionString": {"Fn::Sub": "${Function.Arn} ${AWS::Region}"}, "Tags": {"Fn::If": ["No", {"Ref": "Queue"}, {"Ref": "AWS::NoValue"}]}}`).(map[string]any)),
		"Queue":   resource("AWS::SQS::Queue", "S/Queue/Resource", nil),
		"Zeta":    resource("AWS::SQS::Queue", "S/Zeta/Resource", nil),
		"Alpha":   resource("AWS::SQS::Queue", "S/Alpha/Resource", nil),
	}, "Conditions": j(t, `{"No": {"Fn::Equals": ["a", "b"]}}`)}
	tp := mustResolve(t, doc, Options{})
	// Ties go alphabetically among the ready (Alpha, Queue, Role, Zeta at first; the
	// others as their dependencies are placed).
	want := []string{"Alpha", "Queue", "Role", "Policy", "Function", "Machine", "Zeta"}
	if !reflect.DeepEqual(tp.Order, want) {
		t.Errorf("Order = %v, want %v", tp.Order, want)
	}
	if got := tp.Resources["Function"].DependsOn; !reflect.DeepEqual(got, []string{"Policy"}) {
		t.Errorf("DependsOn = %v", got)
	}
	if got := names(tp.OfType("AWS::SQS::Queue")); !reflect.DeepEqual(got, []string{"Alpha", "Queue", "Zeta"}) {
		t.Errorf("OfType = %v, want in Order", got)
	}
	if got := tp.OfType("AWS::Nope::Nope"); got != nil {
		t.Errorf("OfType(unknown) = %v", got)
	}
}

func withDependsOn(r map[string]any, deps ...string) map[string]any {
	if len(deps) == 1 {
		r["DependsOn"] = deps[0] // the single-string form
	} else {
		r["DependsOn"] = deps
	}
	return r
}

func names(rs []*Resource) []string {
	var out []string
	for _, r := range rs {
		out = append(out, r.LogicalID)
	}
	return out
}

func TestTopoSort(t *testing.T) {
	order, err := topoSort(map[string][]string{"c": {"a", "b"}, "b": {"a"}, "a": nil, "d": nil})
	if err != nil || !reflect.DeepEqual(order, []string{"a", "b", "c", "d"}) {
		t.Errorf("topoSort = %v, %v", order, err)
	}
	// x waits on the cycle without being in it: the message names the cycle only.
	_, err = topoSort(map[string][]string{"x": {"p"}, "p": {"q"}, "q": {"r"}, "r": {"p"}, "ok": nil})
	if err == nil || err.Error() != "dependency cycle: p -> q -> r -> p" {
		t.Errorf("cycle error = %v", err)
	}
}

// checkOrder fails unless every resource comes after everything it refers to.
func checkOrder(t *testing.T, tp *Template) {
	t.Helper()
	pos := map[string]int{}
	for i, id := range tp.Order {
		pos[id] = i
	}
	if len(pos) != len(tp.Resources) {
		t.Fatalf("Order has %d resources, template %d", len(pos), len(tp.Resources))
	}
	for id, rs := range tp.Resources {
		deps := slices.Clone(rs.DependsOn)
		_ = tp.r.refs(rs.raw["Properties"], "Properties", func(target, _, _ string) error {
			if _, ok := tp.Resources[target]; ok {
				deps = append(deps, target)
			}
			return nil
		})
		for _, d := range deps {
			if pos[d] >= pos[id] {
				t.Errorf("%s (at %d) comes before its dependency %s (at %d)", id, pos[id], d, pos[d])
			}
		}
	}
}

func TestOrderOfFixture(t *testing.T) {
	tp := mustResolve(t, fixture(), Options{})
	checkOrder(t, tp)
	if i, j := slices.Index(tp.Order, "FnRoleDEF"), slices.Index(tp.Order, "Fn123"); i > j {
		t.Errorf("role at %d after function at %d", i, j)
	}
}
