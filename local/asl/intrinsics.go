package asl

import (
	"crypto/md5"
	"crypto/rand"
	"crypto/sha1"
	"crypto/sha256"
	"crypto/sha512"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"hash"
	"math"
	mrand "math/rand/v2"
	"strconv"
	"strings"
	"unicode/utf8"
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

// arity: min and max argument counts (-1: unbounded).
var intrinsicArity = map[string][2]int{
	"States.Format":         {1, -1},
	"States.StringToJson":   {1, 1},
	"States.JsonToString":   {1, 1},
	"States.Array":          {0, -1},
	"States.ArrayPartition": {2, 2},
	"States.ArrayContains":  {2, 2},
	"States.ArrayRange":     {3, 3},
	"States.ArrayGetItem":   {2, 2},
	"States.ArrayLength":    {1, 1},
	"States.ArrayUnique":    {1, 1},
	"States.Base64Encode":   {1, 1},
	"States.Base64Decode":   {1, 1},
	"States.Hash":           {2, 2},
	"States.JsonMerge":      {3, 3},
	"States.MathRandom":     {2, 3},
	"States.MathAdd":        {2, 2},
	"States.StringSplit":    {2, 2},
	"States.UUID":           {0, 0},
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
	ar, ok := intrinsicArity[name]
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
	if len(c.args) < ar[0] || (ar[1] >= 0 && len(c.args) > ar[1]) {
		return nil, fmt.Errorf("%s takes %s arguments, got %d", name, arityText(ar), len(c.args))
	}
	return c, nil
}

func arityText(ar [2]int) string {
	switch {
	case ar[1] < 0:
		return fmt.Sprintf("at least %d", ar[0])
	case ar[0] == ar[1]:
		return strconv.Itoa(ar[0])
	}
	return fmt.Sprintf("%d to %d", ar[0], ar[1])
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
}

func (e *evalEnv) path(p *jsonPath) (any, error) {
	if p.context {
		return evalPath(p, e.ctx)
	}
	return evalPath(p, e.input)
}

func intrinsicFailure(format string, args ...any) *stateError {
	return &stateError{name: ErrIntrinsicFailure, cause: fmt.Sprintf(format, args...)}
}

func (c *intrinsicCall) eval(env *evalEnv) (any, error) {
	args := make([]any, len(c.args))
	for i, a := range c.args {
		switch {
		case a.isLit:
			args[i] = a.lit
		case a.path != nil:
			v, err := env.path(a.path)
			if err != nil {
				return nil, intrinsicFailure("The JsonPath %s argument for the field %s could not be found in the input", a.source, c.name)
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
	return c.apply(args, env)
}

func (c *intrinsicCall) apply(args []any, env *evalEnv) (any, error) {
	fail := func(format string, a ...any) (any, error) {
		return nil, intrinsicFailure("Invalid arguments in %s: %s", c.name, fmt.Sprintf(format, a...))
	}
	str := func(i int) (string, bool) { s, ok := args[i].(string); return s, ok }
	arr := func(i int) ([]any, bool) { a, ok := args[i].([]any); return a, ok }
	switch c.name {
	case "States.Format":
		tmpl, ok := str(0)
		if !ok {
			return fail("the template must be a string")
		}
		var b strings.Builder
		next := 1
		for i := 0; i < len(tmpl); i++ {
			ch := tmpl[i]
			if ch == '\\' && i+1 < len(tmpl) && (tmpl[i+1] == '{' || tmpl[i+1] == '}' || tmpl[i+1] == '\\') {
				b.WriteByte(tmpl[i+1])
				i++
				continue
			}
			if ch == '{' && i+1 < len(tmpl) && tmpl[i+1] == '}' {
				if next >= len(args) {
					return fail("more placeholders than arguments")
				}
				switch v := args[next].(type) {
				case string:
					b.WriteString(v)
				case map[string]any, []any:
					return fail("argument %d is not a string, number, boolean or null", next)
				default:
					b.Write(encodeJSON(v))
				}
				next++
				i++
				continue
			}
			b.WriteByte(ch)
		}
		if next != len(args) {
			return fail("%d placeholders for %d arguments", next-1, len(args)-1)
		}
		return b.String(), nil
	case "States.StringToJson":
		s, ok := str(0)
		if !ok {
			return fail("the argument must be a string")
		}
		v, err := decodeJSON([]byte(s))
		if err != nil {
			return fail("the string is not JSON: %v", err)
		}
		return v, nil
	case "States.JsonToString":
		return encodeString(args[0]), nil
	case "States.Array":
		return append([]any{}, args...), nil
	case "States.ArrayPartition":
		a, ok := arr(0)
		size, ok2 := toInt(args[1])
		if !ok || !ok2 || size <= 0 {
			return fail("expected an array and a positive integer size")
		}
		out := []any{}
		for i := 0; i < len(a); i += int(size) {
			out = append(out, append([]any{}, a[i:min(len(a), i+int(size))]...))
		}
		return out, nil
	case "States.ArrayContains":
		a, ok := arr(0)
		if !ok {
			return fail("the first argument must be an array")
		}
		for _, e := range a {
			if jsonEqual(e, args[1]) {
				return true, nil
			}
		}
		return false, nil
	case "States.ArrayRange":
		start, ok1 := toInt(args[0])
		end, ok2 := toInt(args[1])
		step, ok3 := toInt(args[2])
		if !ok1 || !ok2 || !ok3 || step == 0 {
			return fail("expected integers start, end and a non-zero step")
		}
		out := []any{}
		for i := start; (step > 0 && i <= end) || (step < 0 && i >= end); i += step {
			if len(out) >= 1000 {
				return fail("the range has more than 1000 items")
			}
			out = append(out, intNumber(i))
		}
		return out, nil
	case "States.ArrayGetItem":
		a, ok := arr(0)
		i, ok2 := toInt(args[1])
		if !ok || !ok2 || i < 0 || i >= int64(len(a)) {
			return fail("expected an array and an index within it")
		}
		return a[i], nil
	case "States.ArrayLength":
		a, ok := arr(0)
		if !ok {
			return fail("the argument must be an array")
		}
		return intNumber(int64(len(a))), nil
	case "States.ArrayUnique":
		a, ok := arr(0)
		if !ok {
			return fail("the argument must be an array")
		}
		out := []any{}
	outer:
		for _, e := range a {
			for _, o := range out {
				if jsonEqual(e, o) {
					continue outer
				}
			}
			out = append(out, e)
		}
		return out, nil
	case "States.Base64Encode":
		s, ok := str(0)
		if !ok || len(s) > 10000 {
			return fail("expected a string of at most 10000 characters")
		}
		return base64.StdEncoding.EncodeToString([]byte(s)), nil
	case "States.Base64Decode":
		s, ok := str(0)
		if !ok || len(s) > 10000 {
			return fail("expected a string of at most 10000 characters")
		}
		b, err := base64.StdEncoding.DecodeString(s)
		if err != nil || !utf8.Valid(b) {
			return fail("not base64-encoded UTF-8")
		}
		return string(b), nil
	case "States.Hash":
		alg, ok := str(1)
		if !ok {
			return fail("the algorithm must be a string")
		}
		var h hash.Hash
		switch alg {
		case "MD5":
			h = md5.New()
		case "SHA-1":
			h = sha1.New()
		case "SHA-256":
			h = sha256.New()
		case "SHA-384":
			h = sha512.New384()
		case "SHA-512":
			h = sha512.New()
		default:
			return fail("unknown algorithm %q", alg)
		}
		data, ok := str(0)
		if !ok {
			if args[0] == nil {
				return fail("the data is null")
			}
			data = encodeString(args[0])
		}
		if len(data) > 10000 {
			return fail("the data has more than 10000 characters")
		}
		h.Write([]byte(data))
		return hex.EncodeToString(h.Sum(nil)), nil
	case "States.JsonMerge":
		a, ok1 := args[0].(map[string]any)
		b, ok2 := args[1].(map[string]any)
		deep, ok3 := args[2].(bool)
		if !ok1 || !ok2 || !ok3 {
			return fail("expected two objects and a boolean")
		}
		if deep {
			return fail("deep merging is not supported; the third argument must be false")
		}
		out := make(map[string]any, len(a)+len(b))
		for k, v := range a {
			out[k] = v
		}
		for k, v := range b {
			out[k] = v
		}
		return out, nil
	case "States.MathRandom":
		start, ok1 := toInt(args[0])
		end, ok2 := toInt(args[1])
		if !ok1 || !ok2 || end <= start {
			return fail("expected integers start < end")
		}
		r := env.rand
		if len(args) == 3 {
			seed, ok := toInt(args[2])
			if !ok {
				return fail("the seed must be an integer")
			}
			r = mrand.New(mrand.NewPCG(uint64(seed), 0)).Float64
		}
		return intNumber(start + int64(math.Floor(r()*float64(end-start)))), nil
	case "States.MathAdd":
		a, ok1 := toInt(args[0])
		b, ok2 := toInt(args[1])
		if !ok1 || !ok2 {
			return fail("expected two integers")
		}
		return intNumber(a + b), nil
	case "States.StringSplit":
		s, ok1 := str(0)
		d, ok2 := str(1)
		if !ok1 || !ok2 {
			return fail("expected two strings")
		}
		out := []any{}
		for _, f := range strings.FieldsFunc(s, func(r rune) bool { return strings.ContainsRune(d, r) }) {
			out = append(out, f)
		}
		return out, nil
	case "States.UUID":
		var u [16]byte
		if _, err := rand.Read(u[:]); err != nil {
			return nil, intrinsicFailure("States.UUID: %v", err)
		}
		u[6] = u[6]&0x0f | 0x40
		u[8] = u[8]&0x3f | 0x80
		h := hex.EncodeToString(u[:])
		return h[0:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:], nil
	}
	return fail("unknown function")
}
