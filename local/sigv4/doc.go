// Package sigv4 verifies AWS Signature Version 4 on incoming requests, as AWS's
// endpoints do, so that the twin's edge refuses what AWS would refuse.
//
// Verify (or VerifyWith) takes a request as the server received it and a
// Credentials store, and returns the signer's Identity (access key, principal, the
// credential scope's region and service) or a *Error whose Kind each protocol
// answers in its own shape (Protocol.Shape, Protocol.WriteError).
//
// # What is verified
//
//   - Both forms: the Authorization header (AWS4-HMAC-SHA256 Credential=...,
//     SignedHeaders=..., Signature=...) and presigned query parameters
//     (X-Amz-Algorithm, -Credential, -Date, -Expires, -SignedHeaders, -Signature,
//     optional -Security-Token). Both at once is refused, as S3 refuses it.
//   - The canonical request of the IAM user guide's SigV4 reference, rebuilt from
//     the request as it arrived (RequestURI, not a rewritten URL): S3 signs each
//     path segment encoded once and never normalizes the path ("a//b", "a/../b"
//     are keys); every other service signs the normalized path (dot segments
//     removed, empty segments collapsed) encoded twice. Query parameters are
//     decoded, re-encoded and sorted; '+' is a literal plus, as SigV4 clients
//     encode a space as %20. Signed headers are read in the order SignedHeaders
//     lists them, values trimmed, runs of spaces collapsed, repeats joined by ",".
//     host must be signed, and so must the header that dates a header-signed
//     request (X-Amz-Date, or Date).
//   - The date: a header-signed request must be within 15 minutes of the server's
//     clock either way; a presigned URL is valid from X-Amz-Date (15 minutes of
//     skew allowed) until X-Amz-Date + X-Amz-Expires, and X-Amz-Expires is at most
//     604800 (7 days). The credential scope's day must be the request's day.
//     SigV4 has no nonce: within its window a replayed request is valid, in AWS too.
//   - Session tokens: a Secret with a SessionToken (temporary credentials) needs
//     that token in X-Amz-Security-Token (header or query) and is refused after
//     Expires; a long-term key with a token is refused (InvalidToken).
//   - The payload. Non-S3 services hash the body themselves: Verify reads it
//     whole (at most Options.MaxBody, DefaultMaxBody = 16 MiB) and a swapped body
//     is a SignatureMismatch. S3 takes the client's x-amz-content-sha256, required
//     with header auth: a hex SHA-256 is checked against the body
//     (XAmzContentSHA256Mismatch) before Verify returns when the body is at most
//     MaxBody, else while the handler reads it (the last byte is held back until
//     the hash matched, so a reader that stops at Content-Length gets the error,
//     not the body); UNSIGNED-PAYLOAD is accepted on every S3 request, as S3
//     accepts it; STREAMING-AWS4-HMAC-SHA256-PAYLOAD(-TRAILER) bodies have every
//     chunk signature checked, chained from the seed signature, and the trailer's
//     x-amz-trailer-signature too, each chunk released to the handler only once
//     checked (a chunk is held whole: at most 16 MiB); STREAMING-UNSIGNED-PAYLOAD-
//     TRAILER (what the Go SDK sends over HTTPS) has no signatures to check: its
//     trailing checksum is the S3 handler's to check. A presigned S3 URL's payload
//     is UNSIGNED-PAYLOAD unless the URL carries X-Amz-Content-Sha256. aws-chunked
//     bodies pass through framed, byte for byte: decoding them is the S3
//     handler's business (s3edge does it).
//   - S3 only: every x-amz-* header present must be signed (HeadersNotSigned), so
//     that none (x-amz-acl, x-amz-copy-source...) can be added to a signed request
//     or a presigned URL.
//
// After Verify returns without error, r.Body reads the same bytes as before.
//
// # What is not modelled
//
// Signature Version 2 and Signature Version 4A (AWS4-ECDSA-P256-SHA256, also its
// STREAMING-AWS4-ECDSA-* payloads) are refused as Unsupported, never passed
// unverified. S3 POST uploads with a signed policy (browser form posts) have no
// Authorization header (Verify: MissingAuth); VerifyPost checks their policy's
// signature, and the S3 handler the policy's expiration and conditions. A
// presigned URL made with temporary credentials fails once the credentials expire
// (ExpiredToken), as in AWS, but its X-Amz-Expires is not otherwise capped by the
// credentials' lifetime. curl 7.88 (this machine's) does not sort query
// parameters nor encode the path twice for non-S3 services; AWS refuses those
// requests and so does the twin.
//
// # Error shapes
//
// Protocol.Shape is the one source; in short (status, code):
//
//	Kind                  S3 (REST-XML)                       JSON 1.0/1.1 (__type)                  Lambda (x-amzn-ErrorType)    API Gateway / OpenSearch
//	MissingAuth           403 AccessDenied                    403 MissingAuthenticationTokenException 403 MissingAuthentication... 403 MISSING_AUTHENTICATION_TOKEN
//	Malformed             400 AuthorizationHeaderMalformed¹   400 IncompleteSignatureException       403 IncompleteSignature...   403 INVALID_SIGNATURE
//	Unsupported           501 NotImplemented                  400 IncompleteSignatureException       403 IncompleteSignature...   403 INVALID_SIGNATURE
//	WrongRegion           400 AuthorizationHeaderMalformed¹   400 InvalidSignatureException          403 InvalidSignature...      403 INVALID_SIGNATURE
//	ServiceMismatch       400 AuthorizationHeaderMalformed¹   400 InvalidSignatureException          403 InvalidSignature...      403 INVALID_SIGNATURE
//	InvalidAccessKeyID    403 InvalidAccessKeyId              400 UnrecognizedClientException        403 UnrecognizedClient...    403 INVALID_SIGNATURE
//	InvalidToken          400 InvalidToken                    400 UnrecognizedClientException        403 UnrecognizedClient...    403 INVALID_SIGNATURE
//	ExpiredToken          400 ExpiredToken                    400 ExpiredTokenException              403 ExpiredTokenException    403 EXPIRED_TOKEN
//	RequestExpired        403 RequestTimeTooSkewed²           400 InvalidSignatureException          403 InvalidSignature...      403 INVALID_SIGNATURE
//	NotYetValid           403 RequestTimeTooSkewed²           400 InvalidSignatureException          403 InvalidSignature...      403 INVALID_SIGNATURE
//	HeadersNotSigned      403 AccessDenied                    (S3 only)
//	MissingContentSHA256  400 InvalidRequest                  (S3 only)
//	InvalidContentSHA256  400 InvalidArgument                 (S3 only)
//	BodyTooLarge          400 EntityTooLarge                  413 RequestEntityTooLargeException     413 RequestEntityTooLarge... 413 REQUEST_TOO_LARGE
//	SignatureMismatch     403 SignatureDoesNotMatch           400 InvalidSignatureException          403 InvalidSignature...      403 INVALID_SIGNATURE
//	ContentSHA256Mismatch 400 XAmzContentSHA256Mismatch       (S3 only)
//	AccessDenied (IAM)    403 AccessDenied                    400 AccessDeniedException              403 AccessDeniedException    403 ACCESS_DENIED {"Message"}
//
// ¹ AuthorizationQueryParametersError for a presigned URL. ² AccessDenied
// ("Request has expired", "Request is not valid yet") for a presigned URL. S3
// error bodies carry AWS's extra elements (StringToSign, CanonicalRequest,
// ClientComputedContentSHA256, ServerTime...). API Gateway's column also names
// the gateway response type (Shape.GatewayResponse), whose template headers the
// API handler adds.
package sigv4
