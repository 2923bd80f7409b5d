package apigw

import (
	"encoding/json"
	"fmt"
	"sort"
	"strconv"
)

// props reads one (resolved) property object of a resource. Readers name what they
// expect; check refuses the keys nobody reads, so that a feature the twin does not
// implement is an error rather than ignored.
type props struct {
	r    *Resource
	at   string // "" or "Integration." for nested objects, for messages
	m    map[string]any
	seen map[string]bool
}

func newProps(r *Resource) *props { return &props{r: r, m: r.Properties, seen: map[string]bool{}} }

func (p *props) errf(key, format string, args ...any) error {
	return fmt.Errorf("apigw: %s (%s): property %s%s: %s", p.r.LogicalID, p.r.Type, p.at, key, fmt.Sprintf(format, args...))
}

// ignore marks keys that do not change what the twin serves (names, descriptions,
// tags, documentation).
func (p *props) ignore(keys ...string) {
	for _, k := range keys {
		p.seen[k] = true
	}
}

// check fails on the first key (in sorted order) that no reader asked for.
func (p *props) check() error {
	var extra []string
	for k := range p.m {
		if !p.seen[k] {
			extra = append(extra, k)
		}
	}
	if len(extra) == 0 {
		return nil
	}
	sort.Strings(extra)
	return unsupported(p.r, "property %s%s", p.at, extra[0])
}

func (p *props) has(key string) bool {
	p.seen[key] = true
	v, ok := p.m[key]
	return ok && v != nil
}

func (p *props) str(key string) (string, error) {
	p.seen[key] = true
	switch v := p.m[key].(type) {
	case nil:
		return "", nil
	case string:
		return v, nil
	default:
		return "", p.errf(key, "want a string, got %T", v)
	}
}

// boolean accepts CloudFormation's spellings: true and "true".
func (p *props) boolean(key string) (bool, error) {
	p.seen[key] = true
	switch v := p.m[key].(type) {
	case nil:
		return false, nil
	case bool:
		return v, nil
	case string:
		b, err := strconv.ParseBool(v)
		if err != nil {
			return false, p.errf(key, "want a boolean, got %q", v)
		}
		return b, nil
	default:
		return false, p.errf(key, "want a boolean, got %T", v)
	}
}

// number accepts a JSON number or a numeric string (both are valid in templates).
func (p *props) number(key string) (float64, bool, error) {
	p.seen[key] = true
	var f float64
	var err error
	switch v := p.m[key].(type) {
	case nil:
		return 0, false, nil
	case float64:
		f = v
	case int:
		f = float64(v)
	case int64:
		f = float64(v)
	case json.Number:
		f, err = v.Float64()
	case string:
		f, err = strconv.ParseFloat(v, 64)
	default:
		return 0, false, p.errf(key, "want a number, got %T", v)
	}
	if err != nil {
		return 0, false, p.errf(key, "want a number: %v", err)
	}
	return f, true, nil
}

func (p *props) object(key string) (*props, bool, error) {
	p.seen[key] = true
	switch v := p.m[key].(type) {
	case nil:
		return nil, false, nil
	case map[string]any:
		return &props{r: p.r, at: p.at + key + ".", m: v, seen: map[string]bool{}}, true, nil
	default:
		return nil, false, p.errf(key, "want an object, got %T", v)
	}
}

// objects reads a list of objects (MethodResponses, IntegrationResponses...).
func (p *props) objects(key string) ([]*props, error) {
	p.seen[key] = true
	switch v := p.m[key].(type) {
	case nil:
		return nil, nil
	case []any:
		out := make([]*props, 0, len(v))
		for i, e := range v {
			m, ok := e.(map[string]any)
			if !ok {
				return nil, p.errf(key, "item %d: want an object, got %T", i, e)
			}
			out = append(out, &props{r: p.r, at: fmt.Sprintf("%s%s[%d].", p.at, key, i), m: m, seen: map[string]bool{}})
		}
		return out, nil
	default:
		return nil, p.errf(key, "want a list, got %T", v)
	}
}

func (p *props) strings(key string) ([]string, error) {
	p.seen[key] = true
	switch v := p.m[key].(type) {
	case nil:
		return nil, nil
	case []any:
		out := make([]string, 0, len(v))
		for i, e := range v {
			s, ok := e.(string)
			if !ok {
				return nil, p.errf(key, "item %d: want a string, got %T", i, e)
			}
			out = append(out, s)
		}
		return out, nil
	case []string:
		return v, nil
	default:
		return nil, p.errf(key, "want a list, got %T", v)
	}
}

// stringMap reads an object of strings (ResponseParameters, RequestTemplates...).
func (p *props) stringMap(key string) (map[string]string, error) {
	p.seen[key] = true
	switch v := p.m[key].(type) {
	case nil:
		return nil, nil
	case map[string]any:
		out := make(map[string]string, len(v))
		for k, e := range v {
			s, ok := e.(string)
			if !ok {
				return nil, p.errf(key, "%s: want a string, got %T", k, e)
			}
			out[k] = s
		}
		return out, nil
	default:
		return nil, p.errf(key, "want an object, got %T", v)
	}
}

// boolMap reads an object of booleans (a method's RequestParameters: name → required).
func (p *props) boolMap(key string) (map[string]bool, error) {
	p.seen[key] = true
	switch v := p.m[key].(type) {
	case nil:
		return nil, nil
	case map[string]any:
		out := make(map[string]bool, len(v))
		for k, e := range v {
			switch b := e.(type) {
			case bool:
				out[k] = b
			case string:
				pb, err := strconv.ParseBool(b)
				if err != nil {
					return nil, p.errf(key, "%s: want a boolean, got %q", k, b)
				}
				out[k] = pb
			default:
				return nil, p.errf(key, "%s: want a boolean, got %T", k, e)
			}
		}
		return out, nil
	default:
		return nil, p.errf(key, "want an object, got %T", v)
	}
}
