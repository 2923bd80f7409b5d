package imaging

import (
	"fmt"
	"strconv"
)

// LimitsFromEnv reads MAX_OBJECT_BYTES, MAX_PIXELS, MAX_SIDE and MAX_DECODED_BYTES
// (0, the default: the process budget alone) through getenv
// (os.Getenv in a Lambda main), defaulting each unset one; a malformed or
// non-positive value is an error so that a misconfigured function fails at start.
func LimitsFromEnv(getenv func(string) string) (Limits, error) {
	lim := DefaultLimits
	for _, v := range []struct {
		name string
		dst  *int64
	}{{"MAX_OBJECT_BYTES", &lim.MaxBytes}, {"MAX_PIXELS", &lim.MaxPixels}, {"MAX_DECODED_BYTES", &lim.MaxDecodedBytes}} {
		n, err := EnvInt(getenv, v.name, *v.dst)
		if err != nil {
			return lim, err
		}
		*v.dst = n
	}
	side, err := EnvInt(getenv, "MAX_SIDE", int64(lim.MaxSide))
	if err != nil {
		return lim, err
	}
	lim.MaxSide = int(side)
	return lim, nil
}

// EnvInt reads a positive integer variable, or def when it is unset. Zero is allowed
// only when def is zero (a feature switched off).
func EnvInt(getenv func(string) string, name string, def int64) (int64, error) {
	s := getenv(name)
	if s == "" {
		return def, nil
	}
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil || n < 0 || (n == 0 && def != 0) || n > 1<<40 {
		return 0, fmt.Errorf("%s=%q: want a positive integer", name, s)
	}
	return n, nil
}
