package apigw

import (
	"strings"
	"testing"
)

// mapEnv is a vtlEnv over plain maps.
type mapEnv struct {
	ctx, stage, headers, query map[string]string
	overrides                  map[string]string
	status                     value
}

func (e *mapEnv) context(p string) (value, bool) { v, ok := e.ctx[p]; return str(v), ok }
func (e *mapEnv) stageVariable(n string) (value, bool) {
	v, ok := e.stage[n]
	return str(v), ok
}
func (e *mapEnv) inputParam(in, name string) (value, bool) {
	if in == "header" || in == "" {
		if v, ok := e.headers[name]; ok {
			return str(v), true
		}
	}
	if in == "querystring" || in == "" {
		if v, ok := e.query[name]; ok {
			return str(v), true
		}
	}
	return str(""), true // as callEnv: an absent parameter is ""
}
func (e *mapEnv) overrideHeader(n string, v value) { e.overrides[n] = v.String() }
func (e *mapEnv) overrideStatus(v value)           { e.status = v }
func (e *mapEnv) overriddenStatus() value          { return e.status }
func (e *mapEnv) overriddenHeader(n string) value {
	if v, ok := e.overrides[n]; ok {
		return str(v)
	}
	return value{}
}

func newMapEnv(headers map[string]string) *mapEnv {
	return &mapEnv{ctx: map[string]string{"error.messageString": `"Forbidden"`, "requestId": "r-1"},
		stage: map[string]string{"v": "1"}, headers: headers, query: map[string]string{"q": "cat"},
		overrides: map[string]string{}}
}

func TestCORSTemplate(t *testing.T) {
	tpl, err := compileVTL(corsTemplate)
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		headers map[string]string
		want    string // the override, "" for none
	}{
		{map[string]string{"Origin": "http://localhost:5173"}, "http://localhost:5173"},
		{map[string]string{"origin": "http://localhost:5173"}, "http://localhost:5173"}, // the lower-case fallback
		{map[string]string{"Origin": "https://evil.example"}, ""},
		{map[string]string{"Origin": ""}, ""},
		{nil, ""},
	} {
		env := newMapEnv(tc.headers)
		out := tpl.render(env)
		if out != "" {
			t.Errorf("%v: output %q, want nothing (every line is a directive)", tc.headers, out)
		}
		if got := env.overrides["Access-Control-Allow-Origin"]; got != tc.want {
			t.Errorf("%v: override %q, want %q", tc.headers, got, tc.want)
		}
	}
}

// CDK writes || for three or more origins.
func TestCORSTemplateManyOrigins(t *testing.T) {
	src := strings.Replace(corsTemplate, `#if($origin == "http://localhost:5173")`,
		`#if($origin == "http://localhost:5173" || $origin == "https://b.example" || $origin == "https://c.example")`, 1)
	tpl, err := compileVTL(src)
	if err != nil {
		t.Fatal(err)
	}
	for origin, want := range map[string]string{"https://c.example": "https://c.example", "https://d.example": ""} {
		env := newMapEnv(map[string]string{"Origin": origin})
		tpl.render(env)
		if got := env.overrides["Access-Control-Allow-Origin"]; got != want {
			t.Errorf("%s: override %q, want %q", origin, got, want)
		}
	}
}

func TestVTLRender(t *testing.T) {
	for _, tc := range []struct{ src, want string }{
		{`{"message":$context.error.messageString}`, `{"message":"Forbidden"}`},
		{"{ statusCode: 200 }", "{ statusCode: 200 }"},
		{`$context.requestId/$stageVariables.v/$input.params('q')/$input.params().querystring.get("q")`, "r-1/1/cat/cat"},
		{`[$missing][$!missing][$context.nothing][$input.params('nope')]`, `[][][][]`},
		{"a\n#set($x = \"y\")\nb $x\n  #if($x != 'y')\nno\n  #end\nc", "a\nb y\nc"},
		{"#set($x = $input.params().header.get(\"Nope\"))[$x]", "[]"},
		{"#set($x = 'k')#set($x = $context.nothing)$x", "k"}, // a null #set changes nothing
		{"#if(true && !false)x#end", ""},                     // unreachable: '!' is refused below
		{"price: $5 # not a directive", "price: $5 # not a directive"},
		{"#set($context.responseOverride.status = 418)#if($context.responseOverride.status == 418)teapot#end", "teapot"},
	} {
		tpl, err := compileVTL(tc.src)
		if tc.src == "#if(true && !false)x#end" {
			if err == nil {
				t.Errorf("%q compiled", tc.src)
			}
			continue
		}
		if err != nil {
			t.Errorf("%q: %v", tc.src, err)
			continue
		}
		if got := tpl.render(newMapEnv(nil)); got != tc.want {
			t.Errorf("%q rendered %q, want %q", tc.src, got, tc.want)
		}
	}
}

func TestVTLRefused(t *testing.T) {
	for _, src := range []string{
		`$util.escapeJavaScript($x)`,
		`$input.json('$')`,
		`$input.body`,
		`$input.params()`,
		`${x}`,
		`#foreach($a in $b)#end`,
		`#if($a)x#else y#end`,
		`## a comment`,
		`#* block *#`,
		`\$escaped`,
		`#set($x = "$y")`,
		`#set($context.requestId = 'x')`,
		`#if($a == 'b')unterminated`,
		`x#end`,
		`$context.requestOverride.header.x`,
	} {
		if _, err := compileVTL(src); err == nil {
			t.Errorf("%q compiled", src)
		}
	}
}
