package main

import (
	"testing"

	"github.com/imagepipe/imagepipe/functions/imaging"
	"github.com/imagepipe/imagepipe/functions/labels"
)

func TestConfigFromEnv(t *testing.T) {
	env := func(kv ...string) func(string) string {
		m := map[string]string{}
		for i := 0; i+1 < len(kv); i += 2 {
			m[kv[i]] = kv[i+1]
		}
		return func(k string) string { return m[k] }
	}
	c, err := configFromEnv(env())
	if err != nil || c.labeler.MaxLabels != labels.DefaultMaxLabels || c.labeler.MinConfidence != labels.DefaultMinConfidence || c.limits != imaging.DefaultLimits {
		t.Errorf("defaults: %+v, %v", c, err)
	}
	c, err = configFromEnv(env("MAX_LABELS", "25", "MIN_CONFIDENCE", "55.5", "MAX_SIDE", "8000", "AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "1024"))
	if err != nil || c.labeler.MaxLabels != 25 || c.labeler.MinConfidence != 55.5 || c.limits.MaxSide != 8000 || c.memory.Budget != 704<<20 {
		t.Errorf("set: %+v, %v", c, err)
	}
	for _, bad := range [][]string{
		{"MAX_LABELS", "0"}, {"MAX_LABELS", "1001"}, {"MAX_LABELS", "ten"},
		{"MIN_CONFIDENCE", "-1"}, {"MIN_CONFIDENCE", "100.5"}, {"MIN_CONFIDENCE", "NaN"},
		{"MAX_PIXELS", "-5"}, {"AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "big"}, {"MAX_DECODED_BYTES", "-1"},
	} {
		if _, err := configFromEnv(env(bad...)); err == nil {
			t.Errorf("%s=%s: no error", bad[0], bad[1])
		}
	}
}
