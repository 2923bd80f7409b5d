package cognito_test

import (
	"context"
	"encoding/json"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cognitoidentity"
	idp "github.com/aws/aws-sdk-go-v2/service/cognitoidentityprovider"
	idptypes "github.com/aws/aws-sdk-go-v2/service/cognitoidentityprovider/types"

	"github.com/imagepipe/imagepipe/local/cognito"
)

// The web app's whole path through Cognito, through the real SDK clients: sign
// up, the code from the log, confirm, sign in, tokens that verify with the
// pool's JWKS, an identity for the login and credentials for the signed-in role;
// with the errors Cognito answers on the way.
func TestSignUpSignInCredentials(t *testing.T) {
	tw := newTwin(t, snapshot(t))
	ctx := context.Background()
	client, email := &tw.web.UserPoolClientID, "ada@example.com"

	checkSignUpRefusals(t, tw, email)
	up, err := tw.idp.SignUp(ctx, &idp.SignUpInput{ClientId: client, Username: aws.String(email), Password: aws.String(goodPassword)})
	if err != nil {
		t.Fatal(err)
	}
	if up.UserConfirmed || up.UserSub == nil || up.CodeDeliveryDetails == nil || aws.ToString(up.CodeDeliveryDetails.Destination) != "a***@e***" ||
		up.CodeDeliveryDetails.DeliveryMedium != idptypes.DeliveryMediumTypeEmail {
		t.Errorf("SignUp = %+v, delivery %+v", up, up.CodeDeliveryDetails)
	}
	_, err = tw.idp.SignUp(ctx, &idp.SignUpInput{ClientId: client, Username: aws.String("ADA@example.com"), Password: aws.String(goodPassword)})
	wantAPIError(t, "second sign-up", err, "UsernameExistsException", "An account with the given email already exists.")

	_, err = tw.idp.InitiateAuth(ctx, passwordAuth(client, email, goodPassword))
	wantAPIError(t, "unconfirmed", err, "UserNotConfirmedException", "User is not confirmed.")
	_, err = tw.idp.InitiateAuth(ctx, passwordAuth(client, email, "Wrong-password-1"))
	wantAPIError(t, "unconfirmed, wrong password", err, "NotAuthorizedException", "Incorrect username or password.")

	code := tw.log.code(t, email)
	if !regexp.MustCompile(`^\d{6}$`).MatchString(code) {
		t.Errorf("code %q is not six digits", code)
	}
	bad := "000000"
	if code == bad {
		bad = "111111"
	}
	_, err = tw.idp.ConfirmSignUp(ctx, &idp.ConfirmSignUpInput{ClientId: client, Username: aws.String(email), ConfirmationCode: &bad})
	wantAPIError(t, "wrong code", err, "CodeMismatchException", "Invalid verification code provided, please try again.")
	if _, err := tw.idp.ConfirmSignUp(ctx, &idp.ConfirmSignUpInput{ClientId: client, Username: aws.String(email), ConfirmationCode: &code}); err != nil {
		t.Fatal(err)
	}
	_, err = tw.idp.ConfirmSignUp(ctx, &idp.ConfirmSignUpInput{ClientId: client, Username: aws.String(email), ConfirmationCode: &code})
	wantAPIError(t, "confirmed twice", err, "NotAuthorizedException", "User cannot be confirmed. Current status is CONFIRMED")

	_, err = tw.idp.InitiateAuth(ctx, passwordAuth(client, email, "Wrong-password-1"))
	wantAPIError(t, "wrong password", err, "NotAuthorizedException", "Incorrect username or password.")
	_, err = tw.idp.InitiateAuth(ctx, passwordAuth(client, "nobody@example.com", goodPassword))
	wantAPIError(t, "no such user (PreventUserExistenceErrors)", err, "NotAuthorizedException", "Incorrect username or password.")

	res := tw.signIn(t, email, goodPassword)
	if aws.ToString(res.TokenType) != "Bearer" || res.ExpiresIn != 3600 || res.RefreshToken == nil {
		t.Errorf("AuthenticationResult = %+v", res)
	}
	idt, at := tw.verify(t, aws.ToString(res.IdToken)), tw.verify(t, aws.ToString(res.AccessToken))
	checkIDToken(t, tw, idt, at, email, aws.ToString(up.UserSub))

	user, err := tw.idp.GetUser(ctx, &idp.GetUserInput{AccessToken: res.AccessToken})
	if err != nil {
		t.Fatal(err)
	}
	attrs := map[string]string{}
	for _, a := range user.UserAttributes {
		attrs[aws.ToString(a.Name)] = aws.ToString(a.Value)
	}
	if aws.ToString(user.Username) != aws.ToString(up.UserSub) || attrs["email"] != email || attrs["email_verified"] != "true" || attrs["sub"] != aws.ToString(up.UserSub) {
		t.Errorf("GetUser = %s %v", aws.ToString(user.Username), attrs)
	}

	id, err := tw.ids.GetId(ctx, &cognitoidentity.GetIdInput{IdentityPoolId: &tw.web.IdentityPoolID, Logins: tw.logins(aws.ToString(res.IdToken))})
	if err != nil {
		t.Fatal(err)
	}
	if !regexp.MustCompile(`^us-east-1:[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$`).MatchString(aws.ToString(id.IdentityId)) {
		t.Errorf("IdentityId %q is not <region>:<uuid>", aws.ToString(id.IdentityId))
	}
	again := tw.signIn(t, email, goodPassword)
	id2, err := tw.ids.GetId(ctx, &cognitoidentity.GetIdInput{IdentityPoolId: &tw.web.IdentityPoolID, Logins: tw.logins(aws.ToString(again.IdToken))})
	if err != nil || aws.ToString(id2.IdentityId) != aws.ToString(id.IdentityId) {
		t.Errorf("second sign-in's identity = %v, %v; want the same %s", aws.ToString(id2.IdentityId), err, aws.ToString(id.IdentityId))
	}
	creds := tw.credentials(t, id.IdentityId, tw.logins(aws.ToString(res.IdToken)))
	sess := tw.session(t, creds)
	if want := roleARN(t, tw.res, "UserRole"); sess.RoleARN != want || !sess.Authenticated() || sess.SessionPolicy != nil {
		t.Errorf("signed-in session: role %s (want %s), amr %v, session policy %s", sess.RoleARN, want, sess.AMR, sess.SessionPolicy)
	}
	ctxKeys := sess.Context()
	provider := "cognito-idp.us-east-1.amazonaws.com/" + tw.web.UserPoolID
	if !slices.Equal(ctxKeys["cognito-identity.amazonaws.com:amr"], []string{"authenticated", provider, provider + ":CognitoSignIn:" + aws.ToString(up.UserSub)}) ||
		ctxKeys["cognito-identity.amazonaws.com:sub"][0] != aws.ToString(id.IdentityId) || ctxKeys["cognito-identity.amazonaws.com:aud"][0] != tw.web.IdentityPoolID {
		t.Errorf("session context = %v", ctxKeys)
	}
	if !strings.HasSuffix(sess.AssumedRoleARN, ":assumed-role/"+sess.RoleARN[strings.LastIndex(sess.RoleARN, "/")+1:]+"/CognitoIdentityCredentials") {
		t.Errorf("AssumedRoleARN = %s", sess.AssumedRoleARN)
	}

	checkLoginErrors(t, tw, res, aws.ToString(id.IdentityId))
}

