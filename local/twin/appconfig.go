package twin

import (
	"context"
	"fmt"
	"net/http"

	"github.com/imagepipe/imagepipe/local/cfn"
)

// OperatorUsername is the account the twin signs the web app in as, so that a
// `make run` user sees every page at once: a confirmed user of the template's user
// pool in each of its groups (the operators group). Signing out shows the guest view.
const OperatorUsername = "operator@imagepipe.invalid"

// operatorAccount is the operator's sign-in, given to the web app in config.json.
type operatorAccount struct {
	Username string `json:"username"`
	Password string `json:"password"`
}

// ensureOperator creates (or refreshes) the operator account with a password made at
// this start. A twin reachable beyond loopback (--allow-remote) makes none: its
// config.json would hand the password to anyone who can reach it.
func (t *Twin) ensureOperator(ctx context.Context, d *deployment) error {
	if t.cognito == nil || t.cfg.AllowRemote {
		return nil
	}
	wc, err := t.cognito.WebConfig()
	if err != nil || wc.UserPoolID == "" {
		return nil // a template without a user pool has no one to sign in
	}
	var groups []string
	for _, id := range d.template.Order {
		r := d.template.Resources[id]
		if r.Active && r.Type == "AWS::Cognito::UserPoolGroup" {
			if name, _ := cfn.Str(r.Properties, "GroupName"); name != "" {
				groups = append(groups, name)
			}
		}
	}
	// Upper, lower, digit and symbol: any user pool password policy is met.
	password := "Op-" + randomToken(18) + "a7Z!"
	if _, err := t.cognito.EnsureUser(ctx, wc.UserPoolID, OperatorUsername, password, groups...); err != nil {
		return fmt.Errorf("the operator account: %w", err)
	}
	t.operator = &operatorAccount{Username: OperatorUsername, Password: password}
	t.log.Info("operator account", "username", OperatorUsername, "groups", groups)
	return nil
}

// appConfig is the web app's config.json on the twin: the same fields the CDK app
// writes beside the app in AWS (infra/stack/website.go), with the twin's edge as the
// endpoint of every AWS service, and the operator's sign-in.
func (t *Twin) appConfig(r *http.Request) any {
	c := map[string]any{
		"mode":               "aws",
		"region":             Region,
		"apiUrl":             "http://" + r.Host + "/api",
		"endpoint":           t.EdgeURL(),
		"bucket":             t.names.bucket,
		"stateMachineArn":    t.names.pipelineARN,
		"loadTesterFunction": t.names.loadTesterFunction,
	}
	if t.cognito != nil {
		if wc, err := t.cognito.WebConfig(); err == nil {
			c["identityPoolId"], c["userPoolId"], c["userPoolClientId"] = wc.IdentityPoolID, wc.UserPoolID, wc.UserPoolClientID
		}
	}
	if t.operator != nil {
		c["operator"] = t.operator
	}
	return c
}
