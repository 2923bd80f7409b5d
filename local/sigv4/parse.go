package sigv4

import (
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"
)

const (
	algorithm   = "AWS4-HMAC-SHA256"
	amzDateForm = "20060102T150405Z"
	// maxPresignExpiry is the longest X-Amz-Expires AWS takes: seven days.
	maxPresignExpiry = 7 * 24 * time.Hour
)

// scope is a credential scope: <day>/<region>/<service>/aws4_request.
type scope struct{ day, region, service string }

func (s scope) String() string { return s.day + "/" + s.region + "/" + s.service + "/aws4_request" }

// authInput is what a request says about its own signature.
type authInput struct {
	presigned     bool
	accessKeyID   string
	scope         scope
	date          time.Time
	amzDate       string // the date as the string to sign holds it (ISO 8601 basic)
	dateHeader    string // header auth: the header the date came from, which must be signed
	signedHeaders []string
	signature     string
	token         string
	expires       time.Duration // presigned only
	query         map[string][]string
}

// parseAuth reads the Authorization header or the presigned query parameters.
func parseAuth(r *http.Request) (*authInput, error) {
	query := parseQuery(r.URL.RawQuery)
	header := r.Header.Get("Authorization")
	_, presigned := query["X-Amz-Algorithm"]
	switch {
	case header != "" && presigned:
		return nil, refuse(Malformed, "Only one auth mechanism allowed; only the X-Amz-Algorithm query parameter, Signature query string parameter or the Authorization header should be specified")
	case header != "":
		a, err := parseHeaderAuth(r, header)
		if a != nil {
			a.query = query
		}
		return a, err
	case presigned:
		return parseQueryAuth(query)
	case query["AWSAccessKeyId"] != nil && query["Signature"] != nil:
		return nil, refuse(Unsupported, "query-string authentication version 2 is not supported by the twin; sign with Signature Version 4")
	}
	return nil, refuse(MissingAuth, "Missing Authentication Token")
}

func parseHeaderAuth(r *http.Request, header string) (*authInput, error) {
	alg, rest, _ := strings.Cut(strings.TrimSpace(header), " ")
	if alg != algorithm {
		return nil, unsupportedAlgorithm(alg)
	}
	fields := map[string]string{}
	for _, part := range strings.Split(rest, ",") {
		k, v, _ := strings.Cut(strings.TrimSpace(part), "=")
		fields[k] = strings.TrimSpace(v)
	}
	var missing []string
	for _, k := range []string{"Credential", "Signature", "SignedHeaders"} {
		if fields[k] == "" {
			missing = append(missing, "Authorization header requires '"+k+"' parameter.")
		}
	}
	if len(missing) > 0 {
		return nil, refuse(Malformed, "%s Authorization=%s", strings.Join(missing, " "), header)
	}
	a := &authInput{signature: fields["Signature"], token: r.Header.Get("X-Amz-Security-Token")}
	if err := a.readCredential(fields["Credential"]); err != nil {
		return nil, err
	}
	a.signedHeaders = strings.Split(fields["SignedHeaders"], ";")
	a.amzDate, a.dateHeader = r.Header.Get("X-Amz-Date"), "x-amz-date"
	if a.amzDate == "" {
		if d := r.Header.Get("Date"); d != "" {
			t, err := http.ParseTime(d)
			if err != nil {
				return nil, refuse(Malformed, "Date header %q is not an HTTP date", d)
			}
			a.amzDate, a.dateHeader = t.UTC().Format(amzDateForm), "date"
		}
	}
	if err := a.readDate(); err != nil {
		return nil, err
	}
	if !slices.Contains(a.signedHeaders, a.dateHeader) {
		return nil, refuse(Malformed, "the %s header must be signed (SignedHeaders=%s)", a.dateHeader, fields["SignedHeaders"])
	}
	return a, a.checkSignedHeaders()
}

