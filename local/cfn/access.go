package cfn

import (
	"fmt"
	"strconv"
	"strings"
)

// Get walks resolved JSON by map keys, and by list indexes given as decimal strings:
// Get(props, "Environment", "Variables", "IMAGES_BUCKET") or Get(props, "Layers", "0").
func Get(v any, path ...string) (any, bool) {
	for _, k := range path {
		switch c := v.(type) {
		case map[string]any:
			var ok bool
			if v, ok = c[k]; !ok {
				return nil, false
			}
		case []any:
			i, err := strconv.Atoi(k)
			if err != nil || i < 0 || i >= len(c) {
				return nil, false
			}
			v = c[i]
		default:
			return nil, false
		}
	}
	return v, true
}

// Str is the string at path; ok is false when it is absent or not a string.
func Str(v any, path ...string) (string, bool) {
	x, ok := Get(v, path...)
	s, isStr := x.(string)
	return s, ok && isStr
}

// Num is the number at path. CloudFormation takes numbers written as strings too
// ("Timeout": "30"), so a numeric string counts.
func Num(v any, path ...string) (float64, bool) {
	x, ok := Get(v, path...)
	if !ok {
		return 0, false
	}
	switch n := x.(type) {
	case float64:
		return n, true
	case string:
		f, err := strconv.ParseFloat(strings.TrimSpace(n), 64)
		return f, err == nil
	}
	return 0, false
}

// Bool is the boolean at path; like CloudFormation, it takes "true" and "false" too.
func Bool(v any, path ...string) (bool, bool) {
	x, ok := Get(v, path...)
	if !ok {
		return false, false
	}
	switch b := x.(type) {
	case bool:
		return b, true
	case string:
		switch strings.ToLower(b) {
		case "true":
			return true, true
		case "false":
			return false, true
		}
	}
	return false, false
}

// StrMap is the object at path as strings (e.g. a function's Environment.Variables).
// Absent is nil and no error; an object with a non-string value, or anything else,
// is an error naming the key.
func StrMap(v any, path ...string) (map[string]string, error) {
	x, ok := Get(v, path...)
	if !ok {
		return nil, nil
	}
	m, ok := x.(map[string]any)
	if !ok {
		return nil, fmt.Errorf("%s is %s, not an object", strings.Join(path, "."), describe(x))
	}
	out := make(map[string]string, len(m))
	for k, e := range m {
		s, ok := e.(string)
		if !ok {
			return nil, fmt.Errorf("%s is %s, not a string", strings.Join(append(path[:len(path):len(path)], k), "."), describe(e))
		}
		out[k] = s
	}
	return out, nil
}

// Strs is the list at path as strings. Absent is nil and no error.
func Strs(v any, path ...string) ([]string, error) {
	x, ok := Get(v, path...)
	if !ok {
		return nil, nil
	}
	l, ok := x.([]any)
	if !ok {
		return nil, fmt.Errorf("%s is %s, not a list", strings.Join(path, "."), describe(x))
	}
	out := make([]string, len(l))
	for i, e := range l {
		s, ok := e.(string)
		if !ok {
			return nil, fmt.Errorf("%s[%d] is %s, not a string", strings.Join(path, "."), i, describe(e))
		}
		out[i] = s
	}
	return out, nil
}
