package cognito

import (
	"context"
	"slices"
	"strings"

	bolt "go.etcd.io/bbolt"
)

type adminCreateUserInput struct {
	UserPoolId        string
	Username          string
	UserAttributes    []attribute
	TemporaryPassword string
	MessageAction     string
}

// userType is UserType as the admin APIs answer it (dates in epoch seconds).
func userType(u *user) map[string]any {
	return map[string]any{
		"Username": u.Username, "Attributes": attributeList(u.Attributes), "Enabled": u.Enabled, "UserStatus": u.Status,
		"UserCreateDate": float64(u.Created) / 1000, "UserLastModifiedDate": float64(u.Modified) / 1000,
	}
}

// adminCreateUser makes a FORCE_CHANGE_PASSWORD user with a temporary password
// (the caller's, checked against the policy, or one made for it); unless
// MessageAction is SUPPRESS the invitation goes to the log, the twin's stand-in
// for the email. An administrator may mark the email verified (email_verified).
func (s *Service) adminCreateUser(_ context.Context, in *adminCreateUserInput) (any, error) {
	if err := required(map[string]string{"userPoolId": in.UserPoolId, "username": in.Username}); err != nil {
		return nil, err
	}
	pool, err := s.pool(in.UserPoolId)
	if err != nil {
		return nil, err
	}
	attrs, verified := splitVerified(in.UserAttributes)
	u, err := s.newUser(pool, in.Username, attrs)
	if err != nil {
		return nil, err
	}
	if verified && u.Attributes["email"] != "" {
		u.Attributes["email_verified"] = "true"
	}
	temp := in.TemporaryPassword
	if temp == "" {
		temp = pool.policy.generate()
	} else if err := pool.policy.check(temp); err != nil {
		return nil, err
	}
	if u.Password, err = hashPassword(temp); err != nil {
		return nil, err
	}
	u.Status, u.TempExpires = statusForceChange, s.now().Add(pool.policy.temporaryValidity).UnixMilli()
	if err := s.db.Update(func(tx *bolt.Tx) error { return s.insertUser(tx, pool, u) }); err != nil {
		return nil, err
	}
	if in.MessageAction != "SUPPRESS" {
		s.log.Info("invitation sent (the twin's stand-in for email)", "userPool", pool.id,
			"email", u.Attributes["email"], "username", u.Username, "temporaryPassword", temp)
	}
	return map[string]any{"User": userType(u)}, nil
}

// splitVerified takes email_verified out of an administrator's attributes.
func splitVerified(attrs []attribute) (rest []attribute, verified bool) {
	for _, a := range attrs {
		if a.Name == "email_verified" {
			verified = strings.EqualFold(a.Value, "true")
			continue
		}
		rest = append(rest, a)
	}
	return rest, verified
}

type adminSetUserPasswordInput struct {
	UserPoolId string
	Username   string
	Password   string
	Permanent  bool
}

func (s *Service) adminSetUserPassword(_ context.Context, in *adminSetUserPasswordInput) (any, error) {
	if err := required(map[string]string{"userPoolId": in.UserPoolId, "username": in.Username, "password": in.Password}); err != nil {
		return nil, err
	}
	pool, err := s.pool(in.UserPoolId)
	if err != nil {
		return nil, err
	}
	if err := pool.policy.check(in.Password); err != nil {
		return nil, err
	}
	hash, err := hashPassword(in.Password)
	if err != nil {
		return nil, err
	}
	err = s.updateUser(pool, in.Username, func(u *user) error {
		u.Password = hash
		if in.Permanent {
			u.Status, u.TempExpires, u.Code, u.CodeExpires = statusConfirmed, 0, "", 0
		} else {
			u.Status, u.TempExpires = statusForceChange, s.now().Add(pool.policy.temporaryValidity).UnixMilli()
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return struct{}{}, nil
}

type adminAddUserToGroupInput struct {
	UserPoolId string
	Username   string
	GroupName  string
}

func (s *Service) adminAddUserToGroup(_ context.Context, in *adminAddUserToGroupInput) (any, error) {
	if err := required(map[string]string{"userPoolId": in.UserPoolId, "username": in.Username, "groupName": in.GroupName}); err != nil {
		return nil, err
	}
	pool, err := s.pool(in.UserPoolId)
	if err != nil {
		return nil, err
	}
	if pool.groups[in.GroupName] == nil {
		return nil, newError(codeResourceNotFound, "Group not found.")
	}
	err = s.updateUser(pool, in.Username, func(u *user) error {
		if !slices.Contains(u.Groups, in.GroupName) {
			u.Groups = append(u.Groups, in.GroupName)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return struct{}{}, nil
}

// updateUser changes a user in one transaction; a missing user is Cognito's
// UserNotFoundException (administrators learn whether a user exists).
func (s *Service) updateUser(pool *userPool, name string, change func(*user) error) error {
	return s.db.Update(func(tx *bolt.Tx) error {
		u, err := s.findUser(tx, pool, name)
		if err != nil {
			return err
		}
		if u == nil {
			return newError(codeUserNotFound, "User does not exist.")
		}
		if err := change(u); err != nil {
			return err
		}
		u.Modified = s.now().UnixMilli()
		return putJSON(tx, bucketUsers, userKey(pool.id, u.Username), u)
	})
}

// EnsureUser makes sure poolID has a confirmed user signing in as name (the email
// in an email-username pool) with this permanent password, email verified, in
// groups: what AdminCreateUser (MessageAction SUPPRESS, email_verified true),
// AdminSetUserPassword (Permanent) and AdminAddUserToGroup do. It is for the
// twin's own operator account, and is idempotent: an existing user gets the
// password and groups. It returns the user name (the sub in an email-username pool).
func (s *Service) EnsureUser(ctx context.Context, poolID, name, password string, groups ...string) (string, error) {
	pool, err := s.pool(poolID)
	if err != nil {
		return "", err
	}
	attrs := []attribute{{Name: "email_verified", Value: "true"}}
	if !pool.emailUsername && strings.Contains(name, "@") {
		attrs = append(attrs, attribute{Name: "email", Value: name})
	}
	_, err = s.adminCreateUser(ctx, &adminCreateUserInput{UserPoolId: poolID, Username: name, UserAttributes: attrs, TemporaryPassword: password, MessageAction: "SUPPRESS"})
	if err != nil && asError(err).Code != codeUsernameExists {
		return "", err
	}
	if _, err := s.adminSetUserPassword(ctx, &adminSetUserPasswordInput{UserPoolId: poolID, Username: name, Password: password, Permanent: true}); err != nil {
		return "", err
	}
	for _, g := range groups {
		if _, err := s.adminAddUserToGroup(ctx, &adminAddUserToGroupInput{UserPoolId: poolID, Username: name, GroupName: g}); err != nil {
			return "", err
		}
	}
	var username string
	err = s.db.View(func(tx *bolt.Tx) error {
		u, err := s.findUser(tx, pool, name)
		if u != nil {
			username = u.Username
		}
		return err
	})
	return username, err
}
