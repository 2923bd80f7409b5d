package sigv4

import (
	"encoding/base64"
	"testing"
	"time"
)

// postFields signs policy as a browser-upload form carries it, for key id with
// secret, in region and service, at t.
func postFields(policy, id, secret, region, service, token string, t time.Time) PostFields {
	sc := scope{day: t.Format("20060102"), region: region, service: service}
	return PostFields{
		Policy: policy, Algorithm: algorithm, Credential: id + "/" + sc.String(), Date: t.Format(amzDateForm),
		Signature: sign(signingKey(secret, sc), policy), SecurityToken: token,
	}
}

// VerifyPost: the signature is the HMAC of the base64 policy with the key derived for
// the form's credential scope; scope, key and session token are checked as for any
// SigV4 request.
func TestVerifyPost(t *testing.T) {
	now := time.Date(2026, 11, 29, 12, 0, 0, 0, time.UTC)
	policy := base64.StdEncoding.EncodeToString([]byte(`{"expiration":"2026-11-29T12:15:00Z","conditions":[{"bucket":"images"}]}`))
	keys := keysOf("test", "secret")
	keys.Put("ASIATEMP", Secret{SecretAccessKey: "tsecret", SessionToken: "tok", Expires: now.Add(time.Hour),
		Principal: Principal{ARN: "arn:aws:sts::000000000000:assumed-role/r/s", Account: "000000000000"}})
	opts := Options{Region: "us-east-1"}

	id, err := VerifyPost(postFields(policy, "test", "secret", "us-east-1", "s3", "", now), keys, now, opts)
	if err != nil || id.Principal.ARN != "arn:aws:iam::000000000000:user/test" || id.Service != "s3" {
		t.Fatalf("good form: %+v %v", id, err)
	}
	if id, err := VerifyPost(postFields(policy, "ASIATEMP", "tsecret", "us-east-1", "s3", "tok", now), keys, now, opts); err != nil || !id.Temporary {
		t.Errorf("temporary credentials with their token: %+v %v", id, err)
	}
	tampered := postFields(policy, "test", "secret", "us-east-1", "s3", "", now)
	tampered.Policy = base64.StdEncoding.EncodeToString([]byte(`{"expiration":"2030-01-01T00:00:00Z","conditions":[]}`))
	for _, c := range []struct {
		name string
		f    PostFields
		at   time.Time
		kind Kind
	}{
		{"tampered policy", tampered, now, SignatureMismatch},
		{"wrong secret", postFields(policy, "test", "other", "us-east-1", "s3", "", now), now, SignatureMismatch},
		{"unknown key", postFields(policy, "nobody", "secret", "us-east-1", "s3", "", now), now, InvalidAccessKeyID},
		{"other region", postFields(policy, "test", "secret", "eu-west-1", "s3", "", now), now, WrongRegion},
		{"other service", postFields(policy, "test", "secret", "us-east-1", "es", "", now), now, Malformed},
		{"temporary key without its token", postFields(policy, "ASIATEMP", "tsecret", "us-east-1", "s3", "", now), now, InvalidToken},
		{"expired temporary key", postFields(policy, "ASIATEMP", "tsecret", "us-east-1", "s3", "tok", now), now.Add(2 * time.Hour), ExpiredToken},
		{"SigV2", PostFields{Policy: policy, Algorithm: "AWS"}, now, Unsupported},
		{"no signature", PostFields{Policy: policy, Algorithm: algorithm, Credential: "test/20261129/us-east-1/s3/aws4_request", Date: "20261129T120000Z"}, now, Malformed},
	} {
		_, err := VerifyPost(c.f, keys, c.at, opts)
		if KindOf(err) != c.kind {
			t.Errorf("%s: %v, want %v", c.name, err, c.kind)
		}
	}
}
