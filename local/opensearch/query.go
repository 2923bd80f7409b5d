package opensearch

import (
	"encoding/json"
	"math"
	"slices"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/blevesearch/bleve/v2"
	"github.com/blevesearch/bleve/v2/search/query"
)

// maxExpansions is match_phrase_prefix's default max_expansions: the last word
// stands for at most this many indexed terms, the first in term order.
const maxExpansions = 50

// compiler turns OpenSearch query clauses into bleve queries. A nil query.Query
// stands for a clause that matches nothing (bleve's boolean query would read a
// match-none "must" as absent).
type compiler struct {
	ix *index
	m  *mappings
}

// compile reads one clause: {"<kind>": {...}}.
func (c *compiler) compile(raw json.RawMessage) (query.Query, error) {
	m, err := objectOf(raw, "a query")
	if err != nil {
		return nil, err
	}
	if len(m) != 1 {
		return nil, parsing("a query clause must hold exactly one query, not %d", len(m))
	}
	for kind, body := range m {
		switch kind {
		case "match_all":
			return c.matchAll(body)
		case "bool":
			return c.boolQuery(body)
		case "exists":
			return c.exists(body)
		case "term":
			return c.term(body)
		case "terms":
			return c.terms(body)
		case "multi_match":
			return c.multiMatch(body)
		case "match_phrase_prefix":
			return c.phrasePrefix(body)
		case "prefix":
			return c.prefix(body)
		case "range":
			return c.rangeQuery(body)
		}
		return nil, unsupported("the query clause [%s] is", kind)
	}
	return nil, nil // unreachable: one key
}

func (c *compiler) matchAll(body json.RawMessage) (query.Query, error) {
	m, err := objectOf(body, "[match_all]")
	if err != nil {
		return nil, err
	}
	if len(m) > 0 {
		return nil, unsupported("[match_all] with parameters is")
	}
	return bleve.NewMatchAllQuery(), nil
}

// clauses reads a bool section: one clause or an array of them.
func (c *compiler) clauses(raw json.RawMessage) ([]query.Query, []bool, error) {
	if raw == nil {
		return nil, nil, nil
	}
	var list []json.RawMessage
	if err := json.Unmarshal(raw, &list); err != nil {
		list = []json.RawMessage{raw}
	}
	var out []query.Query
	var none []bool
	for _, r := range list {
		q, err := c.compile(r)
		if err != nil {
			return nil, nil, err
		}
		out = append(out, q)
		none = append(none, q == nil)
	}
	return out, none, nil
}

// boolQuery follows OpenSearch's bool: every must and filter clause, none of the
// must_not ones, and at least minimum_should_match should clauses (default 1 when
// there is no must or filter, else 0).
func (c *compiler) boolQuery(body json.RawMessage) (query.Query, error) {
	m, err := objectOf(body, "[bool]")
	if err != nil {
		return nil, err
	}
	if err := onlyKeys(m, "[bool]", "must", "filter", "should", "must_not", "minimum_should_match"); err != nil {
		return nil, err
	}
	var must, should, mustNot []query.Query
	for _, k := range []string{"must", "filter"} {
		qs, none, err := c.clauses(m[k])
		if err != nil {
			return nil, err
		}
		if slices.Contains(none, true) {
			return nil, nil
		}
		must = append(must, qs...)
	}
	qs, _, err := c.clauses(m["should"])
	if err != nil {
		return nil, err
	}
	should = slices.DeleteFunc(qs, func(q query.Query) bool { return q == nil })
	nShould := len(qs)
	if qs, _, err = c.clauses(m["must_not"]); err != nil {
		return nil, err
	}
	mustNot = slices.DeleteFunc(qs, func(q query.Query) bool { return q == nil })

	msm := 0
	if len(must) == 0 && nShould > 0 {
		msm = 1
	}
	if raw, ok := m["minimum_should_match"]; ok {
		if msm, err = strconv.Atoi(strings.Trim(string(raw), `"`)); err != nil || msm < 0 {
			return nil, unsupported("[minimum_should_match] other than a non-negative integer is")
		}
	}
	if msm > len(should) {
		return nil, nil
	}
	if msm > 0 {
		must = append(must, bleve.NewDisjunctionQuery(should...))
		must[len(must)-1].(*query.DisjunctionQuery).SetMin(float64(msm))
	}
	var base query.Query = bleve.NewMatchAllQuery()
	switch len(must) {
	case 0:
	case 1:
		base = must[0]
	default:
		base = bleve.NewConjunctionQuery(must...)
	}
	if len(mustNot) == 0 {
		return base, nil
	}
	b := bleve.NewBooleanQuery()
	b.AddMust(base)
	b.AddMustNot(mustNot...)
	return b, nil
}

