package cognito

import (
	"context"
	"crypto/rand"
	"fmt"
	"math/big"
	"net/mail"
	"strings"
	"time"

	bolt "go.etcd.io/bbolt"
)

// attribute is AttributeType.
type attribute struct {
	Name  string `json:"Name"`
	Value string `json:"Value"`
}

// codeValidity is how long a sign-up confirmation code is good for ("Amazon
// Cognito confirmation codes expire in 24 hours").
const codeValidity = 24 * time.Hour

func (s *Service) client(id string) (*appClient, error) {
	c := s.cfg.clients[id]
	if c == nil {
		return nil, newError(codeResourceNotFound, "User pool client %s does not exist.", id)
	}
	return c, nil
}

func (s *Service) pool(id string) (*userPool, error) {
	p := s.cfg.pools[id]
	if p == nil {
		return nil, newError(codeResourceNotFound, "User pool %s does not exist.", id)
	}
	return p, nil
}

type signUpInput struct {
	ClientId       string
	Username       string
	Password       string
	UserAttributes []attribute
}

type codeDelivery struct {
	AttributeName  string `json:"AttributeName"`
	DeliveryMedium string `json:"DeliveryMedium"`
	Destination    string `json:"Destination"`
}

func (s *Service) signUp(_ context.Context, in *signUpInput) (any, error) {
	if err := required(map[string]string{"clientId": in.ClientId, "username": in.Username, "password": in.Password}); err != nil {
		return nil, err
	}
	c, err := s.client(in.ClientId)
	if err != nil {
		return nil, err
	}
	pool := c.pool
	if pool.adminOnly {
		return nil, newError(codeNotAuthorized, "SignUp is not permitted for this user pool")
	}
	u, err := s.newUser(pool, in.Username, in.UserAttributes)
	if err != nil {
		return nil, err
	}
	if err := pool.policy.check(in.Password); err != nil {
		return nil, err
	}
	if u.Password, err = hashPassword(in.Password); err != nil {
		return nil, err
	}
	u.Status = statusUnconfirmed
	if pool.autoVerifyEmail {
		u.Code, u.CodeExpires = confirmationCode(), s.now().Add(codeValidity).UnixMilli()
	}
	if err := s.db.Update(func(tx *bolt.Tx) error { return s.insertUser(tx, pool, u) }); err != nil {
		return nil, err
	}
	out := map[string]any{"UserConfirmed": false, "UserSub": u.Attributes["sub"]}
	if u.Code != "" {
		s.deliverCode(pool, u)
		out["CodeDeliveryDetails"] = codeDelivery{AttributeName: "email", DeliveryMedium: "EMAIL", Destination: maskEmail(u.Attributes["email"])}
	}
	return out, nil
}

// newUser checks a new user's name and attributes against the pool and builds the
// user (without password or status).
func (s *Service) newUser(pool *userPool, username string, attrs []attribute) (*user, error) {
	now := s.now().UnixMilli()
	sub := newUUID()
	u := &user{Username: username, Attributes: map[string]string{"sub": sub}, Enabled: true, Created: now, Modified: now}
	for _, a := range attrs {
		switch {
		case a.Name == "sub" || (!pool.attrs[a.Name]):
			return nil, newError(codeInvalidParameter, "Attributes did not conform to the schema: %s: Attribute does not exist in the schema.\n", a.Name)
		case a.Name == "email_verified" || a.Name == "phone_number_verified":
			return nil, newError(codeInvalidParameter, "Attributes did not conform to the schema: %s: the twin lets only ConfirmSignUp and administrators verify an attribute\n", a.Name)
		}
		u.Attributes[a.Name] = a.Value
	}
	if pool.emailUsername {
		if !validEmail(username) {
			return nil, newError(codeInvalidParameter, msgUsernameNotEmail)
		}
		if e, ok := u.Attributes["email"]; ok && !strings.EqualFold(e, username) {
			return nil, newError(codeInvalidParameter, "the twin's Cognito takes the email attribute of a user whose user name is an email only when the two are the same (%q, %q)", username, e)
		}
		// The user name of an email-username pool's user is its sub; the email is
		// how it signs in.
		u.Username, u.Attributes["email"] = sub, username
	}
	if e, ok := u.Attributes["email"]; ok {
		if !validEmail(e) {
			return nil, newError(codeInvalidParameter, "Invalid email address format.")
		}
		u.Attributes["email_verified"] = "false"
	}
	for _, name := range pool.required {
		if u.Attributes[name] == "" {
			return nil, newError(codeInvalidParameter, "Attributes did not conform to the schema: %s: The attribute is required\n", name)
		}
	}
	return u, nil
}

func validEmail(s string) bool {
	a, err := mail.ParseAddress(s)
	return err == nil && a.Address == s && a.Name == "" && strings.Contains(s[strings.LastIndex(s, "@"):], ".")
}

