package apigw

import (
	"fmt"
	"strings"
)

// The parser of the VTL subset (see vtl.go): it resolves every reference when it
// compiles, so that what is not supported is refused then.

type vtlParser struct {
	src string
	pos int
}

func (p *vtlParser) errf(format string, args ...any) error {
	return fmt.Errorf("mapping template: at offset %d: %s", p.pos, fmt.Sprintf(format, args...))
}

// block parses nodes up to the end of the template, or up to #end when inIf.
func (p *vtlParser) block(inIf bool) ([]vtlNode, error) {
	var nodes []vtlNode
	var text strings.Builder
	flush := func() {
		if text.Len() > 0 {
			nodes = append(nodes, textNode(text.String()))
			text.Reset()
		}
	}
	for p.pos < len(p.src) {
		c := p.src[p.pos]
		switch {
		case c == '\\' && p.pos+1 < len(p.src) && (p.src[p.pos+1] == '$' || p.src[p.pos+1] == '#'):
			return nil, p.errf("escaped %q is not supported", p.src[p.pos:p.pos+2])
		case c == '#' && p.pos+1 < len(p.src) && (isIdentStart(p.src[p.pos+1]) || strings.ContainsRune("#*{", rune(p.src[p.pos+1]))):
			n, end, err := p.directive(inIf, &text, flush)
			if err != nil {
				return nil, err
			}
			if end {
				return nodes, nil
			}
			nodes = append(nodes, n)
		case c == '$' && p.pos+1 < len(p.src) && (isIdentStart(p.src[p.pos+1]) || p.src[p.pos+1] == '!' || p.src[p.pos+1] == '{'):
			p.pos++
			if p.src[p.pos] == '!' { // $!ref: quiet, which every reference is here
				p.pos++
			}
			ref, err := p.reference()
			if err != nil {
				return nil, err
			}
			flush()
			nodes = append(nodes, &refNode{ref: ref})
		default:
			text.WriteByte(c)
			p.pos++
		}
	}
	if inIf {
		return nil, p.errf("#if without #end")
	}
	flush()
	return nodes, nil
}

// directive parses the directive at p.pos; end reports an #end, which closes the
// block. The text before the directive is flushed first.
func (p *vtlParser) directive(inIf bool, text *strings.Builder, flush func()) (n vtlNode, end bool, err error) {
	alone := p.blankBefore()
	name, err := p.directiveName()
	if err != nil {
		return nil, false, err
	}
	switch name {
	case "end":
		if !inIf {
			return nil, false, p.errf("#end without #if")
		}
		p.finishLine(alone, text)
		flush()
		return nil, true, nil
	case "set":
		if n, err = p.set(); err != nil {
			return nil, false, err
		}
		p.finishLine(alone, text)
		flush()
		return n, false, nil
	}
	cond, err := p.ifHeader()
	if err != nil {
		return nil, false, err
	}
	p.finishLine(alone, text)
	flush()
	body, err := p.block(true)
	if err != nil {
		return nil, false, err
	}
	return &ifNode{cond: cond, body: body}, false, nil
}

// blankBefore reports whether only blanks precede the directive at p.pos on its line.
func (p *vtlParser) blankBefore() bool {
	nl := strings.LastIndexByte(p.src[:p.pos], '\n')
	return strings.TrimLeft(p.src[nl+1:p.pos], " \t") == ""
}

// finishLine drops a directive's line when the directive stands alone on it: the
// blanks before it (the tail of text) and the blanks and newline after it.
func (p *vtlParser) finishLine(blankBefore bool, text *strings.Builder) {
	if !blankBefore {
		return
	}
	i := p.pos
	for i < len(p.src) && (p.src[i] == ' ' || p.src[i] == '\t' || p.src[i] == '\r') {
		i++
	}
	if i < len(p.src) && p.src[i] != '\n' {
		return
	}
	if i < len(p.src) {
		i++
	}
	p.pos = i
	t := text.String()
	text.Reset()
	text.WriteString(t[:strings.LastIndexByte(t, '\n')+1])
}

func (p *vtlParser) directiveName() (string, error) {
	p.pos++ // '#'
	if p.pos < len(p.src) && p.src[p.pos] == '{' {
		return "", p.errf("#{...} directives are not supported")
	}
	start := p.pos
	for p.pos < len(p.src) && isIdentPart(p.src[p.pos]) {
		p.pos++
	}
	name := p.src[start:p.pos]
	switch name {
	case "set", "if", "end":
		return name, nil
	case "":
		return "", p.errf("comments are not supported")
	}
	return "", p.errf("directive #%s is not supported", name)
}

