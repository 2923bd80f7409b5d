package iam

import (
	"fmt"
	"maps"
	"slices"
	"strconv"
	"strings"
	"time"
)

// Policies holds the policies IAM would evaluate in the twin's one account.
// Build it with FromTemplate or New and the Attach methods, then only read it:
// Authorize is safe for concurrent use; the Attach methods are not.
type Policies struct {
	env        Env
	identity   map[string][]*Statement // by principal ARN: role or user
	resource   []resourcePolicy
	trust      map[string][]*Statement // by role ARN
	roleByName map[string]string       // role sessions name their role without its path
	unmodelled map[string][]string     // principal ARN → managed policies the twin has no text for
	keys       map[string]bool         // condition keys the twin supplies, lower case
}

// resourcePolicy is a policy attached to a resource; it covers the resource's ARN
// and what lies under it.
type resourcePolicy struct {
	owner string
	stmts []*Statement
}

func (rp resourcePolicy) covers(resource string) bool {
	return resource == rp.owner || strings.HasPrefix(resource, rp.owner+"/") || strings.HasPrefix(resource, rp.owner+":")
}

// New is an empty set of policies for account env.
func New(env Env) *Policies {
	p := &Policies{env: env, identity: map[string][]*Statement{}, trust: map[string][]*Statement{},
		roleByName: map[string]string{}, unmodelled: map[string][]string{}, keys: map[string]bool{}}
	for _, k := range ContextKeys {
		p.keys[strings.ToLower(k)] = true
	}
	return p
}

// Attach adds an identity-based policy to a principal (role or user ARN).
func (p *Policies) Attach(principalARN string, pol *Policy) {
	p.noteRole(principalARN)
	p.identity[principalARN] = append(p.identity[principalARN], pol.Statements...)
}

// AttachResource adds a resource-based policy (bucket, queue, topic, domain access
// policy, Lambda permission) to the resource ownerARN. It covers ownerARN and the
// ARNs under it: objects of a bucket (owner/...), paths of a domain (owner/...),
// versions and aliases of a function (owner:...).
func (p *Policies) AttachResource(ownerARN string, pol *Policy) {
	for i := range p.resource {
		if p.resource[i].owner == ownerARN {
			p.resource[i].stmts = append(p.resource[i].stmts, pol.Statements...)
			return
		}
	}
	p.resource = append(p.resource, resourcePolicy{owner: ownerARN, stmts: slices.Clone(pol.Statements)})
}

// AttachTrust sets a role's trust policy (who may assume it).
func (p *Policies) AttachTrust(roleARN string, pol *Policy) {
	p.noteRole(roleARN)
	p.trust[roleARN] = append(p.trust[roleARN], pol.Statements...)
}

// ModelKeys adds condition keys the integrator supplies in the request context
// (service-specific keys such as s3:prefix); a key outside ContextKeys and these
// makes a statement that tests it deny, naming the key.
func (p *Policies) ModelKeys(keys ...string) {
	for _, k := range keys {
		p.keys[strings.ToLower(k)] = true
	}
}

func (p *Policies) noteRole(arn string) {
	if _, rest, ok := strings.Cut(arn, ":role/"); ok {
		p.roleByName[rest[strings.LastIndex(rest, "/")+1:]] = arn
	}
}

// Roles are the roles with identity-based policies or a trust policy.
func (p *Policies) Roles() []string {
	var out []string
	for _, arn := range p.roleByName {
		out = append(out, arn)
	}
	slices.Sort(out)
	return out
}

// Statements are the identity-based statements of a principal, in order.
func (p *Policies) Statements(principalARN string) []*Statement {
	return slices.Clone(p.identity[p.caller(principalARN).identity])
}

// Warnings lists what the twin will refuse rather than guess: statements whose
// conditions use an operator or key it does not evaluate, and managed policies it
// has no text for. `imagepipe serve` should log them at start.
func (p *Policies) Warnings() []string {
	var out []string
	check := func(owner string, stmts []*Statement) {
		for _, s := range stmts {
			if why := p.unsupported(s); why != "" {
				out = append(out, owner+": "+s.Source+": "+why+" (requests it applies to are denied)")
			}
		}
	}
	for _, arn := range slices.Sorted(maps.Keys(p.identity)) {
		check(arn, p.identity[arn])
	}
	for _, rp := range p.resource {
		check(rp.owner, rp.stmts)
	}
	for _, arn := range slices.Sorted(maps.Keys(p.unmodelled)) {
		out = append(out, arn+": managed policies the twin has no text for: "+strings.Join(p.unmodelled[arn], ", "))
	}
	return out
}