// checkLoginErrors checks what Cognito Identity says to logins it must refuse.
func checkLoginErrors(t testing.TB, tw *twin, res *idptypes.AuthenticationResultType, identityID string) {
	t.Helper()
	ctx := context.Background()
	_, err := tw.ids.GetCredentialsForIdentity(ctx, &cognitoidentity.GetCredentialsForIdentityInput{IdentityId: &identityID})
	wantAPIError(t, "signed-in identity without its login", err, "NotAuthorizedException", "Access to Identity '"+identityID+"' is forbidden.")
	_, err = tw.ids.GetId(ctx, &cognitoidentity.GetIdInput{IdentityPoolId: &tw.web.IdentityPoolID, Logins: tw.logins(aws.ToString(res.AccessToken))})
	wantAPIError(t, "an access token as the login", err, "NotAuthorizedException", "Invalid login token. Not a valid OpenId Connect identity token.")
	_, err = tw.ids.GetId(ctx, &cognitoidentity.GetIdInput{IdentityPoolId: &tw.web.IdentityPoolID, Logins: map[string]string{"accounts.google.com": aws.ToString(res.IdToken)}})
	wantAPIError(t, "a provider the pool does not have", err, "NotAuthorizedException", "Token is not from a supported provider of this identity pool.")
	tampered := aws.ToString(res.IdToken)
	tampered = tampered[:len(tampered)-4] + "AAAA"
	_, err = tw.ids.GetId(ctx, &cognitoidentity.GetIdInput{IdentityPoolId: &tw.web.IdentityPoolID, Logins: tw.logins(tampered)})
	wantAPIError(t, "a token with a bad signature", err, "NotAuthorizedException", "Invalid login token. Not a valid OpenId Connect identity token.")
}

