package opensearch

import (
	"bytes"
	"encoding/json"
	"io"
	"maps"
	"math"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/blevesearch/bleve/v2/analysis"
	"github.com/blevesearch/bleve/v2/analysis/token/lowercase"
	"github.com/blevesearch/bleve/v2/analysis/tokenizer/unicode"
	"github.com/blevesearch/bleve/v2/document"
	bleveindex "github.com/blevesearch/bleve_index_api"
)

// field is one mapped field: a leaf (type text, keyword, a number, date, boolean,
// geo_point) or an object (properties; or type object with enabled false).
type field struct {
	Type        string            `json:"type,omitempty"`
	Properties  map[string]*field `json:"properties,omitempty"`
	Fields      map[string]*field `json:"fields,omitempty"` // multi-fields of a leaf
	IgnoreAbove int               `json:"ignore_above,omitempty"`
	Enabled     *bool             `json:"enabled,omitempty"`
}

// mappings are an index's mappings. Only "dynamic": false is served: fields outside
// the mapping are kept in _source and not indexed.
type mappings struct {
	Dynamic    bool              `json:"dynamic"`
	Properties map[string]*field `json:"properties"`
}

// leafParams are the parameters the twin understands for each leaf type.
var leafParams = map[string][]string{
	"text":      {"type", "fields"},
	"keyword":   {"type", "ignore_above", "fields"},
	"long":      {"type"},
	"integer":   {"type"},
	"short":     {"type"},
	"byte":      {"type"},
	"double":    {"type"},
	"float":     {"type"},
	"date":      {"type"},
	"boolean":   {"type"},
	"geo_point": {"type"},
}

// objectOf decodes raw as a JSON object, keeping numbers exact.
func objectOf(raw []byte, what string) (map[string]json.RawMessage, error) {
	var m map[string]json.RawMessage
	d := json.NewDecoder(bytes.NewReader(raw))
	d.UseNumber()
	if err := d.Decode(&m); err != nil || m == nil {
		return nil, parsing("%s must be a JSON object", what)
	}
	if _, err := d.Token(); err != io.EOF {
		return nil, parsing("%s: unexpected content after the JSON object", what)
	}
	return m, nil
}

func onlyKeys(m map[string]json.RawMessage, where string, allowed ...string) error {
	for k := range m {
		if !slices.Contains(allowed, k) {
			return unsupported("[%s] in %s is", k, where)
		}
	}
	return nil
}

// parseMappings reads the "mappings" of a create index request.
func parseMappings(raw []byte) (mappings, error) {
	m, err := objectOf(raw, "[mappings]")
	if err != nil {
		return mappings{}, err
	}
	if err := onlyKeys(m, "mappings", "dynamic", "properties"); err != nil {
		return mappings{}, err
	}
	if d := strings.Trim(string(m["dynamic"]), `"`); d != "false" {
		return mappings{}, unsupported(`mappings without "dynamic": false (dynamic mapping) are`)
	}
	props, err := parseProperties(m["properties"], "")
	return mappings{Properties: props}, err
}

// parseProperties reads a "properties" object; path is its parent's dotted path.
func parseProperties(raw json.RawMessage, path string) (map[string]*field, error) {
	out := map[string]*field{}
	if raw == nil {
		return out, nil
	}
	m, err := objectOf(raw, "[properties]")
	if err != nil {
		return nil, err
	}
	for name, def := range m {
		if name == "" || strings.HasPrefix(name, "_") || strings.Contains(name, ".") {
			return nil, unsupported("the field name [%s%s] is", path, name)
		}
		if out[name], err = parseField(def, path+name); err != nil {
			return nil, err
		}
	}
	return out, nil
}

