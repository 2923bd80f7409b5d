package asl

import (
	"crypto/md5"
	"crypto/rand"
	"crypto/sha1"
	"crypto/sha256"
	"crypto/sha512"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"hash"
	"math"
	mrand "math/rand/v2"
	"strconv"
	"strings"
	"unicode/utf8"
)

// intrinsicFunc is one States.* function: its arity (max -1: unbounded) and its body.
// A body returns a plain error for invalid arguments; eval reports it as
// States.Runtime, as AWS does.
type intrinsicFunc struct {
	min, max int
	fn       func(args []any, env *evalEnv) (any, error)
}

func (f intrinsicFunc) arity() string {
	switch {
	case f.max < 0:
		return fmt.Sprintf("at least %d", f.min)
	case f.min == f.max:
		return strconv.Itoa(f.min)
	}
	return fmt.Sprintf("%d to %d", f.min, f.max)
}

// intrinsicFuncs is the table of functions; the limits are those of the intrinsic
// functions page (https://docs.aws.amazon.com/step-functions/latest/dg/intrinsic-functions.html).
var intrinsicFuncs map[string]intrinsicFunc

func init() {
	intrinsicFuncs = map[string]intrinsicFunc{
		"States.Format":         {1, -1, statesFormat},
		"States.StringToJson":   {1, 1, statesStringToJSON},
		"States.JsonToString":   {1, 1, func(a []any, _ *evalEnv) (any, error) { return encodeString(a[0]), nil }},
		"States.Array":          {0, -1, func(a []any, _ *evalEnv) (any, error) { return append([]any{}, a...), nil }},
		"States.ArrayPartition": {2, 2, statesArrayPartition},
		"States.ArrayContains":  {2, 2, statesArrayContains},
		"States.ArrayRange":     {3, 3, statesArrayRange},
		"States.ArrayGetItem":   {2, 2, statesArrayGetItem},
		"States.ArrayLength":    {1, 1, statesArrayLength},
		"States.ArrayUnique":    {1, 1, statesArrayUnique},
		"States.Base64Encode":   {1, 1, statesBase64Encode},
		"States.Base64Decode":   {1, 1, statesBase64Decode},
		"States.Hash":           {2, 2, statesHash},
		"States.JsonMerge":      {3, 3, statesJSONMerge},
		"States.MathRandom":     {2, 3, statesMathRandom},
		"States.MathAdd":        {2, 2, statesMathAdd},
		"States.StringSplit":    {2, 2, statesStringSplit},
		"States.UUID":           {0, 0, func([]any, *evalEnv) (any, error) { return newUUID(rand.Read) }},
	}
}

func argErr(format string, a ...any) error { return fmt.Errorf(format, a...) }

func statesFormat(args []any, _ *evalEnv) (any, error) {
	tmpl, ok := args[0].(string)
	if !ok {
		return nil, argErr("the template must be a string")
	}
	var b strings.Builder
	next := 1
	for i := 0; i < len(tmpl); i++ {
		ch := tmpl[i]
		if ch == '\\' && i+1 < len(tmpl) && (tmpl[i+1] == '{' || tmpl[i+1] == '}' || tmpl[i+1] == '\\') {
			b.WriteByte(tmpl[i+1])
			i++
			continue
		}
		if ch != '{' || i+1 >= len(tmpl) || tmpl[i+1] != '}' {
			b.WriteByte(ch)
			continue
		}
		if next >= len(args) {
			return nil, argErr("the template has more placeholders than there are arguments")
		}
		switch v := args[next].(type) {
		case string:
			b.WriteString(v)
		case *object, []any:
			return nil, argErr("argument %d is not a string, number, boolean or null", next)
		default:
			b.Write(encodeJSON(v))
		}
		next++
		i++
	}
	if next != len(args) {
		return nil, argErr("%d placeholders for %d arguments", next-1, len(args)-1)
	}
	return b.String(), nil
}