// Decision is the outcome of one authorization.
type Decision struct {
	Allowed bool
	// Explicit: a Deny statement decided (or a statement the twin cannot evaluate).
	Explicit bool
	// PolicyType is "identity-based" or "resource-based" for the deciding
	// statement, "" for an implicit deny.
	PolicyType                  string
	Statement                   string // the deciding statement's Source; "" when none allows
	Reason                      string
	Principal, Action, Resource string
}

func (d Decision) String() string {
	verdict := "Deny"
	if d.Allowed {
		verdict = "Allow"
	}
	return fmt.Sprintf("%s %s %s on %s: %s", verdict, d.Principal, d.Action, d.Resource, d.Reason)
}

// Message is AWS's AccessDenied message for a denial ("User: ... is not
// authorized to perform: ... on resource: ... because ...").
func (d Decision) Message() string {
	who := d.Principal
	if who == "" || who == "*" {
		who = "anonymous"
	}
	base := fmt.Sprintf("User: %s is not authorized to perform: %s on resource: %s", who, d.Action, d.Resource)
	switch {
	case d.Explicit && d.PolicyType == "identity-based":
		return base + " with an explicit deny in an identity-based policy"
	case d.Explicit && d.PolicyType == "resource-based":
		return base + " with an explicit deny in a resource-based policy"
	case d.Explicit:
		return base + " because " + d.Reason
	case who == "anonymous":
		return base + " because no resource-based policy allows the " + d.Action + " action"
	}
	return base + " because no identity-based policy allows the " + d.Action + " action"
}

// Authorize evaluates a request by principalARN (a role, a role session
// arn:aws:sts::<acct>:assumed-role/<role>/<session>, a user, a service principal
// such as "apigateway.amazonaws.com", or "" for anonymous) to do action on
// resource, with the request context ctx (condition keys to values; ContextKeys
// says which the caller supplies), as IAM's "Policy evaluation logic" describes
// it for one account: an explicit Deny in any applicable identity-based or
// resource-based policy wins; else an Allow in either allows; else it is denied.
func (p *Policies) Authorize(principalARN, action, resource string, ctx map[string][]string) Decision {
	c := p.caller(principalARN)
	rc := p.requestContext(ctx, c)
	d := Decision{Principal: principalARN, Action: action, Resource: resource}
	var cands []candidate
	for _, s := range p.identity[c.identity] {
		if ok, _ := p.appliesTo(s, c, action, resource, false, rc); ok {
			cands = append(cands, candidate{s, "identity-based", false})
		}
	}
	for _, rp := range p.resource {
		if !rp.covers(resource) {
			continue
		}
		for _, s := range rp.stmts {
			if ok, via := p.appliesTo(s, c, action, resource, true, rc); ok {
				cands = append(cands, candidate{s, "resource-based", via})
			}
		}
	}
	return p.decide(d, cands, rc)
}

type candidate struct {
	s          *Statement
	policyType string
	viaAccount bool // a resource-based Allow naming only the account delegates to IAM
}

// decide: explicit denies first, wherever they are; then any applicable
// statement the twin cannot evaluate, which denies naming what it cannot; then
// allows.
func (p *Policies) decide(d Decision, cands []candidate, rc map[string][]string) Decision {
	for _, k := range cands {
		if !k.s.Allow && p.unsupported(k.s) == "" && p.holds(k.s, rc) {
			d.Explicit, d.PolicyType, d.Statement = true, k.policyType, k.s.Source
			d.Reason = "explicitly denied by " + k.policyType + " " + k.s.Source
			return d
		}
	}
	for _, k := range cands {
		if why := p.unsupported(k.s); why != "" {
			d.Explicit, d.Statement = true, k.s.Source
			d.Reason = "the twin cannot evaluate " + why + " in " + k.s.Source + ", and denies rather than guess"
			return d
		}
		if why := missingRequired(k.s, rc); why != "" {
			d.Explicit, d.Statement = true, k.s.Source
			d.Reason = why + " (" + k.s.Source + " tests it)"
			return d
		}
	}
	for _, k := range cands {
		if k.s.Allow && !k.viaAccount && p.holds(k.s, rc) {
			d.Allowed, d.PolicyType, d.Statement = true, k.policyType, k.s.Source
			d.Reason = "allowed by " + k.policyType + " " + k.s.Source
			return d
		}
	}
	d.Reason = "no statement allows " + d.Action + " on " + d.Resource
	if ms := p.unmodelled[p.caller(d.Principal).identity]; len(ms) > 0 {
		d.Reason += " (managed policies the twin has no text for: " + strings.Join(ms, ", ") + ")"
	}
	return d
}

