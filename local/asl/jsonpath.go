package asl

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
)

// The JSONPath subset ASL uses: $ and $$ roots, .name, ['name'], [n] (negative from
// the end), [*] and .*, unions [a,b] / ['a','b'], slices [start:end:step], deep scan
// ..name, and filters [?(@.x op literal)] joined by && and ||.

type segKind int

const (
	segName segKind = iota
	segIndex
	segWildcard
	segUnionNames
	segUnionIndex
	segSlice
	segFilter
)

type segment struct {
	kind    segKind
	deep    bool // preceded by "..": apply to the node and every descendant
	name    string
	index   int
	names   []string
	indices []int
	slice   [3]*int
	filter  filterExpr
}

type jsonPath struct {
	raw      string
	context  bool   // starts with $$
	variable string // starts with $name: a variable (Assign)
	segs     []segment
}

// definite reports whether the path selects at most one node (a Reference Path
// shape), in which case a missing node is an error rather than an empty list.
func (p *jsonPath) definite() bool {
	for _, s := range p.segs {
		if s.deep || (s.kind != segName && s.kind != segIndex) {
			return false
		}
	}
	return true
}

// reference reports whether the path is a Reference Path (names and indexes only).
func (p *jsonPath) reference() bool { return !p.context && p.variable == "" && p.definite() }

var errNoMatch = errors.New("no match")

func parsePath(s string) (*jsonPath, error) {
	if !strings.HasPrefix(s, "$") {
		return nil, fmt.Errorf("path %q must start with $", s)
	}
	p := &jsonPath{raw: s}
	i := 1
	if strings.HasPrefix(s, "$$") {
		p.context = true
		i = 2
	} else if len(s) > 1 && isVarStart(s[1]) {
		j := 1
		for j < len(s) && s[j] != '.' && s[j] != '[' {
			j++
		}
		p.variable, i = s[1:j], j
	}
	for i < len(s) {
		deep := false
		switch s[i] {
		case '.':
			i++
			if i < len(s) && s[i] == '.' {
				deep = true
				i++
			}
			if i >= len(s) {
				return nil, fmt.Errorf("path %q ends after '.'", s)
			}
			if s[i] == '[' {
				if !deep {
					return nil, fmt.Errorf("path %q: unexpected '[' after '.'", s)
				}
				continue // handled below with deep carried over
			}
			if s[i] == '*' {
				p.segs = append(p.segs, segment{kind: segWildcard, deep: deep})
				i++
				continue
			}
			j := i
			for j < len(s) && s[j] != '.' && s[j] != '[' {
				j++
			}
			name := s[i:j]
			if strings.ContainsAny(name, " \t\n\r'\"()]") {
				return nil, fmt.Errorf("path %q: invalid name %q", s, name)
			}
			p.segs = append(p.segs, segment{kind: segName, name: name, deep: deep})
			i = j
			continue
		case '[':
		default:
			return nil, fmt.Errorf("path %q: unexpected %q at %d", s, s[i], i)
		}
		// bracket (possibly after "..")
		seg, n, err := parseBracket(s[i:])
		if err != nil {
			return nil, fmt.Errorf("path %q: %w", s, err)
		}
		if i >= 2 && s[i-1] == '.' && s[i-2] == '.' {
			seg.deep = true
		}
		p.segs = append(p.segs, seg)
		i += n
	}
	return p, nil
}

// parseBracket parses one [...] selector at the start of s, returning its length:
// [*], quoted names, a filter, or indexes and slices.
func parseBracket(s string) (segment, int, error) {
	i := skipSpaces(s, 1)
	if i >= len(s) {
		return segment{}, 0, errors.New("unterminated [")
	}
	switch {
	case s[i] == '*':
		i = skipSpaces(s, i+1)
		if i >= len(s) || s[i] != ']' {
			return segment{}, 0, errors.New("expected ] after *")
		}
		return segment{kind: segWildcard}, i + 1, nil
	case s[i] == '\'' || s[i] == '"':
		return bracketNames(s, i)
	case s[i] == '?':
		return bracketFilter(s, i+1)
	}
	return bracketIndexes(s, i)
}

