package cfn

import (
	"reflect"
	"strings"
	"testing"
)

func TestAccessors(t *testing.T) {
	props := j(t, `{
		"Environment": {"Variables": {"A": "1", "B": "two"}},
		"Bad": {"Variables": {"N": 3}},
		"MemorySize": 128, "Timeout": "30", "Flag": "True", "On": true,
		"Layers": ["x", "y"], "Mixed": ["x", 1],
		"Deep": {"List": [{"Name": "first"}]}
	}`)
	if s, ok := Str(props, "Deep", "List", "0", "Name"); !ok || s != "first" {
		t.Errorf("Str through a list = %q, %v", s, ok)
	}
	for _, p := range [][]string{{"Nope"}, {"MemorySize"}, {"Layers", "2"}, {"Layers", "x"}, {"Environment", "Variables", "A", "deeper"}} {
		if s, ok := Str(props, p...); ok {
			t.Errorf("Str(%v) = %q, want not ok", p, s)
		}
	}
	if v, ok := Get(props); !ok || !reflect.DeepEqual(v, props) {
		t.Error("Get with no path is the value itself")
	}
	for p, want := range map[string]float64{"MemorySize": 128, "Timeout": 30} {
		if n, ok := Num(props, p); !ok || n != want {
			t.Errorf("Num(%s) = %v, %v", p, n, ok)
		}
	}
	if _, ok := Num(props, "Flag"); ok {
		t.Error(`Num("True") is not a number`)
	}
	for p, want := range map[string]bool{"Flag": true, "On": true} {
		if b, ok := Bool(props, p); !ok || b != want {
			t.Errorf("Bool(%s) = %v, %v", p, b, ok)
		}
	}
	if _, ok := Bool(props, "MemorySize"); ok {
		t.Error("Bool(128) is not a boolean")
	}

	env, err := StrMap(props, "Environment", "Variables")
	if err != nil || !reflect.DeepEqual(env, map[string]string{"A": "1", "B": "two"}) {
		t.Errorf("StrMap = %v, %v", env, err)
	}
	if m, err := StrMap(props, "Nope"); m != nil || err != nil {
		t.Errorf("StrMap(absent) = %v, %v", m, err)
	}
	if _, err := StrMap(props, "Bad", "Variables"); err == nil || err.Error() != "Bad.Variables.N is 3, not a string" {
		t.Errorf("StrMap(non-string) error = %v", err)
	}
	if _, err := StrMap(props, "Layers"); err == nil || !strings.Contains(err.Error(), "Layers is a list, not an object") {
		t.Errorf("StrMap(list) error = %v", err)
	}

	layers, err := Strs(props, "Layers")
	if err != nil || !reflect.DeepEqual(layers, []string{"x", "y"}) {
		t.Errorf("Strs = %v, %v", layers, err)
	}
	if _, err := Strs(props, "Mixed"); err == nil || err.Error() != "Mixed[1] is 1, not a string" {
		t.Errorf("Strs(mixed) error = %v", err)
	}
	if _, err := Strs(props, "Environment"); err == nil {
		t.Error("Strs(object): want an error")
	}
	if l, err := Strs(props, "Nope"); l != nil || err != nil {
		t.Errorf("Strs(absent) = %v, %v", l, err)
	}
}
