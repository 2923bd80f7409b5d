package asl

import (
	"encoding/json"
	"errors"
	"fmt"
	"sort"
	"strconv"
	"strings"
)

// Intrinsic functions: States.Name(arg, ...) where an argument is a 'string', a
// number, true/false/null, a path ($... or $$...) or a nested call.

type intrinsicArg struct {
	lit    any
	isLit  bool
	path   *jsonPath
	call   *intrinsicCall
	source string
}

type intrinsicCall struct {
	name string
	args []intrinsicArg
}

type intrinsicParser struct {
	s string
	i int
}

func parseIntrinsic(s string) (*intrinsicCall, error) {
	p := &intrinsicParser{s: s}
	c, err := p.call()
	if err != nil {
		return nil, fmt.Errorf("intrinsic %q: %w", s, err)
	}
	p.ws()
	if p.i != len(s) {
		return nil, fmt.Errorf("intrinsic %q: unexpected %q after the call", s, s[p.i:])
	}
	return c, nil
}

func (p *intrinsicParser) ws() {
	for p.i < len(p.s) && (p.s[p.i] == ' ' || p.s[p.i] == '\t' || p.s[p.i] == '\n') {
		p.i++
	}
}

func (p *intrinsicParser) call() (*intrinsicCall, error) {
	p.ws()
	j := p.i
	for j < len(p.s) && p.s[j] != '(' {
		j++
	}
	if j >= len(p.s) {
		return nil, errors.New("expected (")
	}
	name := strings.TrimSpace(p.s[p.i:j])
	fn, ok := intrinsicFuncs[name]
	if !ok {
		return nil, fmt.Errorf("unknown function %q", name)
	}
	p.i = j + 1
	c := &intrinsicCall{name: name}
	p.ws()
	if p.i < len(p.s) && p.s[p.i] == ')' {
		p.i++
	} else {
		for {
			a, err := p.arg()
			if err != nil {
				return nil, err
			}
			c.args = append(c.args, a)
			p.ws()
			if p.i >= len(p.s) {
				return nil, errors.New("unterminated argument list")
			}
			if p.s[p.i] == ',' {
				p.i++
				continue
			}
			if p.s[p.i] == ')' {
				p.i++
				break
			}
			return nil, fmt.Errorf("unexpected %q in arguments", p.s[p.i])
		}
	}
	if len(c.args) < fn.min || (fn.max >= 0 && len(c.args) > fn.max) {
		return nil, fmt.Errorf("%s takes %s arguments, got %d", name, fn.arity(), len(c.args))
	}
	return c, nil
}

func (p *intrinsicParser) arg() (intrinsicArg, error) {
	p.ws()
	if p.i >= len(p.s) {
		return intrinsicArg{}, errors.New("missing argument")
	}
	start := p.i
	switch c := p.s[p.i]; {
	case c == '\'':
		p.i++
		var b strings.Builder
		for p.i < len(p.s) && p.s[p.i] != '\'' {
			if p.s[p.i] == '\\' && p.i+1 < len(p.s) {
				// \' \\ unescape here; \{ \} stay escaped for States.Format.
				if n := p.s[p.i+1]; n == '{' || n == '}' {
					b.WriteByte('\\')
				}
				p.i++
			}
			b.WriteByte(p.s[p.i])
			p.i++
		}
		if p.i >= len(p.s) {
			return intrinsicArg{}, errors.New("unterminated string")
		}
		p.i++
		return intrinsicArg{lit: b.String(), isLit: true, source: p.s[start:p.i]}, nil
	case c == '$':
		// a path runs to the next , or ) outside brackets and quotes
		depth := 0
		var quote byte
		for p.i < len(p.s) {
			ch := p.s[p.i]
			if quote != 0 {
				if ch == quote {
					quote = 0
				}
			} else if ch == '\'' || ch == '"' {
				quote = ch
			} else if ch == '[' || ch == '(' {
				depth++
			} else if ch == ']' || ch == ')' {
				if depth == 0 {
					break
				}
				depth--
			} else if ch == ',' && depth == 0 {
				break
			}
			p.i++
		}
		src := strings.TrimSpace(p.s[start:p.i])
		path, err := parsePath(src)
		if err != nil {
			return intrinsicArg{}, err
		}
		return intrinsicArg{path: path, source: src}, nil
	case strings.HasPrefix(p.s[p.i:], "States."):
		c, err := p.call()
		if err != nil {
			return intrinsicArg{}, err
		}
		return intrinsicArg{call: c, source: p.s[start:p.i]}, nil
	default:
		j := p.i
		for j < len(p.s) && p.s[j] != ',' && p.s[j] != ')' {
			j++
		}
		tok := strings.TrimSpace(p.s[p.i:j])
		p.i = j
		switch tok {
		case "true":
			return intrinsicArg{lit: true, isLit: true, source: tok}, nil
		case "false":
			return intrinsicArg{lit: false, isLit: true, source: tok}, nil
		case "null":
			return intrinsicArg{lit: nil, isLit: true, source: tok}, nil
		}
		if _, err := strconv.ParseFloat(tok, 64); err != nil || tok == "" {
			return intrinsicArg{}, fmt.Errorf("bad argument %q", tok)
		}
		return intrinsicArg{lit: jsonNumber(tok), isLit: true, source: tok}, nil
	}
}

