package apigw

import (
	"fmt"
	"sort"
	"strings"
)

// node is one API Gateway resource: a path part under its parent, and its methods.
type node struct {
	id   string // the resource id (requestContext.resourceId)
	part string // "images", "{id}", "{proxy+}"; "" for the root
	path string // "/images/{id}"

	literal map[string]*node
	param   *node  // the {name} child, at most one
	greedy  *node  // the {name+} child, at most one
	name    string // the parameter this node binds, for {name} and {name+}

	methods map[string]*method // by HttpMethod, "ANY" included
}

func newNode(id, part, path string) *node {
	return &node{id: id, part: part, path: path, literal: map[string]*node{}, methods: map[string]*method{}}
}

// walk visits n and its descendants, parents first, siblings in path order.
func (n *node) walk(f func(*node)) {
	f(n)
	kids := make([]*node, 0, len(n.literal)+2)
	for _, k := range n.literal {
		kids = append(kids, k)
	}
	sort.Slice(kids, func(i, j int) bool { return kids[i].part < kids[j].part })
	for _, k := range append(kids, n.param, n.greedy) {
		if k != nil {
			k.walk(f)
		}
	}
}

// readTree builds the resource tree. The root resource is not declared in templates
// (it comes with the REST API, as its RootResourceId): it is the one parent that is
// not itself a declared resource.
func (a *API) readTree(t template) (*node, error) {
	type decl struct {
		r            *Resource
		parent, part string
	}
	decls := map[string]*decl{}
	for _, r := range t["AWS::ApiGateway::Resource"] {
		p := newProps(r)
		if err := a.sameAPI(p); err != nil {
			return nil, err
		}
		d := &decl{r: r}
		var err error
		if d.parent, err = p.str("ParentId"); err != nil {
			return nil, err
		}
		if d.part, err = p.str("PathPart"); err != nil {
			return nil, err
		}
		if err := p.check(); err != nil {
			return nil, err
		}
		if r.PhysicalID == "" || decls[r.PhysicalID] != nil {
			return nil, fmt.Errorf("apigw: %s: resource id %q is empty or not unique", r.LogicalID, r.PhysicalID)
		}
		decls[r.PhysicalID] = d
	}
	rootID, err := a.rootID(t, func(id string) bool { return decls[id] != nil })
	if err != nil {
		return nil, err
	}
	root := newNode(rootID, "", "/")
	nodes := map[string]*node{rootID: root}
	// place attaches a declared resource under its (placed) parent; depth bounds the
	// recursion against a ParentId cycle.
	var place func(id string, depth int) (*node, error)
	place = func(id string, depth int) (*node, error) {
		if n := nodes[id]; n != nil {
			return n, nil
		}
		d := decls[id]
		if d == nil || depth > len(decls) {
			return nil, fmt.Errorf("apigw: resource %q: parent chain does not reach the root", id)
		}
		parent, err := place(d.parent, depth+1)
		if err != nil {
			return nil, err
		}
		n, err := attach(parent, id, d.part)
		if err != nil {
			return nil, fmt.Errorf("apigw: %s: %w", d.r.LogicalID, err)
		}
		nodes[id] = n
		return n, nil
	}
	ids := make([]string, 0, len(decls))
	for id := range decls {
		ids = append(ids, id)
	}
	sort.Strings(ids)
	for _, id := range ids {
		if _, err := place(id, 0); err != nil {
			return nil, err
		}
	}
	return root, nil
}

// rootID finds the root resource's id: the ParentId or method ResourceId that is not a
// declared resource. More than one such id would be resources of another API.
func (a *API) rootID(t template, declared func(string) bool) (string, error) {
	found := map[string]bool{}
	for _, r := range t["AWS::ApiGateway::Resource"] {
		if id, _ := r.Properties["ParentId"].(string); !declared(id) {
			found[id] = true
		}
	}
	for _, r := range t["AWS::ApiGateway::Method"] {
		if id, _ := r.Properties["ResourceId"].(string); !declared(id) {
			found[id] = true
		}
	}
	if len(found) > 1 {
		ids := make([]string, 0, len(found))
		for id := range found {
			ids = append(ids, id)
		}
		sort.Strings(ids)
		return "", fmt.Errorf("apigw: resources hang from more than one unknown parent %q: only the root may be undeclared", ids)
	}
	for id := range found {
		if id == "" {
			return "", fmt.Errorf("apigw: a resource or method names no parent resource")
		}
		return id, nil
	}
	return a.id + "-root", nil // no resources, no methods: the root has no visible id
}

