package cognito_test

import (
	"context"
	"errors"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cognitoidentity"
	idp "github.com/aws/aws-sdk-go-v2/service/cognitoidentityprovider"

	"github.com/imagepipe/imagepipe/local/cognito"
)

func obj(kv ...any) map[string]any {
	m := map[string]any{}
	for i := 0; i < len(kv); i += 2 {
		m[kv[i].(string)] = kv[i+1]
	}
	return m
}

func ref(id string) map[string]any          { return obj("Ref", id) }
func getAtt(id, attr string) map[string]any { return obj("Fn::GetAtt", []any{id, attr}) }

// trustRole is a role identity pools may assume for amr (authenticated or
// unauthenticated), as CDK writes it.
func trustRole(amr string) map[string]any {
	return obj("Type", "AWS::IAM::Role", "Properties", obj("AssumeRolePolicyDocument", obj("Version", "2012-10-17", "Statement", []any{
		obj("Effect", "Allow", "Action", "sts:AssumeRoleWithWebIdentity", "Principal", obj("Federated", "cognito-identity.amazonaws.com"),
			"Condition", obj("StringEquals", obj("cognito-identity.amazonaws.com:aud", ref("Ids")),
				"ForAnyValue:StringLike", obj("cognito-identity.amazonaws.com:amr", amr))),
	})))
}

func group(name string, precedence int, role string) map[string]any {
	p := obj("UserPoolId", ref("Pool"), "GroupName", name, "Precedence", precedence)
	if role != "" {
		p["RoleArn"] = getAtt(role, "Arn")
	}
	return obj("Type", "AWS::Cognito::UserPoolGroup", "Properties", p)
}

// small is a template with one pool, client, identity pool and roles A and B for
// groups, to be changed by each test.
func small() map[string]any {
	return map[string]any{
		"Pool": obj("Type", "AWS::Cognito::UserPool", "Properties", obj(
			"UsernameAttributes", []any{"email"}, "AutoVerifiedAttributes", []any{"email"},
			"Policies", obj("PasswordPolicy", obj("MinimumLength", 8)))),
		"Client": obj("Type", "AWS::Cognito::UserPoolClient", "Properties", obj(
			"UserPoolId", ref("Pool"), "ExplicitAuthFlows", []any{"ALLOW_USER_PASSWORD_AUTH", "ALLOW_REFRESH_TOKEN_AUTH"})),
		"Ids": obj("Type", "AWS::Cognito::IdentityPool", "Properties", obj(
			"AllowUnauthenticatedIdentities", true,
			"CognitoIdentityProviders", []any{obj("ClientId", ref("Client"), "ProviderName", getAtt("Pool", "ProviderName"))})),
		"Guest": trustRole("unauthenticated"),
		"User":  trustRole("authenticated"),
		"A":     trustRole("authenticated"),
		"B":     trustRole("authenticated"),
		"GA":    group("a", 1, "A"),
		"GB":    group("b", 1, "B"),
		"GC":    group("c", 0, ""),
		"Attach": obj("Type", "AWS::Cognito::IdentityPoolRoleAttachment", "Properties", obj(
			"IdentityPoolId", ref("Ids"),
			"Roles", obj("authenticated", getAtt("User", "Arn"), "unauthenticated", getAtt("Guest", "Arn")),
			"RoleMappings", obj("m", obj(
				"IdentityProvider", obj("Fn::Join", []any{":", []any{getAtt("Pool", "ProviderName"), ref("Client")}}),
				"Type", "Token", "AmbiguousRoleResolution", "AuthenticatedRole")))),
	}
}

func props(res map[string]any, id string) map[string]any {
	return res[id].(map[string]any)["Properties"].(map[string]any)
}

func mapping(res map[string]any) map[string]any {
	return props(res, "Attach")["RoleMappings"].(map[string]any)["m"].(map[string]any)
}

// roleOf signs user in and answers the role the identity pool gives them.
func (tw *twin) roleOf(t testing.TB, email string, groups ...string) (string, error) {
	t.Helper()
	ctx := context.Background()
	if _, err := tw.svc.EnsureUser(ctx, tw.web.UserPoolID, email, goodPassword, groups...); err != nil {
		t.Fatal(err)
	}
	tok, err := tw.svc.SignIn(ctx, tw.web.UserPoolClientID, email, goodPassword)
	if err != nil {
		t.Fatal(err)
	}
	id, err := tw.ids.GetId(ctx, &cognitoidentity.GetIdInput{IdentityPoolId: &tw.web.IdentityPoolID, Logins: tw.logins(tok.IdToken)})
	if err != nil {
		t.Fatal(err)
	}
	out, err := tw.ids.GetCredentialsForIdentity(ctx, &cognitoidentity.GetCredentialsForIdentityInput{IdentityId: id.IdentityId, Logins: tw.logins(tok.IdToken)})
	if err != nil {
		return "", err
	}
	sess, _ := tw.svc.Session(aws.ToString(out.Credentials.AccessKeyId))
	return sess.RoleARN, nil
}

func arn(name string) string { return "arn:aws:iam::" + account + ":role/T-" + name }

