package cfn

import (
	"encoding/base64"
	"errors"
	"fmt"
	"reflect"
	"strconv"
	"strings"
)

// noValue is what Ref AWS::NoValue evaluates to: the enclosing property or list
// item is left out.
var noValue = &struct{ noValue bool }{true}

// scope says where an evaluation happens, for error messages and for what is allowed
// there: condition functions only in Conditions, resource references not there.
type scope struct {
	where      string
	conditions bool
}

// intrinsic evaluates one function: arg is its raw argument, path the location of
// the function object (its arguments are at path.Fn::Name[i]).
type intrinsic func(r *resolver, sc scope, arg any, path string) (any, error)

var (
	intrinsics  map[string]intrinsic
	conditionFn map[string]intrinsic // valid only in the Conditions section
)

// Functions CloudFormation has that the twin refuses: each would need another stack,
// a VPC allocator or a template macro.
var unsupported = map[string]string{
	"Fn::Cidr":         "",
	"Fn::Transform":    " (template macros run in CloudFormation)",
	"Fn::Length":       " (AWS::LanguageExtensions)",
	"Fn::ToJsonString": " (AWS::LanguageExtensions)",
}

func init() { // a var initializer would form a cycle: the functions call eval, which reads the table
	intrinsics = map[string]intrinsic{
		"Ref":             fnRef,
		"Fn::GetAtt":      fnGetAtt,
		"Fn::Join":        fnJoin,
		"Fn::Sub":         fnSub,
		"Fn::Select":      fnSelect,
		"Fn::Split":       fnSplit,
		"Fn::If":          fnIf,
		"Fn::GetAZs":      fnGetAZs,
		"Fn::Base64":      fnBase64,
		"Fn::FindInMap":   fnFindInMap,
		"Fn::ImportValue": fnImportValue,
	}
	conditionFn = map[string]intrinsic{
		"Fn::Equals": fnEquals,
		"Fn::And":    fnAndOr(true),
		"Fn::Or":     fnAndOr(false),
		"Fn::Not":    fnNot,
		"Condition":  fnCondition,
	}
}

// eval resolves every intrinsic in v. Maps and lists are copied; AWS::NoValue drops
// the key or item it stands for.
func (r *resolver) eval(sc scope, v any, path string) (any, error) {
	switch v := v.(type) {
	case map[string]any:
		if len(v) == 1 {
			for k, arg := range v {
				if f := r.function(sc, k); f != nil {
					return f(r, sc, arg, path)
				}
				if isFunctionName(k) {
					return nil, r.refuse(sc, k, path)
				}
			}
		}
		out := make(map[string]any, len(v))
		for _, k := range sortedKeys(v) { // sorted: the first error is always the same one
			y, err := r.eval(sc, v[k], keyPath(path, k))
			if err != nil {
				return nil, err
			}
			if y != noValue {
				out[k] = y
			}
		}
		return out, nil
	case []any:
		out := make([]any, 0, len(v))
		for i, x := range v {
			y, err := r.eval(sc, x, indexPath(path, i))
			if err != nil {
				return nil, err
			}
			if y != noValue {
				out = append(out, y)
			}
		}
		return out, nil
	}
	return v, nil
}

// clone copies JSON values taken from the template as they are (mappings, list
// parameters), so that no two resolved properties share a map or list.
func clone(v any) any {
	switch v := v.(type) {
	case map[string]any:
		out := make(map[string]any, len(v))
		for k, x := range v {
			out[k] = clone(x)
		}
		return out
	case []any:
		out := make([]any, len(v))
		for i, x := range v {
			out[i] = clone(x)
		}
		return out
	}
	return v
}

func isFunctionName(k string) bool { return k == "Ref" || strings.HasPrefix(k, "Fn::") }

// function is the intrinsic named k, if it may be used in sc.
func (r *resolver) function(sc scope, k string) intrinsic {
	if f, ok := intrinsics[k]; ok {
		return f
	}
	if sc.conditions {
		return conditionFn[k]
	}
	return nil
}

func (r *resolver) refuse(sc scope, k, path string) error {
	if _, ok := conditionFn[k]; ok {
		return &Error{Where: sc.where, Path: path, Err: fmt.Errorf("%s is only valid in the Conditions section", k)}
	}
	why, known := unsupported[k]
	if !known {
		why = " (not a function CloudFormation documents)"
	}
	return &Error{Where: sc.where, Path: path, Err: fmt.Errorf("%s is %w%s", k, ErrUnsupported, why)}
}

// errAt wraps a plain error with its location, keeping an *Error from deeper down as is.
func errAt(sc scope, path string, err error) error {
	var e *Error
	if errors.As(err, &e) {
		return err
	}
	return &Error{Where: sc.where, Path: path, Err: err}
}

