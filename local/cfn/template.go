package cfn

import (
	"github.com/imagepipe/imagepipe/local/awsid"

	"encoding/json"
	"errors"
	"fmt"
	"sort"
	"strings"
	"sync"
)

// The twin's defaults for the Options fields left empty.
const (
	DefaultRegion    = awsid.Region
	DefaultAccount   = awsid.Account
	DefaultPartition = "aws"
	DefaultURLSuffix = "amazonaws.com"
)

// Options are what CloudFormation would know at deploy time and the template does not.
type Options struct {
	StackName string // required
	Region    string // default DefaultRegion
	Account   string // default DefaultAccount
	Partition string // default DefaultPartition
	URLSuffix string // default DefaultURLSuffix

	// Parameters override the template's parameter defaults. A parameter with no
	// default and no value here is an error, as is a value for an undeclared one.
	Parameters map[string]string

	// Attr supplies what only the twin knows: Fn::GetAtt values, and Ref values (attr
	// "Ref") that depend on where the twin serves things, e.g. an
	// AWS::SQS::Queue's "Ref" and "QueueUrl", or an AWS::OpenSearchService::Domain's
	// "DomainEndpoint". It is called with the resource already resolved: Properties,
	// Name and PhysicalID set (when attr is "Ref", PhysicalID holds the package's own
	// value, e.g. https://sqs.<region>.amazonaws.com/<account>/<name>). Return
	// ok=false to keep the package's value. It may be nil.
	Attr func(r *Resource, attr string) (value any, ok bool)
}

// Template is a resolved template.
type Template struct {
	Resources map[string]*Resource // by logical id, created or not (see Resource.Active)
	Order     []string             // every logical id, each after those it depends on
	Outputs   map[string]any       // output name → resolved Value (outputs whose Condition is false are left out)
	// Conditions are the template's conditions, evaluated.
	Conditions map[string]bool
	// Parameters are the parameter values in effect: a string, or []any of strings
	// for list types. SSM-typed parameters with no value in Options are absent.
	Parameters map[string]any
	Raw        map[string]any // the template as parsed

	r *resolver
}

// Resource is one resolved resource.
type Resource struct {
	LogicalID, Type string
	Path            string         // Metadata["aws:cdk:path"] when present
	Metadata        map[string]any // as written in the template (not resolved)
	// Properties with every intrinsic resolved to plain JSON values (string,
	// float64, bool, []any, map[string]any); AWS::NoValue leaves the property out.
	// Nil when the resource is not Active.
	Properties map[string]any
	// Name is the physical name (bucket, queue, function, role name...) for types
	// that have one; empty otherwise.
	Name string
	// PhysicalID is what Ref returns. For a type whose Ref the package does not
	// model it is a readable placeholder, <StackName>-<constructId>, and a Ref to the
	// resource in the template is an error.
	PhysicalID string
	Condition  string // the resource's Condition, if any
	Active     bool   // false when Condition is false: the resource is not created
	DependsOn  []string

	raw           map[string]any
	resolved      bool
	refUnmodelled bool
}

// OfType returns the created (Active) resources of one type, in dependency order.
func (t *Template) OfType(typ string) []*Resource {
	var out []*Resource
	for _, id := range t.Order {
		if r := t.Resources[id]; r.Type == typ && r.Active {
			out = append(out, r)
		}
	}
	return out
}

// GetAtt returns what Fn::GetAtt would for an active resource's attribute.
func (t *Template) GetAtt(logicalID, attr string) (any, error) {
	return t.r.getAtt(logicalID, attr)
}