func (c *compiler) exists(body json.RawMessage) (query.Query, error) {
	var e map[string]string
	if err := json.Unmarshal(body, &e); err != nil || len(e) != 1 || e["field"] == "" {
		return nil, unsupported(`[exists] other than {"field": "<name>"} is`)
	}
	t := bleve.NewTermQuery(e["field"])
	t.SetField(fieldNamesField)
	return t, nil
}

// prefix: {"<field>": "<prefix>"} or {"<field>": {"value": "<prefix>"}} on a keyword
// field, unanalysed, as the search's load-test filter sends it (key.raw). A prefix
// on a text field (its analysed terms) is outside the subset.
func (c *compiler) prefix(body json.RawMessage) (query.Query, error) {
	path, v, err := single(body, "prefix")
	if err != nil {
		return nil, err
	}
	if obj, err := objectOf(v, "[prefix]"); err == nil {
		if onlyKeys(obj, "[prefix]", "value") != nil || obj["value"] == nil {
			return nil, unsupported("[prefix] parameters other than [value] are")
		}
		v = obj["value"]
	}
	var s string
	if json.Unmarshal(v, &s) != nil {
		return nil, parsing("[prefix] query requires a string value")
	}
	f := c.m.lookup(path)
	switch {
	case f == nil:
		return nil, nil // an unmapped field matches nothing
	case f.Type != "keyword":
		return nil, unsupported("[prefix] on a field of type [%s] ([%s]) is", f.Type, path)
	}
	q := bleve.NewPrefixQuery(s)
	q.SetField(path)
	return q, nil
}

// single reads {"<field>": <value>} with exactly one field.
func single(body json.RawMessage, kind string) (string, json.RawMessage, error) {
	m, err := objectOf(body, "["+kind+"]")
	if err != nil {
		return "", nil, err
	}
	if len(m) != 1 {
		return "", nil, unsupported("[%s] on other than exactly one field is", kind)
	}
	for f, v := range m {
		return f, v, nil
	}
	return "", nil, nil
}

// exactField is the mapped field a term or terms query reads: keyword or text.
func (c *compiler) exactField(path, kind string) (*field, error) {
	f := c.m.lookup(path)
	if f != nil && f.Type != "keyword" && f.Type != "text" {
		return nil, unsupported("[%s] on a field of type [%s] ([%s]) is", kind, f.Type, path)
	}
	return f, nil
}

func termOn(path, value string) query.Query {
	t := bleve.NewTermQuery(value)
	t.SetField(path)
	return t
}

// term: {"<field>": value} or {"<field>": {"value": value}}; unanalysed.
func (c *compiler) term(body json.RawMessage) (query.Query, error) {
	path, v, err := single(body, "term")
	if err != nil {
		return nil, err
	}
	var inner struct{ Value json.RawMessage }
	if obj, err := objectOf(v, "[term]"); err == nil {
		if onlyKeys(obj, "[term]", "value") != nil || obj["value"] == nil {
			return nil, unsupported("[term] parameters other than [value] are")
		}
		_ = json.Unmarshal(v, &inner)
		v = inner.Value
	}
	if f := c.m.lookup(path); f != nil && numericTypes[f.Type] {
		return numericTerm(path, f.Type, v)
	}
	f, err := c.exactField(path, "term")
	if err != nil || f == nil { // an unmapped field matches nothing
		return nil, err
	}
	s, ok := scalarText(v)
	if !ok {
		return nil, parsing("[term] query does not support array of values")
	}
	return termOn(path, s), nil
}