// Token role mapping as Cognito resolves it: the preferred role of the group
// with the lowest precedence; no preferred role on a tie between roles, and then
// AmbiguousRoleResolution.
func TestTokenRoleMapping(t *testing.T) {
	for _, deny := range []bool{false, true} {
		res := small()
		if deny {
			mapping(res)["AmbiguousRoleResolution"] = "Deny"
		}
		tw := newTwin(t, template(t, res))
		for _, c := range []struct {
			who    string
			groups []string
			role   string // "" : denied
		}{
			{"a@example.com", []string{"a"}, arn("A")},
			{"ac@example.com", []string{"c", "a"}, arn("A")}, // c is first but has no role
			{"none@example.com", nil, arn("User")},
			{"ab@example.com", []string{"a", "b"}, map[bool]string{false: arn("User"), true: ""}[deny]},
		} {
			got, err := tw.roleOf(t, c.who, c.groups...)
			if c.role == "" {
				wantAPIError(t, c.who, err, "NotAuthorizedException", "The ambiguous role mapping rules denied this request.")
			} else if err != nil || got != c.role {
				t.Errorf("deny=%v %s in %v: role %s, %v; want %s", deny, c.who, c.groups, got, err, c.role)
			}
		}
		tok, err := tw.svc.SignIn(context.Background(), tw.web.UserPoolClientID, "ab@example.com", goodPassword)
		if err != nil {
			t.Fatal(err)
		}
		c := tw.verify(t, tok.IdToken).claims
		if _, ok := c["cognito:preferred_role"]; ok || !equalJSON(c["cognito:roles"], []string{arn("A"), arn("B")}) {
			t.Errorf("a tie between two roles: preferred %v, roles %v", c["cognito:preferred_role"], c["cognito:roles"])
		}
	}
}

func TestRulesRoleMapping(t *testing.T) {
	res := small()
	m := mapping(res)
	m["Type"], m["AmbiguousRoleResolution"] = "Rules", "Deny"
	m["RulesConfiguration"] = obj("Rules", []any{obj("Claim", "email", "MatchType", "StartsWith", "Value", "boss", "RoleARN", getAtt("B", "Arn"))})
	tw := newTwin(t, template(t, res))
	if got, err := tw.roleOf(t, "boss@example.com", "a"); err != nil || got != arn("B") {
		t.Errorf("rule match: %s, %v; want %s", got, err, arn("B"))
	}
	_, err := tw.roleOf(t, "clerk@example.com", "a")
	wantAPIError(t, "no rule matches", err, "NotAuthorizedException", "The ambiguous role mapping rules denied this request.")
}

// The pool's settings that change answers: a guest role whose trust policy does
// not let guests assume it, no guests, LEGACY user existence errors, an
// admin-only pool.
func TestPoolSettings(t *testing.T) {
	res := small()
	res["Guest"] = trustRole("authenticated")
	props(res, "Client")["PreventUserExistenceErrors"] = "LEGACY"
	props(res, "Pool")["AdminCreateUserConfig"] = obj("AllowAdminCreateUserOnly", true)
	tw := newTwin(t, template(t, res))
	ctx := context.Background()
	g, err := tw.ids.GetId(ctx, &cognitoidentity.GetIdInput{IdentityPoolId: &tw.web.IdentityPoolID})
	if err != nil {
		t.Fatal(err)
	}
	_, err = tw.ids.GetCredentialsForIdentity(ctx, &cognitoidentity.GetCredentialsForIdentityInput{IdentityId: g.IdentityId})
	wantAPIError(t, "guest role not trusting guests", err, "InvalidIdentityPoolConfigurationException", "Invalid identity pool configuration. Check assigned IAM roles for this pool.")
	_, err = tw.idp.InitiateAuth(ctx, passwordAuth(&tw.web.UserPoolClientID, "nobody@example.com", goodPassword))
	wantAPIError(t, "LEGACY, no such user", err, "UserNotFoundException", "User does not exist.")
	_, err = tw.idp.ConfirmSignUp(ctx, &idp.ConfirmSignUpInput{ClientId: &tw.web.UserPoolClientID, Username: aws.String("nobody@example.com"), ConfirmationCode: aws.String("123456")})
	wantAPIError(t, "LEGACY, confirm no such user", err, "UserNotFoundException", "Username/client id combination not found.")
	_, err = tw.idp.SignUp(ctx, &idp.SignUpInput{ClientId: &tw.web.UserPoolClientID, Username: aws.String("x@example.com"), Password: aws.String(goodPassword)})
	wantAPIError(t, "admin-only pool", err, "NotAuthorizedException", "SignUp is not permitted for this user pool")

	res = small()
	props(res, "Ids")["AllowUnauthenticatedIdentities"] = false
	tw = newTwin(t, template(t, res))
	_, err = tw.ids.GetId(ctx, &cognitoidentity.GetIdInput{IdentityPoolId: &tw.web.IdentityPoolID})
	wantAPIError(t, "no guests", err, "NotAuthorizedException", "Unauthenticated access is not supported for this identity pool.")
}

