// Package apiclient is an HTTP client for the stack's API Gateway stage, whose
// methods use AWS_IAM: every request is signed with SigV4 for execute-api, as the
// web app signs its calls. The CLI, the load checker and the tests use it against
// AWS and the twin alike.
package apiclient

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"net/http"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
)

// New returns a client whose requests are signed with creds for execute-api in region.
func New(creds aws.CredentialsProvider, region string) *http.Client {
	return &http.Client{Transport: &Transport{Credentials: creds, Region: region}, Timeout: 60 * time.Second}
}

// Transport signs each request before Base sends it.
type Transport struct {
	Credentials aws.CredentialsProvider
	Region      string
	Base        http.RoundTripper // http.DefaultTransport when nil
}

// RoundTrip implements http.RoundTripper. It signs a copy of r: the body is read
// once to hash it, as SigV4 covers the payload.
func (t *Transport) RoundTrip(r *http.Request) (*http.Response, error) {
	ctx := r.Context()
	creds, err := t.Credentials.Retrieve(ctx)
	if err != nil {
		return nil, fmt.Errorf("apiclient: credentials: %w", err)
	}
	body := []byte{}
	if r.Body != nil {
		body, err = io.ReadAll(r.Body)
		_ = r.Body.Close()
		if err != nil {
			return nil, fmt.Errorf("apiclient: read body: %w", err)
		}
	}
	out := r.Clone(ctx)
	out.Body = io.NopCloser(bytes.NewReader(body))
	out.ContentLength = int64(len(body))
	sum := sha256.Sum256(body)
	if err := sign(ctx, out, creds, hex.EncodeToString(sum[:]), t.Region); err != nil {
		return nil, err
	}
	base := t.Base
	if base == nil {
		base = http.DefaultTransport
	}
	return base.RoundTrip(out)
}

func sign(ctx context.Context, r *http.Request, creds aws.Credentials, payloadHash, region string) error {
	if err := v4.NewSigner().SignHTTP(ctx, creds, r, payloadHash, "execute-api", region, time.Now()); err != nil {
		return fmt.Errorf("apiclient: sign: %w", err)
	}
	return nil
}
