package cognito

import (
	"context"
	"crypto/rand"
	"encoding/json"
	"slices"
	"strings"

	bolt "go.etcd.io/bbolt"
)

type initiateAuthInput struct {
	AuthFlow       string
	ClientId       string
	AuthParameters map[string]string
}

// Tokens is InitiateAuth's AuthenticationResult.
type Tokens struct {
	AccessToken  string `json:"AccessToken"`
	ExpiresIn    int    `json:"ExpiresIn"`
	IdToken      string `json:"IdToken"`
	RefreshToken string `json:"RefreshToken,omitempty"`
	TokenType    string `json:"TokenType"`
}

// The scope of tokens from the user-pool API (not the hosted UI).
const adminScope = "aws.cognito.signin.user.admin"

func (s *Service) initiateAuth(ctx context.Context, in *initiateAuthInput) (any, error) {
	if err := required(map[string]string{"authFlow": in.AuthFlow, "clientId": in.ClientId}); err != nil {
		return nil, err
	}
	c, err := s.client(in.ClientId)
	if err != nil {
		return nil, err
	}
	switch in.AuthFlow {
	case "USER_PASSWORD_AUTH":
		return s.passwordAuth(c, in.AuthParameters["USERNAME"], in.AuthParameters["PASSWORD"])
	case "REFRESH_TOKEN_AUTH", "REFRESH_TOKEN":
		if !c.refreshAuth {
			return nil, newError(codeInvalidParameter, "Refresh Token has been disabled for this client")
		}
		t, err := s.refresh(c, in.AuthParameters["REFRESH_TOKEN"])
		if err != nil {
			return nil, err
		}
		return map[string]any{"AuthenticationResult": t, "ChallengeParameters": map[string]string{}}, nil
	case "ADMIN_USER_PASSWORD_AUTH", "ADMIN_NO_SRP_AUTH":
		return nil, newError(codeInvalidParameter, "Initiate Auth method not supported.")
	case "USER_SRP_AUTH", "CUSTOM_AUTH", "USER_AUTH":
		return nil, newError(codeInvalidParameter, "%s: the twin's Cognito serves USER_PASSWORD_AUTH and REFRESH_TOKEN_AUTH only", in.AuthFlow)
	}
	return nil, newError(codeInvalidParameter, "1 validation error detected: Value '%s' at 'authFlow' failed to satisfy constraint: Member must satisfy enum value set: [USER_SRP_AUTH, REFRESH_TOKEN_AUTH, REFRESH_TOKEN, CUSTOM_AUTH, ADMIN_NO_SRP_AUTH, USER_PASSWORD_AUTH, ADMIN_USER_PASSWORD_AUTH, USER_AUTH]", in.AuthFlow)
}

// passwordAuth is USER_PASSWORD_AUTH: the password is checked before the user's
// status, so only the right password learns that a user is unconfirmed; with
// PreventUserExistenceErrors a missing user looks like a wrong password.
func (s *Service) passwordAuth(c *appClient, username, password string) (any, error) {
	if !c.passwordAuth {
		return nil, newError(codeInvalidParameter, "USER_PASSWORD_AUTH flow not enabled for this client")
	}
	if username == "" {
		return nil, newError(codeInvalidParameter, "Missing required parameter USERNAME")
	}
	if password == "" {
		return nil, newError(codeInvalidParameter, "Missing required parameter PASSWORD")
	}
	pool := c.pool
	var u *user
	if err := s.db.View(func(tx *bolt.Tx) (err error) {
		u, err = s.findUser(tx, pool, username)
		return err
	}); err != nil {
		return nil, err
	}
	switch {
	case u == nil && c.preventExistence:
		return nil, newError(codeNotAuthorized, msgIncorrectPassword)
	case u == nil:
		return nil, newError(codeUserNotFound, "User does not exist.")
	case !passwordMatches(u.Password, password):
		return nil, newError(codeNotAuthorized, msgIncorrectPassword)
	case !u.Enabled:
		return nil, newError(codeNotAuthorized, "User is disabled.")
	case u.Status == statusUnconfirmed:
		return nil, newError(codeUserNotConfirmed, msgNotConfirmed)
	case u.Status == statusForceChange:
		if s.now().UnixMilli() > u.TempExpires {
			return nil, newError(codeNotAuthorized, "Temporary password has expired and must be reset by an administrator.")
		}
		return newPasswordChallenge(u), nil
	}
	t, err := s.issue(c, u, s.now().Unix(), newUUID(), true)
	if err != nil {
		return nil, err
	}
	return map[string]any{"AuthenticationResult": t, "ChallengeParameters": map[string]string{}}, nil
}

// newPasswordChallenge is what an administrator-created user gets until a
// permanent password is set. The twin serves no RespondToAuthChallenge: the
// answer names the challenge, as AWS does, and AdminSetUserPassword (Permanent)
// is the way through.
func newPasswordChallenge(u *user) map[string]any {
	attrs := map[string]string{}
	for k, v := range u.Attributes {
		if k != "sub" {
			attrs[k] = v
		}
	}
	ua, _ := json.Marshal(attrs)
	session := make([]byte, 48)
	_, _ = rand.Read(session)
	return map[string]any{
		"ChallengeName": "NEW_PASSWORD_REQUIRED",
		"Session":       b64(session),
		"ChallengeParameters": map[string]string{
			"USER_ID_FOR_SRP": u.Username, "requiredAttributes": "[]", "userAttributes": string(ua),
		},
	}
}

