package cognito

import (
	"fmt"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/imagepipe/imagepipe/local/cfn"
)

// ConfigError is a template setting the twin's Cognito cannot serve, naming the
// resource and the property, so that a template is never deployed kinder than AWS
// would run it.
type ConfigError struct {
	LogicalID, Type, Property string
	Reason                    string
}

func (e *ConfigError) Error() string {
	s := "cognito: " + e.LogicalID + " (" + e.Type + ")"
	if e.Property != "" {
		s += ": " + e.Property
	}
	return s + ": " + e.Reason
}

func configErr(r *cfn.Resource, prop, format string, args ...any) *ConfigError {
	return &ConfigError{LogicalID: r.LogicalID, Type: r.Type, Property: prop, Reason: fmt.Sprintf(format, args...)}
}

// The resource types this package reads; any other AWS::Cognito:: type is refused.
const (
	typeUserPool       = "AWS::Cognito::UserPool"
	typeUserPoolClient = "AWS::Cognito::UserPoolClient"
	typeUserPoolGroup  = "AWS::Cognito::UserPoolGroup"
	typeIdentityPool   = "AWS::Cognito::IdentityPool"
	typeRoleAttachment = "AWS::Cognito::IdentityPoolRoleAttachment"
	typeRole           = "AWS::IAM::Role"
)

type passwordPolicy struct {
	minLength                      int
	lower, upper, numbers, symbols bool
	temporaryValidity              time.Duration
}

type userPool struct {
	logicalID, id string
	// emailUsername: UsernameAttributes [email]: users sign up and sign in with their
	// email address, and Cognito gives each a UUID user name (its sub).
	emailUsername   bool
	autoVerifyEmail bool
	adminOnly       bool // AdminCreateUserConfig.AllowAdminCreateUserOnly
	policy          passwordPolicy
	emailMessage    string // with {####} for the code
	required        []string
	attrs           map[string]bool // attributes a user may write
	groups          map[string]*group
	clients         map[string]*appClient
}

type appClient struct {
	logicalID, id    string
	pool             *userPool
	passwordAuth     bool
	refreshAuth      bool
	preventExistence bool
	idTTL, accessTTL time.Duration
	refreshTTL       time.Duration
}

type group struct {
	name       string
	roleARN    string
	precedence *int // nil: no precedence, below every group that has one
}

type identityPool struct {
	logicalID, id string
	allowGuests   bool
	// providers: "cognito-idp.<region>.amazonaws.com/<poolId>" → its client ids.
	providers           map[string]map[string]bool
	authRole, guestRole string
	mappings            map[string]*roleMapping // by "<provider>:<clientId>"
}

type roleMapping struct {
	rules         []mappingRule // nil: Token
	byToken       bool
	ambiguousDeny bool
}

type mappingRule struct{ claim, match, value, role string }

// Standard attributes (the user pool attributes page of the developer guide).
var standardAttributes = []string{
	"address", "birthdate", "email", "email_verified", "family_name", "gender", "given_name", "locale",
	"middle_name", "name", "nickname", "phone_number", "phone_number_verified", "picture",
	"preferred_username", "profile", "updated_at", "website", "zoneinfo",
}

// config is what the template declares, read once by New.
type config struct {
	pools   map[string]*userPool
	clients map[string]*appClient
	ids     map[string]*identityPool
	roles   map[string]*cfn.Resource // role ARN → AWS::IAM::Role, for trust checks
}

func readConfig(resources []*cfn.Resource, region, account string) (*config, error) {
	c := &config{pools: map[string]*userPool{}, clients: map[string]*appClient{}, ids: map[string]*identityPool{}, roles: map[string]*cfn.Resource{}}
	byType := map[string][]*cfn.Resource{}
	for _, r := range resources {
		if r == nil || !r.Active { // a resource whose Condition is false is not created
			continue
		}
		byType[r.Type] = append(byType[r.Type], r)
	}
	for typ, rs := range byType {
		if strings.HasPrefix(typ, "AWS::Cognito::") && !slices.Contains([]string{typeUserPool, typeUserPoolClient, typeUserPoolGroup, typeIdentityPool, typeRoleAttachment}, typ) {
			return nil, configErr(rs[0], "", "the twin's Cognito does not serve this resource type")
		}
	}
	for _, r := range byType[typeRole] {
		c.roles[roleARN(r, account)] = r
	}
	steps := []struct {
		typ  string
		read func(*cfn.Resource) error
	}{
		{typeUserPool, c.readUserPool},
		{typeUserPoolClient, c.readClient},
		{typeUserPoolGroup, c.readGroup},
		{typeIdentityPool, func(r *cfn.Resource) error { return c.readIdentityPool(r, region) }},
		{typeRoleAttachment, c.readAttachment},
	}
	for _, st := range steps {
		rs := byType[st.typ]
		sort.Slice(rs, func(i, j int) bool { return rs[i].LogicalID < rs[j].LogicalID })
		for _, r := range rs {
			if err := st.read(r); err != nil {
				return nil, err
			}
		}
	}
	return c, nil
}

