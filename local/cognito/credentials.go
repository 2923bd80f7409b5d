package cognito

import (
	"crypto/rand"
	"encoding/base32"
	"encoding/base64"
	"encoding/json"
	"strings"
	"time"

	bolt "go.etcd.io/bbolt"
)

// Session is one set of temporary credentials GetCredentialsForIdentity issued:
// what the edge's SigV4 verifier and IAM need to act as the identity's role.
type Session struct {
	AccessKeyID  string    `json:"accessKeyId"`
	SecretKey    string    `json:"secretKey"`
	SessionToken string    `json:"sessionToken"`
	Expires      time.Time `json:"expires"`
	RoleARN      string    `json:"roleArn"`
	// AssumedRoleARN is the session's principal,
	// arn:aws:sts::<account>:assumed-role/<role name>/CognitoIdentityCredentials.
	AssumedRoleARN string `json:"assumedRoleArn"`
	IdentityID     string `json:"identityId"`
	IdentityPoolID string `json:"identityPoolId"`
	// AMR is the web identity's amr: ["unauthenticated"], or ["authenticated",
	// "<provider>", "<provider>:CognitoSignIn:<sub>"].
	AMR []string `json:"amr"`
	// SessionPolicy is the scope-down policy Cognito applies to credentials it
	// vends to guests in the enhanced flow (nil for signed-in users): what the
	// guest may do is the intersection of the role's policies and this one.
	SessionPolicy json.RawMessage `json:"sessionPolicy,omitempty"`
}

// Authenticated is whether the session is a signed-in user's.
func (s Session) Authenticated() bool { return len(s.AMR) > 0 && s.AMR[0] == "authenticated" }

// Context is the session's condition keys for IAM: cognito-identity.amazonaws.com
// :aud (the identity pool), :amr and :sub (the identity id, the
// ${cognito-identity.amazonaws.com:sub} of policy variables).
func (s Session) Context() map[string][]string {
	return map[string][]string{
		"cognito-identity.amazonaws.com:aud": {s.IdentityPoolID},
		"cognito-identity.amazonaws.com:amr": append([]string(nil), s.AMR...),
		"cognito-identity.amazonaws.com:sub": {s.IdentityID},
	}
}

// credentialsValidity is the lifetime of GetCredentialsForIdentity's credentials.
const credentialsValidity = time.Hour

// guestSessionPolicy is the scope-down policy for guests: the services the
// developer guide's "Access policies" section lists for unauthenticated
// identities in the enhanced flow, with the actions it restricts, together with
// the actions of the AWS managed policy AmazonCognitoUnAuthedIdentitiesSessionPolicy
// (v3), and API Gateway's execute-api: neither list names it, but Amplify's
// documentation has guests call IAM-authorized REST APIs through this flow
// ("When the user has not signed in, the unauthenticated role is used"). A
// service outside the list (SSM, for one: aws-sdk-js#4303) is denied "because no
// session policy allows" it.
var guestSessionPolicy = json.RawMessage(`{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":[` +
	`"appsync:*","cloudwatch:*","cognito-identity:*","cognito-sync:*","comprehend:*","dynamodb:*","gamelift:*","iot:*",` +
	`"kms:Encrypt","kms:Decrypt","kms:ReEncryptTo","kms:ReEncryptFrom","kms:GenerateDataKey","kms:GenerateDataKeyPair",` +
	`"kms:GenerateDataKeyPairWithoutPlaintext","kms:GenerateDataKeyWithoutPlaintext",` +
	`"firehose:*","kinesis:*","lambda:*","lex:*","geo:*","machinelearning:*","mobileanalytics:*","mobiletargeting:*",` +
	`"personalize:*","polly:*","rekognition:*","rum:PutRumEvents","sdb:*","ses:*","sns:*","sqs:*","s3:*",` +
	`"sagemaker:InvokeEndpoint","sumerian:View*","textract:DetectDocumentText","textract:AnalyzeDocument",` +
	`"transcribe:*","translate:*","execute-api:*"],"Resource":"*"}]}`)

// issueCredentials makes and records a session for the role.
func (s *Service) issueCredentials(ip *identityPool, id *identity, roleARN string, amr []string) (*Session, error) {
	now := s.now()
	sess := &Session{
		AccessKeyID: "ASIA" + randomBase32(16), SecretKey: randomBase64(30), SessionToken: randomBase64(300),
		Expires: now.Add(credentialsValidity).Truncate(time.Second), RoleARN: roleARN,
		AssumedRoleARN: "arn:aws:sts::" + s.account + ":assumed-role/" + roleARN[strings.LastIndex(roleARN, "/")+1:] + "/CognitoIdentityCredentials",
		IdentityID:     id.ID, IdentityPoolID: ip.id, AMR: amr,
	}
	if amr[0] == "unauthenticated" {
		sess.SessionPolicy = guestSessionPolicy
	}
	expired := s.sweep(now)
	if err := s.db.Update(func(tx *bolt.Tx) error {
		b := tx.Bucket(bucketCreds)
		for _, k := range expired {
			if err := b.Delete([]byte(k)); err != nil {
				return err
			}
		}
		return putJSON(tx, bucketCreds, []byte(sess.AccessKeyID), sess)
	}); err != nil {
		return nil, err
	}
	s.mu.Lock()
	s.creds[sess.AccessKeyID] = sess
	s.mu.Unlock()
	return sess, nil
}

// sweep forgets expired credentials, returning their keys.
func (s *Service) sweep(now time.Time) []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []string
	for k, c := range s.creds {
		if !now.Before(c.Expires) {
			delete(s.creds, k)
			out = append(out, k)
		}
	}
	return out
}

func (s *Service) loadCredentials() error {
	now := s.now()
	return s.db.Update(func(tx *bolt.Tx) error {
		b := tx.Bucket(bucketCreds)
		var expired [][]byte
		err := b.ForEach(func(k, v []byte) error {
			var sess Session
			if err := json.Unmarshal(v, &sess); err != nil {
				return err
			}
			if now.Before(sess.Expires) {
				s.creds[sess.AccessKeyID] = &sess
			} else {
				expired = append(expired, append([]byte(nil), k...))
			}
			return nil
		})
		for _, k := range expired {
			if err := b.Delete(k); err != nil {
				return err
			}
		}
		return err
	})
}

// Lookup is the credentials registry the edge's SigV4 verifier reads: the secret,
// session token, role and expiry of temporary credentials this service issued.
// Expired and unknown keys are not found.
func (s *Service) Lookup(accessKeyID string) (secret, sessionToken, roleARN string, expires time.Time, ok bool) {
	sess, ok := s.Session(accessKeyID)
	if !ok {
		return "", "", "", time.Time{}, false
	}
	return sess.SecretKey, sess.SessionToken, sess.RoleARN, sess.Expires, true
}

// Session is the whole record of issued credentials, for IAM: the principal, the
// condition keys and, for guests, the scope-down policy.
func (s *Service) Session(accessKeyID string) (Session, bool) {
	s.mu.RLock()
	sess, ok := s.creds[accessKeyID]
	s.mu.RUnlock()
	if !ok || !s.now().Before(sess.Expires) {
		return Session{}, false
	}
	out := *sess
	out.AMR = append([]string(nil), sess.AMR...)
	return out, true
}

func randomBase32(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b) // crypto/rand.Read never fails
	return base32.StdEncoding.EncodeToString(b)[:n]
}

func randomBase64(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return base64.StdEncoding.EncodeToString(b)
}