func skipSpaces(s string, i int) int {
	for i < len(s) && s[i] == ' ' {
		i++
	}
	return i
}

// bracketNames parses ['a'] or ['a','b'] from the first quote at i.
func bracketNames(s string, i int) (segment, int, error) {
	var names []string
	for {
		i = skipSpaces(s, i)
		if i >= len(s) || (s[i] != '\'' && s[i] != '"') {
			return segment{}, 0, errors.New("expected quoted name")
		}
		q := s[i]
		i++
		var b strings.Builder
		for i < len(s) && s[i] != q {
			if s[i] == '\\' && i+1 < len(s) {
				i++
			}
			b.WriteByte(s[i])
			i++
		}
		if i >= len(s) {
			return segment{}, 0, errors.New("unterminated quoted name")
		}
		i = skipSpaces(s, i+1)
		names = append(names, b.String())
		if i < len(s) && s[i] == ',' {
			i++
			continue
		}
		if i < len(s) && s[i] == ']' {
			break
		}
		return segment{}, 0, errors.New("expected , or ] after name")
	}
	if len(names) == 1 {
		return segment{kind: segName, name: names[0]}, i + 1, nil
	}
	return segment{kind: segUnionNames, names: names}, i + 1, nil
}

// bracketFilter parses ?(...)] from just after the ?.
func bracketFilter(s string, i int) (segment, int, error) {
	i = skipSpaces(s, i)
	if i >= len(s) || s[i] != '(' {
		return segment{}, 0, errors.New("expected ( after ?")
	}
	// find the matching ')' outside quotes
	depth, j := 0, i
	var quote byte
	for ; j < len(s); j++ {
		c := s[j]
		if quote != 0 {
			if c == '\\' {
				j++
			} else if c == quote {
				quote = 0
			}
			continue
		}
		if c == '\'' || c == '"' {
			quote = c
		} else if c == '(' {
			depth++
		} else if c == ')' {
			depth--
			if depth == 0 {
				break
			}
		}
	}
	if j >= len(s) {
		return segment{}, 0, errors.New("unterminated filter")
	}
	f, err := parseFilter(s[i+1 : j])
	if err != nil {
		return segment{}, 0, err
	}
	i = skipSpaces(s, j+1)
	if i >= len(s) || s[i] != ']' {
		return segment{}, 0, errors.New("expected ] after filter")
	}
	return segment{kind: segFilter, filter: f}, i + 1, nil
}

// bracketIndexes parses [n], [n,m,...] or a slice [start:end:step] from i.
func bracketIndexes(s string, i int) (segment, int, error) {
	end := strings.IndexByte(s, ']')
	if end < 0 {
		return segment{}, 0, errors.New("unterminated [")
	}
	body := strings.ReplaceAll(s[i:end], " ", "")
	if strings.Contains(body, ":") {
		parts := strings.Split(body, ":")
		if len(parts) > 3 {
			return segment{}, 0, fmt.Errorf("bad slice %q", body)
		}
		seg := segment{kind: segSlice}
		for k, part := range parts {
			if part == "" {
				continue
			}
			n, err := strconv.Atoi(part)
			if err != nil {
				return segment{}, 0, fmt.Errorf("bad slice %q", body)
			}
			seg.slice[k] = &n
		}
		if seg.slice[2] != nil && *seg.slice[2] == 0 {
			return segment{}, 0, errors.New("slice step 0")
		}
		return seg, end + 1, nil
	}
	var idx []int
	for _, part := range strings.Split(body, ",") {
		n, err := strconv.Atoi(part)
		if err != nil {
			return segment{}, 0, fmt.Errorf("bad index %q", part)
		}
		idx = append(idx, n)
	}
	if len(idx) == 1 {
		return segment{kind: segIndex, index: idx[0]}, end + 1, nil
	}
	return segment{kind: segUnionIndex, indices: idx}, end + 1, nil
}