// roleARN is a template role's ARN, as Fn::GetAtt Arn gives it (in the aws
// partition, the only one the twin serves).
func roleARN(r *cfn.Resource, account string) string {
	path, _ := cfn.Str(r.Properties, "Path")
	if path == "" {
		path = "/"
	}
	return "arn:aws:iam::" + account + ":role" + path + r.Name
}

func (c *config) readUserPool(r *cfn.Resource) error {
	p := r.Properties
	if err := refuseUserPoolSettings(r); err != nil {
		return err
	}
	pool := &userPool{logicalID: r.LogicalID, id: r.PhysicalID, groups: map[string]*group{}, clients: map[string]*appClient{}, attrs: map[string]bool{}}
	usernameAttrs, err := cfn.Strs(p, "UsernameAttributes")
	if err != nil {
		return configErr(r, "UsernameAttributes", "%v", err)
	}
	switch {
	case len(usernameAttrs) == 0:
	case len(usernameAttrs) == 1 && usernameAttrs[0] == "email":
		pool.emailUsername = true
	default:
		return configErr(r, "UsernameAttributes", "%v: the twin's Cognito signs users in by user name or by email only", usernameAttrs)
	}
	verify, err := cfn.Strs(p, "AutoVerifiedAttributes")
	if err != nil {
		return configErr(r, "AutoVerifiedAttributes", "%v", err)
	}
	for _, a := range verify {
		if a != "email" {
			return configErr(r, "AutoVerifiedAttributes", "%s: the twin delivers codes by email (to its log) only", a)
		}
		pool.autoVerifyEmail = true
	}
	pool.adminOnly, _ = cfn.Bool(p, "AdminCreateUserConfig", "AllowAdminCreateUserOnly")
	pool.policy = readPasswordPolicy(p)
	pool.emailMessage = firstStr(p, []string{"VerificationMessageTemplate", "EmailMessage"}, []string{"EmailVerificationMessage"})
	if pool.emailMessage == "" {
		pool.emailMessage = "Your verification code is {####}. " // Cognito's default message
	}
	for _, a := range standardAttributes {
		pool.attrs[a] = true
	}
	if err := readSchema(r, pool); err != nil {
		return err
	}
	if _, dup := c.pools[pool.id]; dup {
		return configErr(r, "", "a second user pool with id %s", pool.id)
	}
	c.pools[pool.id] = pool
	return nil
}

// refuseUserPoolSettings names the settings a user pool may have that would make
// the twin kinder than AWS if it ignored them.
func refuseUserPoolSettings(r *cfn.Resource) error {
	p := r.Properties
	if lc, ok := cfn.Get(p, "LambdaConfig"); ok {
		if m, _ := lc.(map[string]any); len(m) > 0 {
			keys := make([]string, 0, len(m))
			for k := range m {
				keys = append(keys, k)
			}
			sort.Strings(keys)
			return configErr(r, "LambdaConfig", "Lambda triggers (%s) are not run by the twin's Cognito", strings.Join(keys, ", "))
		}
	}
	if mfa, _ := cfn.Str(p, "MfaConfiguration"); mfa == "ON" {
		return configErr(r, "MfaConfiguration", "ON: the twin's Cognito has no MFA, so no one could sign in (OPTIONAL is served: no user has a second factor)")
	}
	if alias, _ := cfn.Strs(p, "AliasAttributes"); len(alias) > 0 {
		return configErr(r, "AliasAttributes", "%v: sign-in aliases are not served; use UsernameAttributes [email]", alias)
	}
	if mode, _ := cfn.Str(p, "UserPoolAddOns", "AdvancedSecurityMode"); mode == "ENFORCED" {
		return configErr(r, "UserPoolAddOns.AdvancedSecurityMode", "ENFORCED: adaptive authentication is not served")
	}
	if opt, _ := cfn.Str(p, "VerificationMessageTemplate", "DefaultEmailOption"); opt == "CONFIRM_WITH_LINK" {
		return configErr(r, "VerificationMessageTemplate.DefaultEmailOption", "CONFIRM_WITH_LINK: the twin has no hosted domain to confirm links; use CONFIRM_WITH_CODE")
	}
	return nil
}

