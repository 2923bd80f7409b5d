package cognito

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"maps"
	"slices"
	"strings"

	bolt "go.etcd.io/bbolt"
)

// The database: one bucket per kind of record, keyed as noted.
var (
	bucketKeys       = []byte("keys")        // <poolId>#id | <poolId>#access → PKCS#8 RSA key
	bucketUsers      = []byte("users")       // <poolId>/<username> → user
	bucketAliases    = []byte("aliases")     // <poolId>/<lower-case email> → username
	bucketRefresh    = []byte("refresh")     // sha256(refresh token) → refreshRecord
	bucketIdentities = []byte("identities")  // <identityId> → identity
	bucketLogins     = []byte("logins")      // <identityPoolId>/<login> → identityId
	bucketCreds      = []byte("credentials") // <access key id> → Session
	allBuckets       = [][]byte{bucketKeys, bucketUsers, bucketAliases, bucketRefresh, bucketIdentities, bucketLogins, bucketCreds}
)

// user is a user pool user. Times are Unix milliseconds.
type user struct {
	Username   string            `json:"username"` // immutable: the sub in email-username pools
	Attributes map[string]string `json:"attributes"`
	Password   string            `json:"password"` // hashPassword's encoding
	Status     string            `json:"status"`   // UNCONFIRMED, CONFIRMED, FORCE_CHANGE_PASSWORD
	Enabled    bool              `json:"enabled"`
	Groups     []string          `json:"groups,omitempty"`
	Created    int64             `json:"created"`
	Modified   int64             `json:"modified"`
	// Code is the pending sign-up confirmation code, valid until CodeExpires.
	Code        string `json:"code,omitempty"`
	CodeExpires int64  `json:"codeExpires,omitempty"`
	// TempExpires ends a FORCE_CHANGE_PASSWORD user's temporary password.
	TempExpires int64 `json:"tempExpires,omitempty"`
}

// The user statuses Cognito reports (UserType.UserStatus).
const (
	statusUnconfirmed = "UNCONFIRMED"
	statusConfirmed   = "CONFIRMED"
	statusForceChange = "FORCE_CHANGE_PASSWORD"
)

type refreshRecord struct {
	Pool      string `json:"pool"`
	Client    string `json:"client"`
	Username  string `json:"username"`
	AuthTime  int64  `json:"authTime"` // Unix seconds, kept in refreshed tokens
	OriginJTI string `json:"originJti"`
	Expires   int64  `json:"expires"` // Unix milliseconds
}

// identity is a Cognito identity. Logins are "<provider name>/<sub>" keys.
type identity struct {
	ID         string   `json:"id"`
	Pool       string   `json:"pool"`
	Logins     []string `json:"logins,omitempty"`
	MergedInto string   `json:"mergedInto,omitempty"` // a guest identity merged into a signed-in one
	Created    int64    `json:"created"`
	Modified   int64    `json:"modified"`
}

func userKey(pool, username string) []byte { return []byte(pool + "/" + username) }
func aliasKey(pool, email string) []byte   { return []byte(pool + "/" + strings.ToLower(email)) }
func loginKey(pool, login string) []byte   { return []byte(pool + "/" + login) }

func tokenKey(token string) []byte {
	h := sha256.Sum256([]byte(token))
	return []byte(hex.EncodeToString(h[:]))
}

// getJSON reads a record; ok is false when there is none.
func getJSON(tx *bolt.Tx, bucket, key []byte, v any) (bool, error) {
	b := tx.Bucket(bucket).Get(key)
	if b == nil {
		return false, nil
	}
	return true, json.Unmarshal(b, v)
}

func putJSON(tx *bolt.Tx, bucket, key []byte, v any) error {
	b, err := json.Marshal(v)
	if err != nil {
		return err
	}
	return tx.Bucket(bucket).Put(key, b)
}

// findUser finds a user of a pool by user name, or by email in an email-username
// pool (Cognito takes either where an API asks for a Username).
func (s *Service) findUser(tx *bolt.Tx, pool *userPool, name string) (*user, error) {
	var u user
	ok, err := getJSON(tx, bucketUsers, userKey(pool.id, name), &u)
	if err != nil || ok {
		return &u, err
	}
	if pool.emailUsername {
		if real := tx.Bucket(bucketAliases).Get(aliasKey(pool.id, name)); real != nil {
			ok, err = getJSON(tx, bucketUsers, userKey(pool.id, string(real)), &u)
			if err != nil || ok {
				return &u, err
			}
		}
	}
	return nil, nil
}

func sortedKeys[V any](m map[string]V) []string { return slices.Sorted(maps.Keys(m)) }

func sortStrings(s []string) { slices.Sort(s) }
