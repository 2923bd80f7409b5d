package twin

import (
	"errors"
	"fmt"
	"net"
)

// errRemote is the refusal to listen beyond loopback without --allow-remote.
var errRemote = errors.New("refusing to listen beyond loopback: start with --allow-remote and set IMAGEPIPE_ACCESS_KEY_ID and IMAGEPIPE_SECRET_ACCESS_KEY")

// checkAddrs keeps the twin on loopback unless remote access is explicit and guarded.
// Beyond loopback nothing is exempt: the edge and the API stage verify SigV4 on every
// request (no secret travels), the web listener's other routes are the app's static
// files and config.json (public in AWS too; no operator sign-in when remote), and the
// fault switches answer only the developer identity's signature.
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
