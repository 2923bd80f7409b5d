package asl

import (
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
