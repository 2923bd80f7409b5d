package sigv4

import (
	"errors"
	"fmt"
)

// Kind is why a request was refused. Each protocol answers a Kind with its own
// status, code and body (Protocol.Shape).
type Kind int

// The kinds of refusal, in the order Verify checks for them.
const (
	// MissingAuth: neither an Authorization header nor X-Amz-Algorithm in the query.
	MissingAuth Kind = iota + 1
	// Malformed: an Authorization header or presigned query that cannot be read, or
	// whose parts disagree (scope date against request date, a required part absent).
	Malformed
	// Unsupported: a signature scheme AWS knows and the twin does not verify
	// (SigV2, SigV4a); it is refused, never let through unverified.
	Unsupported
	// WrongRegion: the credential scope names a region the twin does not serve.
	WrongRegion
	// InvalidAccessKeyID: the key is unknown.
	InvalidAccessKeyID
	// InvalidToken: temporary credentials without their session token or with
	// another one, or a session token on a long-term key.
	InvalidToken
	// ExpiredToken: temporary credentials past their expiry.
	ExpiredToken
	// RequestExpired: a header-signed request dated more than 15 minutes ago, or a
	// presigned URL past X-Amz-Date + X-Amz-Expires.
	RequestExpired
	// NotYetValid: a request dated more than 15 minutes in the future.
	NotYetValid
	// HeadersNotSigned: S3 only: an x-amz-* header the signature does not cover.
	HeadersNotSigned
	// MissingContentSHA256: S3 only: a header-signed request without
	// x-amz-content-sha256.
	MissingContentSHA256
	// InvalidContentSHA256: S3 only: an x-amz-content-sha256 that is neither a hex
	// SHA-256 nor one of the documented literals.
	InvalidContentSHA256
	// BodyTooLarge: a body Verify must hash before checking the signature is over
	// Options.MaxBody.
	BodyTooLarge
	// SignatureMismatch: the signature (of the request, or of an aws-chunked chunk
	// or trailer) is not the one the secret gives.
	SignatureMismatch
	// ContentSHA256Mismatch: S3 only: the body does not hash to the signed
	// x-amz-content-sha256.
	ContentSHA256Mismatch
	// ServiceMismatch: the credential scope names another service than the endpoint's
	// (raised by the caller that knows the endpoint: WrongService).
	ServiceMismatch
	// AccessDenied is not raised by Verify: it is the shape of an IAM denial, so
	// the integrator writes it with the same Protocol writers (Denied).
	AccessDenied
)

var kindNames = map[Kind]string{
	MissingAuth: "MissingAuth", Malformed: "Malformed", Unsupported: "Unsupported",
	WrongRegion: "WrongRegion", InvalidAccessKeyID: "InvalidAccessKeyID",
	InvalidToken: "InvalidToken", ExpiredToken: "ExpiredToken",
	RequestExpired: "RequestExpired", NotYetValid: "NotYetValid",
	HeadersNotSigned: "HeadersNotSigned", MissingContentSHA256: "MissingContentSHA256",
	InvalidContentSHA256: "InvalidContentSHA256", BodyTooLarge: "BodyTooLarge",
	SignatureMismatch: "SignatureMismatch", ContentSHA256Mismatch: "ContentSHA256Mismatch",
	AccessDenied: "AccessDenied", ServiceMismatch: "ServiceMismatch",
}

func (k Kind) String() string {
	if s, ok := kindNames[k]; ok {
		return s
	}
	return fmt.Sprintf("Kind(%d)", int(k))
}

// Detail is one extra element AWS puts in an S3 error body (StringToSign,
// CanonicalRequest, ServerTime...), in the order AWS writes them.
type Detail struct{ Name, Value string }

// Error is a refused request.
type Error struct {
	Kind    Kind
	Message string // AWS's message for the refusal, where the protocols agree on one
	// Presigned is true when the request was signed in the query; S3 answers some
	// kinds differently then (an expired URL is AccessDenied, not a skewed clock).
	Presigned bool
	Details   []Detail
}

func (e *Error) Error() string {
	return "sigv4: " + e.Kind.String() + ": " + e.Message
}

// KindOf is the Kind of a refusal anywhere in err's chain, 0 when there is none.
func KindOf(err error) Kind {
	var e *Error
	if errors.As(err, &e) {
		return e.Kind
	}
	return 0
}

// Denied is an IAM denial to write with a Protocol: message is IAM's ("User: ...
// is not authorized to perform: ...").
func Denied(message string) *Error {
	return &Error{Kind: AccessDenied, Message: message}
}

func refuse(k Kind, format string, args ...any) *Error {
	return &Error{Kind: k, Message: fmt.Sprintf(format, args...)}
}

func (e *Error) with(details ...Detail) *Error {
	e.Details = append(e.Details, details...)
	return e
}

// WrongService refuses a credential scope naming another service than the endpoint's
// (an execute-api request signed for "s3", say).
func WrongService(want string) *Error {
	return refuse(ServiceMismatch, "Credential should be scoped to correct service: '%s'. ", want)
}