// insertUser stores a new user, refusing a taken user name or email.
func (s *Service) insertUser(tx *bolt.Tx, pool *userPool, u *user) error {
	if pool.emailUsername {
		if tx.Bucket(bucketAliases).Get(aliasKey(pool.id, u.Attributes["email"])) != nil {
			return newError(codeUsernameExists, msgEmailExists)
		}
		if err := tx.Bucket(bucketAliases).Put(aliasKey(pool.id, u.Attributes["email"]), []byte(u.Username)); err != nil {
			return err
		}
	} else if tx.Bucket(bucketUsers).Get(userKey(pool.id, u.Username)) != nil {
		return newError(codeUsernameExists, msgUsernameExists)
	}
	return putJSON(tx, bucketUsers, userKey(pool.id, u.Username), u)
}

func confirmationCode() string {
	n, _ := rand.Int(rand.Reader, big.NewInt(1_000_000)) // crypto/rand never fails
	return fmt.Sprintf("%06d", n.Int64())
}

// deliverCode is the twin's stand-in for the verification email: the message the
// pool would send, with the code, in the twin's log.
func (s *Service) deliverCode(pool *userPool, u *user) {
	s.log.Info("verification code sent (the twin's stand-in for email)",
		"userPool", pool.id, "email", u.Attributes["email"], "username", u.Username, "code", u.Code,
		"message", strings.ReplaceAll(pool.emailMessage, "{####}", u.Code))
}

// maskEmail is CodeDeliveryDetails.Destination as Cognito shows it: a***@e***.
func maskEmail(e string) string {
	local, domain, ok := strings.Cut(e, "@")
	if !ok || local == "" || domain == "" {
		return "***"
	}
	return local[:1] + "***@" + domain[:1] + "***"
}

type confirmSignUpInput struct {
	ClientId         string
	Username         string
	ConfirmationCode string
}

func (s *Service) confirmSignUp(_ context.Context, in *confirmSignUpInput) (any, error) {
	if err := required(map[string]string{"clientId": in.ClientId, "username": in.Username, "confirmationCode": in.ConfirmationCode}); err != nil {
		return nil, err
	}
	c, err := s.client(in.ClientId)
	if err != nil {
		return nil, err
	}
	pool := c.pool
	err = s.db.Update(func(tx *bolt.Tx) error {
		u, err := s.findUser(tx, pool, in.Username)
		switch {
		case err != nil:
			return err
		case u == nil && c.preventExistence:
			return newError(codeCodeMismatch, msgCodeMismatch)
		case u == nil:
			return newError(codeUserNotFound, "Username/client id combination not found.")
		case u.Status != statusUnconfirmed:
			return newError(codeNotAuthorized, "User cannot be confirmed. Current status is %s", u.Status)
		case u.Code == "" || s.now().UnixMilli() >= u.CodeExpires:
			return newError(codeExpiredCode, msgExpiredCode)
		case in.ConfirmationCode != u.Code:
			return newError(codeCodeMismatch, msgCodeMismatch)
		}
		u.Status, u.Code, u.CodeExpires, u.Modified = statusConfirmed, "", 0, s.now().UnixMilli()
		u.Attributes["email_verified"] = "true"
		return putJSON(tx, bucketUsers, userKey(pool.id, u.Username), u)
	})
	if err != nil {
		return nil, err
	}
	return struct{}{}, nil
}

type getUserInput struct{ AccessToken string }

func (s *Service) getUser(_ context.Context, in *getUserInput) (any, error) {
	if err := required(map[string]string{"accessToken": in.AccessToken}); err != nil {
		return nil, err
	}
	pool, c, err := s.verifyAccessToken(in.AccessToken)
	if err != nil {
		return nil, err
	}
	var u *user
	if err := s.db.View(func(tx *bolt.Tx) (err error) {
		u, err = s.findUser(tx, pool, c.Username)
		return err
	}); err != nil {
		return nil, err
	}
	if u == nil {
		return nil, newError(codeUserNotFound, "User does not exist.")
	}
	return map[string]any{"Username": u.Username, "UserAttributes": attributeList(u.Attributes)}, nil
}

// verifyAccessToken checks an access token as the user-pool APIs that take one do.
func (s *Service) verifyAccessToken(token string) (*userPool, *claims, error) {
	invalid := newError(codeNotAuthorized, msgAccessInvalid)
	pool := s.poolByIssuer(unverifiedIssuer(token))
	if pool == nil {
		return nil, nil, invalid
	}
	c, err := s.keys[pool.id].parse(token)
	if err != nil || c.TokenUse != "access" || c.Iss != s.issuer(pool.id) {
		return nil, nil, invalid
	}
	if s.now().Unix() >= c.Exp {
		return nil, nil, newError(codeNotAuthorized, msgAccessExpired)
	}
	if !strings.Contains(" "+c.Scope+" ", " aws.cognito.signin.user.admin ") {
		return nil, nil, newError(codeNotAuthorized, "Access Token does not have required scopes")
	}
	return pool, c, nil
}

func (s *Service) poolByIssuer(iss string) *userPool {
	for id, p := range s.cfg.pools {
		if s.issuer(id) == iss {
			return p
		}
	}
	return nil
}

// attributeList is a user's attributes as AttributeType list, sub first, then by
// name.
func attributeList(attrs map[string]string) []attribute {
	out := []attribute{{Name: "sub", Value: attrs["sub"]}}
	for _, k := range sortedKeys(attrs) {
		if k != "sub" {
			out = append(out, attribute{Name: k, Value: attrs[k]})
		}
	}
	return out
}