func parseField(raw json.RawMessage, path string) (*field, error) {
	m, err := objectOf(raw, "the mapping of ["+path+"]")
	if err != nil {
		return nil, err
	}
	f := &field{}
	if t, ok := m["type"]; ok {
		if err := json.Unmarshal(t, &f.Type); err != nil {
			return nil, parsing("the type of [%s] must be a string", path)
		}
	}
	switch {
	case f.Type == "" || f.Type == "object" && m["enabled"] == nil:
		if err := onlyKeys(m, "the object ["+path+"]", "type", "properties"); err != nil {
			return nil, err
		}
		f.Type = ""
		f.Properties, err = parseProperties(m["properties"], path+".")
		return f, err
	case f.Type == "object":
		if err := onlyKeys(m, "the object ["+path+"]", "type", "enabled"); err != nil {
			return nil, err
		}
		if string(m["enabled"]) != "false" {
			return nil, unsupported("[enabled] other than false on [%s] is", path)
		}
		f.Enabled = new(bool)
		return f, nil
	}
	allowed, ok := leafParams[f.Type]
	if !ok {
		return nil, unsupported("the field type [%s] (on [%s]) is", f.Type, path)
	}
	if err := onlyKeys(m, "the field ["+path+"]", allowed...); err != nil {
		return nil, err
	}
	if v, ok := m["ignore_above"]; ok {
		if f.IgnoreAbove, err = strconv.Atoi(string(v)); err != nil || f.IgnoreAbove < 0 {
			return nil, mapperParsing("[ignore_above] on [%s] must be a non-negative integer", path)
		}
	}
	if v, ok := m["fields"]; ok {
		subs, err := parseProperties(v, path+".")
		if err != nil {
			return nil, err
		}
		for name, s := range subs {
			if s.Type == "" || s.Type == "object" || len(s.Fields) > 0 {
				return nil, unsupported("the multi-field [%s.%s] of that kind is", path, name)
			}
		}
		f.Fields = subs
	}
	return f, nil
}

// merge adds update's fields to props, as PUT _mapping does: new fields are added,
// existing ones must not change type; ignore_above may change.
func merge(props, update map[string]*field, path string) error {
	for name, u := range update {
		p := path + name
		cur, ok := props[name]
		switch {
		case !ok:
			props[name] = u
		case cur.Type != u.Type:
			return illegalArgument("mapper [%s] cannot be changed from type [%s] to [%s]", p, typeName(cur), typeName(u))
		case cur.Type == "":
			if err := merge(cur.Properties, u.Properties, p+"."); err != nil {
				return err
			}
		default:
			if cur.Fields == nil && u.Fields != nil {
				cur.Fields = map[string]*field{}
			}
			if err := merge(cur.Fields, u.Fields, p+"."); err != nil {
				return err
			}
			if u.IgnoreAbove != 0 {
				cur.IgnoreAbove = u.IgnoreAbove
			}
		}
	}
	return nil
}

func typeName(f *field) string {
	if f.Type == "" {
		return "object"
	}
	return f.Type
}

// lookup finds the field at a dotted path ("labels.name", "key.raw").
func (m *mappings) lookup(path string) *field {
	props := m.Properties
	parts := strings.Split(path, ".")
	for i, p := range parts {
		f := props[p]
		if f == nil {
			return nil
		}
		if i == len(parts)-1 {
			return f
		}
		if f.Type == "" {
			props = f.Properties
		} else {
			props = f.Fields
		}
	}
	return nil
}

func (m *mappings) clone() *mappings {
	raw, _ := json.Marshal(m)
	var c mappings
	_ = json.Unmarshal(raw, &c)
	if c.Properties == nil {
		c.Properties = map[string]*field{}
	}
	return &c
}

// words is the analyzer of text fields: OpenSearch's standard analyzer, Unicode
// word boundaries (UAX #29) and lower case, no stop words (its default since
// OpenSearch 1.0). bleve's unicode tokenizer segments by the same rules.
var words analysis.Analyzer = &analysis.DefaultAnalyzer{
	Tokenizer:    unicode.NewUnicodeTokenizer(),
	TokenFilters: []analysis.TokenFilter{lowercase.NewLowerCaseFilter()},
}

func analyze(text string) []string {
	var out []string
	for _, t := range words.Analyze([]byte(text)) {
		out = append(out, string(t.Term))
	}
	return out
}