// numericTypes are the mapped number types a term query reads.
var numericTypes = map[string]bool{"long": true, "integer": true, "short": true, "byte": true, "double": true, "float": true}

// numericTerm is a term query on a number field: the value (a number or a numeric
// string, as OpenSearch coerces it) matched exactly. On a whole-number type a value
// with a fraction matches nothing, as OpenSearch answers it; one outside the type's
// range is OpenSearch's parse error. (Numbers are kept as float64: exact to 2^53.)
func numericTerm(path, typ string, v json.RawMessage) (query.Query, error) {
	s, ok := scalarText(v)
	if !ok {
		return nil, parsing("[term] query does not support array of values")
	}
	n, err := strconv.ParseFloat(s, 64)
	if err != nil || math.IsInf(n, 0) || math.IsNaN(n) {
		return nil, illegalArgument("For input string: \"%s\"", s)
	}
	if _, whole := wholeLimits[typ]; whole && n != math.Trunc(n) {
		return nil, nil
	}
	if _, ok := number(typ, v); !ok {
		return nil, illegalArgument("Value [%s] is out of range for %s", s, typ)
	}
	yes := true
	q := bleve.NewNumericRangeInclusiveQuery(&n, &n, &yes, &yes)
	q.SetField(path)
	return q, nil
}

// terms: {"<field>": [values]}, any of them.
func (c *compiler) terms(body json.RawMessage) (query.Query, error) {
	path, v, err := single(body, "terms")
	if err != nil {
		return nil, err
	}
	var values []json.RawMessage
	if err := json.Unmarshal(v, &values); err != nil {
		return nil, unsupported("[terms] other than an array of values is")
	}
	f, err := c.exactField(path, "terms")
	if err != nil || f == nil || len(values) == 0 {
		return nil, err
	}
	var alts []query.Query
	for _, raw := range values {
		s, ok := scalarText(raw)
		if !ok {
			return nil, parsing("[terms] values must be strings, numbers or booleans")
		}
		alts = append(alts, termOn(path, s))
	}
	return bleve.NewDisjunctionQuery(alts...), nil
}

// fuzziness reads the fuzziness parameter: AUTO (-1) or 0, 1, 2.
func fuzziness(raw json.RawMessage) (int, error) {
	if raw == nil {
		return 0, nil
	}
	s := strings.Trim(string(raw), `"`)
	if strings.EqualFold(s, "AUTO") {
		return -1, nil
	}
	n, err := strconv.Atoi(s)
	if err != nil || n < 0 || n > 2 {
		return 0, unsupported("[fuzziness] [%s] (other than AUTO, 0, 1 or 2) is", s)
	}
	return n, nil
}

// autoEdits is fuzziness AUTO for a term: no edit under 3 characters, one up to 5,
// two beyond.
func autoEdits(term string) int {
	switch n := utf8.RuneCountInString(term); {
	case n < 3:
		return 0
	case n < 6:
		return 1
	}
	return 2
}

// analyzed is what a field's analyzer makes of query text: words for text fields,
// the whole text for keyword fields.
func analyzed(f *field, text string) []string {
	if f.Type == "text" {
		return analyze(text)
	}
	return []string{text}
}

