package cognito

import (
	"context"
	"slices"
	"strings"

	bolt "go.etcd.io/bbolt"
)

type getIDInput struct {
	AccountId      string
	IdentityPoolId string
	Logins         map[string]string
}

// login is one verified entry of a Logins map.
type login struct {
	provider, clientID, sub string
	claims                  *claims
}

// key is how an identity remembers the login: the provider and the user's sub.
func (l login) key() string { return l.provider + "/" + l.sub }

func (s *Service) identityPool(id string) (*identityPool, error) {
	ip := s.cfg.ids[id]
	if ip == nil {
		return nil, newError(codeResourceNotFound, "IdentityPool '%s' not found.", id)
	}
	return ip, nil
}

// getID is GetId: a new guest identity for every call without Logins (when the
// pool allows guests), or the identity linked to the login, made on its first use.
func (s *Service) getID(_ context.Context, in *getIDInput) (any, error) {
	if err := required(map[string]string{"identityPoolId": in.IdentityPoolId}); err != nil {
		return nil, err
	}
	ip, err := s.identityPool(in.IdentityPoolId)
	if err != nil {
		return nil, err
	}
	if len(in.Logins) == 0 {
		if !ip.allowGuests {
			return nil, newError(codeNotAuthorized, msgGuestsNotAllowed)
		}
		id := s.newIdentity(ip)
		if err := s.db.Update(func(tx *bolt.Tx) error { return putJSON(tx, bucketIdentities, []byte(id.ID), id) }); err != nil {
			return nil, err
		}
		return map[string]string{"IdentityId": id.ID}, nil
	}
	logins, err := s.verifyLogins(ip, in.Logins)
	if err != nil {
		return nil, err
	}
	var id *identity
	err = s.db.Update(func(tx *bolt.Tx) error {
		if id, err = s.linkedIdentity(tx, ip, logins); err != nil || id != nil {
			return err
		}
		id = s.newIdentity(ip)
		return s.link(tx, id, logins)
	})
	if err != nil {
		return nil, err
	}
	return map[string]string{"IdentityId": id.ID}, nil
}

func (s *Service) newIdentity(ip *identityPool) *identity {
	now := s.now().UnixMilli()
	return &identity{ID: s.region + ":" + newUUID(), Pool: ip.id, Created: now, Modified: now}
}

// linkedIdentity is the identity one of the logins is linked to, or nil.
func (s *Service) linkedIdentity(tx *bolt.Tx, ip *identityPool, logins []login) (*identity, error) {
	for _, l := range logins {
		if idb := tx.Bucket(bucketLogins).Get(loginKey(ip.id, l.key())); idb != nil {
			var id identity
			if _, err := getJSON(tx, bucketIdentities, idb, &id); err != nil {
				return nil, err
			}
			return &id, nil
		}
	}
	return nil, nil
}

// link records logins as id's and stores id.
func (s *Service) link(tx *bolt.Tx, id *identity, logins []login) error {
	for _, l := range logins {
		if !slices.Contains(id.Logins, l.key()) {
			id.Logins = append(id.Logins, l.key())
		}
		if err := tx.Bucket(bucketLogins).Put(loginKey(id.Pool, l.key()), []byte(id.ID)); err != nil {
			return err
		}
	}
	id.Modified = s.now().UnixMilli()
	return putJSON(tx, bucketIdentities, []byte(id.ID), id)
}

// verifyLogins checks each Logins entry as Cognito Identity checks a user pool ID
// token: a provider of this identity pool, a token that pool signed, not expired,
// an ID token, for one of the pool's clients the identity pool names.
func (s *Service) verifyLogins(ip *identityPool, logins map[string]string) ([]login, error) {
	out := make([]login, 0, len(logins))
	for _, provider := range sortedKeys(logins) {
		token := logins[provider]
		clients, ok := ip.providers[provider]
		if !ok {
			return nil, newError(codeNotAuthorized, msgUnsupportedIssuer)
		}
		poolID := provider[strings.LastIndex(provider, "/")+1:]
		c, err := s.keys[poolID].parse(token)
		if err != nil {
			return nil, newError(codeNotAuthorized, msgNotOIDCToken)
		}
		switch {
		case c.Iss != "https://"+provider:
			return nil, newError(codeNotAuthorized, "Invalid login token. Issuer doesn't match providerName")
		case c.TokenUse != "id":
			return nil, newError(codeNotAuthorized, msgNotOIDCToken)
		case s.now().Unix() >= c.Exp:
			return nil, newError(codeNotAuthorized, "Invalid login token. Token expired: %d >= %d", s.now().Unix(), c.Exp)
		case !clients[c.Aud]:
			return nil, newError(codeNotAuthorized, msgUnsupportedIssuer)
		}
		out = append(out, login{provider: provider, clientID: c.Aud, sub: c.Sub, claims: c})
	}
	return out, nil
}

type getCredentialsInput struct {
	IdentityId    string
	Logins        map[string]string
	CustomRoleArn string
}