// prefixed puts the function (and its argument) before a lookup's error.
func prefixed(fn string, err error) error { return fmt.Errorf("%s: %w", fn, err) }

// args evaluates a function's argument and checks it is a list of n items.
func (r *resolver) args(sc scope, fn string, arg any, path string, n ...int) ([]any, error) {
	list, ok := arg.([]any)
	if !ok {
		return nil, &Error{Where: sc.where, Path: path, Err: fmt.Errorf("%s takes a list, not %s", fn, describe(arg))}
	}
	if len(n) > 0 && (len(list) < n[0] || len(list) > n[len(n)-1]) {
		want := strconv.Itoa(n[0])
		if n[len(n)-1] != n[0] {
			want += " to " + strconv.Itoa(n[len(n)-1])
		}
		return nil, &Error{Where: sc.where, Path: path, Err: fmt.Errorf("%s takes %s arguments, not %d", fn, want, len(list))}
	}
	out := make([]any, len(list))
	for i, x := range list {
		v, err := r.eval(sc, x, indexPath(fnPath(path, fn), i))
		if err != nil {
			return nil, err
		}
		out[i] = v
	}
	return out, nil
}

func describe(v any) string {
	switch v := v.(type) {
	case nil:
		return "null"
	case string:
		return strconv.Quote(v)
	case []any:
		return "a list"
	case map[string]any:
		return "an object"
	}
	if v == noValue {
		return "AWS::NoValue"
	}
	return fmt.Sprint(v)
}

func fnRef(r *resolver, sc scope, arg any, path string) (any, error) {
	name, ok := arg.(string)
	if !ok {
		return nil, &Error{Where: sc.where, Path: path, Err: fmt.Errorf("a Ref takes a name, not %s", describe(arg))}
	}
	v, err := r.ref(sc, name)
	if err != nil {
		return nil, errAt(sc, path, prefixed("Ref "+name, err))
	}
	return v, nil
}

// ref is what Ref name returns: a pseudo parameter, a parameter or a resource.
func (r *resolver) ref(sc scope, name string) (any, error) {
	if v, ok := r.pseudo(name); ok {
		return v, nil
	}
	if p, ok := r.params[name]; ok {
		if p.ssm {
			return nil, fmt.Errorf("parameter of type %s is read from SSM Parameter Store, which the twin does not have: give its value in Options.Parameters", p.typ)
		}
		return clone(p.value), nil
	}
	res, err := r.target(sc, name)
	if err != nil {
		return nil, err
	}
	if res.refUnmodelled {
		return nil, fmt.Errorf("a Ref to %s is %w", res.Type, ErrUnsupported)
	}
	return res.PhysicalID, nil
}

// target is the resource a Ref or Fn::GetAtt names, which must exist, be created, and
// already be resolved (the dependency order sees to that).
func (r *resolver) target(sc scope, name string) (*Resource, error) {
	res, ok := r.t.Resources[name]
	switch {
	case !ok:
		return nil, fmt.Errorf("no resource, parameter or pseudo parameter is named %s", name)
	case sc.conditions:
		return nil, errors.New("conditions cannot refer to resources")
	case !res.Active:
		return nil, fmt.Errorf("resource %s is not created (its condition %s is false)", name, res.Condition)
	case !res.resolved:
		return nil, fmt.Errorf("resource %s is not resolved yet (a dependency the order missed)", name)
	}
	return res, nil
}

func (r *resolver) pseudo(name string) (any, bool) {
	o := r.opts
	switch name {
	case "AWS::AccountId":
		return o.Account, true
	case "AWS::Region":
		return o.Region, true
	case "AWS::Partition":
		return o.Partition, true
	case "AWS::URLSuffix":
		return o.URLSuffix, true
	case "AWS::StackName":
		return o.StackName, true
	case "AWS::StackId":
		return fmt.Sprintf("arn:%s:cloudformation:%s:%s:stack/%s/%s", o.Partition, o.Region, o.Account, o.StackName, uuidFrom("stack/"+o.StackName)), true
	case "AWS::NotificationARNs":
		return []any{}, true
	case "AWS::NoValue":
		return noValue, true
	}
	return nil, false
}

