package twin

import (
	"bytes"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"io"
	"net/http"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
)

// maxSignedBody bounds how much of an unsigned-payload-hash body is read to hash it.
const maxSignedBody = 64 << 20

// verifySigV4 checks an AWS Signature V4 Authorization header by signing the same
// request again with the twin's secret (the SDK's own signer) and comparing.
func verifySigV4(r *http.Request, accessKeyID, secret string) bool {
	auth := r.Header.Get("Authorization")
	rest, ok := strings.CutPrefix(auth, "AWS4-HMAC-SHA256 ")
	if !ok {
		return false
	}
	fields := map[string]string{}
	for _, part := range strings.Split(rest, ",") {
		k, v, _ := strings.Cut(strings.TrimSpace(part), "=")
		fields[k] = v
	}
	scope := strings.Split(fields["Credential"], "/")
	if len(scope) != 5 || subtle.ConstantTimeCompare([]byte(scope[0]), []byte(accessKeyID)) != 1 {
		return false
	}
	region, service := scope[2], scope[3]
	when, err := time.Parse("20060102T150405Z", r.Header.Get("X-Amz-Date"))
	if err != nil || time.Since(when).Abs() > 15*time.Minute {
		return false
	}
	payloadHash := r.Header.Get("X-Amz-Content-Sha256")
	if payloadHash == "" {
		body, err := io.ReadAll(io.LimitReader(r.Body, maxSignedBody))
		if err != nil {
			return false
		}
		r.Body = io.NopCloser(bytes.NewReader(body))
		sum := sha256.Sum256(body)
		payloadHash = hex.EncodeToString(sum[:])
	}
	check := r.Clone(r.Context())
	check.Header = http.Header{}
	for _, h := range strings.Split(fields["SignedHeaders"], ";") {
		if h == "host" {
			continue
		}
		if v, ok := r.Header[http.CanonicalHeaderKey(h)]; ok {
			check.Header[http.CanonicalHeaderKey(h)] = v
		}
	}
	check.URL.Scheme, check.URL.Host, check.Host = "http", r.Host, r.Host
	signer := v4.NewSigner(func(o *v4.SignerOptions) { o.DisableURIPathEscaping = service == "s3" })
	creds := aws.Credentials{AccessKeyID: accessKeyID, SecretAccessKey: secret}
	if err := signer.SignHTTP(r.Context(), creds, check, payloadHash, service, region, when); err != nil {
		return false
	}
	_, want, _ := strings.Cut(check.Header.Get("Authorization"), "Signature=")
	return want != "" && subtle.ConstantTimeCompare([]byte(want), []byte(fields["Signature"])) == 1
}