// CanAssume evaluates a role's trust policy for principal (a role or user ARN, a
// service principal such as "lambda.amazonaws.com", or a federated provider such
// as "cognito-identity.amazonaws.com") doing action (sts:AssumeRole,
// sts:AssumeRoleWithWebIdentity) with ctx (for Cognito:
// cognito-identity.amazonaws.com:aud and :amr).
func (p *Policies) CanAssume(roleARN, principal, action string, ctx map[string][]string) Decision {
	c := p.caller(principal)
	rc := p.requestContext(ctx, c)
	d := Decision{Principal: principal, Action: action, Resource: roleARN}
	var cands []candidate
	for _, s := range p.trust[roleARN] {
		if ok, via := p.appliesTo(s, c, action, roleARN, true, rc); ok {
			cands = append(cands, candidate{s, "resource-based", via})
		}
	}
	return p.decide(d, cands, rc)
}

// caller is a principal as evaluation needs it.
type caller struct {
	arn      string // as given
	identity string // whose identity-based policies apply: the role of a session
	account  string
	kind     string // aws:PrincipalType: AssumedRole, User, Account, Anonymous; Service, Federated
}

func (p *Policies) caller(arn string) caller {
	c := caller{arn: arn}
	switch {
	case arn == "" || arn == "*" || arn == "anonymous":
		c.kind, c.arn = "Anonymous", ""
		return c
	case !strings.HasPrefix(arn, "arn:"):
		// A service principal (events.amazonaws.com), or a web identity provider
		// (cognito-identity.amazonaws.com, accounts.google.com) in a trust policy.
		c.kind = "Service"
		if arn == "cognito-identity.amazonaws.com" || !strings.HasSuffix(arn, ".amazonaws.com") {
			c.kind = "Federated"
		}
		return c
	}
	parts := strings.SplitN(arn, ":", 6)
	if len(parts) < 6 {
		c.identity = arn
		return c
	}
	partition, account, res := parts[1], parts[4], parts[5]
	c.account, c.identity = account, arn
	switch {
	case parts[2] == "sts" && strings.HasPrefix(res, "assumed-role/"):
		name, _, _ := strings.Cut(strings.TrimPrefix(res, "assumed-role/"), "/")
		c.kind, c.identity = "AssumedRole", "arn:"+partition+":iam::"+account+":role/"+name
		if full, ok := p.roleByName[name]; ok {
			c.identity = full
		}
	case strings.HasPrefix(res, "role/"):
		c.kind = "AssumedRole" // a role acts through a session of itself
	case strings.HasPrefix(res, "user/"):
		c.kind = "User"
	case res == "root":
		c.kind = "Account"
	case strings.HasPrefix(res, "oidc-provider/") || strings.HasPrefix(res, "saml-provider/"):
		c.kind, c.identity = "Federated", ""
	}
	return c
}

// requestContext is ctx with lower-case keys and the global keys IAM always
// knows about the principal and the time filled in where the caller left them out.
func (p *Policies) requestContext(ctx map[string][]string, c caller) map[string][]string {
	rc := make(map[string][]string, len(ctx)+6)
	for k, v := range ctx {
		rc[strings.ToLower(k)] = v
	}
	now := time.Now().UTC()
	fill := func(k, v string) {
		if _, ok := rc[k]; !ok && v != "" {
			rc[k] = []string{v}
		}
	}
	fill("aws:currenttime", now.Format(time.RFC3339))
	fill("aws:epochtime", strconv.FormatInt(now.Unix(), 10))
	if c.kind != "Service" && c.kind != "Federated" {
		fill("aws:principaltype", c.kind)
	}
	if c.kind == "Service" {
		fill("aws:principalservicename", c.arn)
	}
	if c.identity != "" {
		fill("aws:principalarn", c.identity)
		fill("aws:principalaccount", c.account)
	}
	return rc
}

