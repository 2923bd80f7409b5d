package cfn

import (
	"fmt"
	"slices"
	"strings"
)

// order sets Template.Order: each resource after those its DependsOn and its
// properties' Ref, Fn::GetAtt and Fn::Sub name (in every Fn::If branch, as
// CloudFormation counts them). Ties go alphabetically, so the order is stable. It
// also checks that every reference names something that exists.
func (r *resolver) order() error {
	deps := map[string][]string{}
	for _, id := range sortedKeys(r.t.Resources) {
		rs := r.t.Resources[id]
		set := map[string]bool{}
		for _, d := range rs.DependsOn {
			if _, ok := r.t.Resources[d]; !ok {
				return &Error{Where: "resource " + id, Path: "DependsOn", Err: fmt.Errorf("no resource is named %s", d)}
			}
			set[d] = true
		}
		err := r.refs(rs.raw["Properties"], "Properties", func(target, path, fn string) error {
			if _, ok := r.t.Resources[target]; ok {
				set[target] = true
				return nil
			}
			if _, ok := r.params[target]; ok && fn != "Fn::GetAtt" {
				return nil
			}
			if _, ok := r.pseudo(target); ok && fn != "Fn::GetAtt" {
				return nil
			}
			return &Error{Where: "resource " + id, Path: path, Err: fmt.Errorf("%s %s: no resource, parameter or pseudo parameter is named %s", fn, target, target)}
		})
		if err != nil {
			return err
		}
		deps[id] = sortedKeys(set)
	}
	order, err := topoSort(deps)
	if err != nil {
		return &Error{Where: "template", Err: err}
	}
	r.t.Order = order
	return nil
}

// refs calls visit for every name a Ref, Fn::GetAtt or Fn::Sub in v refers to.
func (r *resolver) refs(v any, path string, visit func(target, path, fn string) error) error {
	switch v := v.(type) {
	case map[string]any:
		if len(v) == 1 {
			if err := r.refsOf(v, path, visit); err != nil {
				return err
			}
		}
		for _, k := range sortedKeys(v) {
			if err := r.refs(v[k], keyPath(path, k), visit); err != nil {
				return err
			}
		}
	case []any:
		for i, x := range v {
			if err := r.refs(x, indexPath(path, i), visit); err != nil {
				return err
			}
		}
	}
	return nil
}

func (r *resolver) refsOf(v map[string]any, path string, visit func(target, path, fn string) error) error {
	for fn, arg := range v {
		switch fn {
		case "Ref":
			if s, ok := arg.(string); ok {
				return visit(s, path, fn)
			}
		case "Fn::GetAtt":
			var s string
			switch a := arg.(type) {
			case string:
				s, _, _ = strings.Cut(a, ".")
			case []any:
				if len(a) > 0 {
					s, _ = a[0].(string)
				}
			}
			if s != "" {
				return visit(s, path, fn)
			}
		case "Fn::Sub":
			tmpl, vars := subArgs(arg)
			for _, name := range subRefs(tmpl, vars) {
				if err := visit(name, path, fn); err != nil {
					return err
				}
			}
		}
	}
	return nil
}

func subArgs(arg any) (string, map[string]any) {
	switch a := arg.(type) {
	case string:
		return a, nil
	case []any:
		if len(a) == 2 {
			s, _ := a[0].(string)
			m, _ := a[1].(map[string]any)
			return s, m
		}
	}
	return "", nil
}

// topoSort orders the keys of deps (node → the nodes it depends on) so that each
// comes after its dependencies, choosing alphabetically among those ready. A cycle
// is an error naming it.
func topoSort(deps map[string][]string) ([]string, error) {
	waiting := map[string]int{} // node → dependencies not yet placed
	users := map[string][]string{}
	for n, ds := range deps {
		waiting[n] = len(ds)
		for _, d := range ds {
			users[d] = append(users[d], n)
		}
	}
	var ready, order []string
	for n, c := range waiting {
		if c == 0 {
			ready = append(ready, n)
		}
	}
	for len(ready) > 0 {
		slices.Sort(ready)
		n := ready[0]
		ready = ready[1:]
		order = append(order, n)
		for _, u := range users[n] {
			if waiting[u]--; waiting[u] == 0 {
				ready = append(ready, u)
			}
		}
	}
	if len(order) < len(deps) {
		return nil, fmt.Errorf("dependency cycle: %s", strings.Join(findCycle(deps, waiting), " -> "))
	}
	return order, nil
}

// findCycle follows unplaced dependencies from the alphabetically first unplaced
// node until one repeats; every unplaced node has an unplaced dependency.
func findCycle(deps map[string][]string, waiting map[string]int) []string {
	var start string
	for _, n := range sortedKeys(waiting) {
		if waiting[n] > 0 {
			start = n
			break
		}
	}
	seen := map[string]int{}
	var walk []string
	n := start
	for {
		if i, ok := seen[n]; ok {
			return append(walk[i:], n)
		}
		seen[n] = len(walk)
		walk = append(walk, n)
		for _, d := range deps[n] {
			if waiting[d] > 0 {
				n = d
				break
			}
		}
	}
}