func fnGetAtt(r *resolver, sc scope, arg any, path string) (any, error) {
	var name, attr string
	switch a := arg.(type) {
	case string:
		var ok bool
		if name, attr, ok = strings.Cut(a, "."); !ok {
			return nil, &Error{Where: sc.where, Path: path, Err: fmt.Errorf("Fn::GetAtt %q is not LogicalId.Attribute", a)}
		}
	case []any:
		args, err := r.args(sc, "Fn::GetAtt", a, path, 2)
		if err != nil {
			return nil, err
		}
		var ok1, ok2 bool
		name, ok1 = args[0].(string)
		attr, ok2 = args[1].(string)
		if !ok1 || !ok2 {
			return nil, &Error{Where: sc.where, Path: path, Err: fmt.Errorf("Fn::GetAtt takes [LogicalId, Attribute] strings, not [%s, %s]", describe(args[0]), describe(args[1]))}
		}
	default:
		return nil, &Error{Where: sc.where, Path: path, Err: fmt.Errorf("Fn::GetAtt takes a list or a string, not %s", describe(arg))}
	}
	v, err := r.getAttIn(sc, name, attr)
	if err != nil {
		return nil, errAt(sc, path, prefixed("Fn::GetAtt "+name+"."+attr, err))
	}
	return v, nil
}

func fnJoin(r *resolver, sc scope, arg any, path string) (any, error) {
	args, err := r.args(sc, "Fn::Join", arg, path, 2)
	if err != nil {
		return nil, err
	}
	sep, ok := args[0].(string)
	items, ok2 := args[1].([]any)
	if !ok || !ok2 {
		return nil, &Error{Where: sc.where, Path: path, Err: fmt.Errorf("Fn::Join takes [delimiter, [values...]], not [%s, %s]", describe(args[0]), describe(args[1]))}
	}
	parts := make([]string, len(items))
	for i, it := range items {
		s, ok := it.(string)
		if !ok {
			return nil, &Error{Where: sc.where, Path: indexPath(fnPath(path, "Fn::Join")+"[1]", i), Err: fmt.Errorf("Fn::Join joins strings, not %s", describe(it))}
		}
		parts[i] = s
	}
	return strings.Join(parts, sep), nil
}

func fnSelect(r *resolver, sc scope, arg any, path string) (any, error) {
	args, err := r.args(sc, "Fn::Select", arg, path, 2)
	if err != nil {
		return nil, err
	}
	var idx int
	switch v := args[0].(type) {
	case float64:
		idx = int(v)
		if float64(idx) != v {
			idx = -1
		}
	case string:
		if idx, err = strconv.Atoi(v); err != nil {
			idx = -1
		}
	default:
		idx = -1
	}
	list, ok := args[1].([]any)
	if !ok {
		return nil, &Error{Where: sc.where, Path: path, Err: fmt.Errorf("Fn::Select selects from a list, not %s", describe(args[1]))}
	}
	if idx < 0 || idx >= len(list) {
		return nil, &Error{Where: sc.where, Path: path, Err: fmt.Errorf("Fn::Select index %s is out of range for a list of %d", describe(args[0]), len(list))}
	}
	return list[idx], nil
}

func fnSplit(r *resolver, sc scope, arg any, path string) (any, error) {
	args, err := r.args(sc, "Fn::Split", arg, path, 2)
	if err != nil {
		return nil, err
	}
	sep, ok := args[0].(string)
	s, ok2 := args[1].(string)
	if !ok || !ok2 || sep == "" {
		return nil, &Error{Where: sc.where, Path: path, Err: fmt.Errorf("Fn::Split takes [delimiter, string], not [%s, %s]", describe(args[0]), describe(args[1]))}
	}
	var out []any
	for _, p := range strings.Split(s, sep) {
		out = append(out, p)
	}
	return out, nil
}

// fnIf evaluates only the branch its condition picks, as CloudFormation does: the
// other branch may refer to resources that are not created.
func fnIf(r *resolver, sc scope, arg any, path string) (any, error) {
	list, ok := arg.([]any)
	if !ok || len(list) != 3 {
		return nil, &Error{Where: sc.where, Path: path, Err: fmt.Errorf("Fn::If takes [condition, value if true, value if false], not %s", describe(arg))}
	}
	name, ok := list[0].(string)
	if !ok {
		return nil, &Error{Where: sc.where, Path: path, Err: fmt.Errorf("Fn::If takes a condition name, not %s", describe(list[0]))}
	}
	c, err := r.condition(name)
	if err != nil {
		return nil, errAt(sc, path, prefixed("Fn::If", err))
	}
	if c {
		return r.eval(sc, list[1], indexPath(fnPath(path, "Fn::If"), 1))
	}
	return r.eval(sc, list[2], indexPath(fnPath(path, "Fn::If"), 2))
}

func fnGetAZs(r *resolver, sc scope, arg any, path string) (any, error) {
	v, err := r.eval(sc, arg, fnPath(path, "Fn::GetAZs"))
	if err != nil {
		return nil, err
	}
	region, ok := v.(string)
	if !ok {
		return nil, &Error{Where: sc.where, Path: path, Err: fmt.Errorf("Fn::GetAZs takes a region, not %s", describe(v))}
	}
	if region == "" {
		region = r.opts.Region
	}
	return []any{region + "a", region + "b", region + "c"}, nil
}

