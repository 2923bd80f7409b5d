package sigv4

import (
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"encoding/xml"
	"errors"
	"net/http"
	"strings"
)

// Protocol is how a service answers errors on the wire.
type Protocol int

// The protocols of the twin's services.
const (
	S3         Protocol = iota + 1 // REST-XML: <Error><Code>
	JSON10                         // awsJson1_0 (Step Functions, SQS): {"__type"}
	JSON11                         // awsJson1_1 (Rekognition): {"__type"}
	RestJSON                       // restJson1 (Lambda): x-amzn-ErrorType
	APIGateway                     // execute-api: {"message"}, gateway response types
	OpenSearch                     // es: {"message"}
)

// ProtocolFor is the protocol of a SigV4 service name (the credential scope's);
// ok is false for a service the twin does not serve.
func ProtocolFor(service string) (Protocol, bool) {
	p, ok := map[string]Protocol{
		"s3": S3, "states": JSON10, "sqs": JSON10, "rekognition": JSON11,
		"lambda": RestJSON, "execute-api": APIGateway, "es": OpenSearch,
	}[service]
	return p, ok
}

// Shape is one protocol's answer to one refusal.
type Shape struct {
	Status  int
	Code    string // S3 <Code>; JSON __type; x-amzn-ErrorType elsewhere
	Message string
	// GatewayResponse is API Gateway's gateway response type, whose template
	// customizations (headers) apply to the answer; empty for other protocols.
	GatewayResponse string
}

type shapeRow struct {
	status int
	code   string
	msg    string // "" keeps the Error's message
	gw     string
}

// Messages AWS uses across the JSON protocols.
const (
	msgMissing      = "Missing Authentication Token"
	msgBadToken     = "The security token included in the request is invalid."
	msgExpiredToken = "The security token included in the request is expired"
	msgBadSignature = "The request signature we calculated does not match the signature you provided. Check your AWS Secret Access Key and signing method. Consult the service documentation for details."
)

// s3Rows: S3's REST error codes (Amazon S3 API Reference, "Error responses").
var s3Rows = map[Kind]shapeRow{
	MissingAuth:           {403, "AccessDenied", "Access Denied", ""},
	Malformed:             {400, "AuthorizationHeaderMalformed", "", ""},
	Unsupported:           {501, "NotImplemented", "", ""},
	WrongRegion:           {400, "AuthorizationHeaderMalformed", "", ""},
	ServiceMismatch:       {400, "AuthorizationHeaderMalformed", "", ""},
	InvalidAccessKeyID:    {403, "InvalidAccessKeyId", "", ""},
	InvalidToken:          {400, "InvalidToken", "The provided token is malformed or otherwise invalid.", ""},
	ExpiredToken:          {400, "ExpiredToken", "The provided token has expired.", ""},
	RequestExpired:        {403, "RequestTimeTooSkewed", "The difference between the request time and the current time is too large.", ""},
	NotYetValid:           {403, "RequestTimeTooSkewed", "The difference between the request time and the current time is too large.", ""},
	HeadersNotSigned:      {403, "AccessDenied", "", ""},
	MissingContentSHA256:  {400, "InvalidRequest", "", ""},
	InvalidContentSHA256:  {400, "InvalidArgument", "", ""},
	BodyTooLarge:          {400, "EntityTooLarge", "", ""},
	SignatureMismatch:     {403, "SignatureDoesNotMatch", "", ""},
	ContentSHA256Mismatch: {400, "XAmzContentSHA256Mismatch", "", ""},
	AccessDenied:          {403, "AccessDenied", "", ""},
}