// evalEnv is what a payload template or intrinsic can read.
type evalEnv struct {
	input any
	ctx   any
	rand  func() float64
	vars  *scopeVars // variables in scope (Assign)

	// JSONata's $states: the state's raw input, its result, the error a catcher sees.
	stateInput  any
	result      any
	hasResult   bool
	errorOutput any
	matched     *choiceRule // the Choice rule that matched (its Output and Assign)
}

func (e *evalEnv) path(p *jsonPath) (any, error) {
	switch {
	case p.variable != "":
		v, ok := e.vars.get(p.variable)
		if !ok {
			return nil, errNoMatch
		}
		return evalPath(p, v)
	case p.context:
		return evalPath(p, e.ctx)
	}
	return evalPath(p, e.input)
}

// scopeVars is one scope's variables (the top level, a branch, a Map iteration);
// inner scopes read the outer ones, and their own assignments stay inside them.
type scopeVars struct {
	parent *scopeVars
	m      map[string]any
}

func (v *scopeVars) get(name string) (any, bool) {
	for ; v != nil; v = v.parent {
		if val, ok := v.m[name]; ok {
			return val, true
		}
	}
	return nil, false
}

// set assigns in this scope.
func (v *scopeVars) set(assigned map[string]any) {
	for k, val := range assigned {
		v.m[k] = val
	}
}

// restore sets a redriven scope's variables from its checkpoint.
func (v *scopeVars) restore(b json.RawMessage) {
	if len(b) == 0 {
		return
	}
	if o, err := decodeJSON(b); err == nil {
		if obj, ok := o.(*object); ok {
			for i, k := range obj.keys {
				v.m[k] = obj.vals[i]
			}
		}
	}
}

// snapshot is the scope's own variables as JSON (nil when none), for a checkpoint.
func (v *scopeVars) snapshot() json.RawMessage {
	if v == nil || len(v.m) == 0 {
		return nil
	}
	keys := make([]string, 0, len(v.m))
	for k := range v.m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	o := newObject(len(keys))
	for _, k := range keys {
		o.set(k, v.m[k])
	}
	return encodeJSON(o)
}

// child is a new inner scope.
func (v *scopeVars) child() *scopeVars { return &scopeVars{parent: v, m: map[string]any{}} }

// eval evaluates the arguments, then the function. A path argument that matches
// nothing, like invalid arguments, is a States.Runtime failure.
func (c *intrinsicCall) eval(env *evalEnv) (any, error) {
	args := make([]any, len(c.args))
	for i, a := range c.args {
		switch {
		case a.isLit:
			args[i] = a.lit
		case a.path != nil:
			v, err := env.path(a.path)
			if err != nil {
				return nil, runtimeError("The JsonPath %s argument for the field %s could not be found in the input '%s'", a.source, c.name, encodeString(env.input))
			}
			args[i] = v
		default:
			v, err := a.call.eval(env)
			if err != nil {
				return nil, err
			}
			args[i] = v
		}
	}
	v, err := intrinsicFuncs[c.name].fn(args, env)
	if err != nil {
		var se *stateError
		if errors.As(err, &se) {
			return nil, se
		}
		return nil, runtimeError("The function %s could not be evaluated: %v", c.name, err)
	}
	return v, nil
}