func statesStringToJSON(args []any, _ *evalEnv) (any, error) {
	s, ok := args[0].(string)
	if !ok {
		return nil, argErr("the argument must be a string")
	}
	v, err := decodeJSON([]byte(s))
	if err != nil {
		return nil, argErr("the string is not JSON: %v", err)
	}
	return v, nil
}

func statesArrayPartition(args []any, _ *evalEnv) (any, error) {
	a, ok := args[0].([]any)
	size, ok2 := toInt(args[1])
	if !ok || !ok2 || size <= 0 {
		return nil, argErr("expected an array and a positive integer chunk size")
	}
	out := []any{}
	for i := 0; i < len(a); i += int(size) {
		out = append(out, append([]any{}, a[i:min(len(a), i+int(size))]...))
	}
	return out, nil
}

func statesArrayContains(args []any, _ *evalEnv) (any, error) {
	a, ok := args[0].([]any)
	if !ok {
		return nil, argErr("the first argument must be an array")
	}
	for _, e := range a {
		if jsonEqual(e, args[1]) {
			return true, nil
		}
	}
	return false, nil
}

// maxRange is the documented limit on the items States.ArrayRange may return.
const maxRange = 1000

func statesArrayRange(args []any, _ *evalEnv) (any, error) {
	start, ok1 := toInt(args[0])
	end, ok2 := toInt(args[1])
	step, ok3 := toInt(args[2])
	if !ok1 || !ok2 || !ok3 || step == 0 {
		return nil, argErr("expected integers start, end and a non-zero step")
	}
	out := []any{}
	for i := start; (step > 0 && i <= end) || (step < 0 && i >= end); i += step {
		if len(out) >= maxRange {
			return nil, argErr("the range has more than %d items", maxRange)
		}
		out = append(out, intNumber(i))
	}
	return out, nil
}

// statesArrayGetItem truncates a fractional index toward zero (Java's int
// conversion), as the review's recorded AWS execution did; an index outside the
// array fails.
func statesArrayGetItem(args []any, _ *evalEnv) (any, error) {
	a, ok := args[0].([]any)
	f, ok2 := toFloat(args[1])
	if !ok || !ok2 {
		return nil, argErr("expected an array and a number index")
	}
	i := math.Trunc(f)
	if i < 0 || i >= float64(len(a)) {
		return nil, argErr("the index %s is outside the array of %d items", encodeString(args[1]), len(a))
	}
	return a[int(i)], nil
}

func statesArrayLength(args []any, _ *evalEnv) (any, error) {
	a, ok := args[0].([]any)
	if !ok {
		return nil, argErr("the argument must be an array")
	}
	return intNumber(int64(len(a))), nil
}

func statesArrayUnique(args []any, _ *evalEnv) (any, error) {
	a, ok := args[0].([]any)
	if !ok {
		return nil, argErr("the argument must be an array")
	}
	out := []any{}
outer:
	for _, e := range a {
		for _, o := range out {
			if jsonEqual(e, o) {
				continue outer
			}
		}
		out = append(out, e)
	}
	return out, nil
}

// maxIntrinsicString is the documented limit on Base64 and Hash inputs.
const maxIntrinsicString = 10000

func statesBase64Encode(args []any, _ *evalEnv) (any, error) {
	s, ok := args[0].(string)
	if !ok || len(s) > maxIntrinsicString {
		return nil, argErr("expected a string of at most %d characters", maxIntrinsicString)
	}
	return base64.StdEncoding.EncodeToString([]byte(s)), nil
}

func statesBase64Decode(args []any, _ *evalEnv) (any, error) {
	s, ok := args[0].(string)
	if !ok || len(s) > maxIntrinsicString {
		return nil, argErr("expected a string of at most %d characters", maxIntrinsicString)
	}
	b, err := base64.StdEncoding.DecodeString(s)
	if err != nil || !utf8.Valid(b) {
		return nil, argErr("not base64-encoded UTF-8")
	}
	return string(b), nil
}

