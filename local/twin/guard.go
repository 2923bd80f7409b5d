package twin

import (
	"crypto/subtle"
	"time"

	"encoding/json"
	"errors"
	"fmt"
	"github.com/imagepipe/imagepipe/local/sigv4"
	"net"
	"net/http"
)

// errRemote is the refusal to listen beyond loopback without --allow-remote.
var errRemote = errors.New("refusing to listen beyond loopback: start with --allow-remote and set IMAGEPIPE_ACCESS_KEY_ID and IMAGEPIPE_SECRET_ACCESS_KEY")

// checkAddrs keeps the twin on loopback unless remote access is explicit and guarded.
func checkAddrs(cfg Config) error {
	for _, addr := range []string{cfg.EdgeAddr, cfg.HTTPAddr} {
		host, _, err := net.SplitHostPort(addr)
		if err != nil {
			return fmt.Errorf("address %q: %w", addr, err)
		}
		if isLoopback(host) {
			continue
		}
		if !cfg.AllowRemote {
			return fmt.Errorf("%s: %w", addr, errRemote)
		}
		if cfg.AccessKeyID == "" || len(cfg.SecretAccessKey) < 16 {
			return fmt.Errorf("%s: %w (the secret needs at least 16 characters)", addr, errRemote)
		}
	}
	return nil
}

func isLoopback(host string) bool {
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

func (t *Twin) accessKey() string {
	if t.cfg.AccessKeyID != "" {
		return t.cfg.AccessKeyID
	}
	return "test"
}

func (t *Twin) secretKey() string {
	if t.cfg.SecretAccessKey != "" {
		return t.cfg.SecretAccessKey
	}
	return "test"
}

// guard requires credentials on the web listener when the twin was allowed beyond
// loopback: requests from loopback pass; others must carry the developer's key (HTTP
// basic auth, or SigV4). The edge checks SigV4 on every request (auth.edgeAuth).
func (t *Twin) guard(next http.Handler) http.Handler {
	if !t.cfg.AllowRemote {
		return next
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		host, _, _ := net.SplitHostPort(r.RemoteAddr)
		if isLoopback(host) || t.authorized(r) {
			next.ServeHTTP(w, r)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusForbidden)
		json.NewEncoder(w).Encode(map[string]string{"__type": "AccessDenied", "message": "credentials required"})
	})
}

func (t *Twin) authorized(r *http.Request) bool {
	if u, p, ok := r.BasicAuth(); ok {
		return subtle.ConstantTimeCompare([]byte(u), []byte(t.cfg.AccessKeyID)) == 1 &&
			subtle.ConstantTimeCompare([]byte(p), []byte(t.cfg.SecretAccessKey)) == 1
	}
	_, err := sigv4.Verify(r, t.auth, time.Now())
	return err == nil
}

// rawBody keeps a JSON body as JSON, and wraps anything else as a JSON string.
func rawBody(body string) json.RawMessage {
	if json.Valid([]byte(body)) {
		return json.RawMessage(body)
	}
	b, _ := json.Marshal(body)
	return b
}
