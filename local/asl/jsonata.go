package asl

import (
	"crypto/md5"
	"crypto/rand"
	"crypto/sha1"
	"crypto/sha256"
	"crypto/sha512"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"hash"
	"math"
	mrand "math/rand/v2"
	"regexp"
	"sort"
	"strconv"
	"strings"

	jsonata "github.com/xiatechs/jsonata-go"
	"github.com/xiatechs/jsonata-go/jtypes"
)

// JSONata states evaluate "{% expression %}" strings with github.com/xiatechs/jsonata-go
// (JSONata 1.5 with most later functions), plus the functions AWS adds ($partition,
// $range, $hash, $random with a seed, $uuid, $parse). DIFFERENCES.md lists what
// differs from AWS's JSONata.

// jsonataExpr is one "{% %}" expression, checked when the definition is parsed and
// compiled afresh at each evaluation (the library binds variables to a compiled
// expression, and executions run concurrently).
type jsonataExpr struct {
	src string
}

// notAWSFunctions are the library's additions that AWS's JSONata does not have: a
// definition calling them fails here as it would on AWS.
var notAWSFunctions = regexp.MustCompile(`\$(accumulatingSlice|dateTimeDim|dateTimeDimLite|hash256|hashmd5|objectsToDocument|objmerge|oneToManyJoin|renameKeys|sjoin|timeSince|unescape)\s*\(`)

// jsonataBody returns the expression of a "{% ... %}" string.
func jsonataBody(s string) (string, bool) {
	t := strings.TrimSpace(s)
	if !strings.HasPrefix(t, "{%") || !strings.HasSuffix(t, "%}") || len(t) < 4 {
		return "", false
	}
	return strings.TrimSpace(t[2 : len(t)-2]), true
}

func compileJSONata(src string) (x *jsonataExpr, err error) {
	if m := notAWSFunctions.FindStringSubmatch(src); m != nil {
		return nil, fmt.Errorf("the JSONata function $%s is not available in Step Functions", m[1])
	}
	defer func() {
		if p := recover(); p != nil { // the library panics on some malformed input
			x, err = nil, fmt.Errorf("the JSONata expression '%s' is invalid: %v", src, p)
		}
	}()
	if _, err := jsonata.Compile(src); err != nil {
		return nil, fmt.Errorf("the JSONata expression '%s' is invalid: %v", src, err)
	}
	return &jsonataExpr{src: src}, nil
}

// queryError is States.QueryEvaluationError for the expression at a field.
func queryError(x *jsonataExpr, field, what string) *stateError {
	return &stateError{name: ErrQueryEvaluation, field: field,
		cause: fmt.Sprintf("The JSONata expression '%s' specified for the field '%s' %s", x.src, field, what)}
}

// eval evaluates the expression with $states and the variables in scope.
func (x *jsonataExpr) eval(env *evalEnv, field string) (v any, err error) {
	defer func() {
		if p := recover(); p != nil { // a library panic is the expression's failure
			v, err = nil, queryError(x, field, fmt.Sprintf("threw an error during evaluation. %v", p))
		}
	}()
	e, err := jsonata.Compile(x.src)
	if err != nil {
		return nil, queryError(x, field, "is invalid: "+err.Error())
	}
	vars := map[string]any{}
	for v := env.vars; v != nil; v = v.parent {
		for k, val := range v.m {
			if _, shadowed := vars[k]; !shadowed {
				vars[k] = toJSONata(val)
			}
		}
	}
	vars["states"] = toJSONata(env.statesVar())
	if err := e.RegisterVars(vars); err != nil {
		return nil, queryError(x, field, "cannot be evaluated: "+err.Error())
	}
	if err := e.RegisterExts(awsJSONataFunctions(env)); err != nil {
		return nil, queryError(x, field, "cannot be evaluated: "+err.Error())
	}
	out, err := e.Eval(toJSONata(env.input))
	switch {
	case errors.Is(err, jsonata.ErrUndefined):
		return nil, queryError(x, field, "returned nothing (undefined).")
	case err != nil:
		return nil, queryError(x, field, "threw an error during evaluation. "+err.Error())
	}
	res, ok := fromJSONata(out)
	if !ok {
		return nil, queryError(x, field, "returned an unsupported result type.")
	}
	return res, nil
}

// statesVar is $states: input, context, and result or errorOutput where they exist.
func (env *evalEnv) statesVar() *object {
	s := objectOf("input", env.stateInput, "context", env.ctx)
	if env.hasResult {
		s.set("result", env.result)
	}
	if env.errorOutput != nil {
		s.set("errorOutput", env.errorOutput)
	}
	return s
}