var hashes = map[string]func() hash.Hash{
	"MD5": md5.New, "SHA-1": sha1.New, "SHA-256": sha256.New, "SHA-384": sha512.New384, "SHA-512": sha512.New,
}

func statesHash(args []any, _ *evalEnv) (any, error) {
	alg, ok := args[1].(string)
	newHash := hashes[alg]
	if !ok || newHash == nil {
		return nil, argErr("the algorithm %s is not one of MD5, SHA-1, SHA-256, SHA-384, SHA-512", encodeString(args[1]))
	}
	data, ok := args[0].(string)
	if !ok {
		if args[0] == nil {
			return nil, argErr("the data is null")
		}
		data = encodeString(args[0]) // in member order, as AWS serialises it
	}
	if len(data) > maxIntrinsicString {
		return nil, argErr("the data has more than %d characters", maxIntrinsicString)
	}
	h := newHash()
	h.Write([]byte(data))
	return hex.EncodeToString(h.Sum(nil)), nil
}

// statesJSONMerge merges shallowly: the first object's members in order, each
// overridden by the second's value, then the second's new members.
func statesJSONMerge(args []any, _ *evalEnv) (any, error) {
	a, ok1 := args[0].(*object)
	b, ok2 := args[1].(*object)
	deep, ok3 := args[2].(bool)
	if !ok1 || !ok2 || !ok3 {
		return nil, argErr("expected two objects and a boolean")
	}
	if deep {
		return nil, argErr("deep merging is not supported; the third argument must be false")
	}
	out := a.clone()
	for i, k := range b.keys {
		out.set(k, b.vals[i])
	}
	return out, nil
}

func statesMathRandom(args []any, env *evalEnv) (any, error) {
	start, ok1 := toInt(args[0])
	end, ok2 := toInt(args[1])
	if !ok1 || !ok2 || end <= start {
		return nil, argErr("expected integers start < end")
	}
	r := env.rand
	if len(args) == 3 {
		seed, ok := toInt(args[2])
		if !ok {
			return nil, argErr("the seed must be an integer")
		}
		r = mrand.New(mrand.NewPCG(uint64(seed), 0)).Float64
	}
	return intNumber(start + int64(math.Floor(r()*float64(end-start)))), nil
}

// statesMathAdd rounds each argument to the nearest integer with halves rounded up
// (Java's Math.round: 2.5 → 3, -2.5 → -2), as recorded AWS executions show, and
// accepts the 32-bit integer range the documentation gives.
func statesMathAdd(args []any, _ *evalEnv) (any, error) {
	var sum int64
	for _, a := range args {
		f, ok := toFloat(a)
		if !ok {
			return nil, argErr("expected two numbers, got %s", typeName(a))
		}
		n := math.Floor(f + 0.5)
		if n < math.MinInt32 || n > math.MaxInt32 {
			return nil, argErr("%s is outside the range -2147483648 to 2147483647", encodeString(a))
		}
		sum += int64(n)
	}
	return intNumber(sum), nil
}

// statesStringSplit splits on each character of the delimiter string and drops
// empty pieces (the documentation's example).
func statesStringSplit(args []any, _ *evalEnv) (any, error) {
	s, ok1 := args[0].(string)
	d, ok2 := args[1].(string)
	if !ok1 || !ok2 {
		return nil, argErr("expected two strings")
	}
	out := []any{}
	for _, f := range strings.FieldsFunc(s, func(r rune) bool { return strings.ContainsRune(d, r) }) {
		out = append(out, f)
	}
	return out, nil
}

// newUUID is a version 4 UUID from read (crypto/rand.Read in production).
func newUUID(read func([]byte) (int, error)) (any, error) {
	var u [16]byte
	if _, err := read(u[:]); err != nil {
		return nil, errors.New("no randomness for a UUID")
	}
	u[6] = u[6]&0x0f | 0x40
	u[8] = u[8]&0x3f | 0x80
	h := hex.EncodeToString(u[:])
	return h[0:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:], nil
}