// appliesTo: the statement's action, resource and principal elements match;
// conditions are decided apart. A statement the twin cannot evaluate stays a
// candidate whatever its resource, and denies as such.
func (p *Policies) appliesTo(s *Statement, c caller, action, resource string, resourceBased bool, rc map[string][]string) (ok, viaAccount bool) {
	if s.Action != nil && !matchesAction(s.Action, action) || s.NotAction != nil && matchesAction(s.NotAction, action) {
		return false, false
	}
	if p.unsupported(s) == "" {
		if s.Resource != nil {
			if m, resolved := matchesResource(s.Resource, resource, rc); !m || !resolved {
				return false, false
			}
		}
		if s.NotResource != nil {
			if m, resolved := matchesResource(s.NotResource, resource, rc); m || !resolved {
				return false, false
			}
		}
	}
	if !resourceBased {
		return true, false
	}
	switch {
	case s.Principal != nil:
		return s.Principal.match(c)
	case s.NotPrincipal != nil:
		named, _ := s.NotPrincipal.match(c)
		return !named, false
	}
	return false, false // a resource-based statement without a principal names nobody
}

// match reports whether the element names the caller; viaAccount when it does
// only through the caller's account, which for an Allow delegates to the
// account's own identity-based policies rather than granting.
func (pr *Principals) match(c caller) (ok, viaAccount bool) {
	if pr.Any {
		return true, false
	}
	switch c.kind {
	case "Service":
		return slices.Contains(pr.Service, c.arn), false
	case "Federated":
		return slices.Contains(pr.Federated, c.arn), false
	case "Anonymous":
		return false, false
	}
	for _, a := range pr.AWS {
		switch {
		case a == c.arn || a == c.identity:
			return true, false
		case c.account != "" && (a == c.account || strings.HasSuffix(a, ":iam::"+c.account+":root")):
			viaAccount = true
		}
	}
	return viaAccount, viaAccount
}

func matchesAction(patterns []string, action string) bool {
	action = strings.ToLower(action)
	for _, p := range patterns {
		if p == "*" || glob(strings.ToLower(p), action) {
			return true
		}
	}
	return false
}

// matchesResource: resolved is false when a policy variable in a pattern does
// not resolve, which makes the statement not apply.
func matchesResource(patterns []string, resource string, rc map[string][]string) (match, resolved bool) {
	for _, pat := range patterns {
		pat, ok := expand(pat, rc)
		if !ok {
			return false, false
		}
		if pat == "*" || glob(pat, resource) {
			match = true
		}
	}
	return match, true
}

// unsupported names what in the statement the twin cannot evaluate, "" if nothing.
func (p *Policies) unsupported(s *Statement) string {
	for _, c := range s.Conditions {
		if !c.supported {
			return "the condition operator " + c.Operator + " (in " + describeCondition(c) + ")"
		}
		if !p.keys[strings.ToLower(c.Key)] {
			return "the condition key " + c.Key + ", which the twin does not supply (in " + describeCondition(c) + ")"
		}
	}
	return p.unsupportedVariable(s)
}

// holds: every condition is true (they are ANDed); a condition value's variable
// that does not resolve makes it false.
func (p *Policies) holds(s *Statement, rc map[string][]string) bool {
	for _, c := range s.Conditions {
		for i, v := range c.Values {
			if strings.Contains(v, "${") {
				x, ok := expand(v, rc)
				if !ok {
					return false
				}
				c.Values = append([]string(nil), c.Values...) // c is a copy; its slice is shared
				c.Values[i] = x
			}
		}
		if !evalCondition(c, rc) {
			return false
		}
	}
	return true
}

// missingRequired: a condition tests a key AWS always has and the caller left out
// of the context; evaluating it as absent could drop a Deny (enforceSSL's).
func missingRequired(s *Statement, rc map[string][]string) string {
	for _, c := range s.Conditions {
		k := strings.ToLower(c.Key)
		if _, ok := rc[k]; !ok && requiredKeys[k] {
			return "the request context has no " + c.Key + ", which AWS always knows"
		}
	}
	return ""
}

// allowedBy lists every statement that would allow the request on its own (no
// explicit deny considered): the tests' oracle for what removing one changes.
func (p *Policies) allowedBy(principalARN, action, resource string, ctx map[string][]string) []string {
	c := p.caller(principalARN)
	rc := p.requestContext(ctx, c)
	var out []string
	add := func(s *Statement, resourceBased bool) {
		if ok, via := p.appliesTo(s, c, action, resource, resourceBased, rc); ok && !via && s.Allow && p.unsupported(s) == "" && p.holds(s, rc) {
			out = append(out, s.Source)
		}
	}
	for _, s := range p.identity[c.identity] {
		add(s, false)
	}
	for _, rp := range p.resource {
		if rp.covers(resource) {
			for _, s := range rp.stmts {
				add(s, true)
			}
		}
	}
	return out
}
