package asl

import (
	"encoding/json"
	"os"
	"path/filepath"
	"testing"
)

func FuzzParse(f *testing.F) {
	files, _ := filepath.Glob("testdata/*.json")
	for _, p := range files {
		if b, err := os.ReadFile(p); err == nil {
			f.Add(b)
		}
	}
	f.Add([]byte(`{"StartAt":"A","States":{"A":{"Type":"Pass","End":true}}}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		sm, err := Parse(b)
		if err == nil && sm == nil {
			t.Fatal("nil machine without error")
		}
	})
}

func FuzzJSONPath(f *testing.F) {
	for _, s := range []string{"$", "$.a.b", "$['x']", "$[0]", "$[*].id", "$[1:3]", "$..n", "$[?(@.x == 1 && @.y)]", "$$.Map.Item.Value", "$.a[-1:]"} {
		f.Add(s)
	}
	doc, _ := decodeJSON([]byte(`{"a":{"b":[1,{"x":1,"y":2},"s"]},"x":[{"x":1},{"x":2}],"n":3}`))
	f.Fuzz(func(t *testing.T, s string) {
		p, err := parsePath(s)
		if err != nil {
			return
		}
		_, _ = evalPath(p, doc)
		if p.reference() {
			_, _ = setPath(doc, p, "v")
		}
	})
}

func FuzzIntrinsic(f *testing.F) {
	for _, s := range []string{"States.Format('a {} b', $.n)", "States.Array(1, 'x', null, true)", "States.ArrayRange(1, 9, 2)", "States.MathAdd(States.ArrayLength($.a), -1)", "States.StringSplit('a,b', ',')"} {
		f.Add(s)
	}
	doc, _ := decodeJSON([]byte(`{"n":1,"a":[1,2]}`))
	f.Fuzz(func(t *testing.T, s string) {
		c, err := parseIntrinsic(s)
		if err != nil {
			return
		}
		_, _ = c.eval(&evalEnv{input: doc, ctx: map[string]any{}, rand: func() float64 { return 0.5 }})
	})
}

// FuzzDecodeJSON: the engine's JSON reader accepts exactly what encoding/json
// accepts, and what it writes reads back the same, in the same member order.
func FuzzDecodeJSON(f *testing.F) {
	for _, s := range []string{`{"b":1,"a":[true,null,"x\u00e9\ud83d\ude00"]}`, `-0.5e+3`, `"\ud800"`, `{"a":1,"a":2}`, `[`, `{"a" 1}`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		v, err := decodeJSON(b)
		if (err == nil) != json.Valid(b) {
			t.Fatalf("decodeJSON error %v, json.Valid %v", err, json.Valid(b))
		}
		if err != nil {
			return
		}
		out := encodeJSON(v)
		if !json.Valid(out) {
			t.Fatalf("wrote invalid JSON %q", out)
		}
		back, err := decodeJSON(out)
		if err != nil || string(encodeJSON(back)) != string(out) {
			t.Fatalf("round trip %q -> %q (%v)", out, encodeJSON(back), err)
		}
	})
}

// FuzzJSONata: no expression makes the engine panic, at parse or at run.
func FuzzJSONata(f *testing.F) {
	for _, s := range []string{"$states.input.a", "$sum([1,2])", "$partition([1],1)", "{'a': $x}", "$range(1,", "$.a[0]"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		x, err := compileJSONata(s)
		if err != nil {
			return
		}
		in, _ := decodeJSON([]byte(`{"a":[1,2],"x":"y"}`))
		_, _ = x.eval(&evalEnv{input: in, stateInput: in, ctx: newObject(0), rand: func() float64 { return 0.5 }}, "Output")
	})
}
