package cognito_test

import (
	"context"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cognitoidentity"

	"github.com/imagepipe/imagepipe/local/cognito"
)

// New on an empty data folder makes each pool's two RSA keys; later starts read them.
func BenchmarkNew(b *testing.B) {
	res := snapshot(b)
	for _, warm := range []bool{false, true} {
		name := map[bool]string{false: "cold", true: "warm"}[warm]
		b.Run(name, func(b *testing.B) {
			dir := b.TempDir()
			for b.Loop() {
				if !warm {
					dir = b.TempDir()
				}
				svc, err := cognito.New(res, cognito.Options{DataDir: dir, Logger: discard()})
				if err != nil {
					b.Fatal(err)
				}
				svc.Close()
			}
		})
	}
}

// One sign-in through the SDK and HTTP (PBKDF2, two RS256 signatures, a refresh
// token stored), and the identity-pool calls the web app makes after it.
func BenchmarkSignInToCredentials(b *testing.B) {
	tw := newTwin(b, snapshot(b))
	tw.signUp(b, "ada@example.com", goodPassword)
	ctx := context.Background()
	var tok string
	b.Run("InitiateAuth", func(b *testing.B) {
		for b.Loop() {
			tok = aws.ToString(tw.signIn(b, "ada@example.com", goodPassword).IdToken)
		}
	})
	b.Run("GetId+GetCredentialsForIdentity", func(b *testing.B) {
		for b.Loop() {
			id, err := tw.ids.GetId(ctx, &cognitoidentity.GetIdInput{IdentityPoolId: &tw.web.IdentityPoolID, Logins: tw.logins(tok)})
			if err != nil {
				b.Fatal(err)
			}
			if _, err := tw.ids.GetCredentialsForIdentity(ctx, &cognitoidentity.GetCredentialsForIdentityInput{IdentityId: id.IdentityId, Logins: tw.logins(tok)}); err != nil {
				b.Fatal(err)
			}
		}
	})
	out := tw.credentials(b, aws.String(tw.guest(b)), nil)
	key := aws.ToString(out.Credentials.AccessKeyId)
	b.Run("Lookup", func(b *testing.B) {
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				if _, _, _, _, ok := tw.svc.Lookup(key); !ok {
					b.Error("not found")
				}
			}
		})
	})
}

func (tw *twin) guest(b *testing.B) string {
	id, err := tw.ids.GetId(context.Background(), &cognitoidentity.GetIdInput{IdentityPoolId: &tw.web.IdentityPoolID})
	if err != nil {
		b.Fatal(err)
	}
	return aws.ToString(id.IdentityId)
}