// checkSignUpRefusals checks the password policy's and the email sign-in's answers.
func checkSignUpRefusals(t testing.TB, tw *twin, email string) {
	t.Helper()
	ctx, client := context.Background(), &tw.web.UserPoolClientID
	for pw, want := range map[string]string{
		"Sh0rt!":           "Password did not conform with policy: Password not long enough",
		"alllowercase-123": "Password did not conform with policy: Password must have uppercase characters",
		"NoNumbersHere-ok": "Password did not conform with policy: Password must have numeric characters",
		"NoSymbols12345ab": "Password did not conform with policy: Password must have symbol characters",
	} {
		_, err := tw.idp.SignUp(ctx, &idp.SignUpInput{ClientId: client, Username: aws.String(email), Password: aws.String(pw)})
		wantAPIError(t, "weak password "+pw, err, "InvalidPasswordException", want)
	}
	_, err := tw.idp.SignUp(ctx, &idp.SignUpInput{ClientId: client, Username: aws.String("ada"), Password: aws.String(goodPassword)})
	wantAPIError(t, "user name not an email", err, "InvalidParameterException", "Username should be an email.")

}

func passwordAuth(client *string, user, password string) *idp.InitiateAuthInput {
	return &idp.InitiateAuthInput{
		AuthFlow: idptypes.AuthFlowTypeUserPasswordAuth, ClientId: client,
		AuthParameters: map[string]string{"USERNAME": user, "PASSWORD": password},
	}
}

// checkIDToken checks the claims Cognito puts in ID and access tokens.
func checkIDToken(t testing.TB, tw *twin, idt, at jwt, email, sub string) {
	t.Helper()
	iss := "https://cognito-idp.us-east-1.amazonaws.com/" + tw.web.UserPoolID
	c := idt.claims
	if c["iss"] != iss || c["aud"] != tw.web.UserPoolClientID || c["token_use"] != "id" || c["sub"] != sub ||
		c["cognito:username"] != sub || c["email"] != email || c["email_verified"] != true {
		t.Errorf("ID token claims = %v", c)
	}
	now := float64(tw.clock.Now().Unix())
	if c["auth_time"] != now || c["iat"] != now || c["exp"] != now+3600 || c["jti"] == nil || c["origin_jti"] == nil || c["event_id"] == nil {
		t.Errorf("ID token times and ids = auth_time %v iat %v exp %v jti %v origin_jti %v (now %v)", c["auth_time"], c["iat"], c["exp"], c["jti"], c["origin_jti"], now)
	}
	if _, ok := c["cognito:groups"]; ok {
		t.Errorf("a user in no group has cognito:groups %v", c["cognito:groups"])
	}
	a := at.claims
	if a["iss"] != iss || a["client_id"] != tw.web.UserPoolClientID || a["token_use"] != "access" || a["username"] != sub ||
		a["scope"] != "aws.cognito.signin.user.admin" || a["exp"] != now+3600 || a["origin_jti"] != c["origin_jti"] {
		t.Errorf("access token claims = %v", a)
	}
	if idt.header["kid"] == at.header["kid"] {
		t.Error("ID and access tokens are signed with the same key; Cognito uses two")
	}
}