// readPasswordPolicy applies Cognito's defaults (8 characters, all four classes,
// temporary passwords valid 7 days) to what the template leaves out.
func readPasswordPolicy(p map[string]any) passwordPolicy {
	pol := passwordPolicy{minLength: 8, lower: true, upper: true, numbers: true, symbols: true, temporaryValidity: 7 * 24 * time.Hour}
	pp, ok := cfn.Get(p, "Policies", "PasswordPolicy")
	if !ok {
		return pol
	}
	if n, ok := cfn.Num(pp, "MinimumLength"); ok {
		pol.minLength = int(n)
	}
	for name, f := range map[string]*bool{"RequireLowercase": &pol.lower, "RequireUppercase": &pol.upper, "RequireNumbers": &pol.numbers, "RequireSymbols": &pol.symbols} {
		if b, ok := cfn.Bool(pp, name); ok {
			*f = b
		}
	}
	if d, ok := cfn.Num(pp, "TemporaryPasswordValidityDays"); ok {
		pol.temporaryValidity = time.Duration(d) * 24 * time.Hour
	}
	return pol
}

func readSchema(r *cfn.Resource, pool *userPool) error {
	schema, ok := cfn.Get(r.Properties, "Schema")
	if !ok {
		return nil
	}
	list, ok := schema.([]any)
	if !ok {
		return configErr(r, "Schema", "not a list")
	}
	for i := range list {
		name, _ := cfn.Str(list[i], "Name")
		if name == "" {
			return configErr(r, fmt.Sprintf("Schema[%d].Name", i), "missing")
		}
		if !pool.attrs[name] {
			name = "custom:" + name
			pool.attrs[name] = true
		}
		if req, _ := cfn.Bool(list[i], "Required"); req {
			pool.required = append(pool.required, name)
		}
	}
	return nil
}

func firstStr(v any, paths ...[]string) string {
	for _, p := range paths {
		if s, ok := cfn.Str(v, p...); ok && s != "" {
			return s
		}
	}
	return ""
}

func (c *config) poolOf(r *cfn.Resource) (*userPool, error) {
	id, _ := cfn.Str(r.Properties, "UserPoolId")
	pool := c.pools[id]
	if pool == nil {
		return nil, configErr(r, "UserPoolId", "%q is not a user pool of this template", id)
	}
	return pool, nil
}

func (c *config) readClient(r *cfn.Resource) error {
	pool, err := c.poolOf(r)
	if err != nil {
		return err
	}
	p := r.Properties
	if secret, _ := cfn.Bool(p, "GenerateSecret"); secret {
		return configErr(r, "GenerateSecret", "true: the twin's Cognito serves public clients only (a browser cannot keep a secret)")
	}
	cl := &appClient{logicalID: r.LogicalID, id: r.PhysicalID, pool: pool}
	flows, err := cfn.Strs(p, "ExplicitAuthFlows")
	if err != nil {
		return configErr(r, "ExplicitAuthFlows", "%v", err)
	}
	if flows == nil { // CloudFormation's default
		flows = []string{"ALLOW_USER_SRP_AUTH", "ALLOW_CUSTOM_AUTH", "ALLOW_REFRESH_TOKEN_AUTH"}
	}
	for _, f := range flows {
		switch f {
		case "ALLOW_USER_PASSWORD_AUTH", "USER_PASSWORD_AUTH":
			cl.passwordAuth = true
		case "ALLOW_REFRESH_TOKEN_AUTH":
			cl.refreshAuth = true
		}
	}
	if slices.ContainsFunc(flows, func(f string) bool { return !strings.HasPrefix(f, "ALLOW_") }) {
		cl.refreshAuth = true // the legacy flow names always allowed refresh
	}
	if !cl.passwordAuth {
		return configErr(r, "ExplicitAuthFlows", "%v: the twin's Cognito signs in with USER_PASSWORD_AUTH (the flow the web app uses) and serves no SRP or custom flow, so no one could sign in with this client", flows)
	}
	pe, _ := cfn.Str(p, "PreventUserExistenceErrors")
	cl.preventExistence = pe == "ENABLED"
	if cl.idTTL, cl.accessTTL, cl.refreshTTL, err = readValidity(p); err != nil {
		return configErr(r, "TokenValidityUnits", "%v", err)
	}
	c.clients[cl.id] = cl
	pool.clients[cl.id] = cl
	return nil
}

