package apigw

// callEnv is what a mapping template sees of a request, and the overrides it makes.
type callEnv struct {
	c       *call
	headers map[string]string // $context.responseOverride.header.<name>
	order   []string          // header names in the order first set
	status  value             // $context.responseOverride.status
}

func newCallEnv(c *call) *callEnv { return &callEnv{c: c, headers: map[string]string{}} }

func (e *callEnv) context(path string) (value, bool) {
	s, ok := e.c.contextVar(path)
	if !ok {
		return value{}, false
	}
	return str(s), true
}

func (e *callEnv) stageVariable(name string) (value, bool) {
	s, ok := e.c.a.stageVariables[name]
	return str(s), ok
}

// inputParam is $input.params().<in>.get(name), or $input.params(name) (in == ""),
// which searches the path, the query string and the headers in that order; an absent
// parameter is "". Header names match case-insensitively: Go's server hands the twin
// canonical names only, so get("origin") and get("Origin") both find an Origin header.
func (e *callEnv) inputParam(in, name string) (value, bool) {
	if in == "" || in == "path" {
		if v, ok := e.c.pathParams[name]; ok {
			return str(v), true
		}
	}
	if in == "" || in == "querystring" {
		if v, ok := e.c.query.single[name]; ok {
			return str(v), true
		}
	}
	if in == "" || in == "header" {
		if vs := e.c.r.Header.Values(name); len(vs) > 0 {
			return str(vs[0]), true
		}
	}
	return str(""), true
}

func (e *callEnv) overrideHeader(name string, v value) {
	if _, seen := e.headers[name]; !seen {
		e.order = append(e.order, name)
	}
	e.headers[name] = v.String()
}

func (e *callEnv) overrideStatus(v value) { e.status = v }

func (e *callEnv) overriddenStatus() value { return e.status }

func (e *callEnv) overriddenHeader(name string) value {
	if v, ok := e.headers[name]; ok {
		return str(v)
	}
	return value{}
}
