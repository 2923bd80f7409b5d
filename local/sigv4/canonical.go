package sigv4

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"net/http"
	"net/url"
	"path"
	"sort"
	"strconv"
	"strings"
)

// emptyHash is the hex SHA-256 of nothing.
const emptyHash = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"

// canonicalRequest builds the canonical request of "Create a canonical request" in
// the IAM user guide's SigV4 reference, from the request as it arrived.
func canonicalRequest(r *http.Request, a *authInput, payloadHash string) string {
	rawPath, rawQuery := requestTarget(r)
	var b strings.Builder
	b.WriteString(r.Method)
	b.WriteByte('\n')
	b.WriteString(canonicalURI(rawPath, a.scope.service == "s3"))
	b.WriteByte('\n')
	b.WriteString(canonicalQuery(rawQuery, a.presigned))
	b.WriteByte('\n')
	for _, name := range a.signedHeaders {
		b.WriteString(name)
		b.WriteByte(':')
		b.WriteString(canonicalHeaderValue(r, name))
		b.WriteByte('\n')
	}
	b.WriteByte('\n')
	b.WriteString(strings.Join(a.signedHeaders, ";"))
	b.WriteByte('\n')
	b.WriteString(payloadHash)
	return b.String()
}

// requestTarget is the path and query as the client sent them: a server request's
// RequestURI, else (a request built in code) the URL's escaped form.
func requestTarget(r *http.Request) (rawPath, rawQuery string) {
	if strings.HasPrefix(r.RequestURI, "/") {
		rawPath, rawQuery, _ = strings.Cut(r.RequestURI, "?")
		return rawPath, rawQuery
	}
	return r.URL.EscapedPath(), r.URL.RawQuery
}

// canonicalURI encodes each path segment. S3 signs the path encoded once (each
// segment decoded, then encoded), as is, with no normalization: "a/../b" and "a//b"
// are distinct keys. Every other service signs the normalized path (dot segments
// removed, empty segments collapsed) encoded twice: the escaped path as sent,
// encoded again.
func canonicalURI(rawPath string, s3 bool) string {
	if rawPath == "" {
		return "/"
	}
	if !s3 {
		trailing := strings.HasSuffix(rawPath, "/") || strings.HasSuffix(rawPath, "/.") || strings.HasSuffix(rawPath, "/..")
		rawPath = path.Clean("/" + rawPath)
		if trailing && rawPath != "/" {
			rawPath += "/"
		}
	}
	segs := strings.Split(rawPath, "/")
	for i, s := range segs {
		if s3 {
			s = unescape(s)
		}
		segs[i] = encode(s)
	}
	return strings.Join(segs, "/")
}

// canonicalQuery sorts the parameters by encoded name, then value; a presigned
// request's own X-Amz-Signature is not part of what it signs.
func canonicalQuery(rawQuery string, presigned bool) string {
	type pair struct{ k, v string }
	var pairs []pair
	for _, part := range strings.Split(rawQuery, "&") {
		if part == "" {
			continue
		}
		k, v, _ := strings.Cut(part, "=")
		k, v = unescape(k), unescape(v)
		if presigned && k == "X-Amz-Signature" {
			continue
		}
		pairs = append(pairs, pair{encode(k), encode(v)})
	}
	sort.Slice(pairs, func(i, j int) bool {
		if pairs[i].k != pairs[j].k {
			return pairs[i].k < pairs[j].k
		}
		return pairs[i].v < pairs[j].v
	})
	parts := make([]string, len(pairs))
	for i, p := range pairs {
		parts[i] = p.k + "=" + p.v
	}
	return strings.Join(parts, "&")
}

// canonicalHeaderValue joins a header's values with commas, each trimmed and with
// runs of spaces reduced to one. Go's server moves Host, and for chunked bodies
// Transfer-Encoding, out of Header; they are read from where it puts them.
func canonicalHeaderValue(r *http.Request, name string) string {
	var vals []string
	switch name {
	case "host":
		vals = []string{r.Host}
		if r.Host == "" {
			vals = []string{r.URL.Host}
		}
	case "transfer-encoding":
		vals = r.Header.Values(name)
		if len(vals) == 0 {
			vals = r.TransferEncoding
		}
	case "content-length":
		vals = r.Header.Values(name)
		if len(vals) == 0 && r.ContentLength > 0 {
			vals = []string{strconv.FormatInt(r.ContentLength, 10)}
		}
	default:
		vals = r.Header.Values(name)
	}
	out := make([]string, len(vals))
	for i, v := range vals {
		out[i] = collapseSpaces(strings.TrimSpace(v))
	}
	return strings.Join(out, ",")
}

func collapseSpaces(s string) string {
	if !strings.Contains(s, "  ") {
		return s
	}
	var b strings.Builder
	space := false
	for i := 0; i < len(s); i++ {
		if s[i] == ' ' {
			if space {
				continue
			}
			space = true
		} else {
			space = false
		}
		b.WriteByte(s[i])
	}
	return b.String()
}

func stringToSign(a *authInput, canonical string) string {
	sum := sha256.Sum256([]byte(canonical))
	return algorithm + "\n" + a.amzDate + "\n" + a.scope.String() + "\n" + hex.EncodeToString(sum[:])
}

// signingKey derives kSigning from the secret and the credential scope.
func signingKey(secret string, s scope) []byte {
	k := hmacSHA256([]byte("AWS4"+secret), s.day)
	k = hmacSHA256(k, s.region)
	k = hmacSHA256(k, s.service)
	return hmacSHA256(k, "aws4_request")
}

func hmacSHA256(key []byte, data string) []byte {
	h := hmac.New(sha256.New, key)
	h.Write([]byte(data))
	return h.Sum(nil)
}

func sign(key []byte, data string) string { return hex.EncodeToString(hmacSHA256(key, data)) }

// sameSignature compares in constant time; case differences in the hex the client
// sent are not a different signature.
func sameSignature(want, got string) bool {
	return hmac.Equal([]byte(want), []byte(strings.ToLower(got)))
}

// encode is SigV4's URI encoding: every byte but A-Z a-z 0-9 - _ . ~ as %XX.
func encode(s string) string {
	const hexUpper = "0123456789ABCDEF"
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		c := s[i]
		if 'A' <= c && c <= 'Z' || 'a' <= c && c <= 'z' || '0' <= c && c <= '9' || c == '-' || c == '_' || c == '.' || c == '~' {
			b.WriteByte(c)
			continue
		}
		b.WriteByte('%')
		b.WriteByte(hexUpper[c>>4])
		b.WriteByte(hexUpper[c&15])
	}
	return b.String()
}

// unescape decodes %XX; '+' is a plus. A malformed escape is kept as sent, so it is
// encoded (and signed) byte for byte.
func unescape(s string) string {
	if !strings.Contains(s, "%") {
		return s
	}
	u, err := url.PathUnescape(s)
	if err != nil {
		return s
	}
	return u
}