// Resolve parses a JSON template and resolves it.
func Resolve(raw []byte, opts Options) (*Template, error) {
	var doc map[string]any
	if err := json.Unmarshal(raw, &doc); err != nil {
		return nil, &Error{Where: "template", Err: fmt.Errorf("not a JSON template: %w", err)}
	}
	if opts.StackName == "" {
		return nil, errors.New("cfn: Options.StackName is required")
	}
	opts.Region = orDefault(opts.Region, DefaultRegion)
	opts.Account = orDefault(opts.Account, DefaultAccount)
	opts.Partition = orDefault(opts.Partition, DefaultPartition)
	opts.URLSuffix = orDefault(opts.URLSuffix, DefaultURLSuffix)
	if tr, ok := doc["Transform"]; ok {
		return nil, &Error{Where: "template", Path: "Transform", Err: fmt.Errorf("%v is %w", tr, ErrUnsupported)}
	}

	t := &Template{Raw: doc, Resources: map[string]*Resource{}, Outputs: map[string]any{}}
	r := &resolver{opts: opts, t: t, attrs: map[[2]string]any{}}
	t.r = r
	steps := []func() error{r.readResources, r.readParameters, r.readSections, r.evalConditions, r.order, r.resolveResources, r.checkNames, r.resolveOutputs}
	for _, step := range steps {
		if err := step(); err != nil {
			return nil, err
		}
	}
	return t, nil
}

func orDefault(s, def string) string {
	if s == "" {
		return def
	}
	return s
}

// resolver holds what evaluating intrinsics needs: the template's sections, the
// evaluated conditions, and a memo of attributes (so that Options.Attr is asked once
// per attribute and every reference sees the same value).
type resolver struct {
	opts     Options
	t        *Template
	params   map[string]param
	mappings map[string]any
	condDefs map[string]any
	condBusy map[string]bool

	mu    sync.Mutex
	attrs map[[2]string]any
}

func (r *resolver) readResources() error {
	res, ok := r.t.Raw["Resources"].(map[string]any)
	if !ok || len(res) == 0 {
		return &Error{Where: "template", Err: errors.New("no Resources")}
	}
	for id, v := range res {
		m, ok := v.(map[string]any)
		if !ok {
			return &Error{Where: "resource " + id, Err: errors.New("not an object")}
		}
		typ, _ := m["Type"].(string)
		if typ == "" {
			return &Error{Where: "resource " + id, Path: "Type", Err: errors.New("missing")}
		}
		rs := &Resource{LogicalID: id, Type: typ, raw: m}
		rs.Metadata, _ = m["Metadata"].(map[string]any)
		rs.Path, _ = rs.Metadata["aws:cdk:path"].(string)
		if c, ok := m["Condition"]; ok {
			if rs.Condition, ok = c.(string); !ok {
				return &Error{Where: "resource " + id, Path: "Condition", Err: errors.New("not a condition name")}
			}
		}
		deps, err := stringList(m["DependsOn"])
		if err != nil {
			return &Error{Where: "resource " + id, Path: "DependsOn", Err: err}
		}
		rs.DependsOn = deps
		r.t.Resources[id] = rs
	}
	return nil
}

// stringList reads DependsOn: absent, one string, or a list of strings.
func stringList(v any) ([]string, error) {
	switch v := v.(type) {
	case nil:
		return nil, nil
	case string:
		return []string{v}, nil
	case []any:
		out := make([]string, 0, len(v))
		for _, x := range v {
			s, ok := x.(string)
			if !ok {
				return nil, fmt.Errorf("%v is not a logical id", x)
			}
			out = append(out, s)
		}
		return out, nil
	}
	return nil, fmt.Errorf("%v is neither a logical id nor a list of them", v)
}

func (r *resolver) readSections() error {
	r.mappings, _ = r.t.Raw["Mappings"].(map[string]any)
	r.condDefs, _ = r.t.Raw["Conditions"].(map[string]any)
	return nil
}

func (r *resolver) evalConditions() error {
	r.t.Conditions = map[string]bool{}
	r.condBusy = map[string]bool{}
	for _, name := range sortedKeys(r.condDefs) {
		if _, err := r.condition(name); err != nil {
			return err
		}
	}
	for _, rs := range r.t.Resources {
		if rs.Condition == "" {
			rs.Active = true
			continue
		}
		v, ok := r.t.Conditions[rs.Condition]
		if !ok {
			return &Error{Where: "resource " + rs.LogicalID, Path: "Condition", Err: fmt.Errorf("no condition named %s", rs.Condition)}
		}
		rs.Active = v
	}
	return nil
}