func (tw *twin) credentials(t testing.TB, identityID *string, logins map[string]string) *cognitoidentity.GetCredentialsForIdentityOutput {
	t.Helper()
	out, err := tw.ids.GetCredentialsForIdentity(context.Background(), &cognitoidentity.GetCredentialsForIdentityInput{IdentityId: identityID, Logins: logins})
	if err != nil {
		t.Fatalf("GetCredentialsForIdentity: %v", err)
	}
	c := out.Credentials
	if c == nil || !regexp.MustCompile(`^ASIA[A-Z2-7]{16}$`).MatchString(aws.ToString(c.AccessKeyId)) || len(aws.ToString(c.SecretKey)) != 40 ||
		aws.ToString(c.SessionToken) == "" || c.Expiration == nil || !c.Expiration.Equal(tw.clock.Now().Add(time.Hour)) {
		t.Fatalf("credentials = %+v", c)
	}
	if aws.ToString(out.IdentityId) == "" {
		t.Error("GetCredentialsForIdentity gave no IdentityId")
	}
	return out
}

// session looks the credentials up as the edge's verifier will.
func (tw *twin) session(t testing.TB, out *cognitoidentity.GetCredentialsForIdentityOutput) cognito.Session {
	t.Helper()
	c := out.Credentials
	secret, token, role, expires, ok := tw.svc.Lookup(aws.ToString(c.AccessKeyId))
	if !ok || secret != aws.ToString(c.SecretKey) || token != aws.ToString(c.SessionToken) || !expires.Equal(*c.Expiration) {
		t.Fatalf("Lookup(%s) = %q %q %q %v %v", aws.ToString(c.AccessKeyId), secret, token, role, expires, ok)
	}
	sess, ok := tw.svc.Session(aws.ToString(c.AccessKeyId))
	if !ok || sess.RoleARN != role || sess.IdentityID != aws.ToString(out.IdentityId) {
		t.Fatalf("Session = %+v, %v", sess, ok)
	}
	return sess
}

// The operators group's token carries its role, and Token role mapping gives
// the operator the operators role; the account is made through the admin API
// (signed, as the twin's developer identity) and through EnsureUser.
func TestOperatorsGetTheOperatorRole(t *testing.T) {
	tw := newTwin(t, snapshot(t))
	ctx := context.Background()
	pool := &tw.web.UserPoolID
	operatorRole := roleARN(t, tw.res, "OperatorRole")

	email := "op@example.com"
	created, err := tw.admin.AdminCreateUser(ctx, &idp.AdminCreateUserInput{
		UserPoolId: pool, Username: aws.String(email), TemporaryPassword: aws.String("Temporary-pass-1"),
		MessageAction:  idptypes.MessageActionTypeSuppress,
		UserAttributes: []idptypes.AttributeType{{Name: aws.String("email_verified"), Value: aws.String("true")}},
	})
	if err != nil {
		t.Fatal(err)
	}
	if created.User.UserStatus != idptypes.UserStatusTypeForceChangePassword || !created.User.Enabled {
		t.Errorf("AdminCreateUser = %+v", created.User)
	}
	out, err := tw.idp.InitiateAuth(ctx, passwordAuth(&tw.web.UserPoolClientID, email, "Temporary-pass-1"))
	if err != nil || out.ChallengeName != idptypes.ChallengeNameTypeNewPasswordRequired || out.AuthenticationResult != nil {
		t.Errorf("sign-in with the temporary password = %+v, %v; want the NEW_PASSWORD_REQUIRED challenge", out, err)
	}
	if _, err := tw.admin.AdminSetUserPassword(ctx, &idp.AdminSetUserPasswordInput{UserPoolId: pool, Username: aws.String(email), Password: aws.String(goodPassword), Permanent: true}); err != nil {
		t.Fatal(err)
	}
	_, err = tw.admin.AdminAddUserToGroup(ctx, &idp.AdminAddUserToGroupInput{UserPoolId: pool, Username: aws.String(email), GroupName: aws.String("nope")})
	wantAPIError(t, "no such group", err, "ResourceNotFoundException", "Group not found.")
	if _, err := tw.admin.AdminAddUserToGroup(ctx, &idp.AdminAddUserToGroupInput{UserPoolId: pool, Username: aws.String(email), GroupName: aws.String("operators")}); err != nil {
		t.Fatal(err)
	}
	_, err = tw.idp.AdminAddUserToGroup(ctx, &idp.AdminAddUserToGroupInput{UserPoolId: pool, Username: aws.String(email), GroupName: aws.String("operators")})
	wantAPIError(t, "an unsigned admin call", err, "MissingAuthenticationTokenException", "Missing Authentication Token")

	if _, err := tw.svc.EnsureUser(ctx, tw.web.UserPoolID, "twin@example.com", goodPassword, "operators"); err != nil {
		t.Fatal(err)
	}
	if _, err := tw.svc.EnsureUser(ctx, tw.web.UserPoolID, "twin@example.com", goodPassword, "operators"); err != nil {
		t.Fatalf("EnsureUser again: %v", err)
	}
	for _, who := range []string{email, "twin@example.com"} {
		res := tw.signIn(t, who, goodPassword)
		c := tw.verify(t, aws.ToString(res.IdToken)).claims
		if !equalJSON(c["cognito:groups"], []string{"operators"}) || !equalJSON(c["cognito:roles"], []string{operatorRole}) || c["cognito:preferred_role"] != operatorRole {
			t.Errorf("%s: groups %v roles %v preferred %v", who, c["cognito:groups"], c["cognito:roles"], c["cognito:preferred_role"])
		}
		id, err := tw.ids.GetId(ctx, &cognitoidentity.GetIdInput{IdentityPoolId: &tw.web.IdentityPoolID, Logins: tw.logins(aws.ToString(res.IdToken))})
		if err != nil {
			t.Fatal(err)
		}
		if sess := tw.session(t, tw.credentials(t, id.IdentityId, tw.logins(aws.ToString(res.IdToken)))); sess.RoleARN != operatorRole {
			t.Errorf("%s: role %s, want the operators role %s", who, sess.RoleARN, operatorRole)
		}
	}
	tokens, err := tw.svc.SignIn(ctx, tw.web.UserPoolClientID, "twin@example.com", goodPassword)
	if err != nil || tokens.IdToken == "" {
		t.Errorf("SignIn = %+v, %v", tokens, err)
	}
}