// Settings the twin cannot serve as AWS would are errors naming the resource.
func TestUnsupportedSettings(t *testing.T) {
	for _, c := range []struct {
		name, logicalID, property string
		change                    func(res map[string]any)
	}{
		{"MFA required", "Pool", "MfaConfiguration", func(res map[string]any) { props(res, "Pool")["MfaConfiguration"] = "ON" }},
		{"Lambda trigger", "Pool", "LambdaConfig", func(res map[string]any) {
			props(res, "Pool")["LambdaConfig"] = obj("PreSignUp", "arn:aws:lambda:us-east-1:000000000000:function:f")
		}},
		{"SRP-only client", "Client", "ExplicitAuthFlows", func(res map[string]any) {
			props(res, "Client")["ExplicitAuthFlows"] = []any{"ALLOW_USER_SRP_AUTH", "ALLOW_REFRESH_TOKEN_AUTH"}
		}},
		{"client without flows (SRP by default)", "Client", "ExplicitAuthFlows", func(res map[string]any) { delete(props(res, "Client"), "ExplicitAuthFlows") }},
		{"client secret", "Client", "GenerateSecret", func(res map[string]any) { props(res, "Client")["GenerateSecret"] = true }},
		{"social provider", "Ids", "SupportedLoginProviders", func(res map[string]any) {
			props(res, "Ids")["SupportedLoginProviders"] = obj("accounts.google.com", "client")
		}},
		{"phone sign-in", "Pool", "UsernameAttributes", func(res map[string]any) { props(res, "Pool")["UsernameAttributes"] = []any{"phone_number"} }},
		{"unknown mapping provider", "Attach", "RoleMappings.m.IdentityProvider", func(res map[string]any) {
			mapping(res)["IdentityProvider"] = "cognito-idp.us-east-1.amazonaws.com/us-east-1_other:client"
		}},
		{"unmodelled Cognito type", "Domain", "", func(res map[string]any) {
			res["Domain"] = obj("Type", "AWS::Cognito::UserPoolDomain", "Properties", obj("UserPoolId", ref("Pool"), "Domain", "d"))
		}},
	} {
		res := small()
		c.change(res)
		_, err := cognito.New(template(t, res), cognito.Options{DataDir: t.TempDir(), Logger: discard()})
		var ce *cognito.ConfigError
		if !errors.As(err, &ce) || ce.LogicalID != c.logicalID || ce.Property != c.property {
			t.Errorf("%s: err = %v, want a ConfigError for %s %s", c.name, err, c.logicalID, c.property)
		}
	}
}

// The wire: JSON 1.1 error shape, unknown operations, the JWKS.
func TestProtocol(t *testing.T) {
	tw := newTwin(t, snapshot(t))
	post := func(target, body string) (int, string, string) {
		req, _ := http.NewRequest(http.MethodPost, tw.srv.URL+"/", strings.NewReader(body))
		req.Header.Set("Content-Type", "application/x-amz-json-1.1")
		req.Header.Set("X-Amz-Target", target)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, resp.Header.Get("X-Amzn-ErrorType"), string(b)
	}
	status, typ, body := post("AWSCognitoIdentityProviderService.InitiateAuth",
		`{"AuthFlow":"USER_PASSWORD_AUTH","ClientId":"`+tw.web.UserPoolClientID+`","AuthParameters":{"USERNAME":"a@example.com","PASSWORD":"x"}}`)
	if status != 400 || typ != "NotAuthorizedException" || body != `{"__type":"NotAuthorizedException","message":"Incorrect username or password."}` {
		t.Errorf("error answer: %d %s %s", status, typ, body)
	}
	status, typ, _ = post("AWSCognitoIdentityProviderService.ForgotPassword", `{}`)
	if status != 400 || typ != "UnknownOperationException" {
		t.Errorf("unserved operation: %d %s", status, typ)
	}
	status, typ, body = post("AWSCognitoIdentityService.GetId", `{"IdentityPoolId":`)
	if status != 400 || typ != "SerializationException" {
		t.Errorf("bad JSON: %d %s %s", status, typ, body)
	}
	status, _, body = post("AWSCognitoIdentityService.GetId", `{}`)
	if status != 400 || !strings.Contains(body, "Value null at 'identityPoolId' failed to satisfy constraint: Member must not be null") {
		t.Errorf("missing member: %d %s", status, body)
	}
	resp, err := http.Get(tw.srv.URL + "/us-east-1_nope/.well-known/jwks.json")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode == 200 {
		t.Error("a JWKS for a pool that does not exist")
	}
	for _, r := range []struct {
		target string
		public bool
	}{{"AWSCognitoIdentityProviderService.SignUp", true}, {"AWSCognitoIdentityService.GetCredentialsForIdentity", true}, {"AWSCognitoIdentityProviderService.AdminCreateUser", false}} {
		req, _ := http.NewRequest(http.MethodPost, "http://127.0.0.1:4566/", nil)
		req.Header.Set("X-Amz-Target", r.target)
		if cognito.Public(req) != r.public || !tw.svc.Handles(req) {
			t.Errorf("%s: Public %v, Handles %v", r.target, cognito.Public(req), tw.svc.Handles(req))
		}
	}
}
