package cognito

import (
	"fmt"
	"strings"
)

// WebConfig is what the web app's config.json needs to reach Cognito.
type WebConfig struct {
	Region           string `json:"region"`
	UserPoolID       string `json:"userPoolId"`
	UserPoolClientID string `json:"userPoolClientId"`
	IdentityPoolID   string `json:"identityPoolId"`
}

// WebConfig names the template's identity pool and the user pool client it
// trusts. It is an error when the template has no identity pool, or more than one
// pool or client to choose from.
func (s *Service) WebConfig() (WebConfig, error) {
	if len(s.cfg.ids) != 1 {
		return WebConfig{}, fmt.Errorf("cognito: the template has %d identity pools; the web app needs exactly one", len(s.cfg.ids))
	}
	var ip *identityPool
	for _, p := range s.cfg.ids {
		ip = p
	}
	out := WebConfig{Region: s.region, IdentityPoolID: ip.id}
	for provider, clients := range ip.providers {
		for client := range clients {
			if out.UserPoolClientID != "" {
				return WebConfig{}, fmt.Errorf("cognito: identity pool %s trusts more than one user pool client", ip.logicalID)
			}
			out.UserPoolID, out.UserPoolClientID = provider[strings.LastIndex(provider, "/")+1:], client
		}
	}
	return out, nil
}