func equalJSON(got any, want []string) bool {
	a, _ := json.Marshal(got)
	b, _ := json.Marshal(want)
	return string(a) == string(b)
}

// Guests get a new identity from every GetId and the unauthenticated role, with
// the scope-down policy Cognito applies to guests; a guest who signs in keeps the
// identity, and one whose login already has an identity is merged into it.
func TestGuests(t *testing.T) {
	tw := newTwin(t, snapshot(t))
	ctx := context.Background()
	g1, err := tw.ids.GetId(ctx, &cognitoidentity.GetIdInput{IdentityPoolId: &tw.web.IdentityPoolID})
	if err != nil {
		t.Fatal(err)
	}
	g2, err := tw.ids.GetId(ctx, &cognitoidentity.GetIdInput{IdentityPoolId: &tw.web.IdentityPoolID})
	if err != nil || aws.ToString(g2.IdentityId) == aws.ToString(g1.IdentityId) {
		t.Errorf("two guests' identities: %v %v, %v", aws.ToString(g1.IdentityId), aws.ToString(g2.IdentityId), err)
	}
	sess := tw.session(t, tw.credentials(t, g1.IdentityId, nil))
	if want := roleARN(t, tw.res, "GuestRole"); sess.RoleARN != want || sess.Authenticated() || !slices.Equal(sess.AMR, []string{"unauthenticated"}) {
		t.Errorf("guest session: role %s (want %s), amr %v", sess.RoleARN, want, sess.AMR)
	}
	var policy struct{ Statement []struct{ Action []string } }
	if err := json.Unmarshal(sess.SessionPolicy, &policy); err != nil || !slices.Contains(policy.Statement[0].Action, "s3:*") ||
		!slices.Contains(policy.Statement[0].Action, "execute-api:*") || slices.Contains(policy.Statement[0].Action, "ssm:*") {
		t.Errorf("guest session policy = %s, %v", sess.SessionPolicy, err)
	}
	_, err = tw.ids.GetId(ctx, &cognitoidentity.GetIdInput{IdentityPoolId: aws.String("us-east-1:00000000-0000-4000-8000-000000000000")})
	wantAPIError(t, "unknown identity pool", err, "ResourceNotFoundException", "IdentityPool 'us-east-1:00000000-0000-4000-8000-000000000000' not found.")
	_, err = tw.ids.GetCredentialsForIdentity(ctx, &cognitoidentity.GetCredentialsForIdentityInput{IdentityId: aws.String("us-east-1:00000000-0000-4000-8000-000000000000")})
	wantAPIError(t, "unknown identity", err, "ResourceNotFoundException", "Identity 'us-east-1:00000000-0000-4000-8000-000000000000' not found.")

	// g1 signs in for the first time: the identity becomes theirs.
	tw.signUp(t, "grace@example.com", goodPassword)
	grace := tw.signIn(t, "grace@example.com", goodPassword)
	out := tw.credentials(t, g1.IdentityId, tw.logins(aws.ToString(grace.IdToken)))
	if aws.ToString(out.IdentityId) != aws.ToString(g1.IdentityId) || !tw.session(t, out).Authenticated() {
		t.Errorf("a guest's first sign-in: identity %s, want %s kept", aws.ToString(out.IdentityId), aws.ToString(g1.IdentityId))
	}
	// g2 signs in as grace too: merged into grace's identity.
	out = tw.credentials(t, g2.IdentityId, tw.logins(aws.ToString(grace.IdToken)))
	if aws.ToString(out.IdentityId) != aws.ToString(g1.IdentityId) {
		t.Errorf("a second guest signing in as the same user: identity %s, want %s", aws.ToString(out.IdentityId), aws.ToString(g1.IdentityId))
	}
	_, err = tw.ids.GetCredentialsForIdentity(ctx, &cognitoidentity.GetCredentialsForIdentityInput{IdentityId: g2.IdentityId})
	wantAPIError(t, "a merged guest identity", err, "NotAuthorizedException", "Access to Identity '"+aws.ToString(g2.IdentityId)+"' is forbidden.")
	// Another user's token on grace's identity.
	tw.signUp(t, "alan@example.com", goodPassword)
	alan := tw.signIn(t, "alan@example.com", goodPassword)
	_, err = tw.ids.GetCredentialsForIdentity(ctx, &cognitoidentity.GetCredentialsForIdentityInput{IdentityId: g1.IdentityId, Logins: tw.logins(aws.ToString(alan.IdToken))})
	wantAPIError(t, "another user's login", err, "NotAuthorizedException", "Logins don't match. Please include at least one valid login for this identity or identity pool.")
}