// Hidden fields of every bleve document: _source (stored, not indexed), so that
// search hits read the same snapshot they matched in; _field_names (the paths that
// hold a value), which exists queries match, as OpenSearch's _field_names does.
const (
	sourceField     = "_source"
	fieldNamesField = "_field_names"
)

const (
	textOptions    = bleveindex.IndexField | bleveindex.IncludeTermVectors // positions, for phrases
	keywordOptions = bleveindex.IndexField | bleveindex.DocValues          // doc values, for sorting
)

// builder turns a JSON document into the bleve document the mapping asks for.
type builder struct {
	id    string
	doc   *document.Document
	names map[string]bool
}

// build is the bleve document for source under m; errors are mapper_parsing_exception.
func build(m *mappings, id string, source []byte) (*document.Document, error) {
	src, err := objectOf(source, "the document")
	if err != nil {
		return nil, mapperParsing("failed to parse: the document must be a JSON object")
	}
	b := &builder{id: id, doc: document.NewDocument(id), names: map[string]bool{}}
	if err := b.object(m.Properties, "", src, nil); err != nil {
		return nil, err
	}
	for _, n := range slices.Sorted(maps.Keys(b.names)) {
		b.doc.AddField(document.NewTextFieldWithIndexingOptions(fieldNamesField, nil, []byte(n), bleveindex.IndexField))
	}
	b.doc.AddField(document.NewTextFieldWithIndexingOptions(sourceField, nil, source, bleveindex.StoreField))
	return b.doc, nil
}

func (b *builder) object(props map[string]*field, path string, obj map[string]json.RawMessage, ap []uint64) error {
	for name, raw := range obj {
		f := props[name]
		if f == nil {
			continue // dynamic false: kept in _source, not indexed
		}
		if err := b.value(f, path+name, raw, ap); err != nil {
			return err
		}
	}
	return nil
}

// value indexes raw at path; arrays index each element, at its array position.
func (b *builder) value(f *field, path string, raw json.RawMessage, ap []uint64) error {
	if f.Enabled != nil && !*f.Enabled {
		return nil // enabled false: not parsed at all
	}
	raw = bytes.TrimSpace(raw)
	switch {
	case string(raw) == "null":
		return nil
	case len(raw) > 0 && raw[0] == '[' && f.Type != "geo_point":
		var items []json.RawMessage
		if err := json.Unmarshal(raw, &items); err != nil {
			return mapperParsing("failed to parse field [%s] in document with id '%s'", path, b.id)
		}
		for i, it := range items {
			if err := b.value(f, path, it, append(slices.Clone(ap), uint64(i))); err != nil {
				return err
			}
		}
		return nil
	case f.Type == "":
		obj, err := objectOf(raw, path)
		if err != nil {
			return mapperParsing("object mapping for [%s] tried to parse field [%s] as object, but found a concrete value", path, path)
		}
		return b.object(f.Properties, path+".", obj, ap)
	}
	if err := b.leaf(f, path, raw, ap); err != nil {
		return err
	}
	for name, sub := range f.Fields {
		if err := b.leaf(sub, path+"."+name, raw, ap); err != nil {
			return err
		}
	}
	return nil
}