// issue signs a user's ID and access tokens (and stores a refresh token when
// withRefresh), with the claims Cognito puts in each (the developer guide's
// "Using the ID token" and "Using the access token").
func (s *Service) issue(c *appClient, u *user, authTime int64, originJTI string, withRefresh bool) (*Tokens, error) {
	pool, now := c.pool, s.now()
	groups, roles, preferred := pool.claimsOf(u.Groups)
	common := func(ttlSeconds int64) map[string]any {
		m := map[string]any{
			"sub": u.Attributes["sub"], "iss": s.issuer(pool.id), "origin_jti": originJTI, "event_id": newUUID(),
			"auth_time": authTime, "iat": now.Unix(), "exp": now.Unix() + ttlSeconds, "jti": newUUID(),
		}
		if len(groups) > 0 {
			m["cognito:groups"] = groups
		}
		return m
	}
	id := common(int64(c.idTTL.Seconds()))
	id["aud"], id["token_use"], id["cognito:username"] = c.id, "id", u.Username
	for k, v := range u.Attributes {
		switch k {
		case "sub":
		case "email_verified", "phone_number_verified":
			id[k] = v == "true"
		default:
			id[k] = v
		}
	}
	if len(roles) > 0 {
		id["cognito:roles"] = roles
	}
	if preferred != "" {
		id["cognito:preferred_role"] = preferred
	}
	access := common(int64(c.accessTTL.Seconds()))
	access["client_id"], access["token_use"], access["scope"], access["username"] = c.id, "access", adminScope, u.Username
	keys := s.keys[pool.id]
	t := &Tokens{ExpiresIn: int(c.accessTTL.Seconds()), TokenType: "Bearer"}
	var err error
	if t.IdToken, err = keys.id.sign(id); err != nil {
		return nil, err
	}
	if t.AccessToken, err = keys.access.sign(access); err != nil {
		return nil, err
	}
	if withRefresh {
		raw := make([]byte, 64)
		_, _ = rand.Read(raw)
		t.RefreshToken = b64(raw)
		rec := refreshRecord{Pool: pool.id, Client: c.id, Username: u.Username, AuthTime: authTime, OriginJTI: originJTI,
			Expires: now.Add(c.refreshTTL).UnixMilli()}
		if err := s.db.Update(func(tx *bolt.Tx) error { return putJSON(tx, bucketRefresh, tokenKey(t.RefreshToken), rec) }); err != nil {
			return nil, err
		}
	}
	return t, nil
}

// claimsOf gives a user's cognito:groups, cognito:roles and cognito:preferred_role
// claims. Groups are listed by precedence (lowest value first; groups without one
// last). The preferred role is that of the group with the lowest precedence among
// those with a role; on a tie between different roles there is none (CreateGroup's
// Precedence documentation).
func (p *userPool) claimsOf(names []string) (groups, roles []string, preferred string) {
	gs := make([]*group, 0, len(names))
	for _, n := range names {
		if g := p.groups[n]; g != nil {
			gs = append(gs, g)
		}
	}
	rank := func(g *group) int64 {
		if g.precedence == nil {
			return 1 << 40
		}
		return int64(*g.precedence)
	}
	slices.SortStableFunc(gs, func(a, b *group) int {
		if ra, rb := rank(a), rank(b); ra != rb {
			return int(ra - rb)
		}
		return strings.Compare(a.name, b.name)
	})
	best := int64(-1)
	tied := false
	for _, g := range gs {
		groups = append(groups, g.name)
		if g.roleARN == "" {
			continue
		}
		if !slices.Contains(roles, g.roleARN) {
			roles = append(roles, g.roleARN)
		}
		switch {
		case best < 0:
			best, preferred = rank(g), g.roleARN
		case rank(g) == best && g.roleARN != preferred:
			tied = true
		}
	}
	if tied {
		preferred = ""
	}
	return groups, roles, preferred
}

// refresh is REFRESH_TOKEN_AUTH: new ID and access tokens for the same sign-in
// (auth_time and origin_jti kept), no new refresh token.
func (s *Service) refresh(c *appClient, token string) (*Tokens, error) {
	invalid := newError(codeNotAuthorized, msgRefreshInvalid)
	if token == "" {
		return nil, newError(codeInvalidParameter, "Missing required parameter REFRESH_TOKEN")
	}
	var rec refreshRecord
	var u *user
	if err := s.db.View(func(tx *bolt.Tx) error {
		ok, err := getJSON(tx, bucketRefresh, tokenKey(token), &rec)
		if err != nil || !ok {
			return err
		}
		u, err = s.findUser(tx, c.pool, rec.Username)
		return err
	}); err != nil {
		return nil, err
	}
	if u == nil || rec.Client != c.id || s.now().UnixMilli() >= rec.Expires {
		return nil, invalid
	}
	if !u.Enabled {
		return nil, newError(codeNotAuthorized, "User is disabled.")
	}
	return s.issue(c, u, rec.AuthTime, rec.OriginJTI, false)
}

// SignIn is InitiateAuth with USER_PASSWORD_AUTH, for the twin's own use (the
// operator account the web app starts signed in as). Errors are *Error.
func (s *Service) SignIn(_ context.Context, clientID, username, password string) (*Tokens, error) {
	c, err := s.client(clientID)
	if err != nil {
		return nil, err
	}
	out, err := s.passwordAuth(c, username, password)
	if err != nil {
		return nil, err
	}
	m := out.(map[string]any)
	t, ok := m["AuthenticationResult"].(*Tokens)
	if !ok {
		return nil, newError(codeNotAuthorized, "sign-in needs the %v challenge, which the twin does not serve", m["ChallengeName"])
	}
	return t, nil
}
