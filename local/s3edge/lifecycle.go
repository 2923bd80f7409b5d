package s3edge

import (
	"encoding/json"
	"math"
	"strconv"
	"strings"
)

// AbortIncompleteUploadDays reads the AbortIncompleteMultipartUpload rules of a
// bucket's CloudFormation LifecycleConfiguration (the resolved template's
// Properties.LifecycleConfiguration) and returns, for a key, the days after which
// its incomplete uploads are aborted: the smallest DaysAfterInitiation of the
// enabled rules whose Prefix the key has, 0 (never) when none applies. A rule
// with TagFilters never applies: uploads carry no tags.
func AbortIncompleteUploadDays(lifecycle any) func(key string) int {
	type rule struct {
		prefix string
		days   int
	}
	var rules []rule
	lc, _ := lifecycle.(map[string]any)
	list, _ := lc["Rules"].([]any)
	for _, item := range list {
		m, _ := item.(map[string]any)
		if status, _ := m["Status"].(string); status != "Enabled" || m["TagFilters"] != nil {
			continue
		}
		abort, _ := m["AbortIncompleteMultipartUpload"].(map[string]any)
		days := toInt(abort["DaysAfterInitiation"])
		if days <= 0 {
			continue
		}
		prefix, _ := m["Prefix"].(string)
		rules = append(rules, rule{prefix, days})
	}
	return func(key string) int {
		best := 0
		for _, r := range rules {
			if strings.HasPrefix(key, r.prefix) && (best == 0 || r.days < best) {
				best = r.days
			}
		}
		return best
	}
}

// toInt reads a template number, which a resolved template may hold as a JSON
// number or a string.
func toInt(v any) int {
	switch n := v.(type) {
	case float64:
		if n > 0 && n < math.MaxInt32 {
			return int(n)
		}
	case int:
		return n
	case json.Number:
		i, _ := strconv.Atoi(string(n))
		return i
	case string:
		i, _ := strconv.Atoi(n)
		return i
	}
	return 0
}
