// Package iam evaluates AWS IAM policies as the IAM user guide's "Policy
// evaluation logic" describes it for requests within one account, so that the
// twin refuses what the template's roles and resource policies would refuse in
// AWS.
//
// FromTemplate reads a resolved template's policies; Authorize decides one call
// (principal, action, resource, request context) and says which statement
// decided; ActionFor and Table say what each call the twin serves needs
// (ExecuteAPIArn for API Gateway, TaskNeeds for a state machine's Task states);
// RequestContext and SecureTransport give the global condition keys of a request
// on the edge.
//
// # What is modelled
//
//   - Identity-based policies of roles: inline Policies, ManagedPolicyArns (the
//     template's own AWS::IAM::ManagedPolicy, and the AWS managed policies whose
//     text the package holds: AWSLambdaBasicExecutionRole,
//     AmazonAPIGatewayPushToCloudWatchLogs), AWS::IAM::Policy and
//     AWS::IAM::ManagedPolicy naming the role. A role's session
//     (arn:aws:sts::<acct>:assumed-role/<role>/<session>) has its role's policies.
//   - Resource-based policies: bucket policies, queue policies, topic policies,
//     Lambda permissions (AWS::Lambda::Permission, as the statement AddPermission
//     writes: SourceArn as ArnLike aws:SourceArn, SourceAccount as StringEquals
//     aws:SourceAccount; without a Qualifier it covers the unqualified ARN only),
//     OpenSearch domain access policies; and roles' trust policies (CanAssume).
//   - Evaluation: an explicit Deny in any applicable policy wins; else an Allow in
//     an identity-based or a resource-based policy allows (one account: the union);
//     else the request is implicitly denied. A resource-based Allow naming only the
//     account (its id or :root) grants nothing by itself: it delegates to the
//     account's identity-based policies. Principal "*" and {"AWS":"*"} name
//     everyone, anonymous callers included.
//   - Matching: Action and NotAction case-insensitively, Resource and NotResource
//     case-sensitively, both with * (any run, across "/" and ":") and ? (one
//     character); Principal and NotPrincipal by AWS (account, role, role session,
//     user), Service and Federated.
//   - Conditions: String*, Arn* (each of the six ARN parts a glob), Bool, Null,
//     Numeric*, Date*, IpAddress and NotIpAddress, with ...IfExists and the
//     ForAnyValue: and ForAllValues: set operators. Operators and keys are ANDed,
//     a key's values ORed (NORed for negated operators). An absent key matches
//     nothing, except for negated operators (true), IfExists (true), ForAllValues
//     (true) and Null. Keys compare case-insensitively.
//   - Policy variables in Resource, NotResource and condition values, with
//     ${key, 'default'} and ${$} (variables.go says how an unresolved one acts).
//
// # What the twin refuses rather than guess
//
// A statement whose condition uses an operator outside that list (BinaryEquals),
// a key outside ContextKeys and ModelKeys (aws:PrincipalTag/..., aws:SourceVpce),
// or a policy variable ${*}/${?}, denies every request it applies to, and the
// Decision names what; Warnings lists them for the log at start. A key AWS always
// knows (aws:SecureTransport) that the caller left out of the context denies too,
// so that a Deny on it is never silently dropped. A permissions boundary, or a
// policy on an IAM user or group, makes FromTemplate fail. An AWS managed policy
// the package has no text for grants nothing, and denials and Warnings say so.
//
// # aws:SecureTransport
//
// The twin speaks plain HTTP on loopback, where AWS speaks TLS; CDK's enforceSSL
// policies deny aws:SecureTransport false. SecureTransport counts a loopback
// connection (and any TLS one) as the TLS AWS would have, so the stack's own calls
// pass as they do in AWS, and counts plain HTTP from another machine (--allow-remote
// without TLS in front) as insecure, so the Deny applies there exactly as in AWS.
//
// # Not modelled
//
// Organizations SCPs and RCPs, permissions boundaries, session policies,
// cross-account access, tags (aws:PrincipalTag, aws:ResourceTag, aws:RequestTag:
// unsupported keys), S3 ACLs and object ownership, KMS key policies, the policy
// Version element (every policy is read as 2012-10-17). DeleteObjects is checked
// per key by ActionFor, as AWS does; answering per-key errors in its result is
// the S3 handler's business.
package iam