// set parses "($target = expr)" after #set.
func (p *vtlParser) set() (vtlNode, error) {
	p.skipBlanks()
	if !p.eat("(") {
		return nil, p.errf("#set: want (")
	}
	p.skipBlanks()
	if !p.eat("$") {
		return nil, p.errf("#set: want a reference")
	}
	target, err := p.reference()
	if err != nil {
		return nil, err
	}
	switch target.kind {
	case "var", "override-header", "override-status":
	default:
		return nil, p.errf("#set: cannot assign $%s", target.name)
	}
	p.skipBlanks()
	if !p.eat("=") {
		return nil, p.errf("#set: want =")
	}
	v, err := p.expr()
	if err != nil {
		return nil, err
	}
	p.skipBlanks()
	if !p.eat(")") {
		return nil, p.errf("#set: want )")
	}
	return &setNode{target: target, value: v}, nil
}

// ifHeader parses "(expr)" after #if.
func (p *vtlParser) ifHeader() (vtlExpr, error) {
	p.skipBlanks()
	if !p.eat("(") {
		return nil, p.errf("#if: want (")
	}
	cond, err := p.expr()
	if err != nil {
		return nil, err
	}
	p.skipBlanks()
	if !p.eat(")") {
		return nil, p.errf("#if: want )")
	}
	return cond, nil
}

// expr := and ('||' and)* ; and := cmp ('&&' cmp)* ; cmp := operand (('=='|'!=') operand)?
func (p *vtlParser) expr() (vtlExpr, error) {
	l, err := p.and()
	if err != nil {
		return nil, err
	}
	for p.skipBlanks(); p.eat("||"); p.skipBlanks() {
		r, err := p.and()
		if err != nil {
			return nil, err
		}
		l = binExpr{op: "||", l: l, r: r}
	}
	return l, nil
}

func (p *vtlParser) and() (vtlExpr, error) {
	l, err := p.cmp()
	if err != nil {
		return nil, err
	}
	for p.skipBlanks(); p.eat("&&"); p.skipBlanks() {
		r, err := p.cmp()
		if err != nil {
			return nil, err
		}
		l = binExpr{op: "&&", l: l, r: r}
	}
	return l, nil
}

func (p *vtlParser) cmp() (vtlExpr, error) {
	l, err := p.operand()
	if err != nil {
		return nil, err
	}
	p.skipBlanks()
	for _, op := range []string{"==", "!="} {
		if p.eat(op) {
			r, err := p.operand()
			if err != nil {
				return nil, err
			}
			return binExpr{op: op, l: l, r: r}, nil
		}
	}
	return l, nil
}

func (p *vtlParser) operand() (vtlExpr, error) {
	p.skipBlanks()
	if p.pos >= len(p.src) {
		return nil, p.errf("want an operand")
	}
	switch c := p.src[p.pos]; {
	case c == '"' || c == '\'':
		s, err := p.stringLit()
		if err != nil {
			return nil, err
		}
		return litExpr{str(s)}, nil
	case c == '$':
		p.pos++
		ref, err := p.reference()
		if err != nil {
			return nil, err
		}
		return refExpr{ref}, nil
	case c >= '0' && c <= '9':
		start := p.pos
		for p.pos < len(p.src) && p.src[p.pos] >= '0' && p.src[p.pos] <= '9' {
			p.pos++
		}
		return litExpr{value{kind: vNum, s: p.src[start:p.pos]}}, nil
	case p.keyword("true"):
		return litExpr{boolean(true)}, nil
	case p.keyword("false"):
		return litExpr{boolean(false)}, nil
	}
	return nil, p.errf("operand %q is not supported", p.src[p.pos:min(p.pos+10, len(p.src))])
}

// stringLit reads "..." or '...'. A double-quoted string with a reference in it would
// be interpolated by Velocity: refused.
func (p *vtlParser) stringLit() (string, error) {
	q := p.src[p.pos]
	end := strings.IndexByte(p.src[p.pos+1:], q)
	if end < 0 {
		return "", p.errf("unterminated string")
	}
	s := p.src[p.pos+1 : p.pos+1+end]
	if q == '"' && (strings.ContainsAny(s, "$#\\")) {
		return "", p.errf("interpolated string %q is not supported", s)
	}
	p.pos += end + 2
	return s, nil
}

