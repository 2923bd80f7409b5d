package sigv4

import (
	"strings"
	"time"
)

// PostFields are the form fields of an S3 browser-based upload (POST Object) that
// carry its SigV4 signature: the signature covers the base64 policy document itself,
// not the request (https://docs.aws.amazon.com/AmazonS3/latest/API/sigv4-HTTPPOSTConstructPolicy.html,
// https://docs.aws.amazon.com/AmazonS3/latest/API/sigv4-UsingHTTPPOST.html).
type PostFields struct {
	Policy        string // base64 policy document, as sent
	Algorithm     string // x-amz-algorithm
	Credential    string // x-amz-credential
	Date          string // x-amz-date
	Signature     string // x-amz-signature
	SecurityToken string // x-amz-security-token
}

// VerifyPost checks a POST Object's signature: the credential's key, scope and
// session token, and that x-amz-signature is the HMAC of the policy with the key
// derived for the credential's scope. The policy's own expiration and conditions are
// the S3 handler's to check (they need the rest of the form). Every refusal is a
// *Error.
func VerifyPost(f PostFields, creds Credentials, now time.Time, opts Options) (Identity, error) {
	if f.Algorithm != algorithm {
		return Identity{}, unsupportedAlgorithm(f.Algorithm)
	}
	var missing []string
	for name, v := range map[string]string{"x-amz-credential": f.Credential, "x-amz-date": f.Date, "x-amz-signature": f.Signature} {
		if v == "" {
			missing = append(missing, name)
		}
	}
	if len(missing) > 0 {
		return Identity{}, refuse(Malformed, "Bucket POST must contain a field named '%s'.  If it is specified, please check the order of the fields.", strings.Join(missing, "', '"))
	}
	a := &authInput{amzDate: f.Date, signature: f.Signature, token: f.SecurityToken}
	if err := a.readCredential(f.Credential); err != nil {
		return Identity{}, err
	}
	if err := a.readDate(); err != nil {
		return Identity{}, err
	}
	if a.scope.service != "s3" {
		return Identity{}, refuse(Malformed, "Error parsing the X-Amz-Credential parameter; incorrect service %q. This endpoint belongs to \"s3\".", a.scope.service)
	}
	if opts.Region != "" && a.scope.region != opts.Region {
		return Identity{}, refuse(WrongRegion, "the region '%s' is wrong; expecting '%s'", a.scope.region, opts.Region).
			with(Detail{"Region", opts.Region})
	}
	secret, ok := creds.Lookup(a.accessKeyID)
	if !ok {
		return Identity{}, refuse(InvalidAccessKeyID, "The AWS Access Key Id you provided does not exist in our records.").
			with(Detail{"AWSAccessKeyId", a.accessKeyID})
	}
	if err := a.checkToken(secret, now); err != nil {
		return Identity{}, err
	}
	want := sign(signingKey(secret.SecretAccessKey, a.scope), f.Policy)
	if !sameSignature(want, f.Signature) {
		return Identity{}, refuse(SignatureMismatch, "The request signature we calculated does not match the signature you provided. Check your key and signing method.").
			with(Detail{"AWSAccessKeyId", a.accessKeyID}, Detail{"StringToSign", f.Policy}, Detail{"SignatureProvided", f.Signature})
	}
	return Identity{
		AccessKeyID: a.accessKeyID, Principal: secret.Principal,
		Region: a.scope.region, Service: a.scope.service, SignedAt: a.date,
		Temporary: secret.SessionToken != "", PayloadHash: unsignedPayload,
	}, nil
}
