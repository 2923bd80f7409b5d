// Package cognito is Amazon Cognito on the twin's edge: the user-pool calls and
// the identity-pool calls the web app makes, built from the template's
// AWS::Cognito::UserPool, UserPoolClient, UserPoolGroup, IdentityPool and
// IdentityPoolRoleAttachment, with real RS256 JWTs and temporary credentials the
// edge's SigV4 verifier accepts.
//
// Served (JSON 1.1, POST /, X-Amz-Target):
//
//   - AWSCognitoIdentityProviderService: SignUp, ConfirmSignUp, InitiateAuth
//     (USER_PASSWORD_AUTH, REFRESH_TOKEN_AUTH), GetUser: public, unsigned, as in
//     AWS; AdminCreateUser, AdminSetUserPassword, AdminAddUserToGroup: signed with
//     IAM credentials (Public says which, for the edge to verify).
//   - AWSCognitoIdentityService: GetId, GetCredentialsForIdentity (public).
//   - GET /<userPoolId>/.well-known/jwks.json: each pool's two signing keys.
//
// Any other operation is an UnknownOperationException naming what is served.
//
// What AWS does that the twin does too, and where it was read:
//
//   - Email sign-in (UsernameAttributes [email]): the user name given must be an
//     email ("Username should be an email."); the user's user name is then its sub,
//     a UUID, which is what cognito:username and the access token's username carry;
//     APIs taking a Username take the email too.
//   - The pool's password policy, one InvalidPasswordException reason at a time
//     ("Password did not conform with policy: Password not long enough", "... must
//     have lowercase/uppercase/numeric/symbol characters"), symbols as the user pool
//     password requirements list them. Recorded answers in public code and Q&A.
//   - Sign-up codes: six digits, valid 24 hours, "delivered" by writing the pool's
//     verification message to the log (the twin's stand-in for email; the record
//     has the code in a "code" field). CodeMismatchException "Invalid verification
//     code provided, please try again.", ExpiredCodeException "Invalid code
//     provided, please request a code again.", NotAuthorizedException "User cannot
//     be confirmed. Current status is CONFIRMED".
//   - PreventUserExistenceErrors ENABLED (developer guide, "Managing user existence
//     error responses"): an unknown user signing in is "Incorrect username or
//     password."; with LEGACY it is UserNotFoundException. The password is checked
//     before the status, so UserNotConfirmedException ("User is not confirmed.")
//     needs the right password. SignUp still says UsernameExistsException ("An
//     account with the given email already exists.").
//   - Tokens (developer guide, "Using the ID token", "Using the access token"): ID
//     and access tokens signed RS256 with different keys, iss
//     https://cognito-idp.<region>.amazonaws.com/<poolId>, aud/client_id,
//     token_use, auth_time, iat, exp (the client's validity, an hour by default),
//     jti, origin_jti, event_id, cognito:groups; the ID token has the user's
//     attributes, cognito:username, and cognito:roles and cognito:preferred_role
//     from the groups' RoleArn and Precedence (CreateGroup: the lowest precedence
//     value wins; a tie between different roles sets no preferred role). Refresh
//     tokens are opaque, valid 30 days by default; a refresh keeps auth_time and
//     origin_jti and issues no new refresh token. GetUser: "Access Token has
//     expired", "Invalid Access Token".
//   - Identity pools (developer guide, "Identity pools authentication flow",
//     "Role-based access control"): GetId makes a new guest identity on every call
//     without Logins, and returns the identity linked to a login, making it on first
//     use; identity ids are <region>:<uuid>. A Logins token must be an ID token of a
//     provider the pool names, for one of its clients ("Token is not from a
//     supported provider of this identity pool."), unexpired ("Invalid login token.
//     Token expired: <now> >= <exp>"), signed by the pool ("Invalid login token. Not
//     a valid OpenId Connect identity token."). GetCredentialsForIdentity links a
//     guest identity to a new login, merges it into the login's identity when it has
//     one, and refuses another user's token ("Logins don't match. ...") and a
//     signed-in identity without its login ("Access to Identity '<id>' is
//     forbidden."). Guests need AllowUnauthenticatedIdentities ("Unauthenticated
//     access is not supported for this identity pool.").
//   - Roles: unauthenticated/authenticated from the role attachment; a RoleMappings
//     entry for the token's "<provider>:<client>" of Type Token takes
//     cognito:preferred_role, else the one cognito:roles, else applies
//     AmbiguousRoleResolution (AuthenticatedRole, or Deny: "The ambiguous role
//     mapping rules denied this request."); Type Rules takes the first matching
//     rule. The role's trust policy is then checked as STS would for
//     sts:AssumeRoleWithWebIdentity with cognito-identity.amazonaws.com:aud, :amr
//     and :sub (Options.AssumeRole, or the package's own check); a refusal is
//     InvalidIdentityPoolConfigurationException, as AWS answers it.
//   - Credentials: ASIA… access keys, valid an hour, for the principal
//     arn:aws:sts::<account>:assumed-role/<role>/CognitoIdentityCredentials.
//     Guests' sessions carry Cognito's scope-down policy (Session.SessionPolicy).
//   - Errors in the JSON 1.1 shape {"__type": ..., "message": ...}, status 400,
//     the name also in X-Amzn-ErrorType.
//
// Where the twin stops short of Cognito, it refuses rather than pretends: a
// template with MFA required, Lambda triggers, aliases, a client secret, a client
// without USER_PASSWORD_AUTH, or identity providers other than its own user pools
// is a *ConfigError naming the resource; SRP, custom and choice-based sign-in
// are InvalidParameterException; an administrator-created user gets the
// NEW_PASSWORD_REQUIRED challenge, which the twin does not answer
// (RespondToAuthChallenge is not served: use AdminSetUserPassword with
// Permanent). Not modelled: failed-attempt lockouts and code attempt limits,
// ForgotPassword, ResendConfirmationCode, token revocation and sign-out, the
// hosted UI and OAuth endpoints, GetOpenIdToken (the basic flow). Where an
// answer's wording is the twin's own (a rule the twin adds), the message says so.
//
// State lives in Options.DataDir/cognito.db (bbolt): users (PBKDF2-SHA256 password
// hashes), identities and their logins, refresh tokens, issued credentials until
// they expire, and each pool's RSA keys, so that a restart keeps users, identity
// ids, tokens and credentials valid.
package cognito