// Time passes: tokens and credentials expire with Cognito's errors; the refresh
// token still gets new tokens; a confirmation code expires after 24 hours.
func TestExpiry(t *testing.T) {
	tw := newTwin(t, snapshot(t))
	ctx := context.Background()
	tw.signUp(t, "ada@example.com", goodPassword)
	res := tw.signIn(t, "ada@example.com", goodPassword)
	id, err := tw.ids.GetId(ctx, &cognitoidentity.GetIdInput{IdentityPoolId: &tw.web.IdentityPoolID, Logins: tw.logins(aws.ToString(res.IdToken))})
	if err != nil {
		t.Fatal(err)
	}
	creds := tw.credentials(t, id.IdentityId, tw.logins(aws.ToString(res.IdToken)))

	email := "late@example.com"
	if _, err := tw.idp.SignUp(ctx, &idp.SignUpInput{ClientId: &tw.web.UserPoolClientID, Username: &email, Password: aws.String(goodPassword)}); err != nil {
		t.Fatal(err)
	}
	code := tw.log.code(t, email)

	tw.clock.Advance(time.Hour)
	if _, _, _, _, ok := tw.svc.Lookup(aws.ToString(creds.Credentials.AccessKeyId)); ok {
		t.Error("credentials an hour old are still found")
	}
	_, err = tw.idp.GetUser(ctx, &idp.GetUserInput{AccessToken: res.AccessToken})
	wantAPIError(t, "expired access token", err, "NotAuthorizedException", "Access Token has expired")
	_, err = tw.ids.GetId(ctx, &cognitoidentity.GetIdInput{IdentityPoolId: &tw.web.IdentityPoolID, Logins: tw.logins(aws.ToString(res.IdToken))})
	wantAPIError(t, "expired ID token", err, "NotAuthorizedException", "Invalid login token. Token expired: …")
	_, err = tw.idp.GetUser(ctx, &idp.GetUserInput{AccessToken: aws.String("not.a.token")})
	wantAPIError(t, "garbage access token", err, "NotAuthorizedException", "Invalid Access Token")

	refreshed, err := tw.idp.InitiateAuth(ctx, &idp.InitiateAuthInput{
		AuthFlow: idptypes.AuthFlowTypeRefreshTokenAuth, ClientId: &tw.web.UserPoolClientID,
		AuthParameters: map[string]string{"REFRESH_TOKEN": aws.ToString(res.RefreshToken)},
	})
	if err != nil {
		t.Fatal(err)
	}
	r := refreshed.AuthenticationResult
	newID := tw.verify(t, aws.ToString(r.IdToken)).claims
	oldID := tw.verify(t, aws.ToString(res.IdToken)).claims
	if r.RefreshToken != nil || newID["auth_time"] != oldID["auth_time"] || newID["origin_jti"] != oldID["origin_jti"] || newID["exp"] != float64(tw.clock.Now().Unix()+3600) {
		t.Errorf("refreshed: refresh token %v, auth_time %v (was %v), origin_jti %v (was %v), exp %v", r.RefreshToken, newID["auth_time"], oldID["auth_time"], newID["origin_jti"], oldID["origin_jti"], newID["exp"])
	}
	if _, err := tw.idp.GetUser(ctx, &idp.GetUserInput{AccessToken: r.AccessToken}); err != nil {
		t.Errorf("GetUser with the refreshed access token: %v", err)
	}
	_, err = tw.idp.InitiateAuth(ctx, &idp.InitiateAuthInput{
		AuthFlow: idptypes.AuthFlowTypeRefreshTokenAuth, ClientId: &tw.web.UserPoolClientID,
		AuthParameters: map[string]string{"REFRESH_TOKEN": "forged"},
	})
	wantAPIError(t, "unknown refresh token", err, "NotAuthorizedException", "Invalid Refresh Token")

	tw.clock.Advance(23 * time.Hour)
	_, err = tw.idp.ConfirmSignUp(ctx, &idp.ConfirmSignUpInput{ClientId: &tw.web.UserPoolClientID, Username: &email, ConfirmationCode: &code})
	wantAPIError(t, "a day-old code", err, "ExpiredCodeException", "Invalid code provided, please request a code again.")
}

