package opensearch

import (
	"encoding/json"
	"math"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/blevesearch/bleve/v2"
	"github.com/blevesearch/bleve/v2/search/query"
)

// rangeOps are the range query's bounds the twin serves; whether each is inclusive,
// and whether OpenSearch rounds a date with missing components up (to the last
// millisecond they leave open) or down for it
// (https://docs.opensearch.org/latest/query-dsl/term/range/, "Missing date
// components"; gt and lte round up, gte and lt down).
var rangeOps = map[string]struct{ inclusive, lower, roundUp bool }{
	"gte": {inclusive: true, lower: true},
	"gt":  {lower: true, roundUp: true},
	"lte": {inclusive: true, roundUp: true},
	"lt":  {},
}

// rangeQuery: {"<field>": {"gte"|"gt"|"lte"|"lt": value, ...}} on a date or number
// field. Dates are read in the field's default format (strict_date_optional_time
// ||epoch_millis); format, time_zone, relation, boost, date math and ranges on
// text or keyword fields are outside the subset.
func (c *compiler) rangeQuery(body json.RawMessage) (query.Query, error) {
	path, v, err := single(body, "range")
	if err != nil {
		return nil, err
	}
	params, err := objectOf(v, "[range]")
	if err != nil {
		return nil, err
	}
	if err := onlyKeys(params, "[range]", "gte", "gt", "lte", "lt"); err != nil {
		return nil, err
	}
	for _, pair := range [][2]string{{"gt", "gte"}, {"lt", "lte"}} {
		// OpenSearch keeps whichever comes last in the body: order the twin does not keep.
		if params[pair[0]] != nil && params[pair[1]] != nil {
			return nil, unsupported("[range] with both [%s] and [%s] is", pair[0], pair[1])
		}
	}
	f := c.m.lookup(path)
	switch {
	case f == nil:
		return nil, nil // an unmapped field matches nothing
	case f.Type != "date" && !numericTypes[f.Type]:
		return nil, unsupported("[range] on a field of type [%s] ([%s]) is", f.Type, path)
	}
	var lo, hi *float64
	var incLo, incHi *bool
	for op, how := range rangeOps {
		raw, ok := params[op]
		if !ok || string(raw) == "null" { // null is no bound, as in OpenSearch
			continue
		}
		var n float64
		if f.Type == "date" {
			n, err = c.dateBound(raw, how.roundUp)
		} else {
			n, err = numericBound(f.Type, raw)
		}
		if err != nil {
			return nil, err
		}
		inc := how.inclusive
		if how.lower {
			lo, incLo = &n, &inc
		} else {
			hi, incHi = &n, &inc
		}
	}
	if lo == nil && hi == nil {
		// No bound: every document with a value, as OpenSearch answers it.
		return termOn(fieldNamesField, path), nil
	}
	q := bleve.NewNumericRangeInclusiveQuery(lo, hi, incLo, incHi)
	q.SetField(path)
	return q, nil
}

// numericBound reads a range bound on a number field: a number or a numeric string.
func numericBound(typ string, raw json.RawMessage) (float64, error) {
	s, ok := scalarText(raw)
	if !ok {
		return 0, parsing("[range] bounds must be numbers or strings")
	}
	n, err := strconv.ParseFloat(s, 64)
	if err != nil || math.IsInf(n, 0) || math.IsNaN(n) {
		return 0, illegalArgument("For input string: \"%s\"", s)
	}
	if _, ok := number(typ, raw); !ok {
		return 0, illegalArgument("Value [%s] is out of range for %s", s, typ)
	}
	return n, nil
}

// dateRoundUp is how far OpenSearch moves a date up when rounding up, by the
// layout it was read with: missing hours become 23, minutes and seconds 59, the
// fraction .999 (the date field's resolution is the millisecond); a missing month
// or day stays 01, as OpenSearch fills it. Layouts with seconds round up only when
// the fraction is absent.
var dateRoundUp = map[string]time.Duration{
	"2006-01-02T15:04Z07:00": time.Minute - time.Millisecond,
	"2006-01-02T15:04":       time.Minute - time.Millisecond,
	"2006-01-02T15Z07:00":    time.Hour - time.Millisecond,
	"2006-01-02T15":          time.Hour - time.Millisecond,
	"2006-01-02":             24*time.Hour - time.Millisecond,
	"2006-01":                24*time.Hour - time.Millisecond,
	"2006":                   24*time.Hour - time.Millisecond,
}

// dateBound reads a range bound on a date field as epoch milliseconds: a number or
// a string of digits is epoch_millis, any other string strict_date_optional_time.
func (c *compiler) dateBound(raw json.RawMessage, roundUp bool) (float64, error) {
	s, ok := scalarText(raw)
	if !ok || s == "true" || s == "false" {
		return 0, parsing("[range] bounds on a date must be strings or numbers")
	}
	if strings.HasPrefix(s, "now") || strings.Contains(s, "||") {
		return 0, unsupported("date math ([%s]) in [range] is", s)
	}
	if raw[0] != '"' || isDigits(s) && len(s) > 4 {
		n, err := strconv.ParseInt(s, 10, 64)
		if err != nil {
			return 0, c.badDate(s)
		}
		return float64(n), nil
	}
	for _, l := range dateLayouts {
		t, err := time.Parse(l, s)
		if err != nil {
			continue
		}
		ms := t.UnixMilli()
		if roundUp {
			up, partial := dateRoundUp[l]
			if !partial && !strings.Contains(s, ".") {
				up = time.Second - time.Millisecond // seconds without a fraction
			}
			ms += up.Milliseconds()
		}
		return float64(ms), nil
	}
	return 0, c.badDate(s)
}

// badDate is OpenSearch's answer to a range bound its date format cannot read.
func (c *compiler) badDate(s string) error {
	return shardFailure(c.ix, &apiError{status: http.StatusBadRequest, typ: "parse_exception",
		reason: "failed to parse date field [" + s + "] with format [strict_date_optional_time||epoch_millis]"})
}
