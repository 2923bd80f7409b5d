package apigw

import (
	"encoding/json"
	"log/slog"
	"regexp"
	"strings"
)

// accessLogFormat is the stage's AccessLogSetting.Format. A JSON format (CDK's
// JsonWithStandardFields) becomes one attribute per field, in the format's order; any
// other format (CLF, CSV, XML) one "access" attribute with the formatted line.
type accessLogFormat struct {
	fields []accessField // JSON: key → template
	line   string        // otherwise
}

type accessField struct{ key, template string }

// contextRef is a $context variable in an access log format.
var contextRef = regexp.MustCompile(`\$context\.[A-Za-z0-9_.]*[A-Za-z0-9_]`)

func parseAccessLogFormat(format string) *accessLogFormat {
	dec := json.NewDecoder(strings.NewReader(format))
	f := &accessLogFormat{}
	if tok, err := dec.Token(); err != nil || tok != json.Delim('{') {
		return &accessLogFormat{line: format}
	}
	for dec.More() {
		k, err := dec.Token()
		if err != nil {
			return &accessLogFormat{line: format}
		}
		var v string
		if err := dec.Decode(&v); err != nil {
			return &accessLogFormat{line: format}
		}
		f.fields = append(f.fields, accessField{key: k.(string), template: v})
	}
	return f
}

// expand fills a format's $context variables; AWS writes "-" for a variable with no
// value, and so does the twin for the ones it cannot fill.
func (c *call) expand(template string) string {
	return contextRef.ReplaceAllStringFunc(template, func(ref string) string {
		if v, ok := c.contextVar(strings.TrimPrefix(ref, "$context.")); ok && v != "" {
			return v
		}
		return "-"
	})
}

// logAccess writes the request's access log record.
func (a *API) logAccess(c *call) {
	if a.accessLog == nil {
		return
	}
	var attrs []slog.Attr
	if a.accessLog.fields == nil {
		attrs = append(attrs, slog.String("access", c.expand(a.accessLog.line)))
	}
	for _, f := range a.accessLog.fields {
		attrs = append(attrs, slog.String(f.key, c.expand(f.template)))
	}
	a.log.LogAttrs(c.r.Context(), slog.LevelInfo, "apigw access", attrs...)
}