// toJSONata converts engine values to the library's (maps lose member order).
func toJSONata(v any) any {
	switch x := v.(type) {
	case *object:
		m := make(map[string]any, x.len())
		for i, k := range x.keys {
			m[k] = toJSONata(x.vals[i])
		}
		return m
	case []any:
		out := make([]any, len(x))
		for i, e := range x {
			out[i] = toJSONata(e)
		}
		return out
	case json.Number:
		f, _ := x.Float64()
		return f
	}
	return v
}

// fromJSONata converts a result back; members of objects the expression built come
// out in sorted order (the library keeps no order). ok is false for functions.
func fromJSONata(v any) (any, bool) {
	switch x := v.(type) {
	case nil, bool, string:
		return x, true
	case float64:
		return jsNumber(x), true
	case int:
		return intNumber(int64(x)), true
	case int64:
		return intNumber(x), true
	case map[string]any:
		keys := make([]string, 0, len(x))
		for k := range x {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		o := newObject(len(keys))
		for _, k := range keys {
			e, ok := fromJSONata(x[k])
			if !ok {
				return nil, false
			}
			o.set(k, e)
		}
		return o, true
	case []any:
		out := make([]any, len(x))
		for i, e := range x {
			var ok bool
			if out[i], ok = fromJSONata(e); !ok {
				return nil, false
			}
		}
		return out, true
	}
	// Other Go values (typed slices and maps from the library): through JSON.
	b, err := json.Marshal(v)
	if err != nil {
		return nil, false
	}
	out, err := decodeJSON(b)
	return out, err == nil
}

// jsNumber writes a number as JavaScript (and so JSONata) does: integers without a
// fraction.
func jsNumber(f float64) json.Number {
	if f == math.Trunc(f) && math.Abs(f) < 1e21 {
		return json.Number(strconv.FormatFloat(f, 'f', -1, 64))
	}
	return json.Number(strconv.FormatFloat(f, 'g', -1, 64))
}

// awsJSONataFunctions are the functions Step Functions adds to JSONata
// (https://docs.aws.amazon.com/step-functions/latest/dg/transforming-data.html).
func awsJSONataFunctions(env *evalEnv) map[string]jsonata.Extension {
	return map[string]jsonata.Extension{
		"partition": {Func: func(a []any, size float64) ([]any, error) {
			if size < 1 || size != math.Trunc(size) {
				return nil, errors.New("$partition: the size must be a positive integer")
			}
			out := []any{}
			for i := 0; i < len(a); i += int(size) {
				out = append(out, a[i:min(len(a), i+int(size))])
			}
			return out, nil
		}},
		"range": {Func: func(start, end, step float64) ([]any, error) {
			if step == 0 || start != math.Trunc(start) || end != math.Trunc(end) || step != math.Trunc(step) {
				return nil, errors.New("$range: start, end and a non-zero step must be integers")
			}
			out := []any{}
			for i := start; (step > 0 && i <= end) || (step < 0 && i >= end); i += step {
				if len(out) >= maxRange {
					return nil, fmt.Errorf("$range: more than %d items", maxRange)
				}
				out = append(out, i)
			}
			return out, nil
		}},
		"hash": {Func: func(data any, alg string) (string, error) {
			newHash := map[string]func() hash.Hash{"MD5": md5.New, "SHA-1": sha1.New, "SHA-256": sha256.New, "SHA-384": sha512.New384, "SHA-512": sha512.New}[alg]
			if newHash == nil {
				return "", fmt.Errorf("$hash: unknown algorithm %q", alg)
			}
			s, ok := data.(string)
			if !ok {
				b, _ := json.Marshal(data)
				s = string(b)
			}
			h := newHash()
			h.Write([]byte(s))
			return hex.EncodeToString(h.Sum(nil)), nil
		}},
		"random": {Func: func(seed jtypes.OptionalFloat64) float64 {
			if seed.IsSet() {
				return mrand.New(mrand.NewPCG(uint64(int64(seed.Float64)), 0)).Float64()
			}
			return env.rand()
		}},
		"uuid": {Func: func() (string, error) {
			u, err := newUUID(rand.Read)
			s, _ := u.(string)
			return s, err
		}},
		"parse": {Func: func(s string) (any, error) {
			var v any
			if err := json.Unmarshal([]byte(s), &v); err != nil {
				return nil, fmt.Errorf("$parse: %v", err)
			}
			return v, nil
		}},
	}
}
