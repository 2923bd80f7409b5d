package iam

import (
	"net"
	"net/http"
	"strconv"
)

// ContextKeys are the condition keys the twin supplies, and so the ones a policy
// may test; a statement testing another denies, naming the key. Who fills them:
//
//   - aws:SecureTransport: always; RequestContext (SecureTransport decides it).
//   - aws:SourceIp, aws:RequestedRegion: RequestContext, for requests on the edge.
//   - aws:SourceArn, aws:SourceAccount: the integrator, when a service acts for a
//     resource of the account (API Gateway invoking a function for a method ARN, an
//     EventBridge rule sending to a queue, Step Functions assuming its role).
//   - aws:ViaAWSService: the integrator, "true" when a service calls on a
//     principal's behalf (Rekognition reading S3 with the caller's permissions).
//   - aws:PrincipalArn, aws:PrincipalAccount, aws:PrincipalType,
//     aws:PrincipalServiceName, aws:CurrentTime, aws:EpochTime: Authorize, from the
//     principal and the clock, unless the context already has them.
//   - cognito-identity.amazonaws.com:aud, :amr, :sub: the Cognito emulation, for
//     CanAssume on the identity pool's roles, and in the context of every call
//     made with the credentials it issues (policy variables such as
//     ${cognito-identity.amazonaws.com:sub} in a role's Resource).
//   - s3:if-none-match, s3:if-match, s3:prefix, s3:delimiter, s3:max-keys:
//     ActionFor, in Need.Context, when the S3 request has them.
var ContextKeys = []string{
	"aws:SecureTransport", "aws:SourceIp", "aws:RequestedRegion",
	"aws:SourceArn", "aws:SourceAccount", "aws:ViaAWSService",
	"aws:PrincipalArn", "aws:PrincipalAccount", "aws:PrincipalType", "aws:PrincipalServiceName",
	"aws:CurrentTime", "aws:EpochTime",
	"cognito-identity.amazonaws.com:aud", "cognito-identity.amazonaws.com:amr", "cognito-identity.amazonaws.com:sub",
	"s3:if-none-match", "s3:if-match", "s3:prefix", "s3:delimiter", "s3:max-keys",
}

// Merge joins request contexts; a later one's key replaces an earlier one's.
func Merge(ctxs ...map[string][]string) map[string][]string {
	out := map[string][]string{}
	for _, c := range ctxs {
		for k, v := range c {
			out[k] = v
		}
	}
	return out
}

// requiredKeys are keys AWS always has in a request's context: a condition that
// tests one the integrator left out denies rather than treat it as absent, which
// would silently drop a Deny such as CDK's enforceSSL (Bool aws:SecureTransport
// false).
var requiredKeys = map[string]bool{"aws:securetransport": true}

// SecureTransport is what the twin answers for aws:SecureTransport.
//
// AWS endpoints speak TLS only, so in AWS every SDK call has aws:SecureTransport
// true, and a bucket or queue policy that denies false (CDK's enforceSSL) never
// blocks the stack's own calls. The twin listens on plain HTTP on loopback: that
// hop, which never leaves the machine, stands for the TLS connection AWS would
// have, and counts as secure. A request over TLS counts as secure too. A
// plain-HTTP request from another machine (a twin started with --allow-remote and
// no TLS in front) is what the Deny is for, and it is denied as AWS would deny it.
func SecureTransport(r *http.Request) bool {
	if r.TLS != nil {
		return true
	}
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		host = r.RemoteAddr
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// RequestContext is the global part of the request context of a call arriving on
// the edge: aws:SecureTransport, aws:SourceIp and aws:RequestedRegion (region: the
// SigV4 credential scope's).
func RequestContext(r *http.Request, region string) map[string][]string {
	ctx := map[string][]string{"aws:SecureTransport": {strconv.FormatBool(SecureTransport(r))}}
	if region != "" {
		ctx["aws:RequestedRegion"] = []string{region}
	}
	if host, _, err := net.SplitHostPort(r.RemoteAddr); err == nil {
		ctx["aws:SourceIp"] = []string{host}
	}
	return ctx
}