// evalPath applies p to root (the input, or the context object for $$).
// A definite path returns the single node or errNoMatch; any other path returns the
// list of matches (possibly empty), as Step Functions does.
func evalPath(p *jsonPath, root any) (any, error) {
	nodes := []any{root}
	for _, seg := range p.segs {
		var next []any
		for _, n := range nodes {
			if seg.deep {
				for _, d := range descendants(n, nil) {
					next = applySegment(seg, d, next)
				}
			} else {
				next = applySegment(seg, n, next)
			}
		}
		nodes = next
	}
	if p.definite() {
		if len(nodes) == 0 {
			return nil, errNoMatch
		}
		return nodes[0], nil
	}
	if nodes == nil {
		nodes = []any{}
	}
	return nodes, nil
}

func descendants(n any, out []any) []any {
	out = append(out, n)
	switch v := n.(type) {
	case *object:
		for _, e := range v.vals {
			out = descendants(e, out)
		}
	case []any:
		for _, e := range v {
			out = descendants(e, out)
		}
	}
	return out
}

func applySegment(seg segment, n any, out []any) []any {
	switch seg.kind {
	case segName:
		if m, ok := n.(*object); ok {
			if v, ok := m.get(seg.name); ok {
				out = append(out, v)
			}
		}
	case segIndex:
		if a, ok := n.([]any); ok {
			i := seg.index
			if i < 0 {
				i += len(a)
			}
			if i >= 0 && i < len(a) {
				out = append(out, a[i])
			}
		}
	case segWildcard:
		switch v := n.(type) {
		case *object:
			out = append(out, v.vals...)
		case []any:
			out = append(out, v...)
		}
	case segUnionNames:
		if m, ok := n.(*object); ok {
			for _, name := range seg.names {
				if v, ok := m.get(name); ok {
					out = append(out, v)
				}
			}
		}
	case segUnionIndex:
		if a, ok := n.([]any); ok {
			for _, i := range seg.indices {
				if i < 0 {
					i += len(a)
				}
				if i >= 0 && i < len(a) {
					out = append(out, a[i])
				}
			}
		}
	case segSlice:
		if a, ok := n.([]any); ok {
			out = append(out, sliceOf(a, seg.slice)...)
		}
	case segFilter:
		switch v := n.(type) {
		case []any:
			for _, e := range v {
				if seg.filter.match(e) {
					out = append(out, e)
				}
			}
		case *object:
			for _, e := range v.vals {
				if seg.filter.match(e) {
					out = append(out, e)
				}
			}
		}
	}
	return out
}

func sliceOf(a []any, s [3]*int) []any {
	n := len(a)
	step := 1
	if s[2] != nil {
		step = *s[2]
	}
	norm := func(p *int, def int) int {
		if p == nil {
			return def
		}
		v := *p
		if v < 0 {
			v += n
		}
		if step > 0 {
			return max(0, min(v, n))
		}
		return max(-1, min(v, n-1))
	}
	var out []any
	if step > 0 {
		for i := norm(s[0], 0); i < norm(s[1], n); i += step {
			out = append(out, a[i])
		}
	} else {
		for i := norm(s[0], n-1); i > norm(s[1], -1); i += step {
			out = append(out, a[i])
		}
	}
	return out
}

// setPath returns a copy of root with value placed at the reference path p
// (ResultPath semantics: missing objects are created; an existing non-object on the
// way is a failure).
func setPath(root any, p *jsonPath, value any) (any, error) {
	return setAt(root, p.segs, value)
}