// getCredentialsForIdentity is GetCredentialsForIdentity (the enhanced flow):
// the identity's role, chosen as the identity pool's role attachment says, is
// assumed for an hour. A guest identity given a login is linked to it, or merged
// into the identity the login already has; a signed-in identity must be given one
// of its own logins.
func (s *Service) getCredentialsForIdentity(_ context.Context, in *getCredentialsInput) (any, error) {
	if err := required(map[string]string{"identityId": in.IdentityId}); err != nil {
		return nil, err
	}
	var id identity
	var ok bool
	if err := s.db.View(func(tx *bolt.Tx) (err error) {
		ok, err = getJSON(tx, bucketIdentities, []byte(in.IdentityId), &id)
		return err
	}); err != nil {
		return nil, err
	}
	if !ok {
		return nil, newError(codeResourceNotFound, "Identity '%s' not found.", in.IdentityId)
	}
	ip, err := s.identityPool(id.Pool)
	if err != nil {
		return nil, err
	}
	if len(in.Logins) == 0 {
		return s.guestCredentials(ip, &id)
	}
	logins, err := s.verifyLogins(ip, in.Logins)
	if err != nil {
		return nil, err
	}
	owner, err := s.ownerOf(ip, &id, logins)
	if err != nil {
		return nil, err
	}
	l := logins[0]
	role, err := ip.roleFor(l, in.CustomRoleArn)
	if err != nil {
		return nil, err
	}
	amr := []string{"authenticated", l.provider, l.provider + ":CognitoSignIn:" + l.sub}
	return s.assumeFor(ip, owner, role, amr)
}

func (s *Service) guestCredentials(ip *identityPool, id *identity) (any, error) {
	if len(id.Logins) > 0 || id.MergedInto != "" {
		return nil, newError(codeNotAuthorized, "Access to Identity '%s' is forbidden.", id.ID)
	}
	if !ip.allowGuests {
		return nil, newError(codeNotAuthorized, msgGuestsNotAllowed)
	}
	if ip.guestRole == "" {
		return nil, newError(codeInvalidPoolConfig, msgPoolConfig)
	}
	return s.assumeFor(ip, id, ip.guestRole, []string{"unauthenticated"})
}

// ownerOf is the identity that gets credentials for id with these logins,
// linking or merging as the developer guide's "Linking logins" and "Merging
// identities" describe.
func (s *Service) ownerOf(ip *identityPool, id *identity, logins []login) (*identity, error) {
	var owner *identity
	err := s.db.Update(func(tx *bolt.Tx) error {
		linked, err := s.linkedIdentity(tx, ip, logins)
		switch {
		case err != nil:
			return err
		case linked != nil && linked.ID == id.ID:
			owner = linked
			return nil
		case len(id.Logins) > 0 || id.MergedInto != "":
			return newError(codeNotAuthorized, msgLoginsMismatch)
		case linked != nil: // a guest signing in to an identity that exists: merge
			id.MergedInto, id.Modified = linked.ID, s.now().UnixMilli()
			owner = linked
			return putJSON(tx, bucketIdentities, []byte(id.ID), id)
		}
		owner = id // a guest signing in for the first time: the identity is now theirs
		return s.link(tx, id, logins)
	})
	return owner, err
}

// roleFor resolves a signed-in user's role: the role mapping for the token's
// provider and client (Token: cognito:preferred_role, else the one role of
// cognito:roles, else ambiguous; Rules: the first rule whose claim matches, else
// ambiguous), then the authenticated role.
func (ip *identityPool) roleFor(l login, custom string) (string, error) {
	m := ip.mappings[l.provider+":"+l.clientID]
	role, ambiguous := "", false
	switch {
	case m == nil:
	case m.byToken:
		c := l.claims
		switch {
		case custom != "":
			if !slices.Contains(c.Roles, custom) && c.PreferredRole != custom {
				return "", newError(codeInvalidParameter, "CustomRoleArn %s is not one of the token's cognito:roles", custom)
			}
			role = custom
		case c.PreferredRole != "":
			role = c.PreferredRole
		case len(c.Roles) == 1:
			role = c.Roles[0]
		case len(c.Roles) > 1:
			ambiguous = true
		}
	default:
		role = m.matchRules(l.claims.raw)
		ambiguous = role == ""
	}
	if ambiguous && m.ambiguousDeny {
		return "", newError(codeNotAuthorized, msgAmbiguousDenied)
	}
	if role == "" {
		role = ip.authRole
	}
	if role == "" {
		return "", newError(codeInvalidPoolConfig, msgPoolConfig)
	}
	return role, nil
}

func (m *roleMapping) matchRules(raw map[string]any) string {
	for _, r := range m.rules {
		v, ok := raw[r.claim].(string)
		if !ok {
			continue
		}
		var hit bool
		switch r.match {
		case "Equals":
			hit = v == r.value
		case "NotEqual":
			hit = v != r.value
		case "Contains":
			hit = strings.Contains(v, r.value)
		case "StartsWith":
			hit = strings.HasPrefix(v, r.value)
		}
		if hit {
			return r.role
		}
	}
	return ""
}

// assumeFor checks the role's trust for this web identity, then issues its
// credentials.
func (s *Service) assumeFor(ip *identityPool, id *identity, roleARN string, amr []string) (any, error) {
	ctx := map[string][]string{
		"cognito-identity.amazonaws.com:aud": {ip.id},
		"cognito-identity.amazonaws.com:amr": amr,
		"cognito-identity.amazonaws.com:sub": {id.ID},
	}
	if err := s.assume(roleARN, ctx); err != nil {
		s.log.Warn("identity pool role refused by its trust policy", "identityPool", ip.id, "role", roleARN, "amr", amr, "reason", err)
		return nil, newError(codeInvalidPoolConfig, msgPoolConfig)
	}
	sess, err := s.issueCredentials(ip, id, roleARN, amr)
	if err != nil {
		return nil, err
	}
	return map[string]any{
		"IdentityId": id.ID,
		"Credentials": map[string]any{
			"AccessKeyId": sess.AccessKeyID, "SecretKey": sess.SecretKey, "SessionToken": sess.SessionToken,
			"Expiration": float64(sess.Expires.UnixMilli()) / 1000,
		},
	}, nil
}
