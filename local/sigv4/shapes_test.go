package sigv4

import (
	"encoding/json"
	"encoding/xml"
	"errors"
	"net/http/httptest"
	"testing"
)

func TestWriteErrorShapes(t *testing.T) {
	mismatch := refuse(SignatureMismatch, "x").with(Detail{"StringToSign", "AWS4-HMAC-SHA256\n..."}, Detail{"CanonicalRequest", "GET\n/<&>"})
	cases := []struct {
		p      Protocol
		err    error
		status int
		code   string // where the protocol puts it
		msgKey string
	}{
		{S3, mismatch, 403, "SignatureDoesNotMatch", ""},
		{S3, refuse(MissingAuth, "Missing Authentication Token"), 403, "AccessDenied", ""},
		{S3, contentMismatch("a", "b"), 400, "XAmzContentSHA256Mismatch", ""},
		{JSON10, refuse(MissingAuth, "Missing Authentication Token"), 403, "MissingAuthenticationTokenException", "message"},
		{JSON11, mismatch, 400, "InvalidSignatureException", "message"},
		{JSON10, Denied("User: arn:aws:sts::000000000000:assumed-role/R/s is not authorized to perform: states:StartExecution"), 400, "AccessDeniedException", "message"},
		{RestJSON, refuse(InvalidAccessKeyID, "x"), 403, "UnrecognizedClientException", "message"},
		{APIGateway, Denied("User: anonymous is not authorized to perform: execute-api:Invoke"), 403, "AccessDeniedException", "Message"},
		{OpenSearch, mismatch, 403, "InvalidSignatureException", "message"},
		{JSON10, errors.New("disk on fire"), 500, "InternalFailure", "message"},
	}
	for _, c := range cases {
		w := httptest.NewRecorder()
		c.p.WriteError(w, c.err)
		if w.Code != c.status {
			t.Errorf("%v %v: status %d, want %d", c.p, c.err, w.Code, c.status)
		}
		var code, msg string
		switch c.p {
		case S3:
			var e struct{ Code, Message, StringToSign, CanonicalRequest, RequestId string }
			if err := xml.Unmarshal(w.Body.Bytes(), &e); err != nil {
				t.Fatalf("S3 body %q: %v", w.Body, err)
			}
			code, msg = e.Code, e.Message
			if c.err == mismatch && (e.CanonicalRequest != "GET\n/<&>" || e.RequestId == "") {
				t.Errorf("S3 details not carried: %+v", e)
			}
		case JSON10, JSON11:
			var e map[string]string
			json.Unmarshal(w.Body.Bytes(), &e)
			code, msg = e["__type"], e[c.msgKey]
		default:
			var e map[string]string
			json.Unmarshal(w.Body.Bytes(), &e)
			code, msg = w.Header().Get("X-Amzn-Errortype"), e[c.msgKey]
		}
		if code != c.code || msg == "" {
			t.Errorf("%v %v: code %q message %q; want code %q; body %s", c.p, c.err, code, msg, c.code, w.Body)
		}
	}
}

func TestShapeGatewayResponses(t *testing.T) {
	for k, want := range map[Kind]string{
		MissingAuth: "MISSING_AUTHENTICATION_TOKEN", SignatureMismatch: "INVALID_SIGNATURE",
		ExpiredToken: "EXPIRED_TOKEN", AccessDenied: "ACCESS_DENIED", RequestExpired: "INVALID_SIGNATURE",
	} {
		if got := APIGateway.Shape(&Error{Kind: k}).GatewayResponse; got != want {
			t.Errorf("%v: gateway response %q, want %q", k, got, want)
		}
	}
	// Every kind has a shape in every protocol.
	for p := S3; p <= OpenSearch; p++ {
		for k := MissingAuth; k <= AccessDenied; k++ {
			if s := p.Shape(&Error{Kind: k, Message: "m"}); s.Status == 0 || s.Code == "" || s.Message == "" {
				t.Errorf("%v %v: %+v", p, k, s)
			}
		}
	}
}