func fnBase64(r *resolver, sc scope, arg any, path string) (any, error) {
	v, err := r.eval(sc, arg, fnPath(path, "Fn::Base64"))
	if err != nil {
		return nil, err
	}
	s, ok := v.(string)
	if !ok {
		return nil, &Error{Where: sc.where, Path: path, Err: fmt.Errorf("Fn::Base64 encodes a string, not %s", describe(v))}
	}
	return base64.StdEncoding.EncodeToString([]byte(s)), nil
}

// fnFindInMap also takes AWS::LanguageExtensions' fourth argument, {"DefaultValue": v}.
func fnFindInMap(r *resolver, sc scope, arg any, path string) (any, error) {
	args, err := r.args(sc, "Fn::FindInMap", arg, path, 3, 4)
	if err != nil {
		return nil, err
	}
	var keys [3]string
	for i := range keys {
		s, ok := args[i].(string)
		if !ok {
			return nil, &Error{Where: sc.where, Path: indexPath(fnPath(path, "Fn::FindInMap"), i), Err: fmt.Errorf("Fn::FindInMap keys are strings, not %s", describe(args[i]))}
		}
		keys[i] = s
	}
	top, _ := r.mappings[keys[0]].(map[string]any)
	second, _ := top[keys[1]].(map[string]any)
	if v, ok := second[keys[2]]; ok {
		return clone(v), nil
	}
	if len(args) == 4 {
		if d, ok := args[3].(map[string]any)["DefaultValue"]; ok {
			return clone(d), nil
		}
	}
	missing := fmt.Sprintf("no mapping %s", keys[0])
	switch {
	case top != nil && second == nil:
		missing = fmt.Sprintf("mapping %s has no key %s", keys[0], keys[1])
	case second != nil:
		missing = fmt.Sprintf("mapping %s.%s has no key %s", keys[0], keys[1], keys[2])
	}
	return nil, &Error{Where: sc.where, Path: path, Err: errors.New("Fn::FindInMap: " + missing)}
}

func fnImportValue(r *resolver, sc scope, arg any, path string) (any, error) {
	return nil, &Error{Where: sc.where, Path: path, Err: fmt.Errorf("Fn::ImportValue is %w: it deploys one stack, so no other stack exports %s", ErrUnsupported, describe(arg))}
}

func fnEquals(r *resolver, sc scope, arg any, path string) (any, error) {
	args, err := r.args(sc, "Fn::Equals", arg, path, 2)
	if err != nil {
		return nil, err
	}
	return reflect.DeepEqual(canonical(args[0]), canonical(args[1])), nil
}

// canonical makes scalars strings, as CloudFormation compares them ("1" equals 1).
func canonical(v any) any {
	switch v := v.(type) {
	case []any:
		out := make([]any, len(v))
		for i, x := range v {
			out[i] = canonical(x)
		}
		return out
	case map[string]any:
		out := make(map[string]any, len(v))
		for k, x := range v {
			out[k] = canonical(x)
		}
		return out
	case string, float64, bool:
		return scalarString(v)
	}
	return v
}

func fnAndOr(and bool) intrinsic {
	name := "Fn::Or"
	if and {
		name = "Fn::And"
	}
	return func(r *resolver, sc scope, arg any, path string) (any, error) {
		args, err := r.args(sc, name, arg, path, 2, 10)
		if err != nil {
			return nil, err
		}
		result := and
		for i, a := range args {
			b, ok := a.(bool)
			if !ok {
				return nil, &Error{Where: sc.where, Path: indexPath(fnPath(path, name), i), Err: fmt.Errorf("%s takes conditions, not %s", name, describe(a))}
			}
			if and {
				result = result && b
			} else {
				result = result || b
			}
		}
		return result, nil
	}
}

func fnNot(r *resolver, sc scope, arg any, path string) (any, error) {
	args, err := r.args(sc, "Fn::Not", arg, path, 1)
	if err != nil {
		return nil, err
	}
	b, ok := args[0].(bool)
	if !ok {
		return nil, &Error{Where: sc.where, Path: path, Err: fmt.Errorf("Fn::Not takes a condition, not %s", describe(args[0]))}
	}
	return !b, nil
}

func fnCondition(r *resolver, sc scope, arg any, path string) (any, error) {
	name, ok := arg.(string)
	if !ok {
		return nil, &Error{Where: sc.where, Path: path, Err: fmt.Errorf("a Condition takes a condition name, not %s", describe(arg))}
	}
	b, err := r.condition(name)
	if err != nil {
		return nil, errAt(sc, path, prefixed("Condition", err))
	}
	return b, nil
}