func setAt(n any, segs []segment, value any) (any, error) {
	if len(segs) == 0 {
		return value, nil
	}
	seg := segs[0]
	switch seg.kind {
	case segName:
		var m *object
		switch v := n.(type) {
		case *object:
			m = v.clone()
		case nil:
			m = newObject(1)
		default:
			return nil, fmt.Errorf("cannot set field %q on a %s", seg.name, typeName(n))
		}
		old, _ := m.get(seg.name)
		child, err := setAt(old, segs[1:], value)
		if err != nil {
			return nil, err
		}
		m.set(seg.name, child)
		return m, nil
	case segIndex:
		a, ok := n.([]any)
		if !ok {
			return nil, fmt.Errorf("cannot set index %d on a %s", seg.index, typeName(n))
		}
		i := seg.index
		if i < 0 {
			i += len(a)
		}
		if i < 0 || i >= len(a) {
			return nil, fmt.Errorf("index %d out of range", seg.index)
		}
		c := append([]any(nil), a...)
		child, err := setAt(c[i], segs[1:], value)
		if err != nil {
			return nil, err
		}
		c[i] = child
		return c, nil
	}
	return nil, errors.New("not a reference path")
}

// Filters: a tiny expression language over the current node (@).

type filterExpr interface{ match(n any) bool }

type filterOr []filterExpr
type filterAnd []filterExpr
type filterNot struct{ e filterExpr }
type filterCmp struct {
	left  *jsonPath // rooted at @ (stored with "$" root)
	op    string    // "" = existence
	right any
}

func (f filterOr) match(n any) bool {
	for _, e := range f {
		if e.match(n) {
			return true
		}
	}
	return false
}

func (f filterAnd) match(n any) bool {
	for _, e := range f {
		if !e.match(n) {
			return false
		}
	}
	return true
}

func (f filterNot) match(n any) bool { return !f.e.match(n) }

func (f filterCmp) match(n any) bool {
	v, err := evalPath(f.left, n)
	if err != nil {
		return false
	}
	if !f.left.definite() {
		if l, ok := v.([]any); ok && len(l) == 0 {
			return false
		}
	}
	if f.op == "" {
		return true
	}
	if f.op == "==" || f.op == "!=" {
		eq := jsonEqual(v, f.right)
		return eq == (f.op == "==")
	}
	if a, ok := toFloat(v); ok {
		if b, ok := toFloat(f.right); ok {
			switch f.op {
			case "<":
				return a < b
			case "<=":
				return a <= b
			case ">":
				return a > b
			case ">=":
				return a >= b
			}
		}
		return false
	}
	a, ok1 := v.(string)
	b, ok2 := f.right.(string)
	if !ok1 || !ok2 {
		return false
	}
	switch f.op {
	case "<":
		return a < b
	case "<=":
		return a <= b
	case ">":
		return a > b
	case ">=":
		return a >= b
	}
	return false
}

type filterParser struct {
	s string
	i int
}

func parseFilter(s string) (filterExpr, error) {
	p := &filterParser{s: s}
	e, err := p.or()
	if err != nil {
		return nil, err
	}
	p.ws()
	if p.i != len(p.s) {
		return nil, fmt.Errorf("filter %q: unexpected %q", s, p.s[p.i:])
	}
	return e, nil
}

func (p *filterParser) ws() {
	for p.i < len(p.s) && (p.s[p.i] == ' ' || p.s[p.i] == '\t') {
		p.i++
	}
}

func (p *filterParser) or() (filterExpr, error) {
	return chain[filterOr](p, "||", p.and)
}

func (p *filterParser) and() (filterExpr, error) {
	return chain[filterAnd](p, "&&", p.unary)
}

// chain parses operand (op operand)*; a single operand stands alone.
func chain[T interface {
	~[]filterExpr
	filterExpr
}](p *filterParser, op string, operand func() (filterExpr, error)) (filterExpr, error) {
	var terms T
	for {
		e, err := operand()
		if err != nil {
			return nil, err
		}
		terms = append(terms, e)
		p.ws()
		if !strings.HasPrefix(p.s[p.i:], op) {
			break
		}
		p.i += len(op)
	}
	if len(terms) == 1 {
		return terms[0], nil
	}
	return terms, nil
}