// jsonRows: the awsJson protocols (the services' "Common Errors" pages).
var jsonRows = map[Kind]shapeRow{
	MissingAuth:        {403, "MissingAuthenticationTokenException", msgMissing, ""},
	Malformed:          {400, "IncompleteSignatureException", "", ""},
	Unsupported:        {400, "IncompleteSignatureException", "", ""},
	WrongRegion:        {400, "InvalidSignatureException", "Credential should be scoped to a valid region.", ""},
	ServiceMismatch:    {400, "InvalidSignatureException", "", ""},
	InvalidAccessKeyID: {400, "UnrecognizedClientException", msgBadToken, ""},
	InvalidToken:       {400, "UnrecognizedClientException", msgBadToken, ""},
	ExpiredToken:       {400, "ExpiredTokenException", msgExpiredToken, ""},
	RequestExpired:     {400, "InvalidSignatureException", "", ""},
	NotYetValid:        {400, "InvalidSignatureException", "", ""},
	BodyTooLarge:       {413, "RequestEntityTooLargeException", "", ""},
	SignatureMismatch:  {400, "InvalidSignatureException", msgBadSignature, ""},
	AccessDenied:       {400, "AccessDeniedException", "", ""},
}

// restRows: Lambda (its API Reference's "Common Errors" answer 403 for these).
var restRows = map[Kind]shapeRow{
	MissingAuth:        {403, "MissingAuthenticationTokenException", msgMissing, ""},
	Malformed:          {403, "IncompleteSignatureException", "", ""},
	Unsupported:        {403, "IncompleteSignatureException", "", ""},
	WrongRegion:        {403, "InvalidSignatureException", "Credential should be scoped to a valid region.", ""},
	ServiceMismatch:    {403, "InvalidSignatureException", "", ""},
	InvalidAccessKeyID: {403, "UnrecognizedClientException", msgBadToken, ""},
	InvalidToken:       {403, "UnrecognizedClientException", msgBadToken, ""},
	ExpiredToken:       {403, "ExpiredTokenException", msgExpiredToken, ""},
	RequestExpired:     {403, "InvalidSignatureException", "", ""},
	NotYetValid:        {403, "InvalidSignatureException", "", ""},
	BodyTooLarge:       {413, "RequestEntityTooLargeException", "", ""},
	SignatureMismatch:  {403, "InvalidSignatureException", msgBadSignature, ""},
	AccessDenied:       {403, "AccessDeniedException", "", ""},
}

// gatewayRows: API Gateway with AWS_IAM (its gateway response types); OpenSearch
// answers the same codes and bodies without the gateway types.
var gatewayRows = map[Kind]shapeRow{
	MissingAuth:        {403, "MissingAuthenticationTokenException", msgMissing, "MISSING_AUTHENTICATION_TOKEN"},
	Malformed:          {403, "IncompleteSignatureException", "", "INVALID_SIGNATURE"},
	Unsupported:        {403, "IncompleteSignatureException", "", "INVALID_SIGNATURE"},
	WrongRegion:        {403, "InvalidSignatureException", "Credential should be scoped to a valid region.", "INVALID_SIGNATURE"},
	ServiceMismatch:    {403, "InvalidSignatureException", "", "INVALID_SIGNATURE"},
	InvalidAccessKeyID: {403, "UnrecognizedClientException", msgBadToken, "INVALID_SIGNATURE"},
	InvalidToken:       {403, "UnrecognizedClientException", msgBadToken, "INVALID_SIGNATURE"},
	ExpiredToken:       {403, "ExpiredTokenException", msgExpiredToken, "EXPIRED_TOKEN"},
	RequestExpired:     {403, "InvalidSignatureException", "", "INVALID_SIGNATURE"},
	NotYetValid:        {403, "InvalidSignatureException", "", "INVALID_SIGNATURE"},
	BodyTooLarge:       {413, "RequestEntityTooLargeException", "Request Too Long", "REQUEST_TOO_LARGE"},
	SignatureMismatch:  {403, "InvalidSignatureException", msgBadSignature, "INVALID_SIGNATURE"},
	AccessDenied:       {403, "AccessDeniedException", "", "ACCESS_DENIED"},
}