// condition evaluates one named condition, once.
func (r *resolver) condition(name string) (bool, error) {
	if v, ok := r.t.Conditions[name]; ok {
		return v, nil
	}
	def, ok := r.condDefs[name]
	if !ok {
		return false, fmt.Errorf("no condition named %s", name)
	}
	if r.condBusy[name] {
		return false, &Error{Where: "condition " + name, Err: errors.New("refers to itself through other conditions")}
	}
	r.condBusy[name] = true
	defer delete(r.condBusy, name)
	v, err := r.eval(scope{where: "condition " + name, conditions: true}, def, "")
	if err != nil {
		return false, err
	}
	b, ok := v.(bool)
	if !ok {
		return false, &Error{Where: "condition " + name, Err: fmt.Errorf("evaluates to %v, not true or false", v)}
	}
	r.t.Conditions[name] = b
	return b, nil
}

// resolveResources resolves each active resource in dependency order, so that a
// Ref or Fn::GetAtt always finds its target resolved.
func (r *resolver) resolveResources() error {
	for _, id := range r.t.Order {
		rs := r.t.Resources[id]
		if !rs.Active {
			continue
		}
		sc := scope{where: "resource " + id}
		props := map[string]any{}
		if raw, ok := rs.raw["Properties"]; ok {
			v, err := r.eval(sc, raw, "Properties")
			if err != nil {
				return err
			}
			if v != noValue {
				m, ok := v.(map[string]any)
				if !ok {
					return &Error{Where: sc.where, Path: "Properties", Err: errors.New("not an object")}
				}
				props = m
			}
		}
		rs.Properties = props
		if err := r.identify(rs); err != nil {
			return &Error{Where: sc.where, Err: err}
		}
		rs.resolved = true
	}
	return nil
}

// checkNames refuses two resources of one type with the same physical name, which
// CloudFormation would fail to create (and the twin would silently merge).
func (r *resolver) checkNames() error {
	seen := map[[2]string]string{}
	for _, id := range r.t.Order {
		rs := r.t.Resources[id]
		if !rs.Active || rs.Name == "" {
			continue
		}
		k := [2]string{rs.Type, rs.Name}
		if other, ok := seen[k]; ok {
			return &Error{Where: "resource " + id, Err: fmt.Errorf("%s %q is also the name of %s", rs.Type, rs.Name, other)}
		}
		seen[k] = id
	}
	return nil
}

func (r *resolver) resolveOutputs() error {
	outs, _ := r.t.Raw["Outputs"].(map[string]any)
	for _, name := range sortedKeys(outs) {
		o, ok := outs[name].(map[string]any)
		if !ok {
			return &Error{Where: "output " + name, Err: errors.New("not an object")}
		}
		if c, ok := o["Condition"].(string); ok {
			v, known := r.t.Conditions[c]
			if !known {
				return &Error{Where: "output " + name, Path: "Condition", Err: fmt.Errorf("no condition named %s", c)}
			}
			if !v {
				continue
			}
		}
		v, err := r.eval(scope{where: "output " + name}, o["Value"], "Value")
		if err != nil {
			return err
		}
		if v == noValue {
			continue
		}
		r.t.Outputs[name] = v
	}
	return nil
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

// keyPath appends a map key to an error path: .Key, or ["key.with.dots"].
func keyPath(path, key string) string {
	plain := key != "" && !strings.ContainsFunc(key, func(c rune) bool {
		return !(c == '_' || c >= '0' && c <= '9' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z')
	})
	switch {
	case !plain:
		return fmt.Sprintf("%s[%q]", path, key)
	case path == "":
		return key
	}
	return path + "." + key
}

// fnPath is the path of a function's arguments: Properties.Foo.Fn::Join.
func fnPath(path, fn string) string {
	if path == "" {
		return fn
	}
	return path + "." + fn
}

func indexPath(path string, i int) string { return fmt.Sprintf("%s[%d]", path, i) }