func (p *filterParser) unary() (filterExpr, error) {
	p.ws()
	if p.i < len(p.s) && p.s[p.i] == '!' {
		p.i++
		e, err := p.unary()
		if err != nil {
			return nil, err
		}
		return filterNot{e}, nil
	}
	if p.i < len(p.s) && p.s[p.i] == '(' {
		p.i++
		e, err := p.or()
		if err != nil {
			return nil, err
		}
		p.ws()
		if p.i >= len(p.s) || p.s[p.i] != ')' {
			return nil, fmt.Errorf("filter %q: missing )", p.s)
		}
		p.i++
		return e, nil
	}
	if p.i >= len(p.s) || p.s[p.i] != '@' {
		return nil, fmt.Errorf("filter %q: expected @", p.s)
	}
	j := p.i + 1
	for j < len(p.s) && !strings.ContainsRune(" =!<>&|)", rune(p.s[j])) {
		if p.s[j] == '[' {
			k := strings.IndexByte(p.s[j:], ']')
			if k < 0 {
				return nil, fmt.Errorf("filter %q: unterminated [", p.s)
			}
			j += k
		}
		j++
	}
	left, err := parsePath("$" + p.s[p.i+1:j])
	if err != nil {
		return nil, err
	}
	p.i = j
	p.ws()
	for _, op := range []string{"==", "!=", "<=", ">=", "<", ">"} {
		if strings.HasPrefix(p.s[p.i:], op) {
			p.i += len(op)
			p.ws()
			right, err := p.literal()
			if err != nil {
				return nil, err
			}
			return filterCmp{left: left, op: op, right: right}, nil
		}
	}
	return filterCmp{left: left}, nil
}

func (p *filterParser) literal() (any, error) {
	if p.i >= len(p.s) {
		return nil, fmt.Errorf("filter %q: missing value", p.s)
	}
	c := p.s[p.i]
	if c == '\'' || c == '"' {
		var b strings.Builder
		p.i++
		for p.i < len(p.s) && p.s[p.i] != c {
			if p.s[p.i] == '\\' && p.i+1 < len(p.s) {
				p.i++
			}
			b.WriteByte(p.s[p.i])
			p.i++
		}
		if p.i >= len(p.s) {
			return nil, fmt.Errorf("filter %q: unterminated string", p.s)
		}
		p.i++
		return b.String(), nil
	}
	j := p.i
	for j < len(p.s) && !strings.ContainsRune(" &|)", rune(p.s[j])) {
		j++
	}
	tok := p.s[p.i:j]
	p.i = j
	switch tok {
	case "true":
		return true, nil
	case "false":
		return false, nil
	case "null":
		return nil, nil
	}
	if _, err := strconv.ParseFloat(tok, 64); err != nil {
		return nil, fmt.Errorf("filter %q: bad value %q", p.s, tok)
	}
	return jsonNumber(tok), nil
}

// missingPathText explains why the definite path p selects nothing in v, in the words
// of AWS's JSONPath library: "No results for path: $['a']['b']" when only the last
// step is missing, "Missing property in path $['a']" when an earlier one is.
func missingPathText(p *jsonPath, v any) string {
	norm := "$"
	n := v
	for i, s := range p.segs {
		var next any
		found := false
		switch s.kind {
		case segName:
			norm += "['" + s.name + "']"
			if m, ok := n.(*object); ok {
				next, found = m.get(s.name)
			}
		case segIndex:
			norm += "[" + strconv.Itoa(s.index) + "]"
			if a, ok := n.([]any); ok {
				j := s.index
				if j < 0 {
					j += len(a)
				}
				if j >= 0 && j < len(a) {
					next, found = a[j], true
				}
			}
		default:
			return "No results for path: " + p.raw
		}
		if !found {
			if i == len(p.segs)-1 {
				return "No results for path: " + norm
			}
			return "Missing property in path " + norm
		}
		n = next
	}
	return "No results for path: " + norm
}

func isVarStart(c byte) bool { return c == '_' || (c|0x20 >= 'a' && c|0x20 <= 'z') }