// readValidity reads a client's token lifetimes: Cognito's defaults are an hour
// for ID and access tokens and 30 days for refresh tokens, in the units
// TokenValidityUnits gives (hours, hours and days unless set).
func readValidity(p map[string]any) (id, access, refresh time.Duration, err error) {
	units := map[string]string{"IdToken": "hours", "AccessToken": "hours", "RefreshToken": "days"}
	for k := range units {
		if u, ok := cfn.Str(p, "TokenValidityUnits", k); ok {
			units[k] = u
		}
	}
	get := func(prop, unitKey string, def time.Duration) (time.Duration, error) {
		n, ok := cfn.Num(p, prop)
		if !ok {
			return def, nil
		}
		u, ok := map[string]time.Duration{"seconds": time.Second, "minutes": time.Minute, "hours": time.Hour, "days": 24 * time.Hour}[units[unitKey]]
		if !ok {
			return 0, fmt.Errorf("%s: unknown unit %q", unitKey, units[unitKey])
		}
		return time.Duration(n * float64(u)), nil
	}
	if id, err = get("IdTokenValidity", "IdToken", time.Hour); err != nil {
		return
	}
	if access, err = get("AccessTokenValidity", "AccessToken", time.Hour); err != nil {
		return
	}
	refresh, err = get("RefreshTokenValidity", "RefreshToken", 30*24*time.Hour)
	return
}

func (c *config) readGroup(r *cfn.Resource) error {
	pool, err := c.poolOf(r)
	if err != nil {
		return err
	}
	g := &group{}
	g.name, _ = cfn.Str(r.Properties, "GroupName")
	if g.name == "" {
		g.name = r.PhysicalID // CloudFormation names it when the template does not
	}
	g.roleARN, _ = cfn.Str(r.Properties, "RoleArn")
	if n, ok := cfn.Num(r.Properties, "Precedence"); ok {
		v := int(n)
		g.precedence = &v
	}
	if _, dup := pool.groups[g.name]; dup {
		return configErr(r, "GroupName", "a second group named %q in %s", g.name, pool.logicalID)
	}
	pool.groups[g.name] = g
	return nil
}

func (c *config) readIdentityPool(r *cfn.Resource, region string) error {
	p := r.Properties
	for _, prop := range []string{"SupportedLoginProviders", "OpenIdConnectProviderARNs", "SamlProviderARNs", "DeveloperProviderName"} {
		if v, ok := cfn.Get(p, prop); ok && !empty(v) {
			return configErr(r, prop, "only Cognito user pools of this template are served as identity providers")
		}
	}
	ip := &identityPool{logicalID: r.LogicalID, id: r.PhysicalID, providers: map[string]map[string]bool{}, mappings: map[string]*roleMapping{}}
	ip.allowGuests, _ = cfn.Bool(p, "AllowUnauthenticatedIdentities")
	list, _ := cfn.Get(p, "CognitoIdentityProviders")
	providers, _ := list.([]any)
	for i, pr := range providers {
		name, _ := cfn.Str(pr, "ProviderName")
		clientID, _ := cfn.Str(pr, "ClientId")
		poolID, ok := strings.CutPrefix(name, "cognito-idp."+region+".amazonaws.com/")
		pool := c.pools[poolID]
		if !ok || pool == nil {
			return configErr(r, fmt.Sprintf("CognitoIdentityProviders[%d].ProviderName", i), "%q is not a user pool of this template in %s", name, region)
		}
		if pool.clients[clientID] == nil {
			return configErr(r, fmt.Sprintf("CognitoIdentityProviders[%d].ClientId", i), "%q is not a client of %s", clientID, pool.logicalID)
		}
		if ip.providers[name] == nil {
			ip.providers[name] = map[string]bool{}
		}
		ip.providers[name][clientID] = true
	}
	c.ids[ip.id] = ip
	return nil
}