func (b *builder) leaf(f *field, path string, raw json.RawMessage, ap []uint64) error {
	bad := func() error {
		preview := string(raw)
		if len(preview) > 20 {
			preview = preview[:20] + "..."
		}
		return mapperParsing("failed to parse field [%s] of type [%s] in document with id '%s'. Preview of field's value: '%s'",
			path, f.Type, b.id, strings.Trim(preview, `"`))
	}
	var fld document.Field
	switch f.Type {
	case "text", "keyword":
		s, ok := scalarText(raw)
		if !ok {
			return bad()
		}
		if f.Type == "text" {
			fld = document.NewTextFieldCustom(path, ap, []byte(s), textOptions, words)
		} else if f.IgnoreAbove > 0 && utf8.RuneCountInString(s) > f.IgnoreAbove {
			return nil // not indexed, as OpenSearch ignores it
		} else {
			fld = document.NewTextFieldWithIndexingOptions(path, ap, []byte(s), keywordOptions)
		}
	case "long", "integer", "short", "byte", "double", "float":
		n, ok := number(f.Type, raw)
		if !ok {
			return bad()
		}
		fld = document.NewNumericFieldWithIndexingOptions(path, ap, n, keywordOptions)
	case "date":
		ms, ok := dateMillis(raw)
		if !ok {
			return bad()
		}
		fld = document.NewNumericFieldWithIndexingOptions(path, ap, float64(ms), keywordOptions)
	case "boolean":
		v := strings.Trim(string(raw), `"`)
		if v != "true" && v != "false" {
			return bad()
		}
		fld = document.NewBooleanFieldWithIndexingOptions(path, ap, v == "true", keywordOptions)
	case "geo_point":
		var p struct{ Lat, Lon *float64 }
		if json.Unmarshal(raw, &p) != nil || p.Lat == nil || p.Lon == nil {
			return unsupported("a geo_point other than {\"lat\": ..., \"lon\": ...} (field [%s]) is", path)
		}
		if math.Abs(*p.Lat) > 90 || math.Abs(*p.Lon) > 180 {
			return bad()
		}
		fld = document.NewGeoPointFieldWithIndexingOptions(path, ap, *p.Lon, *p.Lat, bleveindex.IndexField)
	}
	b.doc.AddField(fld)
	for p := path; ; {
		b.names[p] = true
		i := strings.LastIndexByte(p, '.')
		if i < 0 {
			break
		}
		p = p[:i]
	}
	return nil
}

// scalarText is a string, number or boolean as text (OpenSearch indexes all three
// in a string field).
func scalarText(raw json.RawMessage) (string, bool) {
	var v any
	d := json.NewDecoder(bytes.NewReader(raw))
	d.UseNumber()
	if d.Decode(&v) != nil {
		return "", false
	}
	switch x := v.(type) {
	case string:
		return x, true
	case json.Number:
		return x.String(), true
	case bool:
		return strconv.FormatBool(x), true
	}
	return "", false
}

// wholeLimits are the whole-number types' largest values.
var wholeLimits = map[string]float64{"long": math.MaxInt64, "integer": math.MaxInt32, "short": math.MaxInt16, "byte": math.MaxInt8}

// number parses a numeric field's value: a JSON number or a numeric string, with
// decimals truncated for whole-number types (OpenSearch's coerce default).
func number(typ string, raw json.RawMessage) (float64, bool) {
	s, ok := scalarText(raw)
	if !ok {
		return 0, false
	}
	n, err := strconv.ParseFloat(s, 64)
	if err != nil || math.IsInf(n, 0) || math.IsNaN(n) {
		return 0, false
	}
	if lim, whole := wholeLimits[typ]; whole {
		n = math.Trunc(n)
		if n > lim || n < -lim-1 {
			return 0, false
		}
	}
	return n, true
}

// dateLayouts are the forms of strict_date_optional_time, the date fields' default
// format, that Go's parser reads; a zone-less time is UTC, as in OpenSearch.
var dateLayouts = []string{
	time.RFC3339Nano, "2006-01-02T15:04:05.999999999", "2006-01-02T15:04Z07:00", "2006-01-02T15:04",
	"2006-01-02T15Z07:00", "2006-01-02T15", "2006-01-02", "2006-01", "2006",
}

// dateMillis parses a date field's value (strict_date_optional_time||epoch_millis)
// into milliseconds since the epoch, OpenSearch's resolution for date.
func dateMillis(raw json.RawMessage) (int64, bool) {
	s, ok := scalarText(raw)
	if !ok {
		return 0, false
	}
	if raw[0] != '"' || isDigits(s) && len(s) > 4 {
		n, err := strconv.ParseInt(s, 10, 64)
		return n, err == nil
	}
	for _, l := range dateLayouts {
		if t, err := time.Parse(l, s); err == nil {
			return t.UnixMilli(), true
		}
	}
	return 0, false
}

func isDigits(s string) bool {
	return s != "" && strings.Trim(strings.TrimPrefix(s, "-"), "0123456789") == ""
}
