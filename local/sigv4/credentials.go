package sigv4

import (
	"sync"
	"time"
)

// Principal is who a key belongs to, as IAM names it: a user
// (arn:aws:iam::<acct>:user/<name>), a role (arn:aws:iam::<acct>:role/<name>) or a
// role session (arn:aws:sts::<acct>:assumed-role/<role>/<session>).
type Principal struct {
	ARN     string
	Account string
	// Context holds condition keys IAM knows of this principal's session and that
	// go into the request context of every call it signs (for credentials from
	// Cognito: cognito-identity.amazonaws.com:sub, :aud and :amr).
	Context map[string][]string
}

// Secret is what the twin knows of one access key.
type Secret struct {
	SecretAccessKey string
	// SessionToken marks temporary credentials: a request signed with the key must
	// carry this token in X-Amz-Security-Token. Empty for long-term keys, which must
	// carry none.
	SessionToken string
	// Expires ends temporary credentials (zero: never).
	Expires   time.Time
	Principal Principal
}

// Credentials finds the secret of an access key id.
type Credentials interface {
	Lookup(accessKeyID string) (Secret, bool)
}

// Keys is a concurrency-safe Credentials the twin fills: the developer key at
// start, each function's key at deploy, Cognito's temporary keys as it issues them.
type Keys struct {
	mu sync.RWMutex
	m  map[string]Secret
}

// NewKeys returns an empty key store.
func NewKeys() *Keys { return &Keys{m: map[string]Secret{}} }

// Put adds or replaces a key.
func (k *Keys) Put(accessKeyID string, s Secret) {
	k.mu.Lock()
	defer k.mu.Unlock()
	k.m[accessKeyID] = s
}

// Delete removes a key; later requests signed with it get InvalidAccessKeyId.
func (k *Keys) Delete(accessKeyID string) {
	k.mu.Lock()
	defer k.mu.Unlock()
	delete(k.m, accessKeyID)
}

// Lookup implements Credentials.
func (k *Keys) Lookup(accessKeyID string) (Secret, bool) {
	k.mu.RLock()
	defer k.mu.RUnlock()
	s, ok := k.m[accessKeyID]
	return s, ok
}
