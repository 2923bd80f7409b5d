package sigv4

import (
	"crypto/subtle"
	"errors"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"
)

// DefaultMaxBody bounds the bodies Verify reads whole: every non-S3 body (its hash
// is part of what is signed) and S3 bodies with a hex x-amz-content-sha256 (checked
// before the handler runs; larger ones are checked as they stream). It is above the
// largest request the twin's services take (Lambda's 6 MB payload, a 5 MB
// Rekognition image in base64 JSON).
const DefaultMaxBody = 16 << 20

// maxSkew is how far a header-signed request's date may be from the server's clock.
const maxSkew = 15 * time.Minute

// The x-amz-content-sha256 literals S3 takes instead of a hex hash.
const (
	unsignedPayload          = "UNSIGNED-PAYLOAD"
	streamingSigned          = "STREAMING-AWS4-HMAC-SHA256-PAYLOAD"
	streamingSignedTrailer   = "STREAMING-AWS4-HMAC-SHA256-PAYLOAD-TRAILER"
	streamingUnsignedTrailer = "STREAMING-UNSIGNED-PAYLOAD-TRAILER"
	streamingECDSA           = "STREAMING-AWS4-ECDSA-P256-SHA256-PAYLOAD"
	streamingECDSATrailer    = "STREAMING-AWS4-ECDSA-P256-SHA256-PAYLOAD-TRAILER"
)

// Options tune VerifyWith.
type Options struct {
	// Region, when set, refuses a credential scope naming another region
	// (WrongRegion), as a regional AWS endpoint does.
	Region string
	// MaxBody bounds the bodies read whole (DefaultMaxBody when 0).
	MaxBody int64
}

// Identity is who signed a verified request, and how.
type Identity struct {
	AccessKeyID string
	Principal   Principal
	// Region and Service are the credential scope's: the edge routes by Service.
	Region, Service string
	SignedAt        time.Time
	Presigned       bool
	Temporary       bool   // signed with temporary credentials (a session token)
	PayloadHash     string // what the signature covers: a hex hash or an S3 literal
}

// Verify checks r's AWS Signature Version 4 as of now, with default Options.
func Verify(r *http.Request, creds Credentials, now time.Time) (Identity, error) {
	return VerifyWith(r, creds, now, Options{})
}

// VerifyWith checks r's signature (Authorization header or presigned query), its
// date, its session token and its payload hash. On success r.Body reads the same
// bytes as before; for S3 bodies checked as they stream (large hex-hashed bodies,
// signed aws-chunked bodies), reading r.Body fails with a *Error (SignatureMismatch
// or ContentSHA256Mismatch) before the last byte of a body that does not match.
// Every refusal is a *Error.
func VerifyWith(r *http.Request, creds Credentials, now time.Time, opts Options) (Identity, error) {
	if opts.MaxBody <= 0 {
		opts.MaxBody = DefaultMaxBody
	}
	a, err := parseAuth(r)
	if err != nil {
		var e *Error
		if errors.As(err, &e) {
			e.Presigned = r.Header.Get("Authorization") == "" && strings.Contains(r.URL.RawQuery, "X-Amz-Algorithm")
		}
		return Identity{}, err
	}
	id, err := a.verify(r, creds, now, opts)
	var e *Error
	if errors.As(err, &e) {
		e.Presigned = a.presigned
	}
	return id, err
}

