package apigw

import (
	"strconv"
	"strings"
)

// A small, explicit interpreter for the Velocity Template Language constructs that
// templates of this project contain: the CORS preflight response template CDK writes
// for more than one allowed origin,
//
//	#set($origin = $input.params().header.get("Origin"))
//	#if($origin == "")
//	  #set($origin = $input.params().header.get("origin"))
//	#end
//	#if($origin == "http://localhost:5173" || ...)
//	  #set($context.responseOverride.header.Access-Control-Allow-Origin = $origin)
//	#end
//
// static request templates ("{ statusCode: 200 }"), and $context references (gateway
// response templates: {"message":$context.error.messageString}). It knows #set, #if
// and #end; string, number and boolean literals; ==, !=, && and ||; the references
// $name, $context.a.b, $context.responseOverride.header.X / .status, $stageVariables.x,
// $input.params().header|querystring|path.get("x") and $input.params("x"). Anything
// else ($util, $input.json, #foreach, #else, comments, escapes, interpolating strings)
// is refused when the template is compiled, so that a template the twin would render
// differently from API Gateway is an error at New.
//
// Semantics: a #set whose right side is null leaves the variable as it was (Velocity
// 1.x); a reference with no value renders as nothing, not as its source text, as API
// Gateway renders them (a missing "$input.params('x')" renders ""). An input parameter
// that is absent is the empty string, which is what CDK's template tests for
// ($origin == ""). A line holding only a directive renders as nothing (no blank line).

type vtl struct{ nodes []vtlNode }

type vtlNode interface{}

type (
	textNode string
	refNode  struct{ ref *vtlRef }
	setNode  struct {
		target *vtlRef
		value  vtlExpr
	}
	ifNode struct {
		cond vtlExpr
		body []vtlNode
	}
)

// vtlRef is a resolved reference.
type vtlRef struct {
	kind string // "var", "context", "override-header", "override-status", "stage", "param"
	name string // variable name, context path, header name, stage variable
	in   string // "param": "header", "querystring", "path", or "" for all three
}

type vtlKind int

const (
	vNull vtlKind = iota
	vStr
	vBool
	vNum
)

type value struct {
	kind vtlKind
	s    string
	b    bool
}

func str(s string) value { return value{kind: vStr, s: s} }

func (v value) String() string {
	switch v.kind {
	case vBool:
		return strconv.FormatBool(v.b)
	case vNull:
		return ""
	}
	return v.s
}

// vtlEnv is what a template reads and writes while rendering.
type vtlEnv interface {
	context(path string) (value, bool)
	stageVariable(name string) (value, bool)
	inputParam(in, name string) (value, bool)
	overrideHeader(name string, v value)
	overrideStatus(v value)
	overriddenHeader(name string) value // null when not overridden
	overriddenStatus() value
}

// compileVTL parses a template.
func compileVTL(src string) (*vtl, error) {
	p := &vtlParser{src: src}
	nodes, err := p.block(false)
	if err != nil {
		return nil, err
	}
	return &vtl{nodes: nodes}, nil
}

// render evaluates the template.
func (t *vtl) render(env vtlEnv) string {
	var b strings.Builder
	vars := map[string]value{}
	renderNodes(&b, t.nodes, env, vars)
	return b.String()
}

func renderNodes(b *strings.Builder, nodes []vtlNode, env vtlEnv, vars map[string]value) {
	for _, n := range nodes {
		switch n := n.(type) {
		case textNode:
			b.WriteString(string(n))
		case *refNode:
			b.WriteString(n.ref.eval(env, vars).String()) // null renders as ""
		case *setNode:
			v := n.value.eval(env, vars)
			if v.kind == vNull {
				continue
			}
			switch n.target.kind {
			case "var":
				vars[n.target.name] = v
			case "override-header":
				env.overrideHeader(n.target.name, v)
			case "override-status":
				env.overrideStatus(v)
			}
		case *ifNode:
			if truthy(n.cond.eval(env, vars)) {
				renderNodes(b, n.body, env, vars)
			}
		}
	}
}

func (r *vtlRef) eval(env vtlEnv, vars map[string]value) value {
	var v value
	var ok bool
	switch r.kind {
	case "var":
		v, ok = vars[r.name]
	case "context":
		v, ok = env.context(r.name)
	case "stage":
		v, ok = env.stageVariable(r.name)
	case "param":
		v, ok = env.inputParam(r.in, r.name)
	case "override-header":
		v, ok = env.overriddenHeader(r.name), true
	case "override-status":
		v, ok = env.overriddenStatus(), true
	}
	if !ok {
		return value{}
	}
	return v
}

func truthy(v value) bool {
	switch v.kind {
	case vNull:
		return false
	case vBool:
		return v.b
	}
	return true
}

// Expressions.

type vtlExpr interface {
	eval(env vtlEnv, vars map[string]value) value
}

type (
	litExpr struct{ v value }
	refExpr struct{ ref *vtlRef }
	binExpr struct {
		op   string
		l, r vtlExpr
	}
)

func (e litExpr) eval(vtlEnv, map[string]value) value          { return e.v }
func (e refExpr) eval(env vtlEnv, vars map[string]value) value { return e.ref.eval(env, vars) }
func boolean(b bool) value                                     { return value{kind: vBool, b: b} }

func (e binExpr) eval(env vtlEnv, vars map[string]value) value {
	switch e.op {
	case "||":
		return boolean(truthy(e.l.eval(env, vars)) || truthy(e.r.eval(env, vars)))
	case "&&":
		return boolean(truthy(e.l.eval(env, vars)) && truthy(e.r.eval(env, vars)))
	}
	l, r := e.l.eval(env, vars), e.r.eval(env, vars)
	eq := l.kind == r.kind && l.String() == r.String()
	if l.kind != vNull && r.kind != vNull && l.kind != r.kind {
		eq = l.String() == r.String() // Velocity compares mixed types by their text
	}
	if e.op == "!=" {
		eq = !eq
	}
	return boolean(eq)
}
