package cognito

import (
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"math/big"
	"strings"

	bolt "go.etcd.io/bbolt"
)

// signingKey is one RS256 key of a pool. Cognito signs ID and access tokens with
// different keys ("the key ID (kid) is different because different keys are used
// to sign ID tokens and access tokens"), and publishes both in the pool's JWKS.
type signingKey struct {
	kid string
	key *rsa.PrivateKey
}

type poolKeys struct{ id, access signingKey }

const keyBits = 2048

// loadKeys reads a pool's keys from the database, making them on first use; they
// are kept so that tokens issued before a restart still verify after it.
func (s *Service) loadKeys(poolID string) (*poolKeys, error) {
	k := &poolKeys{}
	err := s.db.Update(func(tx *bolt.Tx) error {
		for name, dst := range map[string]*signingKey{"id": &k.id, "access": &k.access} {
			b := tx.Bucket(bucketKeys)
			key := []byte(poolID + "#" + name)
			der := b.Get(key)
			if der == nil {
				priv, err := rsa.GenerateKey(rand.Reader, keyBits)
				if err != nil {
					return err
				}
				if der, err = x509.MarshalPKCS8PrivateKey(priv); err != nil {
					return err
				}
				if err := b.Put(key, der); err != nil {
					return err
				}
			}
			parsed, err := x509.ParsePKCS8PrivateKey(der)
			if err != nil {
				return err
			}
			priv, ok := parsed.(*rsa.PrivateKey)
			if !ok {
				return fmt.Errorf("stored key %s is not RSA", key)
			}
			*dst = signingKey{kid: keyID(&priv.PublicKey), key: priv}
		}
		return nil
	})
	return k, err
}

// keyID is a key's kid: base64 of the SHA-256 of its public key, the shape of
// Cognito's kids ("…=").
func keyID(pub *rsa.PublicKey) string {
	der, _ := x509.MarshalPKIXPublicKey(pub) // an RSA public key always marshals
	h := sha256.Sum256(der)
	return base64.StdEncoding.EncodeToString(h[:])
}

type jwk struct {
	Alg string `json:"alg"`
	E   string `json:"e"`
	Kid string `json:"kid"`
	Kty string `json:"kty"`
	N   string `json:"n"`
	Use string `json:"use"`
}

func (k *poolKeys) jwks() map[string][]jwk {
	out := []jwk{}
	for _, sk := range []signingKey{k.id, k.access} {
		pub := sk.key.PublicKey
		out = append(out, jwk{
			Alg: "RS256", Kty: "RSA", Use: "sig", Kid: sk.kid,
			N: b64(pub.N.Bytes()), E: b64(big.NewInt(int64(pub.E)).Bytes()),
		})
	}
	return map[string][]jwk{"keys": out}
}

func (k *poolKeys) byKid(kid string) *rsa.PublicKey {
	for _, sk := range []signingKey{k.id, k.access} {
		if sk.kid == kid {
			return &sk.key.PublicKey
		}
	}
	return nil
}

func b64(b []byte) string { return base64.RawURLEncoding.EncodeToString(b) }

// sign makes a compact JWS (RS256) of claims.
func (sk signingKey) sign(claims map[string]any) (string, error) {
	header, err := json.Marshal(map[string]string{"kid": sk.kid, "alg": "RS256"})
	if err != nil {
		return "", err
	}
	payload, err := json.Marshal(claims)
	if err != nil {
		return "", err
	}
	input := b64(header) + "." + b64(payload)
	h := sha256.Sum256([]byte(input))
	sig, err := rsa.SignPKCS1v15(rand.Reader, sk.key, crypto.SHA256, h[:])
	if err != nil {
		return "", err
	}
	return input + "." + b64(sig), nil
}

// claims are the token claims the package reads; raw holds them all (for role
// mapping rules on any claim).
type claims struct {
	Sub           string   `json:"sub"`
	Iss           string   `json:"iss"`
	Aud           string   `json:"aud"`
	ClientID      string   `json:"client_id"`
	TokenUse      string   `json:"token_use"`
	Username      string   `json:"username"`
	CognitoUser   string   `json:"cognito:username"`
	Exp           int64    `json:"exp"`
	Groups        []string `json:"cognito:groups"`
	Roles         []string `json:"cognito:roles"`
	PreferredRole string   `json:"cognito:preferred_role"`
	Scope         string   `json:"scope"`
	raw           map[string]any
}

var errBadToken = errors.New("not a token signed by this pool")

// parse verifies a compact JWS against a pool's keys and decodes its claims; it
// checks the signature only (the caller checks issuer, use and time, each with
// its own error).
func (k *poolKeys) parse(token string) (*claims, error) {
	parts := strings.Split(token, ".")
	if len(parts) != 3 {
		return nil, errBadToken
	}
	var header struct{ Kid, Alg string }
	if err := decodeSegment(parts[0], &header); err != nil || header.Alg != "RS256" {
		return nil, errBadToken
	}
	pub := k.byKid(header.Kid)
	if pub == nil {
		return nil, errBadToken
	}
	sig, err := base64.RawURLEncoding.DecodeString(parts[2])
	if err != nil {
		return nil, errBadToken
	}
	h := sha256.Sum256([]byte(parts[0] + "." + parts[1]))
	if rsa.VerifyPKCS1v15(pub, crypto.SHA256, h[:], sig) != nil {
		return nil, errBadToken
	}
	c := &claims{}
	if err := decodeSegment(parts[1], c); err != nil {
		return nil, errBadToken
	}
	if err := decodeSegment(parts[1], &c.raw); err != nil {
		return nil, errBadToken
	}
	return c, nil
}

func decodeSegment(seg string, v any) error {
	b, err := base64.RawURLEncoding.DecodeString(seg)
	if err != nil {
		return err
	}
	return json.Unmarshal(b, v)
}

// unverifiedIssuer reads a token's iss without checking anything, to pick the
// pool whose keys verify it.
func unverifiedIssuer(token string) string {
	parts := strings.Split(token, ".")
	if len(parts) != 3 {
		return ""
	}
	var c struct{ Iss string }
	if decodeSegment(parts[1], &c) != nil {
		return ""
	}
	return c.Iss
}

// issuer is a pool's iss claim (and, without https://, its provider name).
func (s *Service) issuer(poolID string) string {
	return "https://" + s.providerName(poolID)
}

func (s *Service) providerName(poolID string) string {
	return "cognito-idp." + s.region + ".amazonaws.com/" + poolID
}