// attach adds a child for one path part, with API Gateway's rules: one variable child
// per parent, a greedy part only last.
func attach(parent *node, id, part string) (*node, error) {
	if _, greedy, _ := parsePart(parent.part); greedy {
		return nil, fmt.Errorf("path part %q: %s is greedy and can have no children", part, parent.path)
	}
	path := strings.TrimSuffix(parent.path, "/") + "/" + part
	n := newNode(id, part, path)
	switch name, greedy, variable := parsePart(part); {
	case part == "" || strings.ContainsAny(part, "/"):
		return nil, fmt.Errorf("invalid path part %q", part)
	case variable:
		if name == "" || parent.param != nil || parent.greedy != nil {
			return nil, fmt.Errorf("path part %q: invalid, or a sibling already has a variable path part", part)
		}
		n.name = name
		if greedy {
			parent.greedy = n
		} else {
			parent.param = n
		}
	default:
		if strings.ContainsAny(part, "{}") {
			return nil, fmt.Errorf("invalid path part %q", part)
		}
		if parent.literal[part] != nil {
			return nil, fmt.Errorf("path part %q is declared twice under %s", part, parent.path)
		}
		parent.literal[part] = n
	}
	return n, nil
}

// parsePart reads "{name}" and "{name+}".
func parsePart(part string) (name string, greedy, variable bool) {
	if !strings.HasPrefix(part, "{") || !strings.HasSuffix(part, "}") {
		return "", false, false
	}
	name = part[1 : len(part)-1]
	if strings.HasSuffix(name, "+") {
		name, greedy = strings.TrimSuffix(name, "+"), true
	}
	if strings.ContainsAny(name, "{}+") {
		return "", false, true
	}
	return name, greedy, true
}

// route finds the method for a request path (as sent, percent-encoded) and method.
// As API Gateway does, it ignores a trailing slash, prefers a literal path part to a
// {variable} to a {greedy+} one, and answers with the most specific resource that
// matches the path: a method missing there is not looked for on a less specific
// resource. Path parameter values are passed as sent, still percent-encoded, as REST
// APIs pass them.
func (a *API) route(path, httpMethod string) (*method, map[string]string, bool) {
	trimmed := strings.Trim(path, "/")
	var segs []string
	if trimmed != "" {
		segs = strings.Split(trimmed, "/")
	}
	params := map[string]string{}
	n := match(a.root, segs, params)
	if n == nil {
		return nil, nil, false
	}
	m := n.methods[httpMethod]
	if m == nil {
		m = n.methods["ANY"]
	}
	if m == nil {
		return nil, nil, false
	}
	if len(params) == 0 {
		params = nil
	}
	return m, params, true
}

// match descends from n along segs, backtracking from a literal to a variable to a
// greedy child when the more specific branch does not reach the end of the path.
func match(n *node, segs []string, params map[string]string) *node {
	if len(segs) == 0 {
		return n
	}
	seg := segs[0]
	if seg == "" {
		return nil
	}
	if k := n.literal[seg]; k != nil {
		if got := match(k, segs[1:], params); got != nil {
			return got
		}
	}
	if k := n.param; k != nil {
		if got := match(k, segs[1:], params); got != nil {
			params[k.name] = seg
			return got
		}
	}
	if k := n.greedy; k != nil {
		for _, s := range segs {
			if s == "" {
				return nil
			}
		}
		params[k.name] = strings.Join(segs, "/")
		return k
	}
	return nil
}