func (a *authInput) verify(r *http.Request, creds Credentials, now time.Time, opts Options) (Identity, error) {
	if opts.Region != "" && a.scope.region != opts.Region {
		return Identity{}, refuse(WrongRegion, "the region '%s' is wrong; expecting '%s'", a.scope.region, opts.Region).
			with(Detail{"Region", opts.Region})
	}
	secret, ok := creds.Lookup(a.accessKeyID)
	if !ok {
		return Identity{}, refuse(InvalidAccessKeyID, "The AWS Access Key Id you provided does not exist in our records.").
			with(Detail{"AWSAccessKeyId", a.accessKeyID})
	}
	if err := a.checkTime(now); err != nil {
		return Identity{}, err
	}
	if err := a.checkToken(secret, now); err != nil {
		return Identity{}, err
	}
	s3 := a.scope.service == "s3"
	if s3 {
		if err := a.checkAmzHeadersSigned(r); err != nil {
			return Identity{}, err
		}
	}
	hash, err := a.payloadHash(r, s3, opts.MaxBody)
	if err != nil {
		return Identity{}, err
	}
	canonical := canonicalRequest(r, a, hash)
	sts := stringToSign(a, canonical)
	key := signingKey(secret.SecretAccessKey, a.scope)
	want := sign(key, sts)
	if !sameSignature(want, a.signature) {
		return Identity{}, refuse(SignatureMismatch, "The request signature we calculated does not match the signature you provided. Check your key and signing method.").
			with(Detail{"AWSAccessKeyId", a.accessKeyID}, Detail{"StringToSign", sts},
				Detail{"SignatureProvided", a.signature}, Detail{"CanonicalRequest", canonical})
	}
	if s3 {
		if err := a.checkS3Body(r, hash, key, want, opts.MaxBody); err != nil {
			return Identity{}, err
		}
	}
	return Identity{
		AccessKeyID: a.accessKeyID, Principal: secret.Principal,
		Region: a.scope.region, Service: a.scope.service, SignedAt: a.date,
		Presigned: a.presigned, Temporary: secret.SessionToken != "", PayloadHash: hash,
	}, nil
}

// checkTime applies the windows AWS applies: 15 minutes either side for a signed
// header date; X-Amz-Date + X-Amz-Expires for a presigned URL.
func (a *authInput) checkTime(now time.Time) error {
	const iso = "2006-01-02T15:04:05Z"
	now = now.UTC()
	if a.presigned {
		if end := a.date.Add(a.expires); now.After(end) {
			return refuse(RequestExpired, "Request has expired").with(
				Detail{"X-Amz-Expires", strconv.FormatInt(int64(a.expires/time.Second), 10)},
				Detail{"Expires", end.Format(iso)}, Detail{"ServerTime", now.Format(iso)})
		}
		if a.date.After(now.Add(maxSkew)) {
			return refuse(NotYetValid, "Request is not valid yet").with(
				Detail{"X-Amz-Date", a.amzDate}, Detail{"ServerTime", now.Format(iso)})
		}
		return nil
	}
	details := []Detail{{"RequestTime", a.amzDate}, {"ServerTime", now.Format(iso)}, {"MaxAllowedSkewMilliseconds", "900000"}}
	if now.Sub(a.date) > maxSkew {
		return refuse(RequestExpired, "Signature expired: %s is now earlier than %s (%s - 15 min.)",
			a.amzDate, now.Add(-maxSkew).Format(amzDateForm), now.Format(amzDateForm)).with(details...)
	}
	if a.date.Sub(now) > maxSkew {
		return refuse(NotYetValid, "Signature not yet current: %s is still later than %s (%s + 15 min.)",
			a.amzDate, now.Add(maxSkew).Format(amzDateForm), now.Format(amzDateForm)).with(details...)
	}
	return nil
}

// checkToken: temporary credentials need their own session token, long-term keys
// none; either way a wrong token is InvalidToken, before the signature is checked.
func (a *authInput) checkToken(s Secret, now time.Time) error {
	switch {
	case s.SessionToken == "" && a.token != "":
		return refuse(InvalidToken, "The security token included in the request is invalid.")
	case s.SessionToken != "" && subtle.ConstantTimeCompare([]byte(s.SessionToken), []byte(a.token)) != 1:
		return refuse(InvalidToken, "The security token included in the request is invalid.")
	case !s.Expires.IsZero() && now.After(s.Expires):
		return refuse(ExpiredToken, "The security token included in the request is expired")
	}
	return nil
}