func parseQueryAuth(q map[string][]string) (*authInput, error) {
	get := func(k string) string {
		if v := q[k]; len(v) > 0 {
			return v[0]
		}
		return ""
	}
	for _, k := range []string{"X-Amz-Algorithm", "X-Amz-Credential", "X-Amz-Signature", "X-Amz-Date", "X-Amz-SignedHeaders", "X-Amz-Expires"} {
		if get(k) == "" {
			return nil, refuse(Malformed, "Query-string authentication version 4 requires the X-Amz-Algorithm, X-Amz-Credential, X-Amz-Signature, X-Amz-Date, X-Amz-SignedHeaders, and X-Amz-Expires parameters.")
		}
	}
	if alg := get("X-Amz-Algorithm"); alg != algorithm {
		return nil, unsupportedAlgorithm(alg)
	}
	a := &authInput{
		presigned: true, query: q, signature: get("X-Amz-Signature"), amzDate: get("X-Amz-Date"),
		signedHeaders: strings.Split(get("X-Amz-SignedHeaders"), ";"), token: get("X-Amz-Security-Token"),
	}
	if err := a.readCredential(get("X-Amz-Credential")); err != nil {
		return nil, err
	}
	secs, err := strconv.ParseInt(get("X-Amz-Expires"), 10, 64)
	switch {
	case err != nil:
		return nil, refuse(Malformed, "X-Amz-Expires should be a number")
	case secs < 0:
		return nil, refuse(Malformed, "X-Amz-Expires must be non-negative")
	case time.Duration(secs)*time.Second > maxPresignExpiry:
		return nil, refuse(Malformed, "X-Amz-Expires must be less than a week (in seconds) that is 604800")
	}
	a.expires = time.Duration(secs) * time.Second
	if err := a.readDate(); err != nil {
		return nil, err
	}
	return a, a.checkSignedHeaders()
}

func unsupportedAlgorithm(alg string) error {
	switch alg {
	case "AWS":
		return refuse(Unsupported, "Signature Version 2 is not supported by the twin; sign with Signature Version 4")
	case "AWS4-ECDSA-P256-SHA256":
		return refuse(Unsupported, "Signature Version 4A is not supported by the twin; sign with Signature Version 4")
	}
	return refuse(Unsupported, "Unsupported Authorization Type %q", alg)
}

// readCredential reads <access key>/<day>/<region>/<service>/aws4_request.
func (a *authInput) readCredential(c string) error {
	p := strings.Split(c, "/")
	if len(p) != 5 || p[0] == "" || len(p[1]) != 8 || p[2] == "" || p[3] == "" || p[4] != "aws4_request" {
		return refuse(Malformed, "the Credential is mal-formed; expecting \"<YOUR-AKID>/YYYYMMDD/REGION/SERVICE/aws4_request\" (got %q)", c)
	}
	a.accessKeyID, a.scope = p[0], scope{day: p[1], region: p[2], service: p[3]}
	return nil
}

func (a *authInput) readDate() error {
	if a.amzDate == "" {
		return refuse(Malformed, "Authorization requires an X-Amz-Date (or Date) header")
	}
	t, err := time.Parse(amzDateForm, a.amzDate)
	if err != nil {
		return refuse(Malformed, "X-Amz-Date %q must be in the ISO8601 Long Format \"yyyyMMdd'T'HHmmss'Z'\"", a.amzDate)
	}
	a.date = t
	if a.scope.day != a.amzDate[:8] {
		return refuse(Malformed, "Invalid credential date %q: it is not the date of X-Amz-Date %q", a.scope.day, a.amzDate)
	}
	return nil
}

// checkSignedHeaders requires host among the signed headers: without it a
// signature could be replayed against another endpoint.
func (a *authInput) checkSignedHeaders() error {
	if !slices.Contains(a.signedHeaders, "host") {
		return refuse(Malformed, "SignedHeaders %q must include host", strings.Join(a.signedHeaders, ";"))
	}
	return nil
}

// parseQuery splits a raw query into decoded names and values. '+' stays a plus,
// as in the canonical query string, so that what is read is what was signed.
func parseQuery(raw string) map[string][]string {
	q := map[string][]string{}
	for _, part := range strings.Split(raw, "&") {
		if part == "" {
			continue
		}
		k, v, _ := strings.Cut(part, "=")
		k, v = unescape(k), unescape(v)
		q[k] = append(q[k], v)
	}
	return q
}
