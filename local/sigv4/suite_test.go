package sigv4

import (
	"testing"
)

// The AWS Signature Version 4 test suite (formerly in the AWS General Reference,
// "Signature Version 4 test suite"): service "service", region us-east-1, key
// AKIDEXAMPLE, 2015-08-30T12:36:00Z. Each case is the request as the suite
// describes it and the signature the suite publishes for it.
const (
	suiteKey    = "AKIDEXAMPLE"
	suiteSecret = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY"
	suiteDate   = "20150830T123600Z"
	suiteToken  = "AQoDYXdzEPT//////////wEXAMPLEtc764bNrC9SAPBSM22wDOk4x4HIZ8j4FZTwdQWLWsKWHGBuFqwAeMicRXmxfpSPfIeoIYRqTflfKD8YUuwthAx7mSEI/qkPpKPi/kMcGdQrmGdeehM4IC1NtBmUpp2wUE8phUZampKsburEDy0KPkyQDYwT7WZ0wq5VSXDvp75YU9HFvlRd8Tx6q6fE8YQcHNVXAkiY9q6d+xo0rKwT38xVqr7ZD0u0iPPkUL64lIZbqBAz+scqKmlzm8FDrypNC9Yjc8fPOLn9FX9KSYvKTr4rvx3iSIlTJabIQwj2ICCR/oLxBA=="
)

type suiteCase struct {
	name, method, target string
	headers              [][2]string // besides Host and X-Amz-Date
	body                 string
	signedHeaders        string
	signature            string
}

var suiteCases = []suiteCase{
	{name: "get-vanilla", method: "GET", target: "/", signature: "5fa00fa31553b73ebf1942676e86291e8372ff2a2260956d9b8aae1d763fbf31"},
	{name: "get-vanilla-query", method: "GET", target: "/", signature: "5fa00fa31553b73ebf1942676e86291e8372ff2a2260956d9b8aae1d763fbf31"},
	{name: "get-vanilla-empty-query-key", method: "GET", target: "/?Param1=value1", signature: "a67d582fa61cc504c4bae71f336f98b97f1ea3c7a6bfe1b6e45aec72011b9aeb"},
	{name: "get-vanilla-query-order-key", method: "GET", target: "/?Param1=value2&Param1=Value1", signature: "eedbc4e291e521cf13422ffca22be7d2eb8146eecf653089df300a15b2382bd1"},
	{name: "get-vanilla-query-order-key-case", method: "GET", target: "/?Param2=value2&Param1=value1", signature: "b97d918cfa904a5beff61c982a1b6f458b799221646efd99d3219ec94cdf2500"},
	{name: "get-vanilla-query-order-value", method: "GET", target: "/?Param1=value2&Param1=value1", signature: "5772eed61e12b33fae39ee5e7012498b51d56abc0abb7c60486157bd471c4694"},
	{name: "get-vanilla-query-unreserved", method: "GET", target: "/?" + unreserved + "=" + unreserved, signature: "9c3e54bfcdf0b19771a7f523ee5669cdf59bc7cc0884027167c21bb143a40197"},
	{name: "get-vanilla-utf8-query", method: "GET", target: "/?\u1234=bar", signature: "2cdec8eed098649ff3a119c94853b13c643bcf08f8b0a1d91e12c9027818dd04"},
	{name: "get-unreserved", method: "GET", target: "/" + unreserved, signature: "07ef7494c76fa4850883e2b006601f940f8a34d404d0cfa977f52a65bbf5f24f"},
	{
		name: "get-header-key-duplicate", method: "GET", target: "/",
		headers:       [][2]string{{"My-Header1", "value2"}, {"My-Header1", "value2"}, {"My-Header1", "value1"}},
		signedHeaders: "host;my-header1;x-amz-date", signature: "c9d5ea9f3f72853aea855b47ea873832890dbdd183b4468f858259531a5138ea",
	},
	{
		name: "get-header-value-order", method: "GET", target: "/",
		headers:       [][2]string{{"My-Header1", "value4"}, {"My-Header1", "value1"}, {"My-Header1", "value3"}, {"My-Header1", "value2"}},
		signedHeaders: "host;my-header1;x-amz-date", signature: "08c7e5a9acfcfeb3ab6b2185e75ce8b1deb5e634ec47601a50643f830c755c01",
	},
	{
		name: "get-header-value-trim", method: "GET", target: "/",
		headers:       [][2]string{{"My-Header1", " value1"}, {"My-Header2", ` "a   b   c"`}},
		signedHeaders: "host;my-header1;my-header2;x-amz-date", signature: "acc3ed3afb60bb290fc8d2dd0098b9911fcaa05412b367055dee359757a9c736",
	},
	{name: "post-vanilla", method: "POST", target: "/", signature: "5da7c1a2acd57cee7505fc6676e4e544621c30862966e37dddb68e92efbe5d6b"},
	{name: "post-header-key-case", method: "POST", target: "/", signature: "5da7c1a2acd57cee7505fc6676e4e544621c30862966e37dddb68e92efbe5d6b"},
	{name: "post-vanilla-query", method: "POST", target: "/?Param1=value1", signature: "28038455d6de14eafc1f9222cf5aa6f1a96197d7deb8263271d420d138af7f11"},
	{name: "post-vanilla-empty-query-value", method: "POST", target: "/?Param1=value1", signature: "28038455d6de14eafc1f9222cf5aa6f1a96197d7deb8263271d420d138af7f11"},
	{
		name: "post-header-key-sort", method: "POST", target: "/", headers: [][2]string{{"My-Header1", "value1"}},
		signedHeaders: "host;my-header1;x-amz-date", signature: "c5410059b04c1ee005303aed430f6e6645f61f4dc9e1461ec8f8916fdf18852c",
	},
	{
		name: "post-header-value-case", method: "POST", target: "/", headers: [][2]string{{"My-Header1", "VALUE1"}},
		signedHeaders: "host;my-header1;x-amz-date", signature: "cdbc9802e29d2942e5e10b5bccfdd67c5f22c7c4e8ae67b53629efa58b974b7d",
	},
	{
		name: "post-x-www-form-urlencoded", method: "POST", target: "/",
		headers: [][2]string{{"Content-Type", "application/x-www-form-urlencoded"}}, body: "Param1=value1",
		signedHeaders: "content-type;host;x-amz-date", signature: "ff11897932ad3f4e8b18135d722051e5ac45fc38421b1da7b9d196a0fe09473a",
	},
	{
		name: "post-x-www-form-urlencoded-parameters", method: "POST", target: "/",
		headers: [][2]string{{"Content-Type", "application/x-www-form-urlencoded; charset=utf8"}}, body: "Param1=value1",
		signedHeaders: "content-type;host;x-amz-date", signature: "1a72ec8f64bd914b0e42e42607c7fbce7fb2c7465f63e3092b3b0d39fa77a6fe",
	},
	// normalize-path: services other than S3 sign the normalized path.
	{name: "get-relative", method: "GET", target: "/example/..", signature: "5fa00fa31553b73ebf1942676e86291e8372ff2a2260956d9b8aae1d763fbf31"},
	{name: "get-relative-relative", method: "GET", target: "/example1/example2/../..", signature: "5fa00fa31553b73ebf1942676e86291e8372ff2a2260956d9b8aae1d763fbf31"},
	{name: "get-slash", method: "GET", target: "//", signature: "5fa00fa31553b73ebf1942676e86291e8372ff2a2260956d9b8aae1d763fbf31"},
	{name: "get-slash-dot-slash", method: "GET", target: "/./", signature: "5fa00fa31553b73ebf1942676e86291e8372ff2a2260956d9b8aae1d763fbf31"},
	{name: "get-slash-pointless-dot", method: "GET", target: "/./example", signature: "ef75d96142cf21edca26f06005da7988e4f8dc83a165a80865db7089db637ec5"},
	{name: "get-slashes", method: "GET", target: "//example//", signature: "9a624bd73a37c9a373b5312afbebe7a714a789de108f0bdfe846570885f57e84"},
	// post-sts-token: a session token signed as a header.
	{
		name: "post-sts-header-before", method: "POST", target: "/", headers: [][2]string{{"X-Amz-Security-Token", suiteToken}},
		signedHeaders: "host;x-amz-date;x-amz-security-token", signature: "85d96828115b5dc0cfc3bd16ad9e210dd772bbebba041836c64533a82be05ead",
	},
}