func empty(v any) bool {
	switch x := v.(type) {
	case string:
		return x == ""
	case []any:
		return len(x) == 0
	case map[string]any:
		return len(x) == 0
	}
	return v == nil
}

func (c *config) readAttachment(r *cfn.Resource) error {
	id, _ := cfn.Str(r.Properties, "IdentityPoolId")
	ip := c.ids[id]
	if ip == nil {
		return configErr(r, "IdentityPoolId", "%q is not an identity pool of this template", id)
	}
	if ip.authRole != "" || ip.guestRole != "" || len(ip.mappings) > 0 {
		return configErr(r, "IdentityPoolId", "%s already has a role attachment", ip.logicalID)
	}
	roles, err := cfn.StrMap(r.Properties, "Roles")
	if err != nil {
		return configErr(r, "Roles", "%v", err)
	}
	for k, v := range roles {
		switch k {
		case "authenticated":
			ip.authRole = v
		case "unauthenticated":
			ip.guestRole = v
		default:
			return configErr(r, "Roles."+k, "not a role kind (authenticated, unauthenticated)")
		}
	}
	mappings, _ := cfn.Get(r.Properties, "RoleMappings")
	m, _ := mappings.(map[string]any)
	for key, v := range m {
		if err := ip.readMapping(r, key, v); err != nil {
			return err
		}
	}
	return nil
}

// readMapping reads one RoleMappings entry; its IdentityProvider ("<provider
// name>:<client id>") defaults to the entry's key, as CloudFormation documents.
func (ip *identityPool) readMapping(r *cfn.Resource, key string, v any) error {
	where := "RoleMappings." + key
	provider, _ := cfn.Str(v, "IdentityProvider")
	if provider == "" {
		provider = key
	}
	name, clientID, _ := cutLast(provider, ":")
	if !ip.providers[name][clientID] {
		return configErr(r, where+".IdentityProvider", "%q is not one of %s's CognitoIdentityProviders (<ProviderName>:<ClientId>)", provider, ip.logicalID)
	}
	rm := &roleMapping{}
	typ, _ := cfn.Str(v, "Type")
	amb, _ := cfn.Str(v, "AmbiguousRoleResolution")
	switch amb {
	case "AuthenticatedRole":
	case "Deny":
		rm.ambiguousDeny = true
	default:
		return configErr(r, where+".AmbiguousRoleResolution", "%q: want AuthenticatedRole or Deny", amb)
	}
	switch typ {
	case "Token":
		rm.byToken = true
	case "Rules":
		rules, _ := cfn.Get(v, "RulesConfiguration", "Rules")
		list, _ := rules.([]any)
		for i, rule := range list {
			mr := mappingRule{}
			mr.claim, _ = cfn.Str(rule, "Claim")
			mr.match, _ = cfn.Str(rule, "MatchType")
			mr.value, _ = cfn.Str(rule, "Value")
			mr.role, _ = cfn.Str(rule, "RoleARN")
			if !slices.Contains([]string{"Equals", "Contains", "StartsWith", "NotEqual"}, mr.match) {
				return configErr(r, fmt.Sprintf("%s.RulesConfiguration.Rules[%d].MatchType", where, i), "%q: want Equals, Contains, StartsWith or NotEqual", mr.match)
			}
			rm.rules = append(rm.rules, mr)
		}
		if len(rm.rules) == 0 {
			return configErr(r, where+".RulesConfiguration", "Rules mapping with no rules")
		}
	default:
		return configErr(r, where+".Type", "%q: want Token or Rules", typ)
	}
	ip.mappings[provider] = rm
	return nil
}

func cutLast(s, sep string) (before, after string, found bool) {
	i := strings.LastIndex(s, sep)
	if i < 0 {
		return s, "", false
	}
	return s[:i], s[i+len(sep):], true
}