// multiMatch is OpenSearch's default multi_match (best_fields, operator or): a
// document matches when any field matches any of the query's terms, exactly or
// within the fuzziness.
func (c *compiler) multiMatch(body json.RawMessage) (query.Query, error) {
	m, err := objectOf(body, "[multi_match]")
	if err != nil {
		return nil, err
	}
	if err := onlyKeys(m, "[multi_match]", "query", "fields", "fuzziness"); err != nil {
		return nil, err
	}
	var text string
	var fields []string
	if json.Unmarshal(m["query"], &text) != nil || json.Unmarshal(m["fields"], &fields) != nil || len(fields) == 0 {
		return nil, unsupported(`[multi_match] other than {"query": "<text>", "fields": [...]} is`)
	}
	fz, err := fuzziness(m["fuzziness"])
	if err != nil {
		return nil, err
	}
	var perField []query.Query
	for _, spec := range fields {
		path, boost, err := fieldBoost(spec)
		if err != nil {
			return nil, err
		}
		f := c.m.lookup(path)
		if f == nil {
			continue // unmapped fields are skipped, as OpenSearch skips them
		}
		if f.Type != "text" && f.Type != "keyword" {
			return nil, unsupported("[multi_match] on a field of type [%s] ([%s]) is", f.Type, path)
		}
		var alts []query.Query
		for _, t := range analyzed(f, text) {
			alts = append(alts, fuzzyTerm(path, t, fz))
		}
		if len(alts) == 0 {
			continue
		}
		q := bleve.NewDisjunctionQuery(alts...)
		q.SetBoost(boost)
		perField = append(perField, q)
	}
	if len(perField) == 0 {
		return nil, nil
	}
	return bleve.NewDisjunctionQuery(perField...), nil
}

func fuzzyTerm(path, t string, fz int) query.Query {
	edits := fz
	if fz < 0 {
		edits = autoEdits(t)
	}
	if edits == 0 {
		return termOn(path, t)
	}
	q := bleve.NewFuzzyQuery(t)
	q.SetField(path)
	q.SetFuzziness(edits)
	return q
}

// fieldBoost splits "labels.name^3".
func fieldBoost(spec string) (string, float64, error) {
	path, b, ok := strings.Cut(spec, "^")
	if strings.ContainsAny(path, "*?") || path == "" {
		return "", 0, unsupported("the field pattern [%s] is", spec)
	}
	if !ok {
		return path, 1, nil
	}
	boost, err := strconv.ParseFloat(b, 64)
	if err != nil || boost < 0 {
		return "", 0, illegalArgument("invalid boost in field [%s]", spec)
	}
	return path, boost, nil
}

// phrasePrefix is match_phrase_prefix: the words in order, the last as a prefix of
// at most maxExpansions indexed terms.
func (c *compiler) phrasePrefix(body json.RawMessage) (query.Query, error) {
	path, v, err := single(body, "match_phrase_prefix")
	if err != nil {
		return nil, err
	}
	var text string
	if json.Unmarshal(v, &text) != nil {
		var inner map[string]json.RawMessage
		if json.Unmarshal(v, &inner) != nil || len(inner) != 1 || json.Unmarshal(inner["query"], &text) != nil {
			return nil, unsupported(`[match_phrase_prefix] other than {"<field>": {"query": "<text>"}} is`)
		}
	}
	f := c.m.lookup(path)
	if f == nil {
		return nil, nil
	}
	if f.Type != "text" && f.Type != "keyword" {
		return nil, unsupported("[match_phrase_prefix] on a field of type [%s] ([%s]) is", f.Type, path)
	}
	terms := analyzed(f, text)
	if len(terms) == 0 {
		return nil, nil
	}
	last, err := c.expand(path, terms[len(terms)-1])
	if err != nil || len(last) == 0 {
		return nil, err
	}
	if len(terms) == 1 {
		var alts []query.Query
		for _, t := range last {
			alts = append(alts, termOn(path, t))
		}
		return bleve.NewDisjunctionQuery(alts...), nil
	}
	phrase := make([][]string, 0, len(terms))
	for _, t := range terms[:len(terms)-1] {
		phrase = append(phrase, []string{t})
	}
	return query.NewMultiPhraseQuery(append(phrase, last), path), nil
}

// expand lists the indexed terms of path that start with prefix, in term order.
func (c *compiler) expand(path, prefix string) ([]string, error) {
	dict, err := c.ix.bl.FieldDictPrefix(path, []byte(prefix))
	if err != nil {
		return nil, err
	}
	defer dict.Close()
	var out []string
	for len(out) < maxExpansions {
		e, err := dict.Next()
		if err != nil {
			return nil, err
		}
		if e == nil {
			break
		}
		out = append(out, e.Term)
	}
	return out, nil
}