// checkAmzHeadersSigned is S3's rule that every x-amz-* header sent is signed, so
// that none (x-amz-acl, x-amz-copy-source...) can be added to a signed request.
func (a *authInput) checkAmzHeadersSigned(r *http.Request) error {
	var unsigned []string
	for name := range r.Header {
		n := strings.ToLower(name)
		if strings.HasPrefix(n, "x-amz-") && !slices.Contains(a.signedHeaders, n) {
			unsigned = append(unsigned, n)
		}
	}
	if len(unsigned) == 0 {
		return nil
	}
	slices.Sort(unsigned)
	return refuse(HeadersNotSigned, "There were headers present in the request which were not signed").
		with(Detail{"HeadersNotSigned", strings.Join(unsigned, ", ")})
}

// payloadHash is the hash the signature covers. Other services hash the body
// themselves; S3 takes the client's x-amz-content-sha256 (required with header
// auth), and a presigned URL's payload is unsigned unless the URL says otherwise.
func (a *authInput) payloadHash(r *http.Request, s3 bool, limit int64) (string, error) {
	if !s3 {
		body, err := readBody(r, limit)
		if err != nil {
			return "", err
		}
		return sha256Hex(body), nil
	}
	var v string
	if a.presigned {
		if vs := a.query["X-Amz-Content-Sha256"]; len(vs) > 0 {
			v = vs[0]
		}
		if v == "" {
			return unsignedPayload, nil
		}
	} else if v = r.Header.Get("X-Amz-Content-Sha256"); v == "" {
		return "", refuse(MissingContentSHA256, "Missing required header for this request: x-amz-content-sha256")
	}
	switch v {
	case unsignedPayload, streamingSigned, streamingSignedTrailer, streamingUnsignedTrailer:
		return v, nil
	case streamingECDSA, streamingECDSATrailer:
		return "", refuse(Unsupported, "x-amz-content-sha256 %s (Signature Version 4A) is not supported by the twin", v)
	}
	if !isHexSHA256(v) {
		return "", refuse(InvalidContentSHA256, "x-amz-content-sha256 must be UNSIGNED-PAYLOAD, STREAMING-UNSIGNED-PAYLOAD-TRAILER, STREAMING-AWS4-HMAC-SHA256-PAYLOAD, STREAMING-AWS4-HMAC-SHA256-PAYLOAD-TRAILER, STREAMING-AWS4-ECDSA-P256-SHA256-PAYLOAD, STREAMING-AWS4-ECDSA-P256-SHA256-PAYLOAD-TRAILER or a valid sha256 value.")
	}
	return v, nil
}

// checkS3Body holds the body to the signed payload hash: a small body is read and
// hashed now, a large one as it streams; signed aws-chunked bodies are checked
// chunk by chunk from the seed signature. Unsigned payloads are left as they are.
func (a *authInput) checkS3Body(r *http.Request, hash string, key []byte, seed string, limit int64) error {
	switch {
	case isHexSHA256(hash):
		hash = strings.ToLower(hash)
		if r.Body == nil {
			r.Body = http.NoBody
		}
		if r.ContentLength < 0 || r.ContentLength > limit {
			r.Body = newHashCheck(r.Body, hash)
			return nil
		}
		body, err := readBody(r, limit)
		if err != nil {
			return err
		}
		if got := sha256Hex(body); got != hash {
			return contentMismatch(hash, got)
		}
	case hash == streamingSigned || hash == streamingSignedTrailer:
		if r.Body == nil || r.Body == http.NoBody {
			return badChunk("body is empty")
		}
		r.Body = newChunkCheck(r.Body, key, a, seed, hash == streamingSignedTrailer)
	}
	return nil
}

func isHexSHA256(s string) bool {
	if len(s) != 64 {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !('0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F') {
			return false
		}
	}
	return true
}