// A restart keeps users, identities, signing keys and the credentials still valid.
func TestRestartKeepsState(t *testing.T) {
	tw := newTwin(t, snapshot(t))
	ctx := context.Background()
	tw.signUp(t, "ada@example.com", goodPassword)
	res := tw.signIn(t, "ada@example.com", goodPassword)
	id, err := tw.ids.GetId(ctx, &cognitoidentity.GetIdInput{IdentityPoolId: &tw.web.IdentityPoolID, Logins: tw.logins(aws.ToString(res.IdToken))})
	if err != nil {
		t.Fatal(err)
	}
	creds := tw.credentials(t, id.IdentityId, tw.logins(aws.ToString(res.IdToken)))
	before := tw.web

	tw.restart(t)
	if tw.web != before {
		t.Errorf("the pools' ids changed across a restart: %+v, was %+v", tw.web, before)
	}
	tw.verify(t, aws.ToString(res.IdToken)) // the keys are kept
	if _, err := tw.idp.GetUser(ctx, &idp.GetUserInput{AccessToken: res.AccessToken}); err != nil {
		t.Errorf("GetUser with a token from before the restart: %v", err)
	}
	if _, _, _, _, ok := tw.svc.Lookup(aws.ToString(creds.Credentials.AccessKeyId)); !ok {
		t.Error("credentials from before the restart are not found")
	}
	again := tw.signIn(t, "ada@example.com", goodPassword)
	id2, err := tw.ids.GetId(ctx, &cognitoidentity.GetIdInput{IdentityPoolId: &tw.web.IdentityPoolID, Logins: tw.logins(aws.ToString(again.IdToken))})
	if err != nil || aws.ToString(id2.IdentityId) != aws.ToString(id.IdentityId) {
		t.Errorf("identity after a restart = %v, %v; want %s", aws.ToString(id2.IdentityId), err, aws.ToString(id.IdentityId))
	}
	_, err = tw.idp.SignUp(ctx, &idp.SignUpInput{ClientId: &tw.web.UserPoolClientID, Username: aws.String("ada@example.com"), Password: aws.String(goodPassword)})
	wantAPIError(t, "sign-up after a restart", err, "UsernameExistsException", "An account with the given email already exists.")
}