// refPart is one step of a reference: a name, or a method call with string arguments.
type refPart struct {
	name string
	call bool
	args []string
}

// reference parses what follows '$' and resolves it to a supported reference.
func (p *vtlParser) reference() (*vtlRef, error) {
	parts, err := p.chain()
	if err != nil {
		return nil, err
	}
	names := make([]string, len(parts))
	plain := true
	for i, pt := range parts {
		names[i] = pt.name
		plain = plain && !pt.call
	}
	path := strings.Join(names, ".")
	isParams := func(pt refPart, args int) bool { return pt.name == "params" && pt.call && len(pt.args) == args }
	switch root := names[0]; {
	case root == "context" && len(parts) > 1 && plain:
		rest := strings.Join(names[1:], ".")
		if h, ok := strings.CutPrefix(rest, "responseOverride.header."); ok {
			return &vtlRef{kind: "override-header", name: h}, nil
		}
		if rest == "responseOverride.status" {
			return &vtlRef{kind: "override-status"}, nil
		}
		if strings.HasPrefix(rest, "requestOverride.") || strings.HasPrefix(rest, "responseOverride.") {
			break
		}
		return &vtlRef{kind: "context", name: rest}, nil
	case root == "stageVariables" && len(parts) == 2 && plain:
		return &vtlRef{kind: "stage", name: names[1]}, nil
	case root == "input" && len(parts) == 2 && isParams(parts[1], 1):
		return &vtlRef{kind: "param", name: parts[1].args[0]}, nil
	case root == "input" && len(parts) == 4 && isParams(parts[1], 0) && !parts[2].call &&
		(names[2] == "header" || names[2] == "querystring" || names[2] == "path") &&
		names[3] == "get" && parts[3].call && len(parts[3].args) == 1:
		return &vtlRef{kind: "param", in: names[2], name: parts[3].args[0]}, nil
	case len(parts) == 1 && plain && root != "context" && root != "input" && root != "util" && root != "stageVariables":
		return &vtlRef{kind: "var", name: root}, nil
	}
	return nil, p.errf("reference $%s is not supported", path)
}

// chain reads name(.name|.name(args))* after '$'.
func (p *vtlParser) chain() ([]refPart, error) {
	if p.pos < len(p.src) && p.src[p.pos] == '{' {
		return nil, p.errf("${...} references are not supported")
	}
	var parts []refPart
	for {
		start := p.pos
		for p.pos < len(p.src) && isIdentPart(p.src[p.pos]) {
			p.pos++
		}
		if start == p.pos {
			return nil, p.errf("want a name")
		}
		pt := refPart{name: p.src[start:p.pos]}
		if p.eat("(") {
			pt.call = true
			for p.skipBlanks(); !p.eat(")"); p.skipBlanks() {
				if len(pt.args) > 0 && !p.eat(",") {
					return nil, p.errf("want , or )")
				}
				p.skipBlanks()
				if p.pos >= len(p.src) || (p.src[p.pos] != '"' && p.src[p.pos] != '\'') {
					return nil, p.errf("method arguments other than string literals are not supported")
				}
				s, err := p.stringLit()
				if err != nil {
					return nil, err
				}
				pt.args = append(pt.args, s)
			}
		}
		parts = append(parts, pt)
		if p.pos+1 >= len(p.src) || p.src[p.pos] != '.' || !isIdentStart(p.src[p.pos+1]) {
			return parts, nil
		}
		p.pos++
	}
}

func (p *vtlParser) skipBlanks() {
	for p.pos < len(p.src) && strings.IndexByte(" \t\r\n", p.src[p.pos]) >= 0 {
		p.pos++
	}
}

// keyword eats a word that is not the start of a longer name.
func (p *vtlParser) keyword(w string) bool {
	if end := p.pos + len(w); strings.HasPrefix(p.src[p.pos:], w) && (end == len(p.src) || !isIdentPart(p.src[end])) {
		p.pos = end
		return true
	}
	return false
}

func (p *vtlParser) eat(s string) bool {
	if strings.HasPrefix(p.src[p.pos:], s) {
		p.pos += len(s)
		return true
	}
	return false
}

func isIdentStart(c byte) bool { return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' }

func isIdentPart(c byte) bool {
	return isIdentStart(c) || c >= '0' && c <= '9' || c == '_' || c == '-'
}