const unreserved = "-._~0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"

func (c suiteCase) verify(t *testing.T, signature string) error {
	t.Helper()
	signed := c.signedHeaders
	if signed == "" {
		signed = "host;x-amz-date"
	}
	headers := append([][2]string{{"Host", "example.amazonaws.com"}, {"X-Amz-Date", suiteDate}}, c.headers...)
	headers = append(headers, [2]string{"Authorization", "AWS4-HMAC-SHA256 Credential=" + suiteKey + "/20150830/us-east-1/service/aws4_request, SignedHeaders=" + signed + ", Signature=" + signature})
	r := wireRequest(t, c.method, c.target, headers, c.body)
	keys := NewKeys()
	s := Secret{SecretAccessKey: suiteSecret}
	if hasHeader(c.headers, "X-Amz-Security-Token") {
		s.SessionToken = suiteToken
	}
	keys.Put(suiteKey, s)
	_, err := Verify(r, keys, mustTime(t, suiteDate))
	return err
}

func TestAWSTestSuite(t *testing.T) {
	for _, c := range suiteCases {
		t.Run(c.name, func(t *testing.T) {
			if err := c.verify(t, c.signature); err != nil {
				t.Fatalf("the suite's signature is refused: %v", err)
			}
			// The same request with a signature one bit off must not pass: the test
			// can fail.
			bad := []byte(c.signature)
			bad[0] ^= 1
			wantKind(t, c.verify(t, string(bad)), SignatureMismatch)
		})
	}
}

// TestAWSTestSuiteMutations: changing anything the suite's vanilla request signs
// breaks the signature.
func TestAWSTestSuiteMutations(t *testing.T) {
	base := suiteCases[0]
	for name, c := range map[string]suiteCase{
		"method":        {method: "POST", target: "/"},
		"path":          {method: "GET", target: "/x"},
		"query":         {method: "GET", target: "/?a=b"},
		"signed header": {method: "GET", target: "/", headers: [][2]string{{"My-Header1", "v"}}, signedHeaders: "host;my-header1;x-amz-date"},
	} {
		t.Run(name, func(t *testing.T) {
			c.name = name
			wantKind(t, c.verify(t, base.signature), SignatureMismatch)
		})
	}
}