// Shape is p's answer to e.
func (p Protocol) Shape(e *Error) Shape {
	rows := map[Protocol]map[Kind]shapeRow{
		S3: s3Rows, JSON10: jsonRows, JSON11: jsonRows, RestJSON: restRows, APIGateway: gatewayRows, OpenSearch: gatewayRows,
	}[p]
	row, ok := rows[e.Kind]
	if !ok { // an S3-only kind on another protocol: the signature cannot have matched
		row = rows[SignatureMismatch]
		row.msg = ""
	}
	s := Shape{Status: row.status, Code: row.code, Message: row.msg, GatewayResponse: row.gw}
	if s.Message == "" {
		s.Message = e.Message
	}
	if p == S3 {
		s3Presigned(&s, e)
	}
	if p == OpenSearch {
		s.GatewayResponse = ""
	}
	return s
}

// s3Presigned: S3 answers a presigned URL's faults as query-parameter errors, and
// its expiry as AccessDenied, not as a skewed clock.
func s3Presigned(s *Shape, e *Error) {
	switch {
	case !e.Presigned:
		if e.Kind == Malformed || e.Kind == WrongRegion || e.Kind == ServiceMismatch {
			s.Message = "The authorization header is malformed; " + e.Message
		}
	case e.Kind == Malformed || e.Kind == WrongRegion || e.Kind == ServiceMismatch:
		s.Code = "AuthorizationQueryParametersError"
	case e.Kind == RequestExpired || e.Kind == NotYetValid:
		s.Code, s.Message = "AccessDenied", e.Message
	}
}

// WriteError answers err in p's shape: a *Error by its Kind, anything else as an
// internal error.
func (p Protocol) WriteError(w http.ResponseWriter, err error) {
	var e *Error
	if !errors.As(err, &e) {
		e = &Error{Message: "We encountered an internal error. Please try again."}
	}
	s := Shape{Status: http.StatusInternalServerError, Code: "InternalFailure", Message: e.Message}
	if e.Kind != 0 {
		s = p.Shape(e)
	} else if p == S3 {
		s.Code = "InternalError"
	}
	id := requestID()
	h := w.Header()
	switch p {
	case S3:
		h.Set("Content-Type", "application/xml")
		h.Set("X-Amz-Request-Id", id)
		w.WriteHeader(s.Status)
		writeS3Error(w, s, e.Details, id)
		return
	case JSON10, JSON11:
		h.Set("Content-Type", map[Protocol]string{JSON10: "application/x-amz-json-1.0", JSON11: "application/x-amz-json-1.1"}[p])
		h.Set("X-Amzn-Requestid", id)
		w.WriteHeader(s.Status)
		json.NewEncoder(w).Encode(map[string]string{"__type": s.Code, "message": s.Message})
		return
	}
	h.Set("Content-Type", "application/json")
	h.Set("X-Amzn-Errortype", s.Code)
	h.Set("X-Amzn-Requestid", id)
	w.WriteHeader(s.Status)
	key := "message"
	if e.Kind == AccessDenied && (p == APIGateway || p == OpenSearch) {
		key = "Message" // IAM denials on these endpoints capitalize it
	}
	json.NewEncoder(w).Encode(map[string]string{key: s.Message})
}

func writeS3Error(w http.ResponseWriter, s Shape, details []Detail, id string) {
	var b strings.Builder
	b.WriteString(xml.Header)
	b.WriteString("<Error>")
	elem := func(name, value string) {
		b.WriteString("<" + name + ">")
		xml.EscapeText(&b, []byte(value))
		b.WriteString("</" + name + ">")
	}
	elem("Code", s.Code)
	elem("Message", s.Message)
	for _, d := range details {
		elem(d.Name, d.Value)
	}
	elem("RequestId", id)
	b.WriteString("</Error>")
	w.Write([]byte(b.String()))
}

func requestID() string {
	var b [8]byte
	rand.Read(b[:])
	return strings.ToUpper(hex.EncodeToString(b[:]))
}
