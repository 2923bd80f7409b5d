package asl

import (
	"reflect"
	"testing"
)

// Filters combine with && (binding tighter) and ||, and ! negates.
func TestFilterLogic(t *testing.T) {
	doc, _ := decodeJSON([]byte(`{"items": [{"n": 1, "c": "red"}, {"n": 2, "c": "blue"}, {"n": 3, "c": "red"}, {"n": 4, "c": "green"}]}`))
	for _, c := range []struct {
		path string
		want []float64
	}{
		{`$.items[?(@.c == 'red' && @.n > 1)].n`, []float64{3}},
		{`$.items[?(@.c == 'blue' || @.n == 4)].n`, []float64{2, 4}},
		{`$.items[?(@.n == 1 || @.c == 'red' && @.n > 2)].n`, []float64{1, 3}},
		{`$.items[?(!(@.c == 'red'))].n`, []float64{2, 4}},
	} {
		p, err := parsePath(c.path)
		if err != nil {
			t.Fatalf("%s: %v", c.path, err)
		}
		got, err := evalPath(p, doc)
		if err != nil {
			t.Fatalf("%s: %v", c.path, err)
		}
		var nums []float64
		for _, v := range got.([]any) {
			f, _ := toFloat(v)
			nums = append(nums, f)
		}
		if !reflect.DeepEqual(nums, c.want) {
			t.Errorf("%s = %v, want %v", c.path, nums, c.want)
		}
	}
}
